//! Tests of the compatibility fixes: every rule from the shared fixture file (which
//! `tests/compat/schema-check.mjs` checks against the TypeScript SDK's own schemas), what must
//! stay untouched, and byte-exactness of what is kept.

use super::*;
use serde_json::{Value, json};

const FIXTURES: &str = include_str!("../../tests/compat/fixtures/null-fields.json");

fn response(result: &Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 7, "result": result})
        .to_string()
        .into_bytes()
}

/// The value at a dotted path (`tools.0.annotations`), creating nothing.
fn parent_of<'v>(value: &'v mut Value, path: &str) -> (&'v mut Value, String) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap().to_string();
    let mut at = value;
    for part in parts {
        at = match part.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[part],
        };
    }
    (at, last)
}

fn with_null(result: &Value, path: &str) -> Value {
    let mut v = result.clone();
    let (parent, key) = parent_of(&mut v, path);
    parent[key.as_str()] = Value::Null;
    v
}

fn without(result: &Value, path: &str) -> Value {
    let mut v = result.clone();
    let (parent, key) = parent_of(&mut v, path);
    parent.as_object_mut().unwrap().remove(&key);
    v
}

#[test]
fn every_rule_drops_its_null_and_nothing_else() {
    let fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
    let mut count = 0;
    for case in fixtures["cases"].as_array().unwrap() {
        let method = case["method"].as_str().unwrap();
        let result = &case["result"];
        assert!(
            normalise(Some(method), &response(result)).is_none(),
            "{method}: the valid base result was changed"
        );
        for path in case["nulls"].as_array().unwrap() {
            let path = path.as_str().unwrap();
            let before = response(&with_null(result, path));
            let fixed = normalise(Some(method), &before)
                .unwrap_or_else(|| panic!("{method} {path}: null not removed"));
            let got: Value = serde_json::from_slice(&fixed.text).unwrap();
            let want: Value = serde_json::from_slice(&response(&without(result, path))).unwrap();
            assert_eq!(got, want, "{method} {path}");
            assert_eq!(
                fixed.changes.len(),
                1,
                "{method} {path}: {:?}",
                fixed.changes
            );
            count += 1;
        }
    }
    assert!(count > 100, "only {count} rules checked");
}

#[test]
fn untouched_nulls_stay() {
    let fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
    for case in fixtures["untouched"].as_array().unwrap() {
        let method = case["method"].as_str().unwrap();
        let raw = response(&case["result"]);
        assert!(
            normalise(Some(method), &raw).is_none(),
            "{method}: changed although {}",
            case["why"]
        );
    }
}

#[test]
fn conformant_messages_are_the_same_bytes() {
    let n = Normalizer::new();
    for raw in [
        r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"x: null"}]}}"#,
        r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found","data":null}}"#,
    ] {
        let bytes = Bytes::from(raw);
        let out = n.response(Some("tools/call"), bytes.clone());
        assert_eq!(out.as_ptr(), bytes.as_ptr(), "copied or rewritten: {raw}");
        assert_eq!(out, bytes);
    }
    let seed_like = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{"x":null}}"#);
    let out = n.response(None, seed_like.clone());
    assert_eq!(out.as_ptr(), seed_like.as_ptr(), "no method, no rules");
}

#[test]
fn only_the_null_members_are_cut_and_other_bytes_stay() {
    // Pretty-printed, odd number spellings, escapes, key order: all kept as written.
    let raw = "{\"jsonrpc\": \"2.0\", \"id\": \"a\",\n \"result\": {\n  \"tools\": [\n   {\"name\": \"t\\u00e9\", \"description\": null,\n    \"inputSchema\": {\"type\": \"object\", \"default\": 1.0E+2}, \"annotations\" :  null }\n  ],\n  \"nextCursor\": null\n }\n}";
    let fixed = normalise(Some("tools/list"), raw.as_bytes()).unwrap();
    let want = "{\"jsonrpc\": \"2.0\", \"id\": \"a\",\n \"result\": {\n  \"tools\": [\n   {\"name\": \"t\\u00e9\", \"inputSchema\": {\"type\": \"object\", \"default\": 1.0E+2} }\n  ]\n }\n}";
    assert_eq!(String::from_utf8(fixed.text).unwrap(), want);
    assert_eq!(
        fixed.changes,
        [
            "tools/list result.tools[].description",
            "tools/list result.tools[].annotations",
            "tools/list result.nextCursor",
        ]
    );
}

