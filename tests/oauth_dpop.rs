//! DPoP (RFC 9449, SEP-1932) end to end: the real binary against the in-repo authorization
//! server and resource with DPoP on (tests/support/oauth_server/dpop.rs checks every proof
//! on its own: signature with the `jwk`, `htm`/`htu`, `ath`, unique `jti`, `iat`, the key
//! bound to the token by thumbprint, the nonces), and a real gnome-keyring per test: the key
//! is made once, kept in the keychain entry and nowhere in a file, and reused across runs
//! so that the DPoP-bound refresh token keeps working.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::keyring::PrivateKeyring;
use support::oauth_client::{account, bridge, browser_script};
use support::oauth_server::{OAuthConfig, OAuthServer};
use support::*;

async fn whoami(bridge: &mut Bridge, id: u64) -> Value {
    bridge.send(&tool_call(id, "whoami", json!({}))).await;
    bridge.recv().await
}

fn stored(keyring: &PrivateKeyring, server: &OAuthServer) -> Value {
    serde_json::from_str(&keyring.lookup(&account(server)).expect("a keychain entry")).unwrap()
}

/// No file under `dir` contains `needle`.
fn no_file_contains(dir: &Path, needle: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            no_file_contains(&path, needle);
        } else if let Ok(bytes) = std::fs::read(&path) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(needle), "{} holds a secret", path.display());
        }
    }
}

fn dpop_server() -> OAuthConfig {
    OAuthConfig {
        dpop: true,
        ..OAuthConfig::default()
    }
}

#[tokio::test]
async fn tokens_are_bound_and_every_request_carries_a_proof() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(dpop_server()).await;
    let browser = browser_script();

    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    let reply = whoami(&mut b, 2).await;
    assert_result(&reply, 2);
    assert_eq!(tool_text(&reply), "scopes: mcp:read");
    assert_eq!(
        server.count("dpop_bound"),
        1,
        "the code exchange had a proof"
    );
    // One proof at /token, one per MCP request after it (the resource refuses any other).
    assert!(server.dpop_proofs() >= 3, "{} proofs", server.dpop_proofs());

    let entry = stored(&keyring, &server);
    let key = entry["dpop_key"]
        .as_str()
        .expect("the DPoP key is in the keychain");
    assert_eq!(entry["tokens"]["dpop"], true);
    let access = entry["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for secret in [key, access.as_str()] {
        assert!(!b.stderr().contains(secret), "a secret on stderr");
        no_file_contains(b.home(), secret);
        no_file_contains(&keyring.run_dir, secret);
    }
    let key = key.to_string();
    b.finish().await;

    // Next run: the stored token and key; then the DPoP-bound refresh token with that key.
    let mut again = bridge(&server, &keyring, &browser).spawn();
    again.handshake().await;
    server.expire_access_tokens();
    assert_result(&whoami(&mut again, 2).await, 2);
    let done = again.finish().await;
    assert_eq!(server.count("refresh"), 1, "{}", done.stderr);
    assert_eq!(server.count("authorize"), 1, "a refresh, not a new sign-in");
    assert_eq!(server.count("dpop_bound"), 2);
    let entry = stored(&keyring, &server);
    assert_eq!(
        entry["dpop_key"].as_str(),
        Some(key.as_str()),
        "the key is kept"
    );
    assert!(!done.stderr.contains(&key));
}

#[tokio::test]
async fn nonces_from_the_authorization_server_and_the_resource() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        dpop_nonce: true,
        ..dpop_server()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    assert_result(&whoami(&mut b, 3).await, 3);
    assert_eq!(
        server.count("dpop_as_nonce"),
        1,
        "one use_dpop_nonce round at /token"
    );
    assert_eq!(server.count("code"), 1, "the code survived the nonce round");
    // The resource rotates its nonce on every reply: the bridge keeps the newest, so only
    // the first request was challenged.
    assert_eq!(
        server.count("dpop_rs_nonce"),
        1,
        "one use_dpop_nonce round at /mcp"
    );

    // A refresh uses the nonce the token endpoint sent with its last reply.
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 4).await, 4);
    let done = b.finish().await;
    assert_eq!(server.count("refresh"), 1, "{}", done.stderr);
    assert_eq!(server.count("dpop_as_nonce"), 1);
    assert_eq!(server.count("authorize"), 1);
}

#[tokio::test]
async fn client_credentials_tokens_are_bound_too() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        service_client: Some(("ci-bot", "ci-secret-123")),
        dpop_nonce: true,
        ..dpop_server()
    })
    .await;
    let mut b = bridge(&server, &keyring, "/nonexistent-browser")
        .args(&["--client-credentials", "--client-id", "ci-bot"])
        .args(&["--client-secret", "env:CI_SECRET"])
        .env("CI_SECRET", "ci-secret-123")
        .spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 3).await, 3);
    let done = b.finish().await;
    assert_eq!(server.count("client_credentials"), 2, "{}", done.stderr);
    assert_eq!(server.count("dpop_bound"), 2);
    assert_eq!(stored(&keyring, &server)["tokens"]["dpop"], true);
}

#[tokio::test]
async fn dpop_never_keeps_bearer_tokens_and_no_key() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(dpop_server()).await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser)
        .args(&["--dpop", "never"])
        .spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    b.finish().await;
    assert_eq!(server.count("dpop_bound"), 0);
    assert_eq!(server.dpop_proofs(), 0);
    let entry = stored(&keyring, &server);
    assert!(entry.get("dpop_key").is_none() && entry["tokens"].get("dpop").is_none());
}

#[tokio::test]
async fn auto_stays_bearer_where_dpop_is_not_offered() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    b.finish().await;
    assert!(stored(&keyring, &server).get("dpop_key").is_none());
}
