//! The stdio side: command line and URL sources, malformed input, byte-for-byte
//! transparency, piped use (write everything, close stdin), what is never answered, and
//! keeping stdout for MCP messages only.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn no_url_exits_2_with_a_usage_message() {
    let done = BridgeBuilder::new().run(b"").await;
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(
        done.stderr.to_lowercase().contains("usage"),
        "no usage message: {}",
        done.stderr
    );
    assert!(
        done.stdout.is_empty(),
        "stdout is for MCP only: {:?}",
        done.stdout
    );
}

/// Runs `builder` with one initialize on stdin and checks it was answered.
async fn initialize_via(builder: BridgeBuilder) {
    let done = builder.run((initialize(1) + "\n").as_bytes()).await;
    assert_result(&done.messages()[0], 1);
}

#[tokio::test]
async fn url_comes_from_argument_then_mcp_keybridge_url_then_sse_server_url() {
    let positional = TestServer::start(ServerConfig::seed()).await;
    let primary = TestServer::start(ServerConfig::seed()).await;
    let fallback = TestServer::start(ServerConfig::seed()).await;
    let both_envs = |builder: BridgeBuilder| {
        builder
            .env("MCP_KEYBRIDGE_URL", &primary.url("/mcp"))
            .env("SSE_SERVER_URL", &fallback.url("/mcp"))
    };

    initialize_via(both_envs(BridgeBuilder::url(&positional.url("/mcp")))).await;
    assert!(!positional.requests().is_empty(), "positional URL ignored");
    assert!(primary.requests().is_empty() && fallback.requests().is_empty());

    initialize_via(both_envs(BridgeBuilder::new())).await;
    assert!(!primary.requests().is_empty(), "MCP_KEYBRIDGE_URL ignored");
    assert!(fallback.requests().is_empty(), "SSE_SERVER_URL must lose");

    initialize_via(BridgeBuilder::new().env("SSE_SERVER_URL", &fallback.url("/mcp"))).await;
    assert!(!fallback.requests().is_empty(), "SSE_SERVER_URL ignored");
}

#[tokio::test]
async fn malformed_lines_get_errors_and_the_bridge_keeps_going() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();

    // Answered at once, even before initialize.
    bridge.send(r#"{"jsonrpc":"2.0","id":5,"#).await;
    let reply = bridge.recv().await;
    assert_idless_error(&reply, -32700);
    assert!(
        reply.get("id").is_none(),
        "unreadable id must be omitted: {reply}"
    );

    bridge.handshake().await;
    bridge.send("{not json at all").await;
    let reply = bridge.recv().await;
    assert_idless_error(&reply, -32700);
    assert!(reply.get("id").is_none(), "{reply}");
    for not_rpc in ["42", r#"{"foo":1}"#] {
        bridge.send(not_rpc).await;
        let reply = bridge.recv().await;
        assert_idless_error(&reply, -32600);
        assert!(reply.get("id").is_none(), "{not_rpc}: {reply}");
    }
    bridge
        .send_bytes(b"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\xff\xfe\"}\n")
        .await;
    assert_idless_error(&bridge.recv().await, -32700);

    bridge.send(&tools_list(7)).await;
    assert_result(&bridge.recv().await, 7);
    for req in server.requests().iter().filter(|r| r.method == "POST") {
        let msg = req.json().unwrap_or_default();
        assert_eq!(
            msg["jsonrpc"],
            "2.0",
            "junk went upstream: {}",
            req.summary()
        );
    }
}

#[tokio::test]
async fn crlf_line_endings_are_tolerated() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    let input = format!("{}\r\n", initialize(1));
    bridge.send_bytes(input.as_bytes()).await;
    assert_result(&bridge.recv().await, 1);
    bridge
        .send_bytes(format!("{}\r\n", initialized()).as_bytes())
        .await;
    bridge
        .send_bytes(format!("{}\r\n", ping(2)).as_bytes())
        .await;
    assert_result(&bridge.recv().await, 2);
}

