//! MCP 2026-07-28 through the bridge, against the strict stateless test server
//! (`support/modern.rs`): the headers each request mirrors, the server's own errors, the
//! HeaderMismatch re-read, request-scoped streams (progress, a cut stream, cancellation),
//! input-required results and `subscriptions/listen`.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::modern::{ModernServer, VERSION};
use support::*;

/// A 2026-07-28 request line, as a stateless client writes it.
fn modern(id: impl Into<Value>, method: &str, params: Value) -> String {
    modern_at(VERSION, id, method, params)
}

fn modern_at(version: &str, id: impl Into<Value>, method: &str, mut params: Value) -> String {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": {"name": "modern-test-client", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}
    });
    json!({"jsonrpc": "2.0", "id": id.into(), "method": method, "params": params}).to_string()
}

fn call(id: u64, tool: &str, arguments: Value) -> String {
    modern(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

async fn bridge_for(server: &ModernServer) -> Bridge {
    BridgeBuilder::url(&server.url())
        .args(&["--log-level", "debug"])
        .spawn()
}

#[tokio::test]
async fn stateless_requests_carry_the_revision_headers_and_no_session() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;

    bridge.send(&modern(1, "server/discover", json!({}))).await;
    let discover = bridge.recv().await;
    assert_eq!(
        discover["result"]["supportedVersions"][0], VERSION,
        "{discover}"
    );

    bridge.send(&modern(2, "tools/list", json!({}))).await;
    let list = bridge.recv().await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["echo", "region", "slow", "cut", "ask"],
        "the invalid tool is dropped"
    );

    let region_call = call(3, "region", json!({"region": "Zürich"}));
    bridge.send(&region_call).await;
    let reply = bridge.recv().await;
    assert_eq!(tool_text(&reply), "Zürich", "{reply}");

    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stderr.contains("dropping tool \"broken\""),
        "{}",
        done.stderr
    );

    let reqs = server.requests();
    assert!(
        reqs.iter().all(|r| r.method == "POST"),
        "no GET stream, no DELETE: {reqs:?}"
    );
    assert!(reqs.iter().all(|r| !r.has_header("mcp-session-id")));
    let posted = server.posts_of("tools/call");
    let sent = &posted[0];
    assert_eq!(
        sent.body,
        region_call.as_bytes(),
        "the body goes byte for byte"
    );
    assert_eq!(sent.header("mcp-protocol-version"), Some(VERSION));
    assert_eq!(sent.header("mcp-method"), Some("tools/call"));
    assert_eq!(sent.header("mcp-name"), Some("region"));
    assert_eq!(
        sent.header("mcp-param-region"),
        Some("=?base64?WsO8cmljaA==?=")
    );
    let list_post = &server.posts_of("tools/list")[0];
    assert_eq!(list_post.header("mcp-method"), Some("tools/list"));
    assert!(!list_post.has_header("mcp-name"));
}

#[tokio::test]
async fn the_servers_own_errors_reach_the_client_under_its_id() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;

    bridge
        .send(&modern_at("1900-01-01", "v-1", "tools/list", json!({})))
        .await;
    let reply = bridge.recv().await;
    assert_eq!(reply["id"], "v-1");
    assert_eq!(reply["error"]["code"], -32022, "{reply}");
    assert_eq!(reply["error"]["data"]["supported"], json!([VERSION]));

    bridge.send(&modern(2, "no/such/method", json!({}))).await;
    let reply = bridge.recv().await;
    assert_eq!(reply["id"], 2);
    assert_eq!(
        reply["error"]["code"], -32601,
        "a 404 with a JSON-RPC body: {reply}"
    );
    assert!(
        reply["error"].get("data").is_none(),
        "the server's error as written: {reply}"
    );
    bridge.finish().await;
}

#[tokio::test]
async fn a_header_mismatch_rereads_tools_list_and_retries_the_call_once() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;
    // Never listed: the first POST goes without Mcp-Param-Region.
    bridge
        .send(&call(1, "region", json!({"region": "eu-west"})))
        .await;
    let reply = bridge.recv().await;
    assert_eq!(tool_text(&reply), "eu-west", "{reply}");
    let calls = server.posts_of("tools/call");
    assert_eq!(calls.len(), 2);
    assert!(!calls[0].has_header("mcp-param-region"));
    assert_eq!(calls[1].header("mcp-param-region"), Some("eu-west"));
    let reread = &server.posts_of("tools/list")[0];
    assert!(
        reread.json().unwrap()["id"]
            .as_str()
            .unwrap()
            .starts_with("mcp-keybridge-")
    );

    // A list that still lacks the annotation: one retry, then the server's -32020.
    server.hide_annotation(true);
    bridge.send(&tools_list_modern(2)).await;
    bridge.recv().await;
    bridge
        .send(&call(3, "region", json!({"region": "us"})))
        .await;
    let reply = bridge.recv().await;
    assert_eq!(reply["error"]["code"], -32020, "{reply}");
    assert_eq!(server.posts_of("tools/call").len(), 4);
    bridge.finish().await;
}

