//! Tool filtering: `--allow-tool GLOB` / `--deny-tool GLOB` (profile keys `allow_tools`,
//! `deny_tools`). A hidden tool is cut out of every `tools/list` result the client sees, and
//! a `tools/call` of one is answered by the bridge with an error: the server never sees it.
//!
//! Everything here works on the message bytes, as the rest of the relay does: a `tools/list`
//! result in which nothing is hidden goes out as the very bytes that came in, and one in
//! which something is hidden differs only inside its `tools` array. Names are read with a
//! borrowed parse that refuses duplicate keys, and whatever cannot be read is treated as
//! hidden (fail closed): a filter people use to hide dangerous tools must not be bypassed by
//! a message the bridge reads one way and the client or server another.
//!
//! The hooks are few: [`ToolFilter::screen_reply`] on each response in `router.rs`,
//! [`ToolFilter::refusal`] on each client request and [`ToolFilter::screen_batch`] on each
//! client batch in `relay.rs`.

use crate::jsonrpc::{self, Id, Kind, Message};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// JSON-RPC "invalid params": what a server answers for an unknown tool.
use crate::jsonrpc::INVALID_PARAMS;

/// A tool-name pattern that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// An empty pattern would match nothing (allow) or be a typo (deny).
    #[error("{0}: a tool name pattern cannot be empty")]
    Empty(&'static str),
    /// Control characters never occur in tool names; this is a pasting mistake.
    #[error("{0} {1:?}: a tool name pattern cannot hold control characters")]
    Control(&'static str, String),
}

/// Which tools the client may see and call. The default hides nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolFilter {
    allow: Vec<Box<str>>,
    deny: Vec<Box<str>>,
}