#[tokio::test]
async fn message_bytes_are_relayed_unchanged_both_ways_on_every_transport() {
    const ODD_PING: &str = r#"{"method" : "ping",   "id":"req-8" ,"jsonrpc":"2.0","params":{"_meta":{"z":1,"a":[ ]}}}"#;
    // `{id}` is filled in by the server's hidden `raw` tool.
    const RAW: &str = r#"{"result" : {"content":[{"text":"r\u00e9sum\u00e9","type":"text"}],"isError":false} , "id":{id},  "jsonrpc":"2.0"}"#;
    let json = ServerConfig::streamable();
    let sse = ServerConfig {
        reply: ReplyMode::Sse,
        ..ServerConfig::streamable()
    };
    let setups = [
        ("JSON replies", json, "/mcp"),
        ("SSE replies", sse, "/mcp"),
        ("legacy SSE", ServerConfig::legacy_sse(), "/sse"),
    ];
    for (setup, cfg, path) in setups {
        let server = TestServer::start(cfg).await;
        let mut bridge = BridgeBuilder::url(&server.url(path)).spawn();
        bridge.handshake().await;

        bridge.send(ODD_PING).await;
        assert_result(&bridge.recv().await, "req-8");
        let got = server.wait_for("the ping", |r| r.is_post_of("ping")).await;
        assert_eq!(String::from_utf8_lossy(&got.body), ODD_PING, "{setup}");

        bridge
            .send(&tool_call("req-9", "raw", json!({"reply": RAW})))
            .await;
        let line = bridge.recv_line().await;
        assert_eq!(line, RAW.replace("{id}", "\"req-9\""), "{setup}");
    }
}

#[tokio::test]
async fn piped_script_gets_both_replies_exit_0_and_a_delete() {
    for reply in [ReplyMode::Json, ReplyMode::Sse] {
        let server = TestServer::start(ServerConfig {
            reply,
            // A slow initialize makes the bridge hold the rest of the script.
            initialize_delay: Duration::from_millis(300),
            ..ServerConfig::streamable()
        })
        .await;
        let input = [initialize(1), initialized(), tools_list(2)].join("\n") + "\n";
        let done = BridgeBuilder::url(&server.url("/mcp"))
            .run(input.as_bytes())
            .await;
        assert!(done.status.success(), "{reply:?}: {done:?}");
        let messages = done.messages();
        assert_eq!(messages.len(), 2, "{reply:?}: {:?}", done.stdout);
        assert_result(&messages[0], 1);
        assert_result(&messages[1], 2);
        let reqs = server.requests();
        let log = record::summarize(&reqs);
        let delete = reqs.last().filter(|r| r.method == "DELETE");
        let delete = delete.unwrap_or_else(|| panic!("{reply:?}: DELETE must come last:\n{log}"));
        assert!(delete.has_header("mcp-session-id"));
        assert!(server.live_sessions().is_empty());
    }
}

#[tokio::test]
async fn stdin_eof_waits_for_in_flight_requests_before_delete_and_exit() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let input = [
        initialize(1),
        initialized(),
        tool_call(2, "slow", json!({"ms": 800})),
        tools_list(3),
    ]
    .join("\n")
        + "\n";
    let done = BridgeBuilder::url(&server.url("/mcp"))
        .run(input.as_bytes())
        .await;
    assert!(done.status.success(), "{done:?}");
    let ids: Vec<_> = done.messages().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, [json!(1), json!(3), json!(2)], "{:?}", done.stdout);
    let reqs = server.requests();
    assert_eq!(
        reqs.last().unwrap().method,
        "DELETE",
        "{}",
        record::summarize(&reqs)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_deletes_the_session_and_exits_promptly() {
    let (server, mut bridge) = connected(ServerConfig::streamable()).await;
    bridge.send(&ping(2)).await;
    assert_result(&bridge.recv().await, 2);
    // stdin stays open: only the signal tells the bridge to stop.
    bridge.terminate();
    let started = std::time::Instant::now();
    bridge.wait_exit().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "grace not bounded"
    );
    let delete = server
        .wait_for("the DELETE", |r| r.method == "DELETE")
        .await;
    assert!(delete.has_header("mcp-session-id"));
}

