//! Streamable HTTP transport: request headers, the session id and protocol-version headers,
//! JSON and SSE replies and their framing variants, the GET stream, DELETE, concurrency and
//! holding requests until the initialize reply. Upstream failures: bridge_resilience.rs.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn auto_mode_relays_json_replies_with_session_and_version_headers() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();

    let init = bridge.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], PROTOCOL_VERSION);
    bridge.send(&tools_list(2)).await;
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert_eq!(reply["result"]["tools"][0]["name"], "echo");
    // The server→client stream is opened once the client said notifications/initialized.
    server
        .wait_for("the GET stream", |r| r.method == "GET")
        .await;

    let done = bridge.finish().await;
    assert!(done.status.success(), "exit on stdin EOF: {done:?}");
    assert!(
        done.stdout.is_empty(),
        "unexpected output: {:?}",
        done.stdout
    );

    let reqs = server.requests();
    let log = record::summarize(&reqs);
    // Auto mode must not probe anything before the initialize POST.
    assert!(reqs[0].is_post_of("initialize"), "first request:\n{log}");
    assert_eq!(reqs[0].path, "/mcp");
    assert!(
        !reqs[0].has_header("mcp-session-id"),
        "no session yet:\n{log}"
    );
    for post in reqs.iter().filter(|r| r.method == "POST") {
        let accept = post.header("accept").unwrap_or_default();
        assert!(
            accept.contains("application/json") && accept.contains("text/event-stream"),
            "Accept must list both types: {accept:?}"
        );
        let content_type = post.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type:?}"
        );
    }
    let session = reqs[1]
        .header("mcp-session-id")
        .unwrap_or_else(|| panic!("session id missing after initialize:\n{log}"));
    assert!(
        session.starts_with("session-"),
        "not the server's id: {session}"
    );
    for later in &reqs[1..] {
        assert_eq!(later.header("mcp-session-id"), Some(session), "{log}");
        assert_eq!(
            later.header("mcp-protocol-version"),
            Some(PROTOCOL_VERSION),
            "every request after initialize carries the negotiated version:\n{log}"
        );
    }
    let initialized = reqs
        .iter()
        .position(|r| r.is_post_of("notifications/initialized"))
        .unwrap_or_else(|| panic!("notifications/initialized not forwarded:\n{log}"));
    let get = reqs.iter().position(|r| r.method == "GET").unwrap();
    assert!(
        initialized < get,
        "GET only after notifications/initialized:\n{log}"
    );
    assert_eq!(
        reqs.last().unwrap().method,
        "DELETE",
        "DELETE on EOF:\n{log}"
    );
    assert!(server.live_sessions().is_empty(), "session not deleted");
}

