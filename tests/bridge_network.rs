//! Corporate networks: the proxy (`--proxy`, `HTTP_PROXY`, `NO_PROXY`, proxy credentials
//! sent but never shown) through a real forward proxy that records what passes, and TLS
//! against a server whose certificate a throwaway CA signed: the error says which TLS
//! failure it was (unknown issuer → `--ca-cert`, name mismatch, expired), and `--ca-cert`
//! makes it work, directly and through a CONNECT tunnel.

mod support;

use support::bridge::scratch_dir;
use support::proxy::TestProxy;
use support::tls::{ServerCert, TestCa, TlsFront};
use support::*;

/// A handshake and a tools/list, then EOF; returns how the bridge ended.
async fn session(builder: BridgeBuilder) -> Finished {
    let mut bridge = builder.spawn();
    bridge.handshake().await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
    done
}

/// The error message the bridge answers `initialize` with, then EOF.
async fn initialize_error(builder: BridgeBuilder) -> String {
    let mut bridge = builder.spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    let message = assert_bridge_error(&reply, 1)["message"]
        .as_str()
        .unwrap()
        .to_string();
    bridge.finish().await;
    message
}

/// Asserts that the proxy relayed every request the server received, and at least one.
fn all_through(proxy: &TestProxy, server: &TestServer) {
    let relayed = proxy.requests();
    let received = server.requests();
    assert!(!received.is_empty());
    assert_eq!(
        relayed.len(),
        received.len(),
        "proxy saw {relayed:?}, server saw {} requests",
        received.len()
    );
    let by_name = proxied(&server.origin());
    for r in &relayed {
        let target = &r.target;
        assert!(
            target.starts_with(&server.origin()) || target.starts_with(&by_name),
            "{r:?}"
        );
    }
}

/// `url` with the host only the test proxy resolves: loopback URLs never use the proxy
/// variables, so the environment tests address the server by this name.
fn proxied(url: &str) -> String {
    url.replace("127.0.0.1", support::proxy::PROXIED_HOST)
}

#[tokio::test]
async fn proxy_option_sends_every_request_through_the_proxy() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let proxy = TestProxy::start(None).await;
    session(BridgeBuilder::url(&server.url("/mcp")).args(&["--proxy", &proxy.url()])).await;
    all_through(&proxy, &server);
}

#[tokio::test]
async fn http_proxy_variable_is_honoured_and_no_proxy_bypasses_it() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let proxy = TestProxy::start(None).await;
    let with_auth = proxy.url().replace("http://", "http://carol:env-s3cret@");
    let done = session(
        BridgeBuilder::url(&proxied(&server.url("/mcp")))
            .env("HTTP_PROXY", &with_auth)
            .args(&["--log-level", "info"]),
    )
    .await;
    all_through(&proxy, &server);
    assert!(
        done.stderr.contains("HTTP_PROXY=http://***@127.0.0.1"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("env-s3cret"), "{}", done.stderr);

    // NO_PROXY: the bridge goes direct, where the name does not resolve; the proxy sees nothing.
    let before = proxy.requests().len();
    let message = initialize_error(
        BridgeBuilder::url(&proxied(&server.url("/mcp")))
            .env("HTTP_PROXY", &proxy.url())
            .env("NO_PROXY", support::proxy::PROXIED_HOST),
    )
    .await;
    assert!(message.contains("cannot connect"), "{message}");
    assert_eq!(proxy.requests().len(), before, "NO_PROXY host went through");
}

#[tokio::test]
async fn loopback_is_reached_directly_whatever_the_proxy_variables_say() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let dead = format!("http://127.0.0.1:{}", closed_port());
    session(
        BridgeBuilder::url(&server.url("/mcp"))
            .env("HTTP_PROXY", &dead)
            .env("HTTPS_PROXY", &dead),
    )
    .await;
}

#[tokio::test]
async fn proxy_option_wins_over_the_environment() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let proxy = TestProxy::start(None).await;
    let dead = format!("http://127.0.0.1:{}", closed_port());
    session(
        BridgeBuilder::url(&server.url("/mcp"))
            .args(&["--proxy", &proxy.url()])
            .env("HTTP_PROXY", &dead)
            .env("NO_PROXY", "127.0.0.1"),
    )
    .await;
    all_through(&proxy, &server);
}

