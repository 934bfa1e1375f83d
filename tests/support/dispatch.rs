//! The MCP methods the test server implements, shared by every transport mode.
//!
//! Hidden test tools besides the listed `echo`: `slow` (sleeps `arguments.ms`) and `raw`
//! (replies with `arguments.reply` verbatim, `{id}` replaced by the request id, so tests can
//! check that the bridge relays server bytes unchanged).

use super::server::ServerConfig;
use serde_json::{Value, json};
use std::time::Duration;

/// What kind of JSON-RPC message a client sent.
pub enum Kind {
    Request {
        id: Value,
        method: String,
    },
    Notification {
        method: String,
    },
    /// A response to a server→client request (or something unrecognisable).
    Other,
}

pub fn kind(msg: &Value) -> Kind {
    let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
    match (msg.get("id"), method) {
        (Some(id), Some(method)) => Kind::Request {
            id: id.clone(),
            method,
        },
        (None, Some(method)) => Kind::Notification { method },
        _ => Kind::Other,
    }
}

/// Whether `tools/call` replies get the extra server messages (notification, roots/list).
pub fn is_tool_call(msg: &Value) -> bool {
    msg.get("method").and_then(Value::as_str) == Some("tools/call")
}

/// The response text to a request. Never returns for methods in `hang_methods`.
/// `seed` answers like the seed server: always protocol 2024-11-05, and no `ping`.
pub async fn answer(cfg: &ServerConfig, msg: &Value, seed: bool) -> String {
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
    if cfg.hang_methods.iter().any(|m| m == method) {
        std::future::pending::<()>().await;
    }
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    let result = match method {
        "initialize" => {
            tokio::time::sleep(cfg.initialize_delay).await;
            let asked = params["protocolVersion"].as_str().unwrap_or("2025-06-18");
            let version = match (&cfg.protocol_version, seed) {
                (_, true) => "2024-11-05",
                (Some(forced), false) => forced,
                (None, false) => asked,
            };
            json!({
                "protocolVersion": version,
                "capabilities": cfg.capabilities.clone()
                    .unwrap_or_else(|| json!({"tools": {"listChanged": false}})),
                "serverInfo": {"name": "keybridge-test-server", "version": "0.0.0"}
            })
        }
        "tools/list" => json!({"tools": [{
            "name": "echo",
            "description": "Returns its text argument",
            "inputSchema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"]
            }
        }]}),
        "tools/call" => {
            let args = &params["arguments"];
            match params["name"].as_str().unwrap_or("") {
                "echo" => text_result(args["text"].as_str().unwrap_or("")),
                "slow" => {
                    let ms = args["ms"].as_u64().unwrap_or(1000);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    text_result(&format!("slept {ms} ms"))
                }
                "raw" => {
                    let template = args["reply"].as_str().unwrap_or("{}");
                    return template.replace("{id}", &id.to_string());
                }
                other => return error(&id, -32602, &format!("Unknown tool: {other}")),
            }
        }
        "ping" if !seed => json!({}),
        "resources/list" => json!({"resources": []}),
        "resources/subscribe" | "resources/unsubscribe"
            if cfg
                .capabilities
                .as_ref()
                .is_some_and(|c| c["resources"]["subscribe"] == true) =>
        {
            json!({})
        }
        _ => return error(&id, -32601, "Method not found"),
    };
    let result = if cfg.null_fields {
        with_nulls(method, result)
    } else {
        result
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

/// `result` as a server dumping `None` as `null` writes it (see `ServerConfig::null_fields`).
fn with_nulls(method: &str, mut result: Value) -> Value {
    let absent = |v: &mut Value, keys: &[&str]| {
        for key in keys {
            v[*key] = Value::Null;
        }
    };
    match method {
        "initialize" => {
            absent(
                &mut result["capabilities"],
                &["logging", "prompts", "completions"],
            );
            absent(&mut result, &["instructions"]);
        }
        "tools/list" => {
            for tool in result["tools"].as_array_mut().into_iter().flatten() {
                absent(tool, &["title", "annotations", "outputSchema", "_meta"]);
            }
            absent(&mut result, &["nextCursor"]);
        }
        "tools/call" => {
            for block in result["content"].as_array_mut().into_iter().flatten() {
                absent(block, &["annotations", "_meta"]);
            }
            absent(&mut result, &["structuredContent"]);
        }
        "resources/list" => {
            result["resources"] = json!([{
                "uri": "test://greeting", "name": "greeting",
                "title": null, "description": null, "mimeType": null, "size": null,
                "annotations": null
            }]);
        }
        _ => {}
    }
    result
}

fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

pub fn error(id: &Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

/// The server→client messages sent ahead of a `tools/call` response when the knobs ask.
/// Each names the request it belongs to, so a test can check it arrived exactly once.
pub fn preamble(cfg: &ServerConfig, msg: &Value, srv_request_no: usize) -> Vec<String> {
    let for_request = msg.get("id").cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    if cfg.sse_notification {
        out.push(
            json!({
                "jsonrpc": "2.0",
                "method": "notifications/message",
                "params": {"level": "info", "data": {"note": "working on it", "request": for_request}}
            })
            .to_string(),
        );
    }
    if cfg.sse_server_request {
        out.push(
            json!({
                "jsonrpc": "2.0",
                "id": format!("srv-{srv_request_no}"),
                "method": "roots/list",
                "params": {"_meta": {"forRequest": for_request}}
            })
            .to_string(),
        );
    }
    out
}