#[tokio::test]
async fn sse_reply_relays_server_notification_and_request_before_the_response() {
    let server = TestServer::start(ServerConfig {
        reply: ReplyMode::Sse,
        sse_notification: true,
        sse_server_request: true,
        ..ServerConfig::streamable()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--transport", "streamable-http"])
        .spawn();
    bridge.handshake().await;

    bridge.send(&echo_call(2, "hello")).await;
    let note = bridge.recv().await;
    assert_eq!(
        note["method"], "notifications/message",
        "order kept: {note}"
    );
    let server_request = bridge.recv().await;
    assert_eq!(server_request["method"], "roots/list", "{server_request}");
    let srv_id = server_request["id"].clone();
    assert!(srv_id.as_str().is_some_and(|id| id.starts_with("srv-")));
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert_eq!(tool_text(&reply), "hello");

    // The client's answer to the server's request goes upstream untouched and is not
    // answered on stdout (the server's 202 has no body).
    let answer = format!(r#"{{"jsonrpc":"2.0","id":{srv_id},"result":{{"roots":[]}}}}"#);
    bridge.send(&answer).await;
    let posted = server
        .wait_for("the roots/list answer", |r| r.body == answer.as_bytes())
        .await;
    assert_eq!(posted.method, "POST");
    assert!(
        posted.has_header("mcp-session-id"),
        "answer sent outside the session"
    );
    bridge.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn get_stream_delivers_server_messages_and_drops_unknown_responses() {
    let (server, mut bridge) = connected(ServerConfig {
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    server
        .wait_for("the GET stream", |r| r.method == "GET")
        .await;

    // A response to nothing the client asked must not reach the client; the notification
    // after it on the same stream proves the stray one was read and dropped.
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    server.push(r#"{"jsonrpc":"2.0","id":999,"result":{}}"#);
    // A second answer to a request already answered: also not pending any more.
    server.push(r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}"#);
    server.push(r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#);
    let first = bridge.recv().await;
    assert_eq!(
        first["method"], "notifications/tools/list_changed",
        "{first}"
    );
}

#[tokio::test]
async fn protocol_version_header_is_the_one_the_server_chose() {
    // The client asks for 2025-11-25; the server settles on 2025-06-18.
    let server = TestServer::start(ServerConfig {
        protocol_version: Some("2025-06-18".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    let init = request(
        1,
        "initialize",
        Some(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "keybridge-tests", "version": "0"}
        })),
    );
    bridge.send(&init).await;
    assert_eq!(
        bridge.recv().await["result"]["protocolVersion"],
        "2025-06-18"
    );
    bridge.send(&initialized()).await;
    bridge.send(&ping(2)).await;
    assert_result(&bridge.recv().await, 2);
    let ping = server.wait_for("the ping", |r| r.is_post_of("ping")).await;
    assert_eq!(ping.header("mcp-protocol-version"), Some("2025-06-18"));
}

#[tokio::test]
async fn without_a_session_header_none_is_sent() {
    let (server, mut bridge) = connected(ServerConfig {
        sessions: false,
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&echo_call(2, "x")).await;
    assert_result(&bridge.recv().await, 2);
    let done = bridge.finish().await;
    assert!(done.status.success());
    for req in server.requests() {
        assert!(!req.has_header("mcp-session-id"), "{}", req.summary());
    }
}

#[tokio::test]
async fn delete_refused_with_405_still_exits_0() {
    let (server, bridge) = connected(ServerConfig {
        delete_allowed: false,
        ..ServerConfig::streamable()
    })
    .await;
    let done = bridge.finish().await;
    assert!(
        done.status.success(),
        "405 on DELETE is allowed by the spec: {done:?}"
    );
    server
        .wait_for("the DELETE", |r| r.method == "DELETE")
        .await;
}

#[tokio::test]
async fn slow_call_does_not_hold_up_a_later_ping() {
    for reply in [ReplyMode::Json, ReplyMode::Sse] {
        let server = TestServer::start(ServerConfig {
            reply,
            ..ServerConfig::streamable()
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
        bridge.handshake().await;

        bridge
            .send(&tool_call(2, "slow", json!({"ms": 3000})))
            .await;
        let sent = Instant::now();
        bridge.send(&ping(3)).await;
        let first = bridge.recv().await;
        assert_result(&first, 3);
        assert!(
            sent.elapsed() < Duration::from_millis(1500),
            "{reply:?}: ping waited {:?} behind the slow call",
            sent.elapsed()
        );
        let slow = bridge.recv().await;
        assert_result(&slow, 2);
        assert_eq!(tool_text(&slow), "slept 3000 ms");
    }
}

#[tokio::test]
async fn many_concurrent_requests_each_get_exactly_one_whole_line() {
    const N: u64 = 40;
    let (_server, mut bridge) = connected(ServerConfig {
        reply: ReplyMode::Sse,
        sse_notification: true,
        ..ServerConfig::streamable()
    })
    .await;
    for id in 100..100 + N {
        let text = format!("call {id} ").repeat(200);
        bridge.send(&echo_call(id, &text)).await;
    }
    // N notifications and N responses from N concurrent streams; `recv` fails on any line
    // that is not one whole JSON message (interleaved writes would break that).
    let mut answered = std::collections::BTreeMap::new();
    for _ in 0..2 * N {
        let msg = bridge.recv().await;
        if let Some(id) = msg["id"].as_u64() {
            assert_eq!(tool_text(&msg), format!("call {id} ").repeat(200));
            *answered.entry(id).or_insert(0) += 1;
        }
    }
    assert_eq!(answered.len() as u64, N, "{answered:?}");
    assert!(answered.values().all(|&n| n == 1), "{answered:?}");
    bridge.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn requests_are_held_until_the_initialize_reply() {
    let delay = Duration::from_millis(700);
    let server = TestServer::start(ServerConfig {
        initialize_delay: delay,
        ..ServerConfig::streamable()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    // Written back to back, as a script would.
    bridge.send(&initialize(1)).await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 1);
    bridge.send(&initialized()).await;
    assert_result(&bridge.recv().await, 2);

    let reqs = server.requests();
    let init = reqs.iter().find(|r| r.is_post_of("initialize")).unwrap();
    let list = reqs.iter().find(|r| r.is_post_of("tools/list")).unwrap();
    assert!(
        list.at.duration_since(init.at) >= delay,
        "tools/list went upstream before the initialize reply:\n{}",
        record::summarize(&reqs)
    );
    assert!(
        list.has_header("mcp-session-id"),
        "held request lacks the session"
    );
}

#[tokio::test]
async fn sse_framing_variants_are_parsed() {
    // Line endings, unnamed events (type "message" by default) and frames arriving in
    // pieces, some cut inside a multi-byte character.
    let variants = [
        (false, false, None),
        (true, true, Some(7)),
        (false, true, Some(1)),
    ];
    for (crlf, sse_event_names, sse_split_every) in variants {
        let label = format!("crlf={crlf} names={sse_event_names} split={sse_split_every:?}");
        let server = TestServer::start(ServerConfig {
            reply: ReplyMode::Sse,
            sse_notification: true,
            get_stream: true,
            crlf,
            sse_event_names,
            sse_split_every,
            ..ServerConfig::streamable()
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
        bridge.handshake().await;
        bridge.send(&echo_call(2, "héllo → ✓")).await;
        assert_eq!(
            bridge.recv().await["method"],
            "notifications/message",
            "{label}"
        );
        let reply = bridge.recv().await;
        assert_eq!(tool_text(&reply), "héllo → ✓", "{label}");

        server
            .wait_for("the GET stream", |r| r.method == "GET")
            .await;
        server.push(r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"ü"}}"#);
        assert_eq!(bridge.recv().await["params"]["data"], "ü", "{label}");
    }
}

#[tokio::test]
async fn priming_event_and_retry_field_are_handled() {
    let (_server, mut bridge) = connected(ServerConfig {
        reply: ReplyMode::Sse,
        sse_event_ids: true,
        sse_priming_event: true,
        sse_retry_ms: Some(1000),
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&echo_call(2, "primed")).await;
    // The empty-data priming event is not a message: the next line is the response.
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert_eq!(tool_text(&reply), "primed");
    bridge.expect_silence(Duration::from_millis(300)).await;
}
