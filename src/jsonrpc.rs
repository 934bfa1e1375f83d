//! Just enough JSON-RPC to route messages without rewriting them: a borrowed peek at `id`,
//! `method` and the shape of a message, and the bridge's own error replies.
//!
//! The original bytes are always what gets forwarded; nothing here re-serialises a message.

use bytes::Bytes;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// JSON-RPC parse error: the line is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC invalid request: JSON, but not a JSON-RPC message.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC internal error, used for every failure on the upstream leg.
pub const INTERNAL_ERROR: i64 = -32603;
/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i64 = -32602;

/// What a message is, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Has `method` and `id`: exactly one answer is owed.
    Request,
    /// Has `method`, no `id`: never answered.
    Notification,
    /// Has `result` or `error` and an `id`.
    Response,
}

/// A request id: the raw JSON text as the sender wrote it, and a canonical key for matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    raw: Box<str>,
    key: Box<str>,
}

impl Id {
    /// The id exactly as the sender wrote it (valid JSON).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// A canonical form, so that `"a"` and `"\u0061"` (or `1` written twice) match.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// One JSON-RPC message: its original bytes and what routing needs to know about it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The bytes as received, without the line terminator.
    pub raw: Bytes,
    /// Request, notification or response.
    pub kind: Kind,
    /// Present for requests and responses.
    pub id: Option<Id>,
    /// Present for requests and notifications.
    pub method: Option<Box<str>>,
    /// A request or notification of the 2026-07-28 era (its `_meta` names a version).
    pub modern: bool,
    /// Where that era's mirrored fields sit in `raw` (found when it was classified).
    pub spans: Option<std::sync::Arc<crate::era::Spans>>,
}

impl Message {
    /// The 2026-07-28 fields its headers mirror, borrowed from `raw`; `None` for a legacy one.
    pub fn modern_fields(&self) -> Option<crate::era::Modern<'_>> {
        self.spans.as_ref()?.fields(&self.raw)
    }

    /// True when this is a request or notification with this method name.
    pub fn is(&self, method: &str) -> bool {
        self.method.as_deref() == Some(method)
    }
}

/// Why a value is not a JSON-RPC message, with the id when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The id, to address the error reply; `None` leaves `id` out of the reply.
    pub id: Option<Id>,
    /// Said to the sender in the error message.
    pub reason: String,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    params: crate::era::Params<'a>,
}

/// Keeps an explicit `null` as `Some("null")`, so that `"id": null` is told apart from no id.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Reads one JSON object as a JSON-RPC message. `raw` must be a JSON object's text.
pub fn classify(raw: Bytes) -> Result<Message, Invalid> {
    let probe: Probe<'_> = serde_json::from_slice(&raw).map_err(|e| Invalid {
        id: None,
        reason: format!("not a JSON-RPC object ({e})"),
    })?;
    let id = match probe.id {
        None => None,
        Some(raw_id) => Some(parse_id(raw_id)?),
    };
    let invalid = |reason: &str| Invalid {
        id: id.clone(),
        reason: reason.to_string(),
    };
    if probe.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    let (kind, method) = match (probe.method, probe.result.or(probe.error)) {
        (Some(m), None) => {
            let name: String = serde_json::from_str(m.get())
                .map_err(|_| invalid("\"method\" must be a string"))?;
            let kind = if id.is_some() {
                Kind::Request
            } else {
                Kind::Notification
            };
            (kind, Some(name.into_boxed_str()))
        }
        (None, Some(_)) if id.is_some() => (Kind::Response, None),
        (None, Some(_)) => return Err(invalid("a response needs an \"id\"")),
        (Some(_), Some(_)) => return Err(invalid("a message has either \"method\" or a result")),
        (None, None) => return Err(invalid("no \"method\", \"result\" or \"error\"")),
    };
    // The era from the same parse: `params` was read for it on the way.
    let spans = match kind {
        Kind::Response => None,
        _ => probe.params.spans(&raw).map(std::sync::Arc::new),
    };
    Ok(Message {
        modern: spans.is_some(),
        spans,
        raw,
        kind,
        id,
        method,
    })
}

fn parse_id(raw: &RawValue) -> Result<Id, Invalid> {
    let value: serde_json::Value = serde_json::from_str(raw.get()).map_err(|_| Invalid {
        id: None,
        reason: "unreadable \"id\"".into(),
    })?;
    if !(value.is_string() || value.is_number()) {
        return Err(Invalid {
            id: None,
            reason: "\"id\" must be a string or a number".into(),
        });
    }
    Ok(Id {
        raw: raw.get().into(),
        key: value.to_string().into_boxed_str(),
    })
}