#[tokio::test]
async fn proxy_credentials_are_sent_but_never_shown() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    // base64("alice:pr0xy-s3cret")
    let expected = "Basic YWxpY2U6cHIweHktczNjcmV0";
    let proxy = TestProxy::start(Some(expected.into())).await;
    let with_auth = proxy.url().replace("http://", "http://alice:pr0xy-s3cret@");
    let done = session(BridgeBuilder::url(&server.url("/mcp")).args(&[
        "--proxy",
        &with_auth,
        "--log-level",
        "trace",
    ]))
    .await;
    all_through(&proxy, &server);
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| r.auth.as_deref() == Some(expected))
    );
    assert!(
        done.stderr.contains("using proxy http://***@127.0.0.1"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("s3cret"), "{}", done.stderr);

    // A wrong password: the proxy's 407 is explained, the password still not shown.
    let wrong = proxy.url().replace("http://", "http://alice:wr0ng-s3cret@");
    let message = initialize_error(BridgeBuilder::url(&server.url("/mcp")).args(&[
        "--proxy",
        &wrong,
        "--log-level",
        "trace",
    ]))
    .await;
    assert!(message.contains("407"), "{message}");
    assert!(message.contains("proxy requires credentials"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
async fn unknown_issuer_suggests_ca_cert_which_then_works() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let ca = TestCa::new();
    let front = TlsFront::start(server.addr, ca.server_cert(ServerCert::Valid)).await;

    let message = initialize_error(BridgeBuilder::url(&front.url("/mcp"))).await;
    assert!(message.contains("unknown issuer"), "{message}");
    assert!(message.contains("--ca-cert"), "{message}");
    assert!(
        server.requests().is_empty(),
        "nothing got past the handshake"
    );

    let dir = scratch_dir();
    let pem = ca.write_pem(&dir);
    session(BridgeBuilder::url(&front.url("/mcp")).args(&["--ca-cert", pem.to_str().unwrap()]))
        .await;
    assert!(!server.requests().is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn name_mismatch_and_expiry_are_told_apart() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let ca = TestCa::new();
    let dir = scratch_dir();
    let pem = ca.write_pem(&dir);
    let trusting = |url: &str| BridgeBuilder::url(url).args(&["--ca-cert", pem.to_str().unwrap()]);

    let other = TlsFront::start(server.addr, ca.server_cert(ServerCert::OtherName)).await;
    let message = initialize_error(trusting(&other.url("/mcp"))).await;
    assert!(message.contains("name mismatch"), "{message}");
    assert!(!message.contains("unknown issuer"), "{message}");

    let expired = TlsFront::start(server.addr, ca.server_cert(ServerCert::Expired)).await;
    let message = initialize_error(trusting(&expired.url("/mcp"))).await;
    assert!(message.contains("has expired"), "{message}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let ca = TestCa::new();
    let front = TlsFront::start(server.addr, ca.server_cert(ServerCert::Valid)).await;
    let proxy = TestProxy::start(None).await;
    let dir = scratch_dir();
    let pem = ca.write_pem(&dir);
    session(
        BridgeBuilder::url(&proxied(&front.url("/mcp")))
            .args(&["--ca-cert", pem.to_str().unwrap()])
            .env("HTTPS_PROXY", &proxy.url()),
    )
    .await;
    let tunnels = proxy.requests();
    assert!(!tunnels.is_empty());
    for t in &tunnels {
        assert_eq!(t.method, "CONNECT");
        assert_eq!(t.target, proxied(&front.addr.to_string()));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn unusable_ca_file_is_a_configuration_error() {
    let dir = scratch_dir();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "this is not a certificate\n").unwrap();
    for (path, expected) in [
        (junk.clone(), "no PEM certificate"),
        (dir.join("missing.pem"), "cannot read it"),
    ] {
        let done = BridgeBuilder::url("https://127.0.0.1:9/mcp")
            .args(&["--ca-cert", path.to_str().unwrap()])
            .run(b"")
            .await;
        assert_eq!(done.status.code(), Some(2), "{done:?}");
        assert!(done.stderr.contains(expected), "{}", done.stderr);
        assert!(done.stderr.contains("--ca-cert"), "{}", done.stderr);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A machine with no CA certificates at all (a minimal container): the start-up error says
/// so and what to install; `--ca-cert` alone is then enough.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn empty_system_trust_store_is_explained_and_ca_cert_suffices() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let ca = TestCa::new();
    let front = TlsFront::start(server.addr, ca.server_cert(ServerCert::Valid)).await;
    let dir = scratch_dir();
    let no_system_cas = |b: BridgeBuilder| {
        b.env("SSL_CERT_FILE", "/dev/null")
            .env("SSL_CERT_DIR", dir.join("none").to_str().unwrap())
    };
    let done = no_system_cas(BridgeBuilder::url(&front.url("/mcp")))
        .run(b"")
        .await;
    assert_eq!(done.status.code(), Some(1), "{done:?}");
    assert!(
        done.stderr.contains("No CA certificates"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("ca-certificates"), "{}", done.stderr);

    let pem = ca.write_pem(&dir);
    session(no_system_cas(
        BridgeBuilder::url(&front.url("/mcp")).args(&["--ca-cert", pem.to_str().unwrap()]),
    ))
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
