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

/// A real reqwest error for a reply whose head is larger than hyper accepts, turned into
/// ours: told by hyper's error type (`is_parse_too_large`), not by its words.
#[tokio::test]
async fn an_oversized_response_head_is_a_bad_reply() {
    use super::Http;
    use crate::credentials::Credentials;
    use crate::error::UpstreamError;
    use crate::network::Network;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/mcp", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        // More than hyper's default of 100 headers.
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..200 {
            head.push_str(&format!("x-filler-{i}: {i}\r\n"));
        }
        head.push_str("content-length: 0\r\n\r\n");
        let _ = socket.write_all(head.as_bytes()).await;
    });
    let creds = Arc::new(Credentials::resolve(Vec::new()).await.unwrap());
    let http = Http::with_network(
        &url,
        creds,
        Duration::from_secs(5),
        1 << 20,
        &Network::default(),
    )
    .unwrap();
    let err = http.client.get(url.clone()).send().await.unwrap_err();
    match http.transport_error(err) {
        UpstreamError::BadReply { why, .. } => assert!(why.contains("too large or too many")),
        other => panic!("not a bad reply: {other:?}"),
    }
}
