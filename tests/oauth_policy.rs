//! OAuth under the policies real identity providers apply (issue 20), against the in-repo
//! authorization server (tests/support/oauth_server.rs) set up the same way: a registration
//! that may not carry `scope`, refresh tokens only for `offline_access` (with
//! `prompt=consent`), logout that revokes (RFC 7009), and a dead refresh token tried once.
//! tests/interop/test_oauth_idp.py runs the same scenarios against oidc-provider.

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

fn stored(keyring: &PrivateKeyring, server: &OAuthServer) -> serde_json::Value {
    serde_json::from_str(&keyring.lookup(&account(server)).expect("stored")).unwrap()
}

/// A subcommand with the keyring and the scripted browser.
fn cmd(keyring: &PrivateKeyring, browser: &str, args: &[&str]) -> BridgeBuilder {
    let mut b = BridgeBuilder::new().args(args).env("BROWSER", browser);
    for (k, v) in keyring.env() {
        b = b.env(k, &v);
    }
    b
}

#[tokio::test]
async fn a_registration_refused_for_its_scope_is_sent_again_without_it() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        refuse_registration_scope: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    let done = b.finish().await;
    assert_eq!(server.count("register"), 1, "{}", done.stderr);
    assert!(
        done.stderr.contains("registering without one"),
        "{}",
        done.stderr
    );
    // The scopes are asked for at /authorize instead.
    assert_eq!(server.authorize_params(), ["mcp:read|"]);
}

#[tokio::test]
async fn offline_access_comes_with_prompt_consent_where_the_provider_needs_it() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        offline_access: true,
        offline_needs_consent: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_eq!(
        server.authorize_params(),
        ["mcp:read offline_access|consent"]
    );
    assert!(stored(&keyring, &server)["tokens"]["refresh_token"].is_string());
    // Signed in once, and still signed in after the access token expires.
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 2).await, 2);
    b.finish().await;
    assert_eq!(server.count("authorize"), 1);
    assert_eq!(server.count("refresh"), 1);
}

#[tokio::test]
async fn a_sign_in_without_a_refresh_token_is_said_in_the_log_and_in_auth_status() {
    let keyring = PrivateKeyring::start();
    // Refresh tokens only with prompt=consent, which the bridge has no reason to send here
    // (offline_access is not offered).
    let server = OAuthServer::start(OAuthConfig {
        offline_needs_consent: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    let done = b.finish().await;
    assert!(
        done.stderr.contains("issued no refresh token")
            && done.stderr.contains("needs the browser again"),
        "{}",
        done.stderr
    );
    let status = cmd(&keyring, &browser, &["auth", "status", &server.url()])
        .run(b"")
        .await;
    let text = status.stdout.join("\n");
    assert!(
        text.contains("no refresh token (the next expiry needs a sign-in"),
        "{text}"
    );
}

#[tokio::test]
async fn logout_revokes_both_tokens_and_keeps_the_registration() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        revocation: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let url = server.url();
    let login = cmd(&keyring, &browser, &["login", &url]).run(b"").await;
    assert!(login.status.success(), "{}", login.stderr);
    let tokens = stored(&keyring, &server)["tokens"].clone();

    let out = cmd(&keyring, &browser, &["logout", &url]).run(b"").await;
    assert!(out.status.success(), "{}", out.stderr);
    let text = out.stdout.join("\n");
    assert!(
        text.contains("Revoked the refresh token and the access token"),
        "{text}"
    );
    assert!(text.contains("kept the client registration"), "{text}");
    assert!(
        !text.contains(tokens["access_token"].as_str().unwrap()),
        "no token printed"
    );
    assert_eq!(
        server.revoked(),
        [
            tokens["refresh_token"].as_str().unwrap(),
            tokens["access_token"].as_str().unwrap()
        ]
    );
    // Nothing valid is left: the old access token is refused, and the bridge signs in again
    // with the kept registration.
    let mut b = bridge(&server, &keyring, &browser).arg("--oauth").spawn();
    b.handshake().await;
    b.finish().await;
    assert_eq!(server.count("register"), 1);
    assert_eq!(server.count("authorize"), 2);
}

#[tokio::test]
async fn a_dead_refresh_token_is_tried_once() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        // Within the one-minute lead: every request would refresh first.
        access_ttl: std::time::Duration::from_secs(30),
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    let before = server.count("refresh");
    server.revoke_refresh_tokens();
    for id in 3..=5 {
        // The access token still works; only the refresh ahead of expiry fails, once.
        assert_result(&whoami(&mut b, id).await, id);
    }
    assert_eq!(
        server.count("refresh"),
        before + 1,
        "the dead token is not retried"
    );
    assert!(stored(&keyring, &server)["tokens"]["refresh_token"].is_null());
    // When the access token does die, one sign-in, and no more refresh attempts.
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 6).await, 6);
    b.finish().await;
    assert_eq!(server.count("refresh"), before + 1);
    assert_eq!(server.count("authorize"), 2);
}

#[tokio::test]
async fn logout_revokes_a_pre_registered_clients_token_without_its_options() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        service_client: Some(("ci-bot", "ci-secret-123")),
        revocation: true,
        ..OAuthConfig::default()
    })
    .await;
    let mut b = bridge(&server, &keyring, "/nonexistent-browser")
        .args(&[
            "--client-credentials",
            "--client-id",
            "ci-bot",
            "--client-secret",
            "env:CI_SECRET",
        ])
        .env("CI_SECRET", "ci-secret-123")
        .spawn();
    b.handshake().await;
    b.finish().await;
    let entry = keyring.lookup(&account(&server)).unwrap();
    assert!(
        !entry.contains("ci-secret-123"),
        "only the reference: {entry}"
    );
    let access = stored(&keyring, &server)["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let out = cmd(&keyring, "/nonexistent-browser", &["logout", &server.url()])
        .env("CI_SECRET", "ci-secret-123")
        .run(b"")
        .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.join("\n").contains("Revoked the access token"),
        "{:?}",
        out.stdout
    );
    assert_eq!(server.revoked(), [access]);
}
