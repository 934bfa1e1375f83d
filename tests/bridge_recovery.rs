//! Recoveries as real servers need them (issue 16): a stale session answered with 400 (the
//! TypeScript SDK's session example), a legacy SSE session bound to the token's subject
//! (404 on POST after a rotation), and requests that arrive while the legacy stream is down.

mod support;

use std::time::{Duration, Instant};
use support::*;

fn inits(server: &TestServer) -> usize {
    server.count(|r| r.is_post_of("initialize"))
}

fn secret_file(tag: &str, token: &str) -> std::path::PathBuf {
    let dir = support::bridge::scratch_dir();
    let path = dir.join(format!("{tag}-token"));
    std::fs::write(&path, format!("{token}\n")).unwrap();
    path
}

/// Waits (bounded) until the bridge has logged `text`.
async fn stderr_says(bridge: &Bridge, text: &str) {
    let deadline = Instant::now() + STEP;
    while !bridge.stderr().contains(text) {
        assert!(
            Instant::now() < deadline,
            "the bridge never logged {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stale_session_answered_with_400_is_renewed_once() {
    let (server, mut bridge) = connected(ServerConfig {
        stale_session_400: true,
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&echo_call(2, "before")).await;
    assert_result(&bridge.recv().await, 2);

    server.restart().await;
    bridge.send(&echo_call(3, "after restart")).await;
    let reply = bridge.recv().await;
    assert_result(&reply, 3);
    assert_eq!(tool_text(&reply), "after restart");
    assert_eq!(inits(&server), 2, "one replayed initialize");
    bridge.send(&echo_call(4, "again")).await;
    assert_result(&bridge.recv().await, 4);
    assert_eq!(inits(&server), 2, "the new session is kept");
}

#[tokio::test]
async fn a_400_that_a_new_session_cannot_cure_is_not_looped_on() {
    // Every session dies at once: each message gets one renewal, then the error.
    let (server, mut bridge) = connected(ServerConfig {
        stale_session_400: true,
        expire_session_after: Some(1),
        ..ServerConfig::streamable()
    })
    .await;
    server
        .wait_for("the handshake's end", |r| {
            r.is_post_of("notifications/initialized") && r.status.get().is_some()
        })
        .await;
    server.update(|c| c.expire_session_after = Some(0));
    bridge.send(&tools_list(2)).await;
    let reply = bridge.recv().await;
    assert_eq!(
        reply["error"]["code"], -32000,
        "the server's own error: {reply}"
    );
    assert_eq!(inits(&server), 2, "one renewal for the message");
    bridge.send(&tools_list(3)).await;
    bridge.recv().await;
    assert_eq!(inits(&server), 3, "one more for the next message, no loop");

    // A 400 whose JSON-RPC body names another cause: no renewal at all.
    let (server, mut bridge) = connected(ServerConfig::streamable()).await;
    server
        .wait_for("the handshake's end", |r| {
            r.is_post_of("notifications/initialized") && r.status.get().is_some()
        })
        .await;
    server.update(|c| c.refuse_400 = Some("Bad Request: Unsupported protocol version".into()));
    bridge.send(&tools_list(2)).await;
    let reply = bridge.recv().await;
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unsupported protocol version"),
        "{reply}"
    );
    assert_eq!(inits(&server), 1);
    bridge.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(inits(&server), 1);
}

#[tokio::test]
async fn the_get_stream_renews_a_stale_400_session_by_itself() {
    let (server, mut bridge) = connected(ServerConfig {
        stale_session_400: true,
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    server
        .wait_for("the GET stream", |r| r.method == "GET")
        .await;
    server.restart().await;
    // No request from the client: the GET stream's own 400 starts the new session.
    server
        .wait_for("a replayed initialize", |r| {
            r.is_post_of("initialize") && r.header("mcp-session-id").is_none()
        })
        .await;
    let deadline = Instant::now() + STEP;
    let session = loop {
        if let [s] = server.live_sessions().as_slice() {
            break s.clone();
        }
        assert!(Instant::now() < deadline, "no new session");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    server
        .wait_for("a GET stream on the new session", |r| {
            r.method == "GET" && r.header("mcp-session-id") == Some(session.as_str())
        })
        .await;
    server.push(&notification("notifications/tools/list_changed", None));
    let note = bridge.recv().await;
    assert_eq!(note["method"], "notifications/tools/list_changed", "{note}");
    assert_eq!(inits(&server), 2);
}

#[tokio::test]
async fn legacy_session_bound_to_a_subject_is_renewed_after_a_rotation() {
    let server = TestServer::start(ServerConfig {
        legacy_bind_identity: true,
        bearer: Some("alice-token".into()),
        ..ServerConfig::legacy_sse()
    })
    .await;
    let path = secret_file("legacy-subject", "alice-token");
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse", "--bearer"])
        .arg(&format!("file:{}", path.display()))
        .spawn();
    bridge.handshake().await;
    bridge.send(&echo_call(2, "as alice")).await;
    assert_result(&bridge.recv().await, 2);

    // The source now holds another subject's token; the server accepts only that one.
    std::fs::write(&path, "bob-token\n").unwrap();
    server.update(|c| c.bearer = Some("bob-token".into()));
    bridge.send(&echo_call(3, "as bob")).await;
    let reply = bridge.recv().await;
    assert_result(&reply, 3);
    assert_eq!(tool_text(&reply), "as bob");
    assert_eq!(server.count(|r| r.method == "GET"), 2, "one new stream");
    assert_eq!(inits(&server), 2, "initialize replayed on it");
    bridge.send(&echo_call(4, "still bob")).await;
    assert_result(&bridge.recv().await, 4);
    bridge.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn legacy_requests_during_a_reconnect_wait_for_the_new_stream() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse", "--connect-timeout", "10"])
        .spawn();
    bridge.handshake().await;
    server.stop();
    stderr_says(&bridge, "legacy SSE stream lost").await;
    // Sent while the stream is down (reconnecting after about a second).
    bridge.send(&echo_call(2, "queued")).await;
    server.restart().await;
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert_eq!(tool_text(&reply), "queued");
    assert_eq!(inits(&server), 2);
}

#[tokio::test]
async fn legacy_requests_get_the_error_when_the_stream_stays_down() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse", "--connect-timeout", "1"])
        .spawn();
    bridge.handshake().await;
    server.stop();
    stderr_says(&bridge, "legacy SSE stream lost").await;
    let asked = Instant::now();
    bridge.send(&echo_call(2, "lost")).await;
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 2);
    let waited = asked.elapsed();
    assert!(waited < Duration::from_secs(5), "bounded: {waited:?}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("--connect-timeout"), "{message}");
}
