//! Results of a stateful server as a 2026-07-28 client expects them.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
}

/// The results the revision makes cacheable: they must carry `ttlMs` and `cacheScope`.
const CACHEABLE: [&str; 5] = [
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// A legacy result (the answer to `method`) as a 2026-07-28 client expects it:
/// `resultType: "complete"` and, for a cacheable result, the most cautious cache hints
/// (`ttlMs: 0`, `cacheScope: "private"`) added at the front of the result object where it
/// lacks them. Errors and everything else pass as they came; the result's own bytes stay.
pub fn with_result_type(raw: Bytes, method: Option<&str>) -> Bytes {
    let Ok(reply) = serde_json::from_slice::<Reply<'_>>(&raw) else {
        return raw;
    };
    let Some(result) = reply.result else {
        return raw;
    };
    let text = result.get();
    #[derive(Deserialize)]
    struct Present {
        #[serde(rename = "resultType")]
        result_type: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ttlMs")]
        ttl: Option<serde::de::IgnoredAny>,
        #[serde(rename = "cacheScope")]
        scope: Option<serde::de::IgnoredAny>,
    }
    let Ok(present) = serde_json::from_str::<Present>(text) else {
        return raw;
    };
    let mut added = Vec::new();
    if present.result_type.is_none() {
        added.push(r#""resultType":"complete""#);
    }
    if method.is_some_and(|m| CACHEABLE.contains(&m)) {
        if present.ttl.is_none() {
            added.push(r#""ttlMs":0"#);
        }
        if present.scope.is_none() {
            added.push(r#""cacheScope":"private""#);
        }
    }
    let Some(inner) = text
        .trim_start()
        .strip_prefix('{')
        .filter(|_| !added.is_empty())
    else {
        return raw;
    };
    let sep = if inner.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{{}{sep}{inner}}}"#,
        reply.id.get(),
        added.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_gain_a_result_type_and_keep_their_bytes() {
        let raw = Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":7,"result":{"content":[ {"type":"text","text":"x"} ]}}"#,
        );
        let out = with_result_type(raw, Some("tools/call"));
        assert_eq!(
            &out[..],
            br#"{"jsonrpc":"2.0","id":7,"result":{"resultType":"complete","content":[ {"type":"text","text":"x"} ]}}"#
        );
        let empty = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(
            &with_result_type(empty, None)[..],
            br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#
        );
        let list = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#);
        assert_eq!(
            &with_result_type(list, Some("tools/list"))[..],
            br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","ttlMs":0,"cacheScope":"private","tools":[]}}"#
        );
        let typed =
            Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#);
        assert_eq!(with_result_type(typed.clone(), None), typed);
        let error =
            Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}"#);
        assert_eq!(with_result_type(error.clone(), Some("tools/list")), error);
    }
}
