//! Compatibility fixes for server responses: drops a `null` where the MCP schema has an
//! optional key, so that clients built on the official TypeScript SDK (Claude Desktop among
//! them) accept results that servers serialising `None` as `null` produce — e.g. the seed
//! server's `"capabilities": {"logging": null}` or a tool's `"annotations": null`. Its zod
//! schemas reject `null` for `.optional()` keys, and for an optional key `null` can only mean
//! "absent". `rules` lists, per method, exactly which keys; nothing else is ever changed.
//!
//! Conformant traffic pays a byte search: a message without a `: null` member is forwarded
//! as the same `Bytes`. A message that needs a fix has only the offending members cut out;
//! every other byte stays as the server wrote it.

mod rules;
mod scan;
#[cfg(test)]
mod tests;

use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use rules::{Obj, Shape};
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Mutex;

/// Applies the compatibility fixes to responses and logs each kind of fix once.
#[derive(Debug, Default)]
pub struct Normalizer {
    logged: Mutex<HashSet<String>>,
}

impl Normalizer {
    /// A normaliser that has logged nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `raw` (a response to a `method` request) as the client should get it: the same bytes
    /// unless a fix applies.
    pub fn response(&self, method: Option<&str>, raw: Bytes) -> Bytes {
        let Some(fixed) = normalise(method, &raw) else {
            return raw;
        };
        for what in fixed.changes {
            if lock_ignoring_poison(&self.logged).insert(what.clone()) {
                tracing::info!(
                    "normalised {what}: null → absent (the TypeScript SDK rejects null for this \
                     optional field; --strict turns this off)"
                );
            }
        }
        Bytes::from(fixed.text)
    }
}

/// A rewritten message and what was changed in it.
#[derive(Debug)]
pub struct Fixed {
    /// The message with the offending members cut out.
    pub text: Vec<u8>,
    /// One label per kind of member removed, e.g. `tools/list result.tools[].annotations`.
    pub changes: Vec<String>,
}

/// The fixed message, or `None` when `raw` needs no change (the usual case).
pub fn normalise(method: Option<&str>, raw: &[u8]) -> Option<Fixed> {
    if !has_null_member(raw) {
        return None;
    }
    let mut walk = Walk {
        text: raw,
        path: String::new(),
        cuts: Vec::new(),
        changes: Vec::new(),
    };
    walk.envelope(method);
    if walk.cuts.is_empty() {
        return None;
    }
    walk.cuts.sort_by_key(|r| r.start);
    Some(Fixed {
        text: scan::apply(raw, &walk.cuts),
        changes: walk.changes,
    })
}

/// True when some `null` in `raw` is an object member's value (`"key": null`): nothing else
/// can need a fix. A `: null` inside a string gives a false positive, which costs one walk.
fn has_null_member(raw: &[u8]) -> bool {
    memchr::memmem::find_iter(raw, b"null").any(|at| {
        raw[..at]
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b':')
    })
}

/// One pass over a message, collecting the byte ranges to cut.
struct Walk<'a> {
    text: &'a [u8],
    /// Where the walk is, e.g. `tools/list result.tools[]`: grown and shrunk in place, so a
    /// long array costs no allocation per element.
    path: String,
    cuts: Vec<Range<usize>>,
    changes: Vec<String>,
}

impl Walk<'_> {
    /// The JSON-RPC envelope, then the result by the shape its method gives.
    fn envelope(&mut self, method: Option<&str>) {
        let text = self.text;
        let Some(members) = scan::members(text, scan::skip_ws(text, 0)) else {
            return;
        };
        let present = |key: &str| members.iter().any(|m| m.key == key && !m.is_null(text));
        let mut drop = Vec::new();
        for (i, m) in members.iter().enumerate() {
            // The SDK's response schemas are strict: `"error": null` next to a result (or
            // `"result": null` next to an error) fails both of them.
            let beside = match &*m.key {
                "error" => present("result"),
                "result" => present("error"),
                _ => false,
            };
            if beside && m.is_null(text) {
                drop.push(i);
                self.note(&format!("response.{}", m.key));
            }
        }
        let shape = method.and_then(|m| Some((m, rules::result_shape(m)?)));
        let result = members.iter().find(|m| m.key == "result");
        if let (Some((method, obj)), Some(result)) = (shape, result) {
            self.path = format!("{method} result");
            self.object(result.value, obj);
        }
        self.cuts.extend(scan::cuts(&members, &drop));
    }

    fn value(&mut self, at: usize, shape: &Shape) {
        let len = self.path.len();
        match shape {
            Shape::Object(obj) => self.object(at, obj),
            Shape::Array(item) => {
                self.path.push_str("[]");
                for element in scan::elements(self.text, at).unwrap_or_default() {
                    self.value(element, item);
                }
            }
            Shape::ByType(kinds) => {
                let text = self.text;
                let kind = scan::members(text, at).and_then(|members| {
                    let m = members.into_iter().find(|m| m.key == "type")?;
                    serde_json::from_slice::<String>(&text[m.value..m.span.end]).ok()
                });
                if let Some((name, obj)) = kind.and_then(|k| kinds.iter().find(|(n, _)| *n == k)) {
                    self.path.extend(["(", name, ")"]);
                    self.object(at, obj);
                }
            }
        }
        self.path.truncate(len);
    }

    fn object(&mut self, at: usize, obj: &Obj) {
        let text = self.text;
        let Some(members) = scan::members(text, at) else {
            return;
        };
        let mut drop = Vec::new();
        let len = self.path.len();
        for (i, m) in members.iter().enumerate() {
            if m.is_null(text) {
                if obj.optional.contains(&&*m.key) {
                    drop.push(i);
                    self.path.extend([".", &*m.key]);
                    let what = std::mem::take(&mut self.path);
                    self.note(&what);
                    self.path = what;
                }
            } else if let Some((key, shape)) = obj.nested.iter().find(|(k, _)| *k == m.key) {
                self.path.extend([".", key]);
                self.value(m.value, shape);
            }
            self.path.truncate(len);
        }
        self.cuts.extend(scan::cuts(&members, &drop));
    }

    /// Records a kind of change, once per message (1000 tools with `annotations: null` are
    /// one kind).
    fn note(&mut self, what: &str) {
        if !self.changes.iter().any(|c| c == what) {
            self.changes.push(what.to_string());
        }
    }
}
