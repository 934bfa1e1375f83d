//! The device authorization grant (RFC 8628) against the in-repo authorization server:
//! `login --device` and the bridge without a browser show the user code and URL on stderr,
//! poll while the sign-in is pending, slow down when told, store the tokens in the
//! keychain, and fail with what to run next when the code is refused, expires, or nobody
//! confirms it within --auth-timeout. The test plays the person on the other device by
//! settling the user code at the server once the bridge has shown it.

mod support;

use std::time::{Duration, Instant};
use support::keyring::PrivateKeyring;
use support::oauth_client::account;
use support::oauth_server::{DeviceState, OAuthConfig, OAuthServer};
use support::*;

fn device_server() -> OAuthConfig {
    OAuthConfig {
        device: true,
        device_interval: 1,
        ..OAuthConfig::default()
    }
}

/// `mcp-keybridge ARGS` with the private keychain and no browser at all.
fn cmd(keyring: &PrivateKeyring, args: &[&str]) -> BridgeBuilder {
    let mut b = BridgeBuilder::new()
        .args(args)
        .env("RUST_LOG", "mcp_keybridge=info");
    for (k, v) in keyring.env() {
        b = b.env(k, &v);
    }
    b
}

/// Waits (bounded) until `done` holds, checking every 20 ms.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The user code the server handed out, once the bridge has shown it on stderr.
async fn shown_code(server: &OAuthServer, bridge: &support::bridge::Bridge) -> String {
    until("the user code on stderr", || {
        server
            .user_codes()
            .last()
            .is_some_and(|c| bridge.stderr().contains(c.as_str()))
    })
    .await;
    server.user_codes().last().unwrap().clone()
}

#[tokio::test]
async fn login_device_waits_for_the_person_then_stores_the_tokens() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(device_server()).await;
    let url = server.url();
    let login = cmd(&keyring, &["login", "--device", &url]).spawn();
    let code = shown_code(&server, &login).await;
    let device_codes = server.device_codes();
    // The person takes a while: the bridge keeps polling meanwhile.
    until("two pending polls", || server.polls(&code).len() >= 2).await;
    server.settle(&code, DeviceState::Approved);
    let done = login.finish().await;
    assert!(done.status.success(), "{}", done.stderr);
    let stderr = done.stderr;
    assert!(
        stderr.contains(&format!("/device?user_code={code}")),
        "the complete verification URL: {stderr}"
    );
    assert!(stderr.contains("signed in to"), "{stderr}");
    for dc in &device_codes {
        assert!(!stderr.contains(dc.as_str()), "the device code is a secret");
    }
    assert!(
        done.stdout.join("\n").contains("Signed in to"),
        "{:?}",
        done.stdout
    );
    assert!(
        !done.stdout.join("\n").contains(&code),
        "the code goes to stderr, never stdout"
    );
    // A client registered for the device grant alone (no redirect URI), the resource
    // indicator at both endpoints, the tokens in the keychain.
    let reg = &server.registrations()[0];
    assert!(reg.get("redirect_uris").is_none(), "{reg}");
    assert_eq!(
        reg["grant_types"],
        serde_json::json!([
            "urn:ietf:params:oauth:grant-type:device_code",
            "refresh_token"
        ])
    );
    assert!(
        server
            .resources()
            .iter()
            .all(|r| r.as_deref() == Some(url.as_str())),
        "{:?}",
        server.resources()
    );
    let stored: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();
    let access = stored["tokens"]["access_token"].as_str().unwrap();
    assert!(!stderr.contains(access));
    assert_eq!(stored["tokens"]["scopes"], serde_json::json!(["mcp:read"]));

    // The bridge then uses them; a second device login reuses the registration.
    let mut b = cmd(&keyring, &[&url]).spawn();
    b.handshake().await;
    b.finish().await;
    assert_eq!(server.count("device_authorization"), 1);
    let mut again = cmd(&keyring, &["login", "--device", &url]).spawn();
    let code = shown_code(&server, &again).await;
    server.settle(&code, DeviceState::Approved);
    assert!(again.wait_exit().await.success(), "{}", again.stderr());
    assert_eq!(server.count("register"), 1);
}

#[tokio::test]
async fn slow_down_adds_five_seconds_to_the_interval() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        device_slow_downs: 1,
        ..device_server()
    })
    .await;
    let mut login = cmd(&keyring, &["login", "--device", &server.url()]).spawn();
    let code = shown_code(&server, &login).await;
    let deadline = Instant::now() + STEP;
    while server.polls(&code).len() < 2 {
        assert!(Instant::now() < deadline, "no second poll");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let polls = server.polls(&code);
    let gap = polls[1] - polls[0];
    assert!(
        gap >= Duration::from_millis(5900),
        "1 s + 5 s after slow_down, got {gap:?}"
    );
    server.settle(&code, DeviceState::Approved);
    assert!(login.wait_exit().await.success(), "{}", login.stderr());
}

#[tokio::test]
async fn refusal_expiry_and_timeout_say_what_to_run_next() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(device_server()).await;
    let url = server.url();
    for (state, expect) in [
        (DeviceState::Denied, "access_denied"),
        (DeviceState::Expired, "expired"),
    ] {
        let mut login = cmd(&keyring, &["login", "--device", &url]).spawn();
        let code = shown_code(&server, &login).await;
        server.settle(&code, state);
        let status = login.wait_exit().await;
        let stderr = login.stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        assert!(
            stderr.contains(&format!("mcp-keybridge login --device {url}")),
            "{stderr}"
        );
    }
    let mut login = cmd(
        &keyring,
        &["login", "--device", "--auth-timeout", "1.5", &url],
    )
    .spawn();
    shown_code(&server, &login).await;
    let status = login.wait_exit().await;
    let stderr = login.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nobody confirmed the sign-in code within 1.5 seconds")
            && stderr.contains("--auth-timeout"),
        "{stderr}"
    );
    assert!(
        keyring
            .lookup(&account(&server))
            .is_none_or(|s| !s.contains("access_token\":\""))
    );
}

#[tokio::test]
async fn device_is_refused_clearly_where_the_server_does_not_offer_it() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let done = cmd(&keyring, &["login", "--device", &server.url()])
        .run(b"")
        .await;
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("does not offer the device authorization grant")
            && done.stderr.contains("drop --device"),
        "{}",
        done.stderr
    );
}

#[tokio::test]
async fn the_bridge_signs_in_with_a_code_when_no_browser_can_open() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(device_server()).await;
    // No BROWSER, no DISPLAY (the test environment is cleared): a headless machine.
    let mut b = cmd(&keyring, &[&server.url()]).spawn();
    b.send(&initialize(1)).await;
    // The reply waits for the person.
    let code = shown_code(&server, &b).await;
    server.settle(&code, DeviceState::Approved);
    let reply = b.recv().await;
    assert_result(&reply, 1);
    let done = b.finish().await;
    assert!(done.stderr.contains("device grant"), "{}", done.stderr);
    assert_eq!(server.count("authorize"), 0, "no browser sign-in");
    assert!(keyring.lookup(&account(&server)).is_some());
}
