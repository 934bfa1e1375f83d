//! Unit tests of discovery: the metadata URLs in spec order, a 2025-03-26 server's defaults,
//! the `resource` check.

use super::*;

fn urls(v: Vec<Url>) -> Vec<String> {
    v.into_iter().map(|u| u.to_string()).collect()
}

#[test]
fn metadata_urls_in_spec_order() {
    let with_path = Url::parse("https://auth.example.com/tenant1").unwrap();
    assert_eq!(
        urls(as_metadata_urls(&with_path)),
        [
            "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
            "https://auth.example.com/.well-known/openid-configuration/tenant1",
            "https://auth.example.com/tenant1/.well-known/openid-configuration",
        ]
    );
    let root = Url::parse("https://auth.example.com/").unwrap();
    assert_eq!(
        urls(as_metadata_urls(&root)),
        [
            "https://auth.example.com/.well-known/oauth-authorization-server",
            "https://auth.example.com/.well-known/openid-configuration",
        ]
    );
    let server = Url::parse("https://h.example/public/mcp?x=1").unwrap();
    assert_eq!(
        urls(well_known(&server, "oauth-protected-resource", false)),
        [
            "https://h.example/.well-known/oauth-protected-resource/public/mcp",
            "https://h.example/.well-known/oauth-protected-resource",
        ]
    );
}

#[test]
fn defaults_of_a_2025_03_26_server() {
    let m = AsMetadata::defaults("http://127.0.0.1:9000");
    assert_eq!(m.issuer, "http://127.0.0.1:9000");
    assert_eq!(
        m.authorization_endpoint.as_deref(),
        Some("http://127.0.0.1:9000/authorize")
    );
    assert_eq!(m.token_endpoint, "http://127.0.0.1:9000/token");
    assert_eq!(
        m.registration_endpoint.as_deref(),
        Some("http://127.0.0.1:9000/register")
    );
    assert!(!m.offers_offline_access());
    let listed: AsMetadata = serde_json::from_value(serde_json::json!({
        "issuer": "https://as.example", "token_endpoint": "https://as.example/t",
        "scopes_supported": ["openid", "offline_access"],
    }))
    .unwrap();
    assert!(listed.offers_offline_access());
}

#[test]
fn resource_must_name_this_server() {
    let server = Url::parse("https://h.example/mcp").unwrap();
    assert!(names_server("https://h.example/mcp", &server));
    assert!(names_server("https://h.example/mcp/", &server));
    assert!(names_server("https://h.example", &server));
    assert!(!names_server("https://h.example/mc", &server));
    assert!(!names_server("https://evil.example/mcp", &server));
    assert!(!names_server("http://h.example/mcp", &server));
}
