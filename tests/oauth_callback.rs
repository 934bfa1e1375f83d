//! The loopback redirect as a firewall or an exact-matching authorization server needs it
//! (`--callback-port`, `--callback-host`), and `--authorization-server` choosing among the
//! resource's authorization servers, against the in-repo authorization server.

mod support;

use support::keyring::PrivateKeyring;
use support::oauth_client::{account, browser_script};
use support::oauth_server::{OAuthConfig, OAuthServer};
use support::*;

fn login(keyring: &PrivateKeyring, browser: &str, args: &[&str]) -> BridgeBuilder {
    let mut b = BridgeBuilder::new()
        .arg("login")
        .args(args)
        .env("BROWSER", browser)
        .env("RUST_LOG", "mcp_keybridge=info");
    for (k, v) in keyring.env() {
        b = b.env(k, &v);
    }
    b
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redirect_uris(server: &OAuthServer) -> Vec<String> {
    server
        .registrations()
        .iter()
        .map(|r| r["redirect_uris"][0].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_fixed_callback_port_is_registered_and_kept() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let browser = browser_script();
    let url = server.url();
    let port = free_port().to_string();
    let done = login(&keyring, &browser, &[&url, "--callback-port", &port])
        .run(b"")
        .await;
    assert!(done.status.success(), "{}", done.stderr);
    let fixed = format!("http://127.0.0.1:{port}/callback");
    assert_eq!(redirect_uris(&server), std::slice::from_ref(&fixed));
    assert!(
        done.stderr.contains(&format!(
            "redirect_uri={}",
            fixed.replace(':', "%3A").replace('/', "%2F")
        )),
        "{}",
        done.stderr
    );

    // The same port again: the registration is reused. Without the option, too (its port
    // is the registered one).
    for args in [
        vec![url.as_str(), "--callback-port", &port],
        vec![url.as_str()],
    ] {
        let done = login(&keyring, &browser, &args).run(b"").await;
        assert!(done.status.success(), "{}", done.stderr);
    }
    assert_eq!(server.count("register"), 1);

    // Another host: registered again, for that redirect URI; localhost is listened for on
    // whichever loopback address the browser resolves it to.
    let done = login(
        &keyring,
        &browser,
        &[
            &url,
            "--callback-port",
            &port,
            "--callback-host",
            "localhost",
        ],
    )
    .run(b"")
    .await;
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        redirect_uris(&server)[1],
        format!("http://localhost:{port}/callback")
    );
    let stored: serde_json::Value =
        serde_json::from_str(&keyring.lookup(&account(&server)).unwrap()).unwrap();
    let issuer = url.trim_end_matches("/mcp");
    assert_eq!(
        stored["clients"][issuer]["redirect_uri"],
        format!("http://localhost:{port}/callback")
    );
}

#[tokio::test]
async fn a_taken_fixed_port_is_an_error_not_another_port() {
    let keyring = PrivateKeyring::start();
    let server = OAuthServer::start(OAuthConfig::default()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let done = login(
        &keyring,
        &browser_script(),
        &[&server.url(), "--callback-port", &port],
    )
    .run(b"")
    .await;
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(
        done.stderr.contains(&format!(
            "cannot listen on 127.0.0.1:{port} for the callback"
        )) && done.stderr.contains("--callback-port"),
        "{}",
        done.stderr
    );
    assert_eq!(server.count("register"), 0);
    drop(taken);
}

#[tokio::test]
async fn authorization_server_chooses_among_those_listed() {
    let keyring = PrivateKeyring::start();
    // The resource lists an unreachable issuer first.
    let decoy = "http://127.0.0.1:9/decoy";
    let server = OAuthServer::start(OAuthConfig {
        decoy_issuer: Some(decoy),
        ..OAuthConfig::default()
    })
    .await;
    let browser = browser_script();
    let url = server.url();
    let issuer = url.trim_end_matches("/mcp").to_string();

    let done = login(&keyring, &browser, &[&url]).run(b"").await;
    assert_eq!(
        done.status.code(),
        Some(1),
        "the first one listed: {}",
        done.stderr
    );
    assert!(done.stderr.contains("127.0.0.1:9"), "{}", done.stderr);

    let done = login(
        &keyring,
        &browser,
        &[&url, "--authorization-server", &issuer],
    )
    .run(b"")
    .await;
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(server.count("authorize"), 1);

    let done = login(
        &keyring,
        &browser,
        &[&url, "--authorization-server", "https://elsewhere.example"],
    )
    .run(b"")
    .await;
    assert_eq!(done.status.code(), Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains(&format!("lists: {decoy}, {issuer}")),
        "names the choices: {}",
        done.stderr
    );
}
