//! Upstream failures and faults: 5xx replies, an expired session, a request that never
//! gets answered, event streams cut before the response (with and without event ids for
//! `Last-Event-ID` resumption), and a lost legacy SSE stream. Whatever happens upstream,
//! every client request gets exactly one answer and the bridge keeps working.

mod support;

use std::time::Duration;
use support::*;

#[tokio::test]
async fn upstream_5xx_becomes_a_bridge_error_and_the_bridge_recovers() {
    let (server, mut bridge) = connected(ServerConfig::streamable()).await;

    // Enough failures to outlast any retries the bridge may make.
    server.update(|c| c.fail_next = 1000);
    bridge.send(&tools_list(2)).await;
    let reply = bridge.recv().await;
    let error = assert_bridge_error(&reply, 2);
    assert_eq!(error["data"]["httpStatus"], 503, "{reply}");

    server.update(|c| c.fail_next = 0);
    bridge.send(&tools_list(3)).await;
    assert_result(&bridge.recv().await, 3);
}

#[tokio::test]
async fn expired_session_still_gets_each_request_exactly_one_answer() {
    // Uses of the session: notifications/initialized (1), tools/list (2); the third → 404.
    let (server, mut bridge) = connected(ServerConfig {
        expire_session_after: Some(2),
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);

    bridge.send(&tools_list(3)).await;
    let reply = bridge.recv().await;
    if reply.get("error").is_some() {
        let error = assert_bridge_error(&reply, 3);
        assert_eq!(error["data"]["httpStatus"], 404, "{reply}");
    } else {
        // Recovered the spec's way: a fresh initialize without the dead session id.
        assert_result(&reply, 3);
        let reinit = server
            .requests()
            .into_iter()
            .filter(|r| r.is_post_of("initialize"))
            .nth(1)
            .expect("a result after a 404 needs a new session");
        assert!(!reinit.has_header("mcp-session-id"));
    }
    bridge.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn hanging_request_does_not_block_others() {
    let (_server, mut bridge) = connected(ServerConfig {
        hang_methods: vec!["tools/call".into()],
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&echo_call(2, "never answered")).await;
    bridge.send(&ping(3)).await;
    assert_result(&bridge.recv().await, 3);
    bridge.send(&tools_list(4)).await;
    assert_result(&bridge.recv().await, 4);
}

#[tokio::test]
async fn sse_reply_cut_without_event_ids_gets_a_bridge_error() {
    let (server, mut bridge) = connected(ServerConfig {
        reply: ReplyMode::Sse,
        sse_notification: true,
        ..ServerConfig::streamable()
    })
    .await;
    // From here on, SSE replies end after their first event.
    server.update(|c| c.cut_sse_after = Some(1));

    bridge.send(&echo_call(2, "cut")).await;
    let note = bridge.recv().await;
    assert_eq!(note["method"], "notifications/message", "{note}");
    // Nothing to resume from: the stream ended before the response.
    assert_bridge_error(&bridge.recv().await, 2);
    bridge.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn sse_reply_cut_with_event_ids_is_resumed_with_last_event_id() {
    let (server, mut bridge) = connected(ServerConfig {
        reply: ReplyMode::Sse,
        sse_notification: true,
        sse_event_ids: true,
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    server.update(|c| c.cut_sse_after = Some(1));

    bridge.send(&echo_call(2, "resumed")).await;
    assert_eq!(bridge.recv().await["method"], "notifications/message");
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert_eq!(tool_text(&reply), "resumed");
    let resume = server
        .wait_for("a GET with Last-Event-ID", |r| {
            r.has_header("last-event-id")
        })
        .await;
    assert_eq!(resume.method, "GET");
    assert!(resume.header("last-event-id").unwrap().ends_with("-0"));
}
#[tokio::test]
async fn lost_legacy_stream_still_answers_every_request_once() {
    let server = TestServer::start(ServerConfig {
        hang_methods: vec!["tools/call".into()],
        ..ServerConfig::legacy_sse()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse"])
        .spawn();
    bridge.handshake().await;
    bridge.send(&echo_call(2, "in flight")).await;
    server
        .wait_for("the call", |r| r.is_post_of("tools/call"))
        .await;
    // The only channel for the answer is gone: the bridge must say so, not wait forever.
    server.close_streams();
    assert_bridge_error(&bridge.recv().await, 2);

    bridge.send(&tools_list(3)).await;
    let reply = bridge.recv().await;
    assert_eq!(reply["id"], 3, "exactly one answer: {reply}");
    if reply.get("error").is_some() {
        assert_bridge_error(&reply, 3);
    }
    bridge.expect_silence(Duration::from_millis(300)).await;
}
