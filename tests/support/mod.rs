//! Shared harness for the bridge's integration tests.
//!
//! * [`server`] — an in-process MCP test server (Streamable HTTP, legacy HTTP+SSE and the
//!   seed server's quirks) with fault-injection knobs and a record of every HTTP request.
//! * [`bridge`] — spawns the real `mcp-keybridge` binary and talks to it over stdio, with a
//!   timeout on every step so that no test can hang.
//! * [`proxy`], [`tls`] — a forward proxy and a TLS front with a throwaway CA, for the
//!   corporate-network tests.
//! * this file — JSON-RPC message builders and assertions shared by the test files.

// Each test file is its own crate and uses only part of this harness; without this every
// unused helper would trip `-D warnings`.
#![allow(dead_code, unused_imports)]

pub mod bridge;
mod dispatch;
pub mod hostile;
mod legacy;
mod listener;
pub mod modern;
pub mod proxy;
pub mod record;
pub mod server;
pub mod sockets;
mod sse;
mod streamable;
pub mod tls;

pub use bridge::{Bridge, BridgeBuilder, Finished};
pub use record::Recorded;
pub use server::{Mode, ReplyMode, ServerConfig, TestServer};

use serde_json::{Value, json};
use std::time::Duration;

/// Upper bound for any single wait in a test (a reply, an exit, a request reaching a server).
pub const STEP: Duration = Duration::from_secs(10);

/// The protocol version the tests' client asks for; the test server echoes it back.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// An `initialize` request line as an MCP client would write it.
pub fn initialize(id: u64) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {"roots": {"listChanged": true}},
            "clientInfo": {"name": "keybridge-tests", "version": "0"}
        }
    })
    .to_string()
}

/// The `notifications/initialized` line that follows a successful handshake.
pub fn initialized() -> String {
    notification("notifications/initialized", None)
}

pub fn notification(method: &str, params: Option<Value>) -> String {
    let mut msg = json!({"jsonrpc": "2.0", "method": method});
    if let Some(params) = params {
        msg["params"] = params;
    }
    msg.to_string()
}

pub fn request(id: impl Into<Value>, method: &str, params: Option<Value>) -> String {
    let mut msg = json!({"jsonrpc": "2.0", "id": id.into(), "method": method});
    if let Some(params) = params {
        msg["params"] = params;
    }
    msg.to_string()
}

pub fn ping(id: impl Into<Value>) -> String {
    request(id, "ping", None)
}

pub fn tools_list(id: impl Into<Value>) -> String {
    request(id, "tools/list", None)
}

pub fn tool_call(id: impl Into<Value>, name: &str, arguments: Value) -> String {
    request(
        id,
        "tools/call",
        Some(json!({"name": name, "arguments": arguments})),
    )
}

pub fn echo_call(id: impl Into<Value>, text: &str) -> String {
    tool_call(id, "echo", json!({"text": text}))
}

/// The text of the first content item of a `tools/call` result.
pub fn tool_text(reply: &Value) -> &str {
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("not a tools/call text result: {reply}"))
}

/// Asserts a successful response to request `id`.
pub fn assert_result(reply: &Value, id: impl Into<Value>) {
    let id = id.into();
    assert_eq!(reply["jsonrpc"], "2.0", "not JSON-RPC 2.0: {reply}");
    assert_eq!(reply["id"], id, "reply to the wrong request: {reply}");
    assert!(reply.get("result").is_some(), "expected a result: {reply}");
}

/// Asserts an error made by the bridge itself (not relayed from the server) answering `id`:
/// code -32603, `data.source == "mcp-keybridge"`, and a non-empty message. Returns the error.
pub fn assert_bridge_error(reply: &Value, id: impl Into<Value>) -> &Value {
    let id = id.into();
    assert_eq!(reply["jsonrpc"], "2.0", "not JSON-RPC 2.0: {reply}");
    assert_eq!(reply["id"], id, "error answers the wrong request: {reply}");
    let error = reply
        .get("error")
        .unwrap_or_else(|| panic!("expected an error: {reply}"));
    assert_eq!(
        error["code"], -32603,
        "upstream failures are -32603: {reply}"
    );
    assert_eq!(
        error["data"]["source"], "mcp-keybridge",
        "bridge-made errors carry data.source: {reply}"
    );
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "error message must be actionable: {reply}"
    );
    error
}

/// Asserts an id-less error with `code` (parse errors and unreadable requests).
pub fn assert_idless_error(reply: &Value, code: i64) {
    assert_eq!(reply["jsonrpc"], "2.0", "not JSON-RPC 2.0: {reply}");
    assert_eq!(reply["error"]["code"], code, "wrong error code: {reply}");
    assert_no_null_id(reply);
}

/// The bridge never writes `"id": null` (SDK clients choke on it).
pub fn assert_no_null_id(msg: &Value) {
    assert!(
        msg.get("id") != Some(&Value::Null),
        "bridge wrote \"id\": null: {msg}"
    );
}

/// An unsigned JWT with subject `sub` whose `exp` is `delta` seconds from now (the bridge
/// never checks a signature, only reads the claims).
pub fn jwt(sub: &str, delta: i64) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let claims = format!(r#"{{"sub":"{sub}","exp":{}}}"#, now + delta);
    format!(
        "{}.{}.c2ln",
        enc(r#"{"alg":"HS256","typ":"JWT"}"#),
        enc(&claims)
    )
}

/// A loopback port on which nothing listens (connections are refused).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
pub mod assertion_keys;
pub mod assertion_server;
pub mod keyring;
pub mod oauth_client;
pub mod oauth_server;

/// A test server with `cfg` and a bridge on its `/mcp`, past the handshake.
pub async fn connected(cfg: ServerConfig) -> (TestServer, Bridge) {
    let server = TestServer::start(cfg).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.handshake().await;
    (server, bridge)
}