#[test]
fn cuts_keep_objects_valid_wherever_the_nulls_are() {
    let cases = [
        (r#"{"logging":null}"#, r#"{}"#),
        (r#"{"logging":null,"tools":{}}"#, r#"{"tools":{}}"#),
        (r#"{"tools":{},"logging":null}"#, r#"{"tools":{}}"#),
        (
            r#"{"logging":null,"prompts":null,"tools":{},"resources":null,"completions":null}"#,
            r#"{"tools":{}}"#,
        ),
        (
            r#"{"tools":{},"logging":null,"prompts":null,"experimental":{}}"#,
            r#"{"tools":{},"experimental":{}}"#,
        ),
        (r#"{ "logging" : null , "prompts" : null }"#, r#"{  }"#),
    ];
    for (caps, want) in cases {
        let raw = format!(
            r#"{{"jsonrpc":"2.0","id":1,"result":{{"protocolVersion":"2024-11-05","capabilities":{caps},"serverInfo":{{"name":"s","version":"1"}}}}}}"#
        );
        let fixed = normalise(Some("initialize"), raw.as_bytes()).unwrap();
        let got: Value = serde_json::from_slice(&fixed.text).unwrap();
        let text = String::from_utf8(fixed.text).unwrap();
        assert!(
            text.contains(&format!(r#""capabilities":{want}"#)),
            "{caps} → {text}"
        );
        assert!(got["result"]["serverInfo"].is_object());
    }
}

#[test]
fn the_seed_servers_initialize_reply_is_fixed_in_one_pass() {
    // What `ServerCapabilities.model_dump()` gives without exclude_none.
    let raw = br#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2024-11-05","capabilities":{"experimental":{},"logging":null,"prompts":null,"resources":{"subscribe":false,"listChanged":false},"tools":{"listChanged":false},"completions":null,"tasks":null},"serverInfo":{"name":"mcp-jira-confluence","version":"0.3.0"}}}"#;
    let fixed = normalise(Some("initialize"), raw).unwrap();
    assert_eq!(
        String::from_utf8(fixed.text).unwrap(),
        r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2024-11-05","capabilities":{"experimental":{},"resources":{"subscribe":false,"listChanged":false},"tools":{"listChanged":false}},"serverInfo":{"name":"mcp-jira-confluence","version":"0.3.0"}}}"#
    );
}

#[test]
fn escaped_keys_are_matched_by_their_meaning() {
    let raw = br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"x","capabilities":{"logg\u0069ng":null},"serverInfo":{"name":"s","version":"1"}}}"#;
    let fixed = normalise(Some("initialize"), raw).unwrap();
    assert_eq!(fixed.changes, ["initialize result.capabilities.logging"]);
}

#[test]
fn envelope_null_beside_result_or_error_is_dropped() {
    let raw = br#"{"jsonrpc":"2.0","id":1,"result":{},"error":null}"#;
    let fixed = normalise(Some("ping"), raw).unwrap();
    assert_eq!(fixed.text, br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
    let raw = br#"{"jsonrpc":"2.0","result":null,"id":1,"error":{"code":1,"message":"m"}}"#;
    let fixed = normalise(None, raw).unwrap();
    assert_eq!(
        fixed.text,
        br#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}"#
    );
    // `"result": null` alone is not "absent": there is nothing else to answer with.
    assert!(normalise(Some("ping"), br#"{"jsonrpc":"2.0","id":1,"result":null}"#).is_none());
}

#[test]
fn each_kind_is_logged_once() {
    let n = Normalizer::new();
    let raw = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"},"annotations":null},{"name":"b","inputSchema":{"type":"object"},"annotations":null}]}}"#;
    for _ in 0..3 {
        n.response(Some("tools/list"), Bytes::from_static(raw));
    }
    assert_eq!(
        *lock_ignoring_poison(&n.logged),
        HashSet::from(["tools/list result.tools[].annotations".to_string()])
    );
}

#[test]
fn malformed_input_is_left_alone() {
    for raw in [
        &br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","annotations":null"#[..],
        br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","annotations":null},"#,
        br#"[{"annotations": null}]"#,
        br#"{"a": "\"#,
    ] {
        assert!(normalise(Some("tools/list"), raw).is_none());
    }
}
