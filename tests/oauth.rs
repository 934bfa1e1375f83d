//! OAuth sign-in end to end: the real binary, a strict in-repo authorization server and
//! protected MCP resource (tests/support/oauth_server.rs), a scripted "browser" (`BROWSER`
//! points at a curl script that follows the authorize redirect to the loopback callback),
//! and a real gnome-keyring on a private D-Bus session per test.

mod support;

use serde_json::json;
use support::keyring::PrivateKeyring;
use support::oauth_client::{account, bridge, browser_script};
use support::oauth_server::{OAuthConfig, OAuthServer};
use support::*;

/// `tools/call whoami` answers with the token's scopes.
async fn whoami(bridge: &mut Bridge, id: u64) -> serde_json::Value {
    bridge.send(&tool_call(id, "whoami", json!({}))).await;
    bridge.recv().await
}

#[tokio::test]
async fn first_sign_in_then_restart_uses_the_stored_token() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();

    let mut first = bridge(&server, &keyring, &browser).spawn();
    first.handshake().await;
    let reply = whoami(&mut first, 2).await;
    assert_result(&reply, 2);
    assert_eq!(
        tool_text(&reply),
        "scopes: mcp:read",
        "scopes from the resource metadata"
    );
    let done = first.finish().await;
    assert_eq!(server.count("register"), 1);
    assert_eq!(server.count("authorize"), 1);
    assert!(
        done.stderr.contains("/authorize?"),
        "the URL is printed: {}",
        done.stderr
    );
    // The RFC 8707 resource is the server's canonical URL, at /authorize and at /token.
    assert_eq!(server.resources(), vec![Some(server.url()); 2]);

    // In the keychain, as JSON with the tokens; no token on stderr.
    let stored = keyring
        .lookup(&account(&server))
        .expect("stored in the keychain");
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let access = stored["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = stored["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!done.stderr.contains(&access) && !done.stderr.contains(&refresh));

    let mut second = bridge(&server, &keyring, &browser).spawn();
    second.handshake().await;
    assert_result(&whoami(&mut second, 2).await, 2);
    second.finish().await;
    assert_eq!(
        server.count("authorize"),
        1,
        "a restart must not open the browser"
    );
    assert_eq!(server.count("register"), 1);
    // Nothing is probed before the server asks: that restart met one 401 first...
    assert_eq!(server.count("mcp_401"), 2);
    // ...while --oauth sends the stored token from the first request on.
    let mut third = bridge(&server, &keyring, &browser).arg("--oauth").spawn();
    third.handshake().await;
    third.finish().await;
    assert_eq!(server.count("mcp_401"), 2, "--oauth: no 401 first");
    assert_eq!(server.count("authorize"), 1);
}

#[tokio::test]
async fn expiry_refreshes_and_stores_the_rotated_refresh_token() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    let before: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();

    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 2).await, 2);
    assert_eq!(server.count("refresh"), 1);
    assert_eq!(server.count("authorize"), 1, "a refresh, not a new sign-in");
    let after: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();
    assert_ne!(
        before["tokens"]["refresh_token"], after["tokens"]["refresh_token"],
        "the rotated refresh token is stored"
    );
    // The old refresh token is dead at the server; the stored one works.
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 3).await, 3);
    assert_eq!(server.count("refresh"), 2);
    b.finish().await;
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_they_expire() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        // Within the bridge's one-minute lead: every request refreshes first.
        access_ttl: std::time::Duration::from_secs(30),
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    b.finish().await;
    assert!(server.count("refresh") >= 1, "refreshed ahead of expiry");
    assert_eq!(
        server.count("mcp_401"),
        1,
        "only the very first request met a 401"
    );
}

#[tokio::test]
async fn revoked_refresh_token_leads_to_exactly_one_new_sign_in() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    server.revoke_refresh_tokens();
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 2).await, 2);
    assert_eq!(server.count("authorize"), 2, "one new sign-in");
    assert_result(&whoami(&mut b, 3).await, 3);
    let done = b.finish().await;
    assert_eq!(server.count("authorize"), 2, "and no more");
    assert_eq!(server.count("register"), 1, "the registration is reused");
    assert!(done.stderr.contains("signing in again"), "{}", done.stderr);
}

#[tokio::test]
async fn a_server_that_rejects_fresh_tokens_gets_one_sign_in_not_a_loop() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        reject_tokens: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    for id in 1..=3 {
        b.send(&initialize(id)).await;
        let reply = b.recv().await;
        let error = assert_bridge_error(&reply, id);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("401") || message.contains("moments ago"),
            "{message}"
        );
    }
    b.finish().await;
    assert_eq!(
        server.count("authorize"),
        1,
        "one browser visit, however many requests"
    );
}

#[tokio::test]
async fn two_instances_at_once_share_one_sign_in() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let mut a = bridge(&server, &keyring, &browser).spawn();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    a.send(&initialize(1)).await;
    b.send(&initialize(1)).await;
    assert_result(&a.recv().await, 1);
    assert_result(&b.recv().await, 1);
    a.send(&initialized()).await;
    b.send(&initialized()).await;
    assert_result(&whoami(&mut a, 2).await, 2);
    assert_result(&whoami(&mut b, 2).await, 2);
    let (da, db) = (a.finish().await, b.finish().await);
    assert_eq!(server.count("register"), 1, "{}\n{}", da.stderr, db.stderr);
    assert_eq!(server.count("authorize"), 1, "one browser visit");
    assert_eq!(server.count("code"), 1);
}

