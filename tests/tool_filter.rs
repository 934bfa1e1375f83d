//! `--allow-tool` / `--deny-tool` through the real binary, in both protocol eras: a server
//! of the initialize era (JSON replies, a 2025-03-26 batch too) and a stateless 2026-07-28
//! one (no initialize, `_meta` on every request, SSE replies with cache hints). Hidden tools
//! never reach the client's tools/list, their calls are answered by the bridge, and the
//! server is shown never to receive one. A profile's `allow_tools` / `deny_tools` work too.

mod support;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::{BridgeBuilder, assert_result, initialize, initialized, request, tools_list};

const MODERN: &str = "2026-07-28";
const TOOLS: [&str; 4] = ["echo", "jira_search", "jira_delete_issue", "admin_reset"];

/// What the server saw: the name of every `tools/call` it received.
#[derive(Default)]
struct Seen {
    calls: Mutex<Vec<String>>,
}

/// Serves both eras on `POST /mcp`: a request with `_meta`'s protocol version 2026-07-28 is
/// answered the stateless way (SSE, `resultType`, cache hints), any other the classic way.
async fn start() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/mcp", post(handle))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn handle(State(seen): State<Arc<Seen>>, body: Bytes) -> Response {
    let msg: Value = serde_json::from_slice(&body).unwrap();
    if let Value::Array(items) = msg {
        let replies: Vec<Value> = items.iter().filter_map(|m| answer(&seen, m)).collect();
        return json_reply(&Value::Array(replies));
    }
    let modern = msg["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == MODERN;
    match answer(&seen, &msg) {
        None => StatusCode::ACCEPTED.into_response(),
        Some(reply) if modern => {
            let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": 1, "progress": 1}});
            let body =
                format!("event: message\ndata: {progress}\n\nevent: message\ndata: {reply}\n\n");
            ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
        }
        Some(reply) => json_reply(&reply),
    }
}

