//! The server goes away and comes back: a crash with every connection cut, new connections
//! refused, sessions forgotten, then a restart on the same port. The bridge must keep
//! running, answer what it cannot deliver with a fast error, and recover by itself.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::*;

/// Sends `make(id)` with fresh ids until a result comes back (each try must be answered
/// exactly once, with a result or a bridge error), within `limit`. Returns the tries.
async fn until_result(
    bridge: &mut Bridge,
    first_id: u64,
    limit: Duration,
    make: impl Fn(u64) -> String,
) -> u64 {
    let start = Instant::now();
    let mut id = first_id;
    loop {
        bridge.send(&make(id)).await;
        let reply = bridge.recv().await;
        assert_eq!(reply["id"], id, "one answer per request, in turn: {reply}");
        if reply.get("result").is_some() {
            return id - first_id + 1;
        }
        assert_bridge_error(&reply, id);
        assert!(
            start.elapsed() < limit,
            "no recovery within {limit:?}: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        id += 1;
    }
}

fn error_message(reply: &Value) -> &str {
    reply["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn streamable_server_down_gets_a_fast_error_then_recovers_on_restart() {
    let (server, mut bridge) = connected(ServerConfig::streamable()).await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);

    server.stop();
    // Until the bridge has seen its pooled connection close (a request already under way
    // when the server dies gets "the connection broke", tested elsewhere).
    support::sockets::wait_clients_closed(server.addr.port()).await;
    let asked = Instant::now();
    bridge.send(&echo_call(3, "while down")).await;
    let reply = bridge.recv().await;
    let error = assert_bridge_error(&reply, 3);
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "not fast: {:?}",
        asked.elapsed()
    );
    assert!(error_message(&reply).contains("cannot connect"), "{reply}");
    assert_eq!(error["data"]["httpStatus"], Value::Null, "{reply}");

    server.restart().await;
    // The old session died with the server: the bridge re-initializes on the 404 and the
    // call goes through on the first try.
    bridge.send(&echo_call(4, "after restart")).await;
    let reply = bridge.recv().await;
    assert_result(&reply, 4);
    assert_eq!(tool_text(&reply), "after restart");
    let inits = server.count(|r| r.is_post_of("initialize"));
    assert_eq!(inits, 2, "one replayed initialize after the restart");
    bridge.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn get_stream_cut_by_a_proxy_is_reopened_and_delivers_later_messages() {
    let (server, mut bridge) = connected(ServerConfig {
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    let gets = |s: &TestServer| s.count(|r| r.method == "GET");
    server
        .wait_for("the GET stream", |r| r.method == "GET")
        .await;

    // A proxy's idle timeout: the stream ends, the server stays up.
    server.close_streams();
    let deadline = Instant::now() + STEP;
    while gets(&server) < 2 {
        assert!(Instant::now() < deadline, "the GET stream was not reopened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.push(&notification("notifications/tools/list_changed", None));
    let note = bridge.recv().await;
    assert_eq!(note["method"], "notifications/tools/list_changed", "{note}");
}

#[tokio::test]
async fn get_stream_comes_back_with_the_new_session_after_a_restart() {
    let (server, mut bridge) = connected(ServerConfig {
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    server
        .wait_for("the GET stream", |r| r.method == "GET")
        .await;

    server.restart().await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    let sessions = server.live_sessions();
    assert_eq!(sessions.len(), 1, "one new session: {sessions:?}");
    let session = sessions[0].clone();
    server
        .wait_for("a GET stream on the new session", |r| {
            r.method == "GET" && r.header("mcp-session-id") == Some(session.as_str())
        })
        .await;
    server.push(&notification("notifications/resources/list_changed", None));
    let note = bridge.recv().await;
    assert_eq!(
        note["method"], "notifications/resources/list_changed",
        "{note}"
    );
}

#[tokio::test]
async fn legacy_server_down_gets_fast_errors_then_the_session_is_rebuilt() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    // Requests wait for a reconnection up to --connect-timeout, then get the error.
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse", "--connect-timeout", "1"])
        .spawn();
    bridge.handshake().await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);

    server.stop();
    // The stream's loss is noticed at once; until it is back, requests fail within the bound.
    bridge.wait_for_stderr("legacy SSE stream lost").await;
    let asked = Instant::now();
    bridge.send(&ping(3)).await;
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 3);
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "not fast: {:?}",
        asked.elapsed()
    );

    server.restart().await;
    until_result(&mut bridge, 10, Duration::from_secs(8), |id| {
        echo_call(id, "back")
    })
    .await;
    let inits = server.count(|r| r.is_post_of("initialize"));
    assert_eq!(
        inits, 2,
        "the client's initialize replayed once on the new session"
    );
    bridge.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn server_down_at_start_is_not_fatal() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    server.stop();
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 1);
    assert!(error_message(&reply).contains("cannot connect"), "{reply}");

    server.restart().await;
    bridge.send(&initialize(2)).await;
    assert_result(&bridge.recv().await, 2);
    bridge.send(&initialized()).await;
    bridge.send(&tools_list(3)).await;
    assert_result(&bridge.recv().await, 3);
}

#[tokio::test]
async fn request_in_flight_when_the_server_dies_gets_one_error_and_is_not_resent() {
    let (server, mut bridge) = connected(ServerConfig {
        hang_methods: vec!["tools/call".into()],
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&echo_call(2, "in flight")).await;
    server
        .wait_for("the call", |r| r.is_post_of("tools/call"))
        .await;
    server.stop();
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 2);
    assert!(
        error_message(&reply).contains("may or may not have run"),
        "{reply}"
    );

    server.restart().await;
    bridge.send(&tools_list(3)).await;
    assert_result(&bridge.recv().await, 3);
    let calls = server.count(|r| r.is_post_of("tools/call"));
    assert_eq!(calls, 1, "a call whose fate is unknown is never sent again");
    bridge.expect_silence(Duration::from_millis(300)).await;
}

/// A client retrying `initialize` while the first is still under way: the second is held
/// by the gate and released when the first is answered (this once deadlocked the relay).
#[tokio::test]
async fn initialize_retried_while_the_first_is_pending_gets_its_answer() {
    let server = TestServer::start(ServerConfig {
        initialize_delay: Duration::from_millis(300),
        ..ServerConfig::streamable()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.send(&initialize(1)).await;
    bridge.send(&initialize(2)).await;
    assert_result(&bridge.recv().await, 1);
    assert_result(&bridge.recv().await, 2);
    bridge.send(&initialized()).await;
    bridge.send(&tools_list(3)).await;
    assert_result(&bridge.recv().await, 3);
}
