//! Unit tests of the OAuth module's shared parts: challenges and canonical server URLs.

use super::*;

#[test]
fn parses_challenges() {
    let sdk = r#"Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://h/.well-known/oauth-protected-resource/mcp""#;
    let c = Challenge::parse(sdk).unwrap();
    assert_eq!(c.error.as_deref(), Some("invalid_token"));
    assert_eq!(
        c.resource_metadata.as_deref(),
        Some("http://h/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(Challenge::parse("Bearer").unwrap(), Challenge::default());
    let c = Challenge::parse(r#"bearer scope="a b", error=insufficient_scope"#).unwrap();
    assert_eq!(c.scope.as_deref(), Some("a b"));
    assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
    assert!(Challenge::parse("Basic realm=\"x\"").is_none());
    assert!(Challenge::parse("Bearerx").is_none());
    let c = Challenge::parse(r#"DPoP error="use_dpop_nonce", resource_metadata="m""#).unwrap();
    assert!(c.dpop);
    assert_eq!(c.error.as_deref(), Some("use_dpop_nonce"));
    assert_eq!(c.resource_metadata.as_deref(), Some("m"));
}

#[test]
fn canonical_urls() {
    let u = |s: &str| canonical_server_url(&Url::parse(s).unwrap());
    assert_eq!(
        u("HTTPS://Example.COM/mcp/?x=1#f"),
        "https://example.com/mcp"
    );
    assert_eq!(u("https://example.com"), "https://example.com");
    assert_eq!(u("http://127.0.0.1:8080/sse"), "http://127.0.0.1:8080/sse");
}