impl ToolFilter {
    /// A filter from `--allow-tool` and `--deny-tool` patterns (`*` any run of characters,
    /// `?` one character, everything else literal and case-sensitive). With allow patterns,
    /// only tools matching one of them are shown; a tool matching a deny pattern never is.
    pub fn new(allow: &[String], deny: &[String]) -> Result<Self, FilterError> {
        let check = |option: &'static str, globs: &[String]| {
            globs
                .iter()
                .map(|g| {
                    let g = g.trim();
                    if g.is_empty() {
                        Err(FilterError::Empty(option))
                    } else if g.chars().any(char::is_control) {
                        Err(FilterError::Control(option, g.escape_debug().to_string()))
                    } else {
                        Ok(Box::from(g))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(ToolFilter {
            allow: check("--allow-tool", allow)?,
            deny: check("--deny-tool", deny)?,
        })
    }

    /// True when some tool may be hidden: otherwise every hook is a no-op.
    pub fn is_active(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    /// The patterns, for the log line at start-up.
    pub fn describe(&self) -> String {
        let list = |globs: &[Box<str>]| globs.join(", ");
        match (self.allow.is_empty(), self.deny.is_empty()) {
            (true, true) => "no tool filter".into(),
            (false, true) => format!("only tools matching {}", list(&self.allow)),
            (true, false) => format!("tools except {}", list(&self.deny)),
            (false, false) => format!(
                "tools matching {} except {}",
                list(&self.allow),
                list(&self.deny)
            ),
        }
    }

    /// True when the client may see and call the tool `name`.
    pub fn permits(&self, name: &str) -> bool {
        let allowed = self.allow.is_empty() || self.allow.iter().any(|g| glob_match(g, name));
        allowed && !self.deny.iter().any(|g| glob_match(g, name))
    }

    /// The reply to send for a response to `method` (asked as request `id`): the same bytes
    /// unless it is a `tools/list` result listing a hidden tool, then those bytes without it;
    /// an error for `id` when such a result cannot be read (nothing hidden may slip through).
    pub fn screen_reply(&self, method: Option<&str>, id: &Id, raw: Bytes) -> Bytes {
        if !self.is_active() || method != Some("tools/list") {
            return raw;
        }
        match self.without_hidden(&raw) {
            Ok(None) => raw,
            Ok(Some(filtered)) => filtered,
            Err(why) => {
                tracing::warn!("tools/list result refused by the tool filter: {why}");
                let message = format!(
                    "mcp-keybridge: the server's tools/list result cannot be read ({why}), and a tool filter (--allow-tool/--deny-tool) is on"
                );
                jsonrpc::error_reply(Some(id), jsonrpc::INTERNAL_ERROR, &message, Some(data()))
            }
        }
    }

    /// The bridge's error reply when `msg` is a `tools/call` of a hidden tool (or of a tool
    /// whose name cannot be read); `None` lets it through.
    pub fn refusal(&self, msg: &Message) -> Option<Bytes> {
        if !self.is_active() || msg.kind != Kind::Request || !msg.is("tools/call") {
            return None;
        }
        let message = match called_tool(&msg.raw) {
            Some(name) if self.permits(&name) => return None,
            Some(name) => format!(
                "mcp-keybridge: the tool {name:?} is hidden by the bridge's tool filter (--allow-tool/--deny-tool); the call was not sent to the server"
            ),
            None => "mcp-keybridge: the tool name of this tools/call cannot be read, and a tool filter (--allow-tool/--deny-tool) is on; the call was not sent to the server".into(),
        };
        tracing::info!("{message}");
        Some(jsonrpc::error_reply(
            msg.id.as_ref(),
            INVALID_PARAMS,
            &message,
            Some(data()),
        ))
    }

    /// For a client batch holding refused `tools/call`s: the batch without them (`None` when
    /// nothing is left to send) and the error replies for them. `None` when nothing is
    /// refused (or the batch is unreadable, which the relay reports itself).
    pub fn screen_batch(&self, line: &Bytes) -> Option<(Option<Bytes>, Vec<Bytes>)> {
        if !self.is_active() {
            return None;
        }
        let parts = jsonrpc::split_batch(line).ok()?;
        let mut kept = Vec::new();
        let mut refusals = Vec::new();
        for part in parts {
            match jsonrpc::classify(part.clone())
                .ok()
                .and_then(|m| self.refusal(&m))
            {
                Some(reply) => refusals.push(reply),
                None => kept.push(part),
            }
        }
        if refusals.is_empty() {
            return None;
        }
        let rest = (!kept.is_empty()).then(|| join_array(kept.iter().map(|p| &p[..])));
        Some((rest, refusals))
    }

    /// `raw` (a response) without the hidden tools of its `result.tools`; `None` when none
    /// is hidden. The bytes outside that array are kept as they are.
    fn without_hidden(&self, raw: &Bytes) -> Result<Option<Bytes>, &'static str> {
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow, default)]
            result: Option<&'a RawValue>,
        }
        #[derive(Deserialize)]
        struct ListResult<'a> {
            #[serde(borrow, default)]
            tools: Option<&'a RawValue>,
        }
        let envelope: Envelope<'_> =
            serde_json::from_slice(raw).map_err(|_| "not one JSON object with one \"result\"")?;
        let Some(result) = envelope.result else {
            return Ok(None); // an error reply lists no tools
        };
        let list: ListResult<'_> = serde_json::from_str(result.get())
            .map_err(|_| "\"result\" is not an object with one \"tools\"")?;
        let Some(tools) = list.tools else {
            return Ok(None);
        };
        let items: Vec<&RawValue> =
            serde_json::from_str(tools.get()).map_err(|_| "\"tools\" is not an array")?;
        let visible = |item: &RawValue| tool_name(item).is_some_and(|n| self.permits(&n));
        if items.iter().all(|i| visible(i)) {
            return Ok(None);
        }
        let hidden: Vec<String> = items
            .iter()
            .filter(|i| !visible(i))
            .map(|i| tool_name(i).map_or_else(|| "(unreadable)".into(), Cow::into_owned))
            .collect();
        tracing::debug!("hiding from tools/list: {}", hidden.join(", "));
        let kept = items.iter().filter(|i| visible(i));
        let array = join_array(kept.map(|i| i.get().as_bytes()));
        // `tools` borrows from `raw`: its place in the buffer is where the new array goes.
        let start = (tools.get().as_ptr() as usize)
            .checked_sub(raw.as_ptr() as usize)
            .filter(|s| raw.get(*s..s + tools.get().len()) == Some(tools.get().as_bytes()))
            .ok_or("internal: the tools array is not inside the message")?;
        let mut out = Vec::with_capacity(raw.len());
        out.extend_from_slice(&raw[..start]);
        out.extend_from_slice(&array);
        out.extend_from_slice(&raw[start + tools.get().len()..]);
        Ok(Some(out.into()))
    }
}

/// `data` of every error the filter makes.
fn data() -> serde_json::Value {
    serde_json::json!({ "source": "mcp-keybridge", "reason": "tool filter" })
}

/// `name` of one tool object, decoded; `None` when absent, not a string, or duplicated.
fn tool_name(item: &RawValue) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct Tool<'a> {
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Tool<'_>>(item.get()).ok()?.name
}

/// `params.name` of a `tools/call`, decoded; `None` when it cannot be read unambiguously.
fn called_tool(raw: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Call<'a> {
        #[serde(borrow, default)]
        params: Option<&'a RawValue>,
    }
    let call: Call<'_> = serde_json::from_slice(raw).ok()?;
    tool_name(call.params?).map(Cow::into_owned)
}

/// `[a,b,…]` from JSON texts.
fn join_array<'a>(items: impl Iterator<Item = &'a [u8]>) -> Bytes {
    let mut out = vec![b'['];
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    out.into()
}

/// `*` matches any run of characters (none too), `?` exactly one; the rest is literal.
/// Iterative with one backtrack point, so a hostile name cannot make it exponential.
pub fn glob_match(glob: &str, name: &str) -> bool {
    let (g, n): (Vec<char>, Vec<char>) = (glob.chars().collect(), name.chars().collect());
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ni));
                gi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                gi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sg, sn)) => {
                    gi = sg + 1;
                    ni = sn + 1;
                    star = Some((sg, sn + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests;
