//! What the demo server says: the MCP methods it knows (`initialize`, `ping`, `tools/list`,
//! `tools/call`) and its two tools, `echo` and `add`. Transport-free: a JSON-RPC message in,
//! the reply (if one is owed) out.

use serde_json::{Value, json};

/// The demo server's name in `serverInfo`.
pub const SERVER_NAME: &str = "mcp-keybridge-demo";

/// Protocol versions the demo speaks, newest first.
const VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The names of the demo's tools, in `tools/list` order.
pub const TOOL_NAMES: [&str; 2] = ["echo", "add"];

/// True when `msg` is a request (it has a method and an id) and so is owed a reply.
pub fn is_request(msg: &Value) -> bool {
    msg.get("method").is_some() && msg.get("id").is_some()
}

/// The reply to `msg`, or `None` for a notification or a response.
pub fn answer(msg: &Value) -> Option<Value> {
    if !is_request(msg) {
        return None;
    }
    let id = msg["id"].clone();
    let params = &msg["params"];
    let result = match msg["method"].as_str().unwrap_or("") {
        "initialize" => Ok(initialize(params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(tools()),
        "tools/call" => call(params),
        other => Err((-32601, format!("method not found: {other}"))),
    };
    Some(match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    })
}

/// The client's version when the demo speaks it, else the newest (the spec's negotiation).
fn initialize(params: &Value) -> Value {
    let asked = params["protocolVersion"].as_str().unwrap_or("");
    let version = VERSIONS
        .iter()
        .find(|v| **v == asked)
        .unwrap_or(&VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": {"tools": {}},
        "serverInfo": {"name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION")},
        "instructions": "A loopback demo server started by `mcp-keybridge check --demo`.",
    })
}

fn tools() -> Value {
    json!({"tools": [
        {
            "name": TOOL_NAMES[0],
            "description": "Returns the text it is given.",
            "inputSchema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
        },
        {
            "name": TOOL_NAMES[1],
            "description": "Adds two numbers.",
            "inputSchema": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    ]})
}

fn call(params: &Value) -> Result<Value, (i64, String)> {
    let args = &params["arguments"];
    let text = match params["name"].as_str().unwrap_or("") {
        "echo" => args["text"]
            .as_str()
            .ok_or((-32602, "echo needs a string `text`".to_string()))?
            .to_string(),
        "add" => match (args["a"].as_f64(), args["b"].as_f64()) {
            (Some(a), Some(b)) => (a + b).to_string(),
            _ => return Err((-32602, "add needs numbers `a` and `b`".into())),
        },
        other => return Err((-32602, format!("unknown tool: {other}"))),
    };
    Ok(json!({"content": [{"type": "text", "text": text}], "isError": false}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    }

    #[test]
    fn negotiates_the_version() {
        let r = answer(&req("initialize", json!({"protocolVersion": "2024-11-05"}))).unwrap();
        assert_eq!(r["result"]["protocolVersion"], "2024-11-05");
        let r = answer(&req("initialize", json!({"protocolVersion": "1999-01-01"}))).unwrap();
        assert_eq!(r["result"]["protocolVersion"], VERSIONS[0]);
    }

    #[test]
    fn tools_work_and_notifications_get_nothing() {
        let r = answer(&req(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
        ))
        .unwrap();
        assert_eq!(r["result"]["content"][0]["text"], "5");
        let r = answer(&req("tools/call", json!({"name": "nope"}))).unwrap();
        assert_eq!(r["error"]["code"], -32602);
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(answer(&note).is_none());
    }
}
