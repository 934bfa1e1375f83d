//! A server's JSON-RPC error on an HTTP error status: read so that it reaches the client as
//! the server wrote it (under the client's id), and so that the bridge can tell a modern
//! server's answer (`-32020`, `-32021`, `-32022`, `-32601` on a 404) from a legacy one.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// `HeaderMismatch`: the headers do not match the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// `MissingRequiredClientCapability`.
pub const MISSING_CAPABILITY: i64 = -32021;
/// `UnsupportedProtocolVersion`, with `data.supported`.
pub const UNSUPPORTED_VERSION: i64 = -32022;
/// JSON-RPC method not found.
pub const METHOD_NOT_FOUND: i64 = -32601;

/// A JSON-RPC error body, kept as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// `error.code`.
    pub code: i64,
    /// The `error` object's bytes.
    pub error: Bytes,
}

#[derive(Deserialize)]
struct Body<'a> {
    jsonrpc: Option<&'a str>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Code {
    code: i64,
}

impl RpcError {
    /// Reads `body` as a JSON-RPC error response (`"jsonrpc":"2.0"` and an `error` object
    /// with an integer `code`); `None` for anything else (an HTML page, an OAuth error).
    pub fn parse(body: &Bytes) -> Option<RpcError> {
        let b: Body<'_> = serde_json::from_slice(body).ok()?;
        if b.jsonrpc != Some("2.0") {
            return None;
        }
        let error = b.error?;
        let code = serde_json::from_str::<Code>(error.get()).ok()?.code;
        Some(RpcError {
            code,
            error: body.slice_ref(error.get().as_bytes()),
        })
    }

    /// True for an error only a 2026-07-28 server gives: the sign of a modern server.
    pub fn is_modern(&self, status: u16) -> bool {
        matches!(
            self.code,
            HEADER_MISMATCH | MISSING_CAPABILITY | UNSUPPORTED_VERSION
        ) || (self.code == METHOD_NOT_FOUND && status == 404)
    }

    /// True for an `UnsupportedProtocolVersion` whose `data.supported` lists `version`: the
    /// request is worth sending once more as it was.
    pub fn still_supports(&self, version: &str) -> bool {
        #[derive(Deserialize)]
        struct Error {
            data: Option<Data>,
        }
        #[derive(Deserialize)]
        struct Data {
            supported: Vec<String>,
        }
        self.code == UNSUPPORTED_VERSION
            && serde_json::from_slice::<Error>(&self.error)
                .ok()
                .and_then(|e| e.data)
                .is_some_and(|d| d.supported.iter().any(|v| v == version))
    }

    /// The error as a reply to the client's request whose id is the JSON text `id` (the
    /// server may have written `null` or no id when it refused the request unread).
    pub fn reply_to(&self, id: &str) -> Bytes {
        let mut out = Vec::with_capacity(self.error.len() + 40);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(br#","error":"#);
        out.extend_from_slice(&self.error);
        out.push(b'}');
        out.into()
    }
}

/// True when a 2xx answer to `initialize` is one only a 2026-07-28 server gives: a
/// JSON-RPC error "method not found" or "unsupported version", or a result naming a
/// protocol version of that revision or later (no stateful client accepts one).
pub fn initialize_says_modern(body: &Bytes) -> bool {
    if let Some(e) = RpcError::parse(body) {
        return matches!(e.code, METHOD_NOT_FOUND | UNSUPPORTED_VERSION);
    }
    crate::jsonrpc::protocol_version(body).is_some_and(|v| v.as_str() >= crate::era::MODERN_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_rpc_errors_and_nothing_else() {
        let body = Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"1900-01-01"}}}"#,
        );
        let e = RpcError::parse(&body).unwrap();
        assert_eq!(e.code, UNSUPPORTED_VERSION);
        assert!(e.is_modern(400));
        assert!(e.still_supports("2026-07-28") && !e.still_supports("2025-11-25"));
        let reply: serde_json::Value = serde_json::from_slice(&e.reply_to(r#""c-1""#)).unwrap();
        assert_eq!(reply["id"], "c-1");
        assert_eq!(reply["error"]["data"]["supported"][0], "2026-07-28");

        let not_found = Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#,
        );
        let e = RpcError::parse(&not_found).unwrap();
        assert!(e.is_modern(404) && !e.is_modern(200));
        let session = Bytes::from_static(
            br#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}"#,
        );
        assert!(!RpcError::parse(&session).unwrap().is_modern(400));
        let says = |b: &[u8]| initialize_says_modern(&Bytes::copy_from_slice(b));
        assert!(says(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found: initialize"}}"#));
        assert!(says(
            br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2026-07-28"}}"#
        ));
        assert!(!says(
            br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25"}}"#
        ));
        assert!(!says(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}"#
        ));
        for other in [
            &br#"{"error":"invalid_token","error_description":"x"}"#[..],
            b"<html>404</html>",
            b"",
            br#"{"jsonrpc":"2.0","error":{"message":"no code"}}"#,
        ] {
            assert!(RpcError::parse(&Bytes::copy_from_slice(other)).is_none());
        }
    }
}
