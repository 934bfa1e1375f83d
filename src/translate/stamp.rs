//! Turning a stateful client's request into a 2026-07-28 one: the `_meta` envelope the
//! revision requires (version, client identity and capabilities from the client's
//! `initialize`, the log level it set), with the client's own `_meta` keys winning; and the
//! retry of a request with the answers to the server's input requests.

use crate::era::MODERN_VERSION;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What the stateful client said about itself in `initialize`.
#[derive(Debug, Clone)]
pub struct ClientInit {
    /// The version it asked for (it gets this one back).
    pub version: String,
    /// `params.capabilities`.
    pub capabilities: Value,
    /// `params.clientInfo`.
    pub client_info: Value,
}

#[derive(Deserialize)]
struct Init {
    params: Option<InitParams>,
}

#[derive(Deserialize)]
struct InitParams {
    #[serde(rename = "protocolVersion")]
    version: Option<String>,
    capabilities: Option<Value>,
    #[serde(rename = "clientInfo")]
    client_info: Option<Value>,
}

impl ClientInit {
    /// Reads an `initialize` request.
    pub fn parse(raw: &[u8]) -> ClientInit {
        let params = serde_json::from_slice::<Init>(raw)
            .ok()
            .and_then(|i| i.params);
        let (version, capabilities, client_info) = match params {
            Some(p) => (p.version, p.capabilities, p.client_info),
            None => (None, None, None),
        };
        ClientInit {
            version: version.unwrap_or_else(|| "2025-11-25".into()),
            capabilities: capabilities.unwrap_or_else(|| Value::Object(Map::new())),
            client_info: client_info.unwrap_or_else(|| Value::Object(Map::new())),
        }
    }

    /// Whether the client declared the capability a server's input request needs.
    pub fn allows(&self, method: &str) -> bool {
        let cap = match method {
            "elicitation/create" => "elicitation",
            "sampling/createMessage" => "sampling",
            "roots/list" => "roots",
            _ => return false,
        };
        self.capabilities.get(cap).is_some_and(Value::is_object)
    }

    /// The envelope members, for a `_meta` that lacks them.
    fn envelope(&self, log_level: Option<&str>) -> Map<String, Value> {
        let mut meta = Map::new();
        meta.insert(crate::era::VERSION_KEY.into(), MODERN_VERSION.into());
        meta.insert(
            "io.modelcontextprotocol/clientInfo".into(),
            self.client_info.clone(),
        );
        meta.insert(
            "io.modelcontextprotocol/clientCapabilities".into(),
            self.capabilities.clone(),
        );
        if let Some(level) = log_level {
            meta.insert("io.modelcontextprotocol/logLevel".into(), level.into());
        }
        meta
    }
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    method: String,
    params: Option<Map<String, Value>>,
}

/// A request of a stateful client, rewritten for the 2026-07-28 server, under `id` (the
/// JSON text of an id). `extra` members are set in `params`; `request_state`, the server's
/// own JSON text, goes in unchanged.
pub fn modern_request(
    raw: &[u8],
    init: &ClientInit,
    log_level: Option<&str>,
    id: Option<&str>,
    extra: Option<(&str, &RawValue)>,
    request_state: Option<&RawValue>,
) -> Option<Bytes> {
    let req: Request<'_> = serde_json::from_slice(raw).ok()?;
    let mut params = req.params.unwrap_or_default();
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        for (k, v) in init.envelope(log_level) {
            meta.entry(k).or_insert(v);
        }
    }
    params.remove("requestState");
    if let Some((key, value)) = extra {
        params.insert(key.into(), serde_json::from_str(value.get()).ok()?);
    }
    let mut params_text = serde_json::to_string(&params).ok()?;
    if let Some(state) = request_state {
        // `}` of the params object: the server's bytes go in as they came.
        params_text.pop();
        if params.is_empty() {
            params_text.push_str(&format!(r#""requestState":{}}}"#, state.get()));
        } else {
            params_text.push_str(&format!(r#","requestState":{}}}"#, state.get()));
        }
    }
    let id = id.or(req.id.map(RawValue::get))?;
    let method = Value::from(req.method);
    Some(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{params_text}}}"#
    )))
}

/// The `initialize` result the bridge gives for a 2026-07-28 server, from its
/// `server/discover` result: the client's own version, the server's capabilities, info and
/// instructions.
pub fn initialize_result(init: &ClientInit, discover: &Value) -> Value {
    let mut result = Map::new();
    result.insert("protocolVersion".into(), init.version.clone().into());
    let caps = discover
        .get("capabilities")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    result.insert("capabilities".into(), caps);
    let info = discover
        .get("serverInfo")
        .or_else(|| discover.pointer("/_meta/io.modelcontextprotocol~1serverInfo"))
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"name": "unknown", "version": "0"}));
    result.insert("serverInfo".into(), info);
    if let Some(text) = discover.get("instructions").filter(|v| v.is_string()) {
        result.insert("instructions".into(), text.clone());
    }
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() -> ClientInit {
        ClientInit::parse(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"c","version":"1"}}}"#,
        )
    }

    #[test]
    fn the_envelope_is_added_and_the_clients_own_meta_wins() {
        let raw = br#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t","_meta":{"progressToken":5,"io.modelcontextprotocol/clientInfo":{"name":"own"}}}}"#;
        let out = modern_request(raw, &init(), Some("debug"), None, None, None).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let meta = &v["params"]["_meta"];
        assert_eq!(v["id"], "a");
        assert_eq!(
            meta["io.modelcontextprotocol/protocolVersion"],
            MODERN_VERSION
        );
        assert_eq!(meta["io.modelcontextprotocol/clientInfo"]["name"], "own");
        assert_eq!(
            meta["io.modelcontextprotocol/clientCapabilities"]["elicitation"],
            serde_json::json!({})
        );
        assert_eq!(meta["io.modelcontextprotocol/logLevel"], "debug");
        assert_eq!(meta["progressToken"], 5);
        assert!(crate::era::is_modern(&out));
        assert!(init().allows("elicitation/create") && !init().allows("sampling/createMessage"));
    }

    #[test]
    fn a_retry_carries_the_answers_and_the_state_as_the_server_wrote_it() {
        let raw = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#;
        let answers = RawValue::from_string(r#"{"q":{"action":"accept"}}"#.into()).unwrap();
        let state = RawValue::from_string(r#""\u00e9t\u00e9""#.into()).unwrap();
        let out = modern_request(
            raw,
            &init(),
            None,
            Some(r#""retry-1""#),
            Some(("inputResponses", &answers)),
            Some(&state),
        )
        .unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(
            text.contains(r#""requestState":"\u00e9t\u00e9"}"#),
            "{text}"
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["id"], "retry-1");
        assert_eq!(v["params"]["inputResponses"]["q"]["action"], "accept");
    }

    #[test]
    fn initialize_is_answered_from_the_discover_result() {
        let discover = serde_json::json!({"supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {"listChanged": true}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "2"}},
            "instructions": "be nice"});
        let r = initialize_result(&init(), &discover);
        assert_eq!(r["protocolVersion"], "2025-06-18");
        assert_eq!(r["serverInfo"]["name"], "s");
        assert_eq!(r["capabilities"]["tools"]["listChanged"], true);
        assert_eq!(r["instructions"], "be nice");
    }
}
