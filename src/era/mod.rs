//! What the bridge knows about protocol eras: the stateful revisions (2024-11-05 …
//! 2025-11-25, an `initialize` handshake and a session) and the stateless 2026-07-28 one
//! (every request carries its version, identity and capabilities in `params._meta`).
//!
//! The era is a property of each exchange, read from the request itself: a request whose
//! `_meta` names a protocol version is modern, anything else is legacy. The transports stay
//! byte pipes; this module tells them which headers a modern request needs
//! ([`headers`]), which tools a `tools/list` result must lose ([`tool_headers`]) and what a
//! server's error body means ([`errors`]).

pub mod errors;
pub mod headers;
pub mod results;
pub mod tool_headers;

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The `_meta` key that carries a modern request's protocol version.
pub const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// The stateless revision this bridge speaks.
pub const MODERN_VERSION: &str = "2026-07-28";

/// The fields of a modern request that its HTTP headers mirror, borrowed from the line.
#[derive(Debug)]
pub struct Modern<'a> {
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`.
    pub version: Cow<'a, str>,
    /// `params.name` (tools/call, prompts/get) or `params.uri` (resources/read).
    pub name: Option<Cow<'a, str>>,
    /// `params.arguments` of a tools/call, unparsed.
    pub arguments: Option<&'a RawValue>,
    /// `params._meta` as the client wrote it, for the bridge's own requests.
    pub meta: &'a RawValue,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow, rename = "_meta", default)]
    meta: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, rename = "io.modelcontextprotocol/protocolVersion")]
    version: Cow<'a, str>,
}

/// Reads the modern fields of a client message; `None` for a legacy one.
///
/// A byte search comes first, so a legacy message (and a 50 MB argument) costs one scan.
pub fn modern(raw: &[u8]) -> Option<Modern<'_>> {
    memchr::memmem::find(raw, VERSION_KEY.as_bytes())?;
    let env: Envelope<'_> = serde_json::from_slice(raw).ok()?;
    let params = env.params?;
    let meta = params.meta?;
    let version = serde_json::from_str::<Meta<'_>>(meta.get()).ok()?.version;
    Some(Modern {
        version,
        name: params.name.or(params.uri),
        arguments: params.arguments,
        meta,
    })
}

/// True when `raw` is a message of the stateless era.
pub fn is_modern(raw: &[u8]) -> bool {
    modern(raw).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_era_comes_from_the_request_meta() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get\u005fweather","arguments":{"a":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let m = modern(call).unwrap();
        assert_eq!(m.version, "2026-07-28");
        assert_eq!(m.name.as_deref(), Some("get_weather"));
        assert_eq!(m.arguments.unwrap().get(), r#"{"a":1}"#);
        let read = br#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert_eq!(modern(read).unwrap().name.as_deref(), Some("file:///x"));
        // The key quoted inside an argument is not the request's own _meta.
        let legacy = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","arguments":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert!(!is_modern(legacy));
        assert!(!is_modern(
            br#"{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#
        ));
        assert!(!is_modern(
            b"not json io.modelcontextprotocol/protocolVersion"
        ));
    }
}
