//! Redirect refusals and Bearer challenge parsing.

use super::{challenge_detail, redirect_refusal};
use url::Url;

#[test]
fn redirects_stay_on_the_exact_origin() {
    let from = Url::parse("https://mcp.example.com/mcp").unwrap();
    let check = |to: &str| redirect_refusal(&from, &Url::parse(to).unwrap());
    assert_eq!(check("https://mcp.example.com/v2/mcp?x=1"), None);
    assert_eq!(check("https://mcp.example.com:443/mcp"), None);
    assert_eq!(
        check("http://mcp.example.com/mcp").as_deref(),
        Some("http://mcp.example.com")
    );
    assert_eq!(
        check("https://mcp.example.com:8443/mcp").as_deref(),
        Some("https://mcp.example.com:8443")
    );
    assert!(check("https://mcp.example.com.evil.test/mcp").is_some());
    assert!(check("https://mcp.example.com@evil.test/mcp").is_some());
    let userinfo = check("https://user:pw@mcp.example.com/mcp").unwrap();
    assert!(userinfo.contains("user name or password") && !userinfo.contains("pw"));
}

#[test]
fn reads_bearer_challenges_tolerantly() {
    let sdk = r#"Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://h/x""#;
    assert_eq!(
        challenge_detail(sdk).as_deref(),
        Some("Authentication required")
    );
    assert_eq!(
        challenge_detail(r#"Bearer error="insufficient_scope""#).as_deref(),
        Some("insufficient_scope")
    );
    assert_eq!(challenge_detail("Bearer"), None);
    assert_eq!(challenge_detail("Basic realm=\"x\""), None);
}
