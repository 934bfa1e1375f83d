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
mod params;
pub mod results;
pub mod tool_headers;

pub use params::Params;
use serde::Deserialize;
use std::borrow::Cow;
use std::ops::Range;

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
    /// `params.arguments` of a tools/call, as JSON text.
    pub arguments: Option<&'a str>,
    /// `params._meta` as the client wrote it (JSON text), for the bridge's own requests.
    pub meta: &'a str,
}

/// Where a modern request's mirrored fields are in its line, found while the line was
/// classified (`jsonrpc::classify`), so that building its headers parses nothing again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spans {
    version: Box<str>,
    name: Option<Box<str>>,
    arguments: Option<Range<usize>>,
    meta: Range<usize>,
}

impl Spans {
    /// The fields, borrowed from `raw` (the line these spans were found in).
    pub fn fields<'a>(&'a self, raw: &'a [u8]) -> Option<Modern<'a>> {
        let text = |r: &Range<usize>| std::str::from_utf8(raw.get(r.clone())?).ok();
        Some(Modern {
            version: Cow::Borrowed(&self.version),
            name: self.name.as_deref().map(Cow::Borrowed),
            arguments: match &self.arguments {
                Some(r) => Some(text(r)?),
                None => None,
            },
            meta: text(&self.meta)?,
        })
    }
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, rename = "io.modelcontextprotocol/protocolVersion")]
    version: Cow<'a, str>,
}

impl Params<'_> {
    /// The spans of a modern request whose line is `raw` (these params were read from it);
    /// `None` when its `_meta` names no protocol version.
    pub fn spans(&self, raw: &[u8]) -> Option<Spans> {
        let meta = self.meta?;
        // Most lines are legacy: a byte search in `_meta` alone settles them.
        memchr::memmem::find(meta.get().as_bytes(), VERSION_KEY.as_bytes())?;
        let version = serde_json::from_str::<Meta<'_>>(meta.get()).ok()?.version;
        Some(Spans {
            version: version.into(),
            name: self.name.as_deref().or(self.uri.as_deref()).map(Box::from),
            arguments: match self.arguments {
                Some(a) => Some(span_of(raw, a.get())?),
                None => None,
            },
            meta: span_of(raw, meta.get())?,
        })
    }
}

/// The byte range of `part` in `raw`; `part` must have been borrowed from `raw`.
fn span_of(raw: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= raw.len()).then_some(start..end)
}

/// Reads the modern spans of a client message; `None` for a legacy one. One parse, after a
/// byte search that settles a legacy message (and a 50 MB argument) in one scan. The relay
/// reads them within `jsonrpc::classify`'s one parse instead; the tests read them alone.
#[cfg(test)]
pub fn spans(raw: &[u8]) -> Option<Spans> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow, default)]
        params: Params<'a>,
    }
    memchr::memmem::find(raw, VERSION_KEY.as_bytes())?;
    serde_json::from_slice::<Envelope<'_>>(raw)
        .ok()?
        .params
        .spans(raw)
}

/// True when `raw` is a message of the stateless era.
#[cfg(test)]
pub fn is_modern(raw: &[u8]) -> bool {
    spans(raw).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_era_comes_from_the_request_meta() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get\u005fweather","arguments":{"a":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
        let found = spans(call).unwrap();
        let m = found.fields(call).unwrap();
        assert_eq!(m.version, "2026-07-28");
        assert_eq!(m.name.as_deref(), Some("get_weather"));
        assert_eq!(m.arguments, Some(r#"{"a":1}"#));
        assert!(
            m.meta
                .starts_with(r#"{"io.modelcontextprotocol/protocolVersion""#)
        );
        let read = br#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        let read_spans = spans(read).unwrap();
        assert_eq!(
            read_spans.fields(read).unwrap().name.as_deref(),
            Some("file:///x")
        );
        // Params of any JSON type are accepted; only an object's can be modern.
        for odd in [
            &br#"{"jsonrpc":"2.0","id":5,"method":"m","params":[1,{"a":2}]}"#[..],
            br#"{"jsonrpc":"2.0","id":6,"method":"m","params":null}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":"m","params":"io.modelcontextprotocol/protocolVersion"}"#,
        ] {
            assert!(!is_modern(odd));
        }
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