fn tools_list_modern(id: u64) -> String {
    modern(id, "tools/list", json!({}))
}

#[tokio::test]
async fn progress_comes_as_it_goes_and_a_cut_stream_is_an_error_never_a_resend() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;
    let mut slow = json!({"name": "slow", "arguments": {"ms": 50}});
    slow["_meta"] = json!({"progressToken": "p1"});
    let mut line: Value = serde_json::from_str(&modern(1, "tools/call", slow.clone())).unwrap();
    line["params"]["_meta"]["progressToken"] = json!("p1");
    bridge.send(&line.to_string()).await;
    let first = bridge.recv().await;
    assert_eq!(first["method"], "notifications/progress", "{first}");
    assert_eq!(first["params"]["progressToken"], "p1");
    assert_eq!(tool_text(&bridge.recv().await), "slow done");

    bridge.send(&call(2, "cut", json!({}))).await;
    assert_eq!(bridge.recv().await["method"], "notifications/progress");
    let reply = bridge.recv().await;
    let error = assert_bridge_error(&reply, 2);
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("re-issue"), "{message}");
    assert!(
        !message.contains("--transport"),
        "no legacy advice: {message}"
    );
    bridge.expect_silence(Duration::from_millis(300)).await;
    assert_eq!(
        server.posts_of("tools/call").len(),
        2,
        "the cut call is not re-sent"
    );
    bridge.finish().await;
}

#[tokio::test]
async fn cancelling_a_modern_request_closes_its_stream_instead_of_posting() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;
    bridge.send(&call(7, "slow", json!({"ms": 20_000}))).await;
    server
        .wait_until("the slow call", |s| s.posts_of("tools/call").len() == 1)
        .await;
    assert_eq!(bridge.recv().await["method"], "notifications/progress");
    let cancel = notification("notifications/cancelled", Some(json!({"requestId": 7})));
    bridge.send(&cancel).await;
    server
        .wait_until("the stream to close", |s| s.cancelled() == [json!(7)])
        .await;
    bridge.expect_silence(Duration::from_millis(300)).await;
    let done = bridge.finish().await;
    assert!(done.status.success());
    assert!(server.posts_of("notifications/cancelled").is_empty());
}

#[tokio::test]
async fn input_required_results_and_request_state_pass_through() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;
    bridge.send(&call(1, "ask", json!({}))).await;
    let (line, first) = bridge.recv_with_line().await;
    assert_eq!(first["result"]["resultType"], "input_required");
    assert!(line.contains("opaque-\u{e9}tat-1"), "{line}");
    let state = first["result"]["requestState"].clone();
    let retry = json!({"name": "ask", "arguments": {},
        "inputResponses": {"q1": {"action": "accept", "content": {"name": "Ada"}}},
        "requestState": state});
    bridge.send(&modern(2, "tools/call", retry)).await;
    assert_eq!(tool_text(&bridge.recv().await), "hello Ada");
    bridge.finish().await;
}

#[tokio::test]
async fn a_dropped_listen_stream_is_reopened_with_the_same_request() {
    let server = ModernServer::start().await;
    let mut bridge = bridge_for(&server).await;
    let listen = modern(
        "sub-1",
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true}}),
    );
    bridge.send(&listen).await;
    let ack = bridge.recv().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(bridge.recv().await["params"]["n"], 0);
    // The first stream ended; the reopened one repeats no acknowledgement.
    let next = bridge.recv().await;
    assert_eq!(next["method"], "notifications/tools/list_changed", "{next}");
    assert_eq!(next["params"]["n"], 1);
    assert_eq!(
        next["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "sub-1"
    );
    let opens = server.posts_of("subscriptions/listen");
    assert_eq!(opens.len(), 2);
    assert_eq!(opens[0].body, opens[1].body);
    // stdin EOF ends the subscription instead of waiting for it forever.
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
}
