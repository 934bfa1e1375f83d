//! The MCP 2026-07-28 authorization additions, end to end against the in-repo authorization
//! server (tests/support/oauth_server.rs): RFC 9207 `iss` and the metadata `issuer` compared
//! as exact strings, credentials bound to their issuer when the resource moves to another
//! authorization server (SEP-2352), `offline_access` only when listed (SEP-2207), and the
//! 2025-03-26 default endpoints for a server that publishes no metadata at all.

mod support;

use serde_json::json;
use support::keyring::PrivateKeyring;
use support::oauth_client::{account, bridge, browser_script};
use support::oauth_server::{OAuthConfig, OAuthServer};
use support::*;

async fn whoami(bridge: &mut Bridge, id: u64) -> serde_json::Value {
    bridge.send(&tool_call(id, "whoami", json!({}))).await;
    bridge.recv().await
}

/// The bridge's error message for the `initialize` it sent as request 1.
async fn initialize_error(b: &mut Bridge) -> String {
    b.send(&initialize(1)).await;
    let reply = b.recv().await;
    assert_bridge_error(&reply, 1)["message"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_iss_that_differs_only_by_a_trailing_slash_is_refused() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        iss_slash: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    let message = initialize_error(&mut b).await;
    assert!(message.contains("RFC 9207"), "{message}");
    b.finish().await;
    assert_eq!(server.count("authorize"), 1);
    assert_eq!(
        server.count("code"),
        0,
        "no code exchange after a wrong iss"
    );
}

#[tokio::test]
async fn metadata_whose_issuer_differs_only_by_a_trailing_slash_is_not_used() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        metadata_issuer_slash: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    let message = initialize_error(&mut b).await;
    assert!(message.contains("RFC 8414"), "{message}");
    assert!(message.contains("match exactly"), "{message}");
    b.finish().await;
    assert_eq!(
        server.count("register"),
        0,
        "nothing from that metadata is used"
    );
    assert_eq!(server.count("authorize"), 0);
}

#[tokio::test]
async fn a_new_authorization_server_means_registering_and_signing_in_there() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    assert_eq!(server.count("register"), 1);

    server.move_issuer();
    assert_result(&whoami(&mut b, 3).await, 3);
    let done = b.finish().await;
    // Neither the old registration nor the old refresh token went to the new issuer: the
    // test server would refuse the first at /v2/authorize and has forgotten the second.
    assert_eq!(server.count("register"), 2, "{}", done.stderr);
    assert_eq!(server.count("authorize"), 2);
    assert_eq!(server.count("refresh"), 0, "no refresh across issuers");
    assert!(done.stderr.contains("/v2/authorize?"), "{}", done.stderr);
    assert!(
        done.stderr.contains("now names the authorization server"),
        "{}",
        done.stderr
    );
    let stored: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();
    let base = server.url().strip_suffix("/mcp").unwrap().to_string();
    assert_eq!(stored["tokens"]["issuer"], format!("{base}/v2"));
    // Both registrations are kept, each under its own issuer.
    assert!(stored["clients"][&base].is_object(), "{stored}");
    assert!(
        stored["clients"][format!("{base}/v2")].is_object(),
        "{stored}"
    );
}

#[tokio::test]
async fn offline_access_is_asked_for_only_when_listed() {
    let keyring = PrivateKeyring::start();
    let browser = browser_script();
    // Refresh tokens only for offline_access, as most identity providers do.
    let strict = OAuthServer::start(OAuthConfig {
        offline_access: true,
        ..OAuthConfig::default()
    })
    .await;
    let mut b = bridge(&strict, &keyring, &browser).spawn();
    b.handshake().await;
    assert_eq!(strict.authorize_params(), ["mcp:read offline_access|"]);
    strict.expire_access_tokens();
    assert_result(&whoami(&mut b, 2).await, 2);
    b.finish().await;
    assert_eq!(strict.count("refresh"), 1, "a refresh token came with it");
    assert_eq!(strict.count("authorize"), 1);

    let plain = OAuthServer::start(OAuthConfig::default()).await;
    let mut b = bridge(&plain, &keyring, &browser).spawn();
    b.handshake().await;
    b.finish().await;
    assert_eq!(plain.authorize_params(), ["mcp:read|"]);
}

#[tokio::test]
async fn a_2025_03_26_server_without_metadata_gets_the_default_endpoints() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        no_metadata: true,
        prm_in_challenge: false,
        iss_param: false,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    let done = b.finish().await;
    assert_eq!(server.count("register"), 1, "{}", done.stderr);
    assert_eq!(server.count("authorize"), 1);
    assert_eq!(server.count("code"), 1);
    assert!(done.stderr.contains("2025-03-26 default endpoints"));
}
