//! OAuth sign-in ahead of time from a terminal: `login` (browser on this machine, or the
//! callback address pasted from a browser elsewhere), `auth status` and `logout`, against the
//! in-repo authorization server with a private gnome-keyring.

mod support;

use support::keyring::PrivateKeyring;
use support::oauth_client::{account, bridge, browser_script};
use support::oauth_server::{OAuthConfig, OAuthServer};
use support::*;

#[tokio::test]
async fn login_status_and_logout_commands() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let cmd = |args: &[&str]| {
        let mut b = BridgeBuilder::new().args(args).env("BROWSER", &browser);
        for (k, v) in keyring.env() {
            b = b.env(k, &v);
        }
        b
    };
    let url = server.url();
    let done = cmd(&["login", &url]).run(b"").await;
    assert!(done.status.success(), "{}", done.stderr);
    assert!(
        done.stderr.contains("/authorize?"),
        "prints the URL: {}",
        done.stderr
    );
    assert_eq!(server.count("authorize"), 1);
    let status = cmd(&["auth", "status", &url]).run(b"").await;
    let text = status.stdout.join("\n");
    assert!(
        text.contains("OAuth (keychain oauth:") && text.contains("scopes: mcp:read"),
        "{text}"
    );
    assert!(text.contains("expires in"), "{text}");
    let stored: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();
    assert!(!text.contains(stored["tokens"]["access_token"].as_str().unwrap()));

    // The bridge then needs no browser.
    let mut b = bridge(&server, &keyring, "/nonexistent-browser").spawn();
    b.handshake().await;
    b.finish().await;
    assert_eq!(server.count("authorize"), 1);

    // This server offers no revocation: logout says so, removes the tokens and keeps the
    // registration for the next login.
    let out = cmd(&["logout", &url]).run(b"").await;
    assert!(out.status.success(), "{}", out.stderr);
    let text = out.stdout.join("\n");
    assert!(text.contains("offers no token revocation"), "{text}");
    assert!(text.contains("kept the client registration"), "{text}");
    let stored: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();
    assert!(stored["tokens"].is_null(), "{stored}");
    let done = cmd(&["login", &url]).run(b"").await;
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(server.count("register"), 1, "the registration is reused");

    let out = cmd(&["logout", &url, "--forget-client"]).run(b"").await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout
            .join("\n")
            .contains("and the client registration"),
        "{:?}",
        out.stdout
    );
    assert!(
        keyring.lookup(&account(&server)).is_none(),
        "removed from the keychain"
    );
}

#[tokio::test]
async fn login_accepts_the_callback_address_pasted_from_a_remote_browser() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    // A "browser" on another machine: it gets the redirect but cannot reach the callback.
    let dir = support::bridge::scratch_dir();
    let (script, landed) = (dir.join("remote.sh"), dir.join("landed"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncurl -sS -o /dev/null -w '%{{redirect_url}}' \"$1\" > {}\n",
            landed.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut b = BridgeBuilder::new()
        .args(&["login", &server.url()])
        .env("BROWSER", &script.display().to_string());
    for (k, v) in keyring.env() {
        b = b.env(k, &v);
    }
    let mut login = b.spawn();
    let deadline = std::time::Instant::now() + STEP;
    let address = loop {
        let text = std::fs::read_to_string(&landed).unwrap_or_default();
        if text.contains("/callback?") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the browser never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    login
        .send("http://127.0.0.1:1/callback?code=x&state=forged")
        .await;
    login.send(address.trim()).await;
    let done = login.finish().await;
    assert!(done.status.success(), "{}", done.stderr);
    assert!(
        done.stderr.contains("not from this sign-in"),
        "{}",
        done.stderr
    );
    assert!(keyring.lookup(&account(&server)).is_some());
    assert_eq!(server.count("code"), 1);
}