fn json_reply(v: &Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn answer(seen: &Seen, msg: &Value) -> Option<Value> {
    let id = msg.get("id")?.clone();
    let modern = msg["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == MODERN;
    let tools: Vec<Value> = TOOLS
        .iter()
        .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
        .collect();
    let result = match msg["method"].as_str()? {
        "initialize" => json!({"protocolVersion": "2025-03-26", "capabilities": {"tools": {}},
            "serverInfo": {"name": "filter-test", "version": "0"}}),
        "tools/list" if modern => json!({"resultType": "complete", "ttlMs": 60000,
            "cacheScope": "user", "tools": tools,
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "filter-test", "version": "0"}}}),
        "tools/list" => json!({"tools": tools}),
        "tools/call" => {
            let name = msg["params"]["name"].as_str().unwrap_or("").to_string();
            seen.calls.lock().unwrap().push(name.clone());
            json!({"content": [{"type": "text", "text": format!("ran {name}")}]})
        }
        _ => {
            return Some(json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": -32601, "message": "Method not found"}}));
        }
    };
    Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn names(reply: &Value) -> Vec<&str> {
    reply["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tools/list result: {reply}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

fn call(id: u64, name: &str, meta: Option<&Value>) -> String {
    let mut params = json!({"name": name, "arguments": {}});
    if let Some(meta) = meta {
        params["_meta"] = meta.clone();
    }
    request(id, "tools/call", Some(params))
}

/// A refusal made by the bridge for request `id`.
fn assert_refused(reply: &Value, id: u64, tool: &str) {
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(reply["error"]["data"]["source"], "mcp-keybridge", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(tool) && message.contains("tool filter"),
        "{message}"
    );
}

#[tokio::test]
async fn initialize_era_hides_and_refuses() {
    let (url, seen) = start().await;
    let mut bridge = BridgeBuilder::url(&url)
        .args(&["--allow-tool", "jira_*", "--allow-tool", "echo"])
        .args(&["--deny-tool", "*delete*"])
        .spawn();
    bridge.handshake().await;
    bridge.send(&tools_list(2)).await;
    let reply = bridge.recv().await;
    assert_result(&reply, 2);
    assert_eq!(names(&reply), ["echo", "jira_search"]);

    bridge.send(&call(3, "jira_delete_issue", None)).await;
    assert_refused(&bridge.recv().await, 3, "jira_delete_issue");
    bridge.send(&call(4, "admin_reset", None)).await;
    assert_refused(&bridge.recv().await, 4, "admin_reset");
    bridge.send(&call(5, "jira_search", None)).await;
    let reply = bridge.recv().await;
    assert_eq!(reply["result"]["content"][0]["text"], "ran jira_search");

    // A 2025-03-26 batch: the hidden call is answered by the bridge, the rest goes on.
    let batch = format!(
        "[{},{}]",
        call(6, "admin_reset", None),
        call(7, "echo", None)
    );
    bridge.send(&batch).await;
    let mut replies = [bridge.recv().await, bridge.recv().await];
    replies.sort_by_key(|r| r["id"].as_u64());
    assert_refused(&replies[0], 6, "admin_reset");
    assert_eq!(replies[1]["result"]["content"][0]["text"], "ran echo");

    bridge.finish().await;
    assert_eq!(*seen.calls.lock().unwrap(), ["jira_search", "echo"]);
}

#[tokio::test]
async fn stateless_era_hides_and_refuses() {
    let (url, seen) = start().await;
    let mut bridge = BridgeBuilder::url(&url)
        .args(&["--transport", "streamable-http", "--deny-tool", "admin_*"])
        .spawn();
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}
    });
    bridge
        .send(&request(1, "tools/list", Some(json!({"_meta": meta}))))
        .await;
    // The progress notification of that request's stream comes first, then the result.
    let progress = bridge.recv().await;
    assert_eq!(progress["method"], "notifications/progress");
    let reply = bridge.recv().await;
    assert_result(&reply, 1);
    assert_eq!(names(&reply), ["echo", "jira_search", "jira_delete_issue"]);
    assert_eq!(reply["result"]["resultType"], "complete");
    assert_eq!(reply["result"]["ttlMs"], 60000);
    assert_eq!(
        reply["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "filter-test"
    );

    bridge.send(&call(2, "admin_reset", Some(&meta))).await;
    assert_refused(&bridge.recv().await, 2, "admin_reset");
    bridge
        .send(&call(3, "jira_delete_issue", Some(&meta)))
        .await;
    let _progress = bridge.recv().await;
    let reply = bridge.recv().await;
    assert_eq!(
        reply["result"]["content"][0]["text"],
        "ran jira_delete_issue"
    );
    bridge.finish().await;
    assert_eq!(*seen.calls.lock().unwrap(), ["jira_delete_issue"]);
}

#[tokio::test]
async fn no_filter_relays_every_tool_byte_for_byte() {
    let (url, _seen) = start().await;
    let mut bridge = BridgeBuilder::url(&url).spawn();
    bridge.send(&initialize(1)).await;
    bridge.recv().await;
    bridge.send(&initialized()).await;
    bridge.send(&tools_list(2)).await;
    let (line, reply) = bridge.recv_with_line().await;
    assert_eq!(names(&reply), TOOLS);
    let expected = answer(
        &Seen::default(),
        &serde_json::from_str(&tools_list(2)).unwrap(),
    );
    assert_eq!(
        line,
        expected.unwrap().to_string(),
        "the server's bytes, unchanged"
    );
    bridge.finish().await;
}

#[tokio::test]
async fn profile_keys_filter_too() {
    let (url, seen) = start().await;
    let dir = support::bridge::scratch_dir();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            "[profiles.t]\nurl = \"{url}\"\nallow_tools = [\"jira_*\"]\ndeny_tools = [\"*delete*\"]\n"
        ),
    )
    .unwrap();
    let mut bridge = BridgeBuilder::new()
        .args(&["--profile", "t", "--config", file.to_str().unwrap()])
        .spawn();
    bridge.handshake().await;
    bridge.send(&tools_list(2)).await;
    assert_eq!(names(&bridge.recv().await), ["jira_search"]);
    bridge.send(&call(3, "echo", None)).await;
    assert_refused(&bridge.recv().await, 3, "echo");
    bridge.finish().await;
    assert!(seen.calls.lock().unwrap().is_empty());

    // A bad pattern in a profile is reported with its place.
    std::fs::write(
        &file,
        "[profiles.t]\nurl = \"https://h/mcp\"\ndeny_tools = [\"\"]\n",
    )
    .unwrap();
    let done = BridgeBuilder::new()
        .args(&["--profile", "t", "--config", file.to_str().unwrap()])
        .run(b"")
        .await;
    assert_eq!(done.status.code(), Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains(":3: profiles.t.deny_tools"),
        "{}",
        done.stderr
    );
    let _ = std::fs::remove_dir_all(dir);
}
