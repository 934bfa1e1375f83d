//! A 2026-07-28 client talking to a server that speaks only the stateful revisions. The
//! bridge initializes a session of its own upstream (the newest stateful version, the
//! client's identity and capabilities from its first request's `_meta`), answers
//! `server/discover` from that session's `initialize` result, and sends every other request
//! on the session as it came (a stateful server ignores the `_meta` envelope); results get
//! the `resultType` the revision requires.

use bytes::Bytes;
use serde_json::{Value, json};

/// The stateful revision the bridge asks a legacy server for.
pub const LEGACY_VERSION: &str = "2025-11-25";

/// The id of the bridge's own `initialize`.
pub const INIT_ID: &str = "\"mcp-keybridge-downgrade-init\"";

/// The bridge's `initialize` for a legacy server, on behalf of the modern client whose
/// request is `raw`.
pub fn initialize_for(raw: &[u8]) -> Bytes {
    let meta = serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|v| v.pointer("/params/_meta").cloned())
        .unwrap_or(Value::Null);
    let caps = meta
        .get("io.modelcontextprotocol/clientCapabilities")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let info = meta
        .get("io.modelcontextprotocol/clientInfo")
        .cloned()
        .unwrap_or_else(|| json!({"name": "mcp-keybridge", "version": env!("CARGO_PKG_VERSION")}));
    let params =
        json!({"protocolVersion": LEGACY_VERSION, "capabilities": caps, "clientInfo": info});
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{INIT_ID},"method":"initialize","params":{params}}}"#
    ))
}

/// The `server/discover` result for the legacy server whose `initialize` result is `init`.
pub fn discover_result(init: &Value) -> Value {
    let info = init
        .get("serverInfo")
        .cloned()
        .unwrap_or_else(|| json!({"name": "unknown", "version": "0"}));
    let mut result = json!({
        "supportedVersions": [crate::era::MODERN_VERSION],
        "capabilities": init.get("capabilities").cloned().unwrap_or_else(|| json!({})),
        "serverInfo": info.clone(),
        "resultType": "complete",
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": {"io.modelcontextprotocol/serverInfo": info},
    });
    if let Some(text) = init.get("instructions").filter(|v| v.is_string()) {
        result["instructions"] = text.clone();
    }
    result
}

/// The error a 2026-07-28 server gives a request without the envelope the revision
/// requires (`-32602`) or at a version it does not speak (`-32022`); `None` when it is fine.
pub fn check_envelope(raw: &[u8], id: &crate::jsonrpc::Id) -> Option<Bytes> {
    let meta = serde_json::from_slice::<Value>(raw)
        .ok()?
        .pointer("/params/_meta")
        .cloned()
        .unwrap_or(Value::Null);
    let version = meta.get(crate::era::VERSION_KEY).and_then(Value::as_str);
    let (code, message, data) = match version {
        Some(v) if v != crate::era::MODERN_VERSION => (
            crate::era::errors::UNSUPPORTED_VERSION,
            "Unsupported protocol version".to_string(),
            json!({"supported": [crate::era::MODERN_VERSION], "requested": v}),
        ),
        _ if meta
            .get("io.modelcontextprotocol/clientCapabilities")
            .is_none() =>
        {
            (
                -32602,
                "missing _meta io.modelcontextprotocol/clientCapabilities".to_string(),
                json!({"source": "mcp-keybridge"}),
            )
        }
        _ => return None,
    };
    Some(crate::jsonrpc::error_reply(
        Some(id),
        code,
        &message,
        Some(data),
    ))
}

/// The `io.modelcontextprotocol/logLevel` a request asks for, if any.
pub fn log_level(raw: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(raw).ok()?;
    Some(
        v.pointer("/params/_meta/io.modelcontextprotocol~1logLevel")?
            .as_str()?
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_speaks_for_the_modern_client() {
        let first = br#"{"jsonrpc":"2.0","id":"p","method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"m","version":"2"},"io.modelcontextprotocol/clientCapabilities":{"sampling":{}}}}}"#;
        let init: Value = serde_json::from_slice(&initialize_for(first)).unwrap();
        assert_eq!(init["params"]["clientInfo"]["name"], "m");
        assert_eq!(init["params"]["capabilities"], json!({"sampling": {}}));
        assert_eq!(init["params"]["protocolVersion"], LEGACY_VERSION);
        let d = discover_result(&json!({"protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}}, "serverInfo": {"name": "old", "version": "1"},
            "instructions": "hi"}));
        assert_eq!(d["supportedVersions"], json!(["2026-07-28"]));
        assert_eq!(d["serverInfo"]["name"], "old");
        assert_eq!(d["instructions"], "hi");
    }

    #[test]
    fn requests_are_checked_as_a_modern_server_would() {
        let id = crate::jsonrpc::classify(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":4,"method":"x"}"#,
        ))
        .unwrap()
        .id
        .unwrap();
        let check = |meta: &str| {
            let raw = format!(
                r#"{{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{{"_meta":{meta}}}}}"#
            );
            check_envelope(raw.as_bytes(), &id)
                .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        };
        let ok = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"info"}"#;
        assert!(check(ok).is_none());
        let old = check(r#"{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}"#).unwrap();
        assert_eq!(old["error"]["code"], -32022);
        assert_eq!(old["error"]["data"]["supported"], json!(["2026-07-28"]));
        let bare = check(r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#).unwrap();
        assert_eq!(bare["error"]["code"], -32602);
        let raw = format!(
            r#"{{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{{"_meta":{ok}}}}}"#
        );
        assert_eq!(log_level(raw.as_bytes()).as_deref(), Some("info"));
    }
}
