//! A byte-level look at JSON text: where each member of an object and each element of an
//! array starts and ends. It lets the normaliser cut a member out of a message while every
//! other byte (key order, number spelling, escapes, whitespace) stays exactly as the server
//! wrote it, which re-serialising a parsed value would not guarantee.
//!
//! The input has already been parsed as JSON by the router; anything unexpected still gives
//! `None` (the message is then forwarded untouched) rather than a panic.

use std::borrow::Cow;
use std::ops::Range;

/// One `"key": value` pair of an object.
pub(super) struct Member<'a> {
    /// The key, unescaped.
    pub key: Cow<'a, str>,
    /// Bytes from the key's opening quote to the end of the value.
    pub span: Range<usize>,
    /// Where the value starts (its first byte).
    pub value: usize,
}

impl Member<'_> {
    /// True when the value is the literal `null`.
    pub fn is_null(&self, text: &[u8]) -> bool {
        &text[self.value..self.span.end] == b"null"
    }
}

/// The index of the first non-whitespace byte at or after `i`.
pub(super) fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while matches!(text.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The members of the object that starts at `i` (which must be `{`).
pub(super) fn members(text: &[u8], i: usize) -> Option<Vec<Member<'_>>> {
    if text.get(i) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    let mut at = skip_ws(text, i + 1);
    if text.get(at) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let key_end = string_end(text, at)?;
        let key = unescape(&text[at + 1..key_end - 1])?;
        let colon = skip_ws(text, key_end);
        if text.get(colon) != Some(&b':') {
            return None;
        }
        let value = skip_ws(text, colon + 1);
        let end = value_end(text, value)?;
        out.push(Member {
            key,
            span: at..end,
            value,
        });
        at = skip_ws(text, end);
        match text.get(at)? {
            b',' => at = skip_ws(text, at + 1),
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

/// Where each element of the array that starts at `i` (which must be `[`) starts.
pub(super) fn elements(text: &[u8], i: usize) -> Option<Vec<usize>> {
    if text.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut at = skip_ws(text, i + 1);
    if text.get(at) == Some(&b']') {
        return Some(out);
    }
    loop {
        out.push(at);
        at = skip_ws(text, value_end(text, at)?);
        match text.get(at)? {
            b',' => at = skip_ws(text, at + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// The index just past the value that starts at `i`.
pub(super) fn value_end(text: &[u8], i: usize) -> Option<usize> {
    match text.get(i)? {
        b'"' => string_end(text, i),
        b'{' | b'[' => container_end(text, i),
        _ => {
            let len = text[i..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(text.len() - i);
            (len > 0).then_some(i + len)
        }
    }
}

/// The index just past the string whose opening quote is at `i`.
fn string_end(text: &[u8], i: usize) -> Option<usize> {
    if text.get(i) != Some(&b'"') {
        return None;
    }
    let mut at = i + 1;
    loop {
        // Only `"` and `\` matter inside a string; memchr skips the rest quickly.
        at += memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        if text[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// The index just past the object or array that starts at `i`.
fn container_end(text: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = i;
    while at < text.len() {
        match text[at] {
            b'"' => {
                at = string_end(text, at)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
        at += 1;
    }
    None
}

/// A key's text between its quotes, unescaped (borrowed when it has no escapes).
fn unescape(raw: &[u8]) -> Option<Cow<'_, str>> {
    if raw.contains(&b'\\') {
        let quoted = [b"\"", raw, b"\""].concat();
        serde_json::from_slice::<String>(&quoted)
            .ok()
            .map(Cow::Owned)
    } else {
        std::str::from_utf8(raw).ok().map(Cow::Borrowed)
    }
}

/// The bytes to cut so that the members of an object listed in `drop` (indices, ascending)
/// disappear and the object stays valid JSON with its other bytes untouched.
pub(super) fn cuts(members: &[Member<'_>], drop: &[usize]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < drop.len() {
        // A run of adjacent dropped members is cut in one piece, with one separator.
        let first = drop[k];
        let mut last = first;
        while k + 1 < drop.len() && drop[k + 1] == last + 1 {
            k += 1;
            last += 1;
        }
        k += 1;
        let range = if last + 1 < members.len() {
            // Up to the next kept member: takes the separator after the run.
            members[first].span.start..members[last + 1].span.start
        } else if first > 0 {
            // The run ends the object: take the separator before it.
            members[first - 1].span.end..members[last].span.end
        } else {
            members[first].span.start..members[last].span.end
        };
        out.push(range);
    }
    out
}

/// `text` without the byte ranges in `cuts` (sorted, not overlapping).
pub(super) fn apply(text: &[u8], cuts: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    for cut in cuts {
        out.extend_from_slice(&text[at..cut.start]);
        at = cut.end;
    }
    out.extend_from_slice(&text[at..]);
    out
}