/// Splits a line into its messages: one for an object, each element for a batch array.
/// Elements keep their original bytes.
pub fn split_batch(raw: &Bytes) -> Result<Vec<Bytes>, Invalid> {
    let first = raw.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return Ok(vec![raw.clone()]);
    }
    let items: Vec<&RawValue> = serde_json::from_slice(raw).map_err(|e| Invalid {
        id: None,
        reason: format!("unreadable batch ({e})"),
    })?;
    if items.is_empty() {
        return Err(Invalid {
            id: None,
            reason: "an empty batch".into(),
        });
    }
    Ok(items
        .into_iter()
        .map(|item| raw.slice_ref(item.get().as_bytes()))
        .collect())
}

/// Builds the bridge's own error reply; `data`, when given, becomes the error's `data` (an
/// upstream failure's carries its HTTP status).
pub fn error_reply(
    id: Option<&Id>,
    code: i64,
    message: &str,
    data: Option<serde_json::Value>,
) -> Bytes {
    let mut error = serde_json::json!({ "code": code, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    let text = match id {
        Some(id) => format!(r#"{{"jsonrpc":"2.0","id":{},"error":{}}}"#, id.raw(), error),
        None => format!(r#"{{"jsonrpc":"2.0","error":{error}}}"#),
    };
    Bytes::from(text)
}

/// The message on one line, for newline-delimited stdout. A valid JSON text holds line ends
/// only as whitespace between tokens (inside strings they must be escaped), so dropping
/// them changes nothing; keeping them would let a pretty-printed server message split into
/// lines that a client reads as separate (even forged) messages.
pub fn one_line(raw: Bytes) -> Bytes {
    // memchr: a 50 MB result is scanned at memory speed, not byte by byte.
    if memchr::memchr2(b'\n', b'\r', &raw).is_none() {
        return raw;
    }
    raw.iter()
        .copied()
        .filter(|&b| b != b'\n' && b != b'\r')
        .collect::<Vec<u8>>()
        .into()
}

/// The client's `initialize` again under a bridge-made id, to re-establish an expired
/// session without the client seeing a second reply.
pub fn replay_initialize(original: &[u8]) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct Init<'a> {
        #[serde(borrow)]
        params: Option<&'a RawValue>,
    }
    let init: Init<'_> = serde_json::from_slice(original).ok()?;
    let params = init.params.map_or("{}", RawValue::get);
    let text = format!(
        r#"{{"jsonrpc":"2.0","id":"mcp-keybridge-reinit","method":"initialize","params":{params}}}"#
    );
    Some(Bytes::from(text))
}

/// The `params.requestId` of a `notifications/cancelled`.
pub fn cancelled_request(raw: &[u8]) -> Option<Id> {
    #[derive(Deserialize)]
    struct Cancelled<'a> {
        #[serde(borrow)]
        params: Params<'a>,
    }
    #[derive(Deserialize)]
    struct Params<'a> {
        #[serde(rename = "requestId", borrow)]
        request_id: &'a RawValue,
    }
    let c: Cancelled<'_> = serde_json::from_slice(raw).ok()?;
    parse_id(c.params.request_id).ok()
}

/// A `notifications/cancelled` for `id`, sent upstream when the bridge gives up on it.
pub fn cancellation(id: &Id, reason: &str) -> Bytes {
    let reason = serde_json::Value::from(reason);
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{},"reason":{reason}}}}}"#,
        id.raw()
    ))
}

/// What a response carries, borrowed from its text: its `result`, else its `error` object.
pub enum Answer<'a> {
    /// `result`, as written.
    Result(&'a RawValue),
    /// `error`, as written.
    Error(&'a RawValue),
}

/// The answer in the response `raw`; `None` when it is not a response.
pub fn answer_of(raw: &[u8]) -> Option<Answer<'_>> {
    #[derive(Deserialize)]
    struct Parts<'a> {
        #[serde(borrow)]
        result: Option<&'a RawValue>,
        #[serde(borrow)]
        error: Option<&'a RawValue>,
    }
    let parts: Parts<'_> = serde_json::from_slice(raw).ok()?;
    match (parts.result, parts.error) {
        (Some(r), _) => Some(Answer::Result(r)),
        (None, Some(e)) => Some(Answer::Error(e)),
        (None, None) => None,
    }
}

/// Reads `result.protocolVersion` from an initialize reply, if it has one.
pub fn protocol_version(raw: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Reply {
        result: Option<InitResult>,
    }
    #[derive(Deserialize)]
    struct InitResult {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    serde_json::from_slice::<Reply>(raw)
        .ok()?
        .result?
        .protocol_version
}

#[cfg(test)]
mod tests;