#[tokio::test]
async fn no_s256_is_refused_clearly() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        s256: false,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.send(&initialize(1)).await;
    let reply = b.recv().await;
    let error = assert_bridge_error(&reply, 1);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("S256") && message.contains("refusing"),
        "{message}"
    );
    b.finish().await;
    assert_eq!(server.count("authorize"), 0, "no browser");
    assert_eq!(server.count("register"), 0);
}

#[tokio::test]
async fn well_known_discovery_with_an_issuer_path() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        prm_in_challenge: false,
        issuer_path: "/tenant",
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    b.finish().await;
    assert_eq!(server.count("authorize"), 1);
}

#[tokio::test]
async fn insufficient_scope_steps_up_once() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        whoami_scope: Some("mcp:admin"),
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let mut b = bridge(&server, &keyring, &browser).spawn();
    b.handshake().await;
    let reply = whoami(&mut b, 2).await;
    assert_result(&reply, 2);
    assert_eq!(tool_text(&reply), "scopes: mcp:read mcp:admin");
    assert_eq!(server.count("authorize"), 2, "one step-up sign-in");
    b.finish().await;
}

#[tokio::test]
async fn client_credentials_without_a_browser() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        service_client: Some(("ci-bot", "ci-secret-123")),
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
    assert_result(&whoami(&mut b, 2).await, 2);
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 3).await, 3);
    let done = b.finish().await;
    assert_eq!(server.count("client_credentials"), 2);
    assert_eq!(server.count("authorize"), 0);
    assert!(!done.stderr.contains("ci-secret-123"));
}

#[tokio::test]
async fn a_bearer_server_without_oauth_metadata_gets_the_plain_401_advice() {
    let keyring = PrivateKeyring::start();
    for bare_401 in [false, true] {
        let server = TestServer::start(ServerConfig {
            bearer: Some("static-token".into()),
            bare_401,
            ..ServerConfig::streamable()
        })
        .await;
        let mut b = BridgeBuilder::url(&server.url("/mcp"));
        for (k, v) in keyring.env() {
            b = b.env(k, &v);
        }
        let mut b = b.env("BROWSER", "/nonexistent-browser").spawn();
        for id in 1..=2 {
            b.send(&initialize(id)).await;
            let reply = b.recv().await;
            let error = assert_bridge_error(&reply, id);
            assert_eq!(error["data"]["httpStatus"], 401, "{reply}");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains("--bearer"), "{message}");
        }
        let done = b.finish().await;
        assert!(!done.stderr.contains("to sign in, open"), "{}", done.stderr);
    }
}

#[tokio::test]
async fn client_id_metadata_document_instead_of_registration() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig {
        cimd: true,
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let doc = "https://client.example/mcp-keybridge.json";
    let mut b = bridge(&server, &keyring, &browser)
        .args(&["--client-metadata-url", doc])
        .spawn();
    b.handshake().await;
    assert_result(&whoami(&mut b, 2).await, 2);
    let done = b.finish().await;
    assert_eq!(
        server.count("register"),
        0,
        "no dynamic registration: {}",
        done.stderr
    );
    assert!(
        server.count("cimd") >= 2,
        "the document URL was the client id"
    );
    assert!(
        done.stderr
            .contains("client_id=https%3A%2F%2Fclient.example%2Fmcp-keybridge.json")
    );
}

#[tokio::test]
async fn without_a_keychain_tokens_last_for_the_run() {
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    // No D-Bus session: no keychain.
    let mut b = BridgeBuilder::url(&server.url())
        .env("BROWSER", &browser)
        .env("RUST_LOG", "mcp_keybridge=info")
        .spawn();
    b.handshake().await;
    server.expire_access_tokens();
    assert_result(&whoami(&mut b, 2).await, 2);
    let done = b.finish().await;
    assert_eq!(server.count("authorize"), 1, "{}", done.stderr);
    assert_eq!(server.count("refresh"), 1, "refreshed from memory");
    assert!(
        done.stderr.contains("kept in memory only"),
        "{}",
        done.stderr
    );
}

#[tokio::test]
async fn other_headers_are_still_reread_after_a_401_without_a_bearer_challenge() {
    let server = OAuthServer::start(OAuthConfig {
        api_key: Some("new-key"),
        ..OAuthConfig::default()
    })
    .await;
    let file = support::bridge::scratch_dir().join("key");
    std::fs::write(&file, "old-key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut b = BridgeBuilder::url(&server.url())
        .args(&["-H", &format!("X-Api-Key: ${{file:{}}}", file.display())])
        .env("RUST_LOG", "mcp_keybridge=info")
        .spawn();
    // Rotated at its source after the bridge read it (it logs this line once it has).
    b.wait_for_stderr("relaying to").await;
    std::fs::write(&file, "new-key").unwrap();
    b.handshake().await;
    let done = b.finish().await;
    assert_eq!(server.count("mcp_401"), 1, "{}", done.stderr);
    assert!(
        done.stderr.contains("re-read credentials"),
        "{}",
        done.stderr
    );
}
