//! The HTTP headers a 2026-07-28 POST mirrors from its body: `MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name` and `Mcp-Param-<Name>`, with the revision's value encoding
//! (a value that is not plain printable ASCII goes as `=?base64?…?=`).

use super::Modern;
use super::tool_headers::ParamHeader;
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// `MCP-Protocol-Version`.
pub const VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Method`.
pub const METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`.
pub const NAME: HeaderName = HeaderName::from_static("mcp-name");

/// The methods whose `Mcp-Name` the revision requires.
const NAMED: [&str; 3] = ["tools/call", "resources/read", "prompts/get"];

/// The standard headers of a modern request for `method`, plus one `Mcp-Param-*` per
/// annotated argument that has a value.
pub fn for_request(method: &str, req: &Modern<'_>, params: &[ParamHeader]) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(VERSION, encode(&req.version));
    if let Ok(m) = HeaderValue::from_str(method) {
        map.insert(METHOD, m);
    }
    if NAMED.contains(&method)
        && let Some(name) = &req.name
    {
        map.insert(NAME, encode(name));
    }
    if !params.is_empty()
        && let Some(args) = req.arguments
    {
        for p in params {
            if let Some(value) = param_value(args, &p.path) {
                map.insert(p.header.clone(), encode(&value));
            }
        }
    }
    map
}

/// A header value: as it is when it is plain printable ASCII without edge whitespace,
/// else the Base64 sentinel form (also for a plain value that looks like the sentinel).
pub fn encode(value: &str) -> HeaderValue {
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let edge_space = value.starts_with(' ') || value.ends_with(' ');
    let sentinel = value.starts_with("=?base64?") && value.ends_with("?=");
    let plain = printable && !edge_space && !sentinel;
    if plain && let Ok(v) = HeaderValue::from_str(value) {
        return v;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
    HeaderValue::from_str(&format!("=?base64?{b64}?=")).expect("Base64 is a valid header value")
}

/// The argument at `path` (a chain of object keys) as header text: strings as they are,
/// integers in decimal, booleans as `true`/`false`. `null`, an absent key or any other
/// type gives no header.
pub fn param_value(args: &str, path: &[String]) -> Option<String> {
    let mut here: &RawValue = serde_json::from_str(args).ok()?;
    for key in path {
        let level: BTreeMap<String, &RawValue> = serde_json::from_str(here.get()).ok()?;
        here = level.get(key)?;
    }
    match serde_json::from_str::<serde_json::Value>(here.get()).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Some(i.to_string()),
            (_, Some(u), _) => Some(u.to_string()),
            // 42.0 for an integer parameter is still 42.
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                Some(format!("{}", f as i64))
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn values_are_encoded_as_the_revision_says() {
        let cases = [
            ("us-west1", "us-west1"),
            ("us west 1", "us west 1"),
            ("", ""),
            ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            (" padded ", "=?base64?IHBhZGRlZCA=?="),
            ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
            ("\tindented", "=?base64?CWluZGVudGVk?="),
            ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ];
        for (value, want) in cases {
            assert_eq!(encode(value).to_str().unwrap(), want, "{value:?}");
        }
    }

    #[test]
    fn argument_values_by_path() {
        let args = raw(
            r#"{"region":"eu","n":42,"f":42.0,"x":3.5,"b":false,"z":null,"o":{"deep":{"k":"v"}},"a":[1]}"#,
        );
        let get = |p: &[&str]| {
            let path: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            param_value(args.get(), &path)
        };
        assert_eq!(get(&["region"]).as_deref(), Some("eu"));
        assert_eq!(get(&["n"]).as_deref(), Some("42"));
        assert_eq!(get(&["f"]).as_deref(), Some("42"));
        assert_eq!(get(&["x"]), None);
        assert_eq!(get(&["b"]).as_deref(), Some("false"));
        assert_eq!(get(&["z"]), None);
        assert_eq!(get(&["missing"]), None);
        assert_eq!(get(&["o", "deep", "k"]).as_deref(), Some("v"));
        assert_eq!(get(&["a"]), None);
    }

    #[test]
    fn standard_headers_mirror_the_body() {
        let line = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"my-tool","arguments":{"r":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        let found = super::super::spans(line).unwrap();
        let req = found.fields(line).unwrap();
        let params = [ParamHeader {
            path: vec!["r".into()],
            header: HeaderName::from_static("mcp-param-region"),
        }];
        let h = for_request("tools/call", &req, &params);
        assert_eq!(h["mcp-protocol-version"], "2026-07-28");
        assert_eq!(h["mcp-method"], "tools/call");
        assert_eq!(h["mcp-name"], "my-tool");
        assert_eq!(h["mcp-param-region"], "x");
        let list = for_request("tools/list", &req, &[]);
        assert!(list.get("mcp-name").is_none());
    }
}
