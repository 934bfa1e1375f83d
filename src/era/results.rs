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

/// A legacy result as a 2026-07-28 client expects it: `resultType: "complete"` added at
/// the front of the result object when it has none. Errors and everything else pass as
/// they came; the result's own bytes are kept.
pub fn with_result_type(raw: Bytes) -> Bytes {
    let Ok(reply) = serde_json::from_slice::<Reply<'_>>(&raw) else {
        return raw;
    };
    let Some(result) = reply.result else {
        return raw;
    };
    let text = result.get();
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "resultType")]
        result_type: Option<serde::de::IgnoredAny>,
    }
    let typed = serde_json::from_str::<Typed>(text).is_ok_and(|t| t.result_type.is_some());
    let Some(inner) = text.trim_start().strip_prefix('{').filter(|_| !typed) else {
        return raw;
    };
    let sep = if inner.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"resultType":"complete"{sep}{inner}}}"#,
        reply.id.get()
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
        let out = with_result_type(raw);
        assert_eq!(
            &out[..],
            br#"{"jsonrpc":"2.0","id":7,"result":{"resultType":"complete","content":[ {"type":"text","text":"x"} ]}}"#
        );
        let empty = with_result_type(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        ));
        assert_eq!(
            &empty[..],
            br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#
        );
        let typed =
            Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#);
        assert_eq!(with_result_type(typed.clone()), typed);
        let error =
            Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}"#);
        assert_eq!(with_result_type(error.clone()), error);
    }
}