#[tokio::test]
async fn large_messages_pass_through_whole() {
    let (_server, mut bridge) = connected(ServerConfig {
        reply: ReplyMode::Sse,
        ..ServerConfig::streamable()
    })
    .await;
    let big = "0123456789abcdef".repeat(64 * 1024); // 1 MiB
    bridge.send(&echo_call(2, &big)).await;
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert!(tool_text(&reply) == big, "1 MiB text came back altered");
}

#[tokio::test]
async fn nothing_is_sent_after_the_delete() {
    // The shortest script: EOF right after notifications/initialized, which is also when the
    // bridge opens its GET stream. That GET must not go out after the session is deleted.
    for _ in 0..3 {
        let server = TestServer::start(ServerConfig::streamable()).await;
        let input = [initialize(1), initialized()].join("\n") + "\n";
        let done = BridgeBuilder::url(&server.url("/mcp"))
            .run(input.as_bytes())
            .await;
        assert!(done.status.success(), "{done:?}");
        let reqs = server.requests();
        let log = record::summarize(&reqs);
        assert_eq!(
            reqs.last().unwrap().method,
            "DELETE",
            "request after DELETE:\n{log}"
        );
    }
}

#[tokio::test]
async fn notifications_and_client_responses_get_no_answer() {
    let (server, mut bridge) = connected(ServerConfig::streamable()).await;
    let cancel = notification("notifications/cancelled", Some(json!({"requestId": 77})));
    bridge.send(&cancel).await;
    bridge
        .send(r#"{"jsonrpc":"2.0","id":"srv-404","result":{}}"#)
        .await;
    bridge.expect_silence(Duration::from_millis(500)).await;
    server
        .wait_for("the client response", |r| {
            r.body
                .starts_with(b"{\"jsonrpc\":\"2.0\",\"id\":\"srv-404\"")
        })
        .await;
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.is_post_of("notifications/cancelled"))
    );
}

#[tokio::test]
async fn unreachable_server_gives_an_error_without_http_status() {
    let url = format!("http://127.0.0.1:{}/mcp", closed_port());
    let mut bridge = BridgeBuilder::url(&url).spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    let error = assert_bridge_error(&reply, 1);
    // The key is always there (the issue's shape); null says no HTTP exchange happened.
    assert!(
        error["data"]["httpStatus"].is_null() && error["data"].get("httpStatus").is_some(),
        "no HTTP status was received, so httpStatus is null: {reply}"
    );
    bridge.send(&tools_list(2)).await;
    assert_eq!(bridge.recv().await["id"], 2, "every request gets an answer");
}

#[tokio::test]
async fn logs_go_to_stderr_without_ansi_colours() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--log-level", "debug"])
        .spawn();
    bridge.handshake().await;
    let done = bridge.finish().await;
    assert!(done.status.success());
    assert!(!done.stderr.is_empty(), "debug logging wrote nothing");
    assert!(
        !done.stderr.contains('\u{1b}'),
        "ANSI escapes on a pipe:\n{}",
        done.stderr
    );
}

#[tokio::test]
async fn log_file_receives_the_logs() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let path = bridge::scratch_dir().join("bridge.log");
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--log-level", "debug", "--log-file", path.to_str().unwrap()])
        .spawn();
    bridge.handshake().await;
    assert!(bridge.finish().await.status.success());
    let log = std::fs::read_to_string(&path).expect("log file written");
    assert!(!log.is_empty(), "log file empty");
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a file");
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_answers_a_request_still_running_after_the_grace_with_a_shutdown_error() {
    let (server, mut bridge) = connected(ServerConfig {
        hang_methods: vec!["tools/call".into()],
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&echo_call(2, "never answered")).await;
    server
        .wait_for("the call", |r| r.is_post_of("tools/call"))
        .await;
    bridge.terminate();
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 2);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("bridge was stopped"), "{reply}");
    bridge.wait_exit().await;
}
