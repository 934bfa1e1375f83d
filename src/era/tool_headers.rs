//! `x-mcp-header` (SEP-2243): which tool arguments a 2026-07-28 `tools/call` mirrors into
//! `Mcp-Param-<Name>` headers, learned from the `tools/list` results the bridge relays, and
//! the rule that a client on HTTP drops every tool whose annotation is invalid.
//!
//! A `tools/list` result without the string `x-mcp-header` is only peeked at for tool
//! names; one with an invalid tool is the one case where a result is re-serialised.

use crate::sync::lock_ignoring_poison;
use reqwest::header::HeaderName;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

const ANNOTATION: &str = "x-mcp-header";

/// One argument mirrored into a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// The chain of `properties` keys from the schema root to the argument.
    pub path: Vec<String>,
    /// `mcp-param-<name>`.
    pub header: HeaderName,
}

/// What the bridge has learned about the listed tools.
#[derive(Debug, Default)]
pub struct ToolHeaders {
    tools: Mutex<HashMap<String, Arc<[ParamHeader]>>>,
    logged: Mutex<HashSet<String>>,
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    result: Option<ListResult<'a>>,
}

#[derive(Deserialize)]
struct ListResult<'a> {
    #[serde(borrow, default)]
    tools: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, rename = "inputSchema")]
    input_schema: Option<&'a RawValue>,
}

impl ToolHeaders {
    /// The headers a call of `tool` mirrors; `None` when the tool was never listed.
    pub fn for_tool(&self, tool: &str) -> Option<Arc<[ParamHeader]>> {
        lock_ignoring_poison(&self.tools).get(tool).cloned()
    }

    /// Learns from a `tools/list` reply; returns the reply without its invalid tools, or
    /// `None` when it is to be relayed unchanged.
    pub fn on_list_reply(&self, raw: &[u8]) -> Option<Vec<u8>> {
        let reply: Reply<'_> = serde_json::from_slice(raw).ok()?;
        let tools = reply.result?.tools;
        let mut invalid = Vec::new();
        {
            let mut known = lock_ignoring_poison(&self.tools);
            for (i, tool) in tools.iter().enumerate() {
                let Ok(t) = serde_json::from_str::<Tool<'_>>(tool.get()) else {
                    continue;
                };
                match t.input_schema.map_or(Ok(Vec::new()), parse_schema) {
                    Ok(params) => {
                        known.insert(t.name.into_owned(), params.into());
                    }
                    Err(why) => {
                        known.remove(t.name.as_ref());
                        invalid.push((i, t.name.into_owned(), why));
                    }
                }
            }
        }
        if invalid.is_empty() {
            return None;
        }
        for (_, name, why) in &invalid {
            if lock_ignoring_poison(&self.logged).insert(format!("{name}\0{why}")) {
                tracing::warn!(
                    "dropping tool {name:?} from tools/list: {why} (x-mcp-header rules, MCP 2026-07-28)"
                );
            }
        }
        let mut whole: Value = serde_json::from_slice(raw).ok()?;
        let list = whole.get_mut("result")?.get_mut("tools")?.as_array_mut()?;
        for (i, _, _) in invalid.iter().rev() {
            list.remove(*i);
        }
        serde_json::to_vec(&whole).ok()
    }
}

/// Reads a tool's `inputSchema` for annotations; an error says why the tool is invalid.
fn parse_schema(schema: &RawValue) -> Result<Vec<ParamHeader>, String> {
    if !schema.get().contains(ANNOTATION) {
        return Ok(Vec::new());
    }
    let schema: Value = serde_json::from_str(schema.get()).map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    walk(&schema, Some(&mut Vec::new()), &mut found)?;
    let mut seen = HashSet::new();
    for p in &found {
        if !seen.insert(p.header.clone()) {
            return Err(format!(
                "x-mcp-header {:?} is used twice (names are case-insensitive)",
                &p.header.as_str()["mcp-param-".len()..]
            ));
        }
    }
    Ok(found)
}

/// Visits a schema node. `path` is `Some` while the node is reachable from the root through
/// `properties` keys alone; an annotation anywhere else makes the tool invalid.
fn walk(
    node: &Value,
    mut path: Option<&mut Vec<String>>,
    found: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if let Some(name) = map.get(ANNOTATION) {
                match path.as_deref() {
                    Some(p) if !p.is_empty() => found.push(annotation(p, name, map)?),
                    Some(_) => return Err("x-mcp-header on the schema root".into()),
                    None => {
                        return Err(
                            "x-mcp-header on a property not reachable through `properties` alone"
                                .into(),
                        );
                    }
                }
            }
            for (key, value) in map {
                if key == "properties"
                    && let Value::Object(props) = value
                {
                    for (prop, schema) in props {
                        match path.as_deref_mut() {
                            Some(p) => {
                                p.push(prop.clone());
                                let r = walk(schema, Some(p), found);
                                p.pop();
                                r?;
                            }
                            None => walk(schema, None, found)?,
                        }
                    }
                } else if key != ANNOTATION {
                    walk(value, None, found)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, None, found)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks one annotation: a non-empty header token on a string, integer or boolean property.
fn annotation(
    path: &[String],
    name: &Value,
    property: &serde_json::Map<String, Value>,
) -> Result<ParamHeader, String> {
    let where_ = path.join(".");
    let Value::String(name) = name else {
        return Err(format!("x-mcp-header of {where_:?} is not a string"));
    };
    if name.is_empty() {
        return Err(format!("x-mcp-header of {where_:?} is empty"));
    }
    if !name.bytes().all(is_tchar) {
        return Err(format!(
            "x-mcp-header {name:?} of {where_:?} is not an HTTP header token"
        ));
    }
    match property.get("type").and_then(Value::as_str) {
        Some("string" | "integer" | "boolean") => {}
        other => {
            return Err(format!(
                "x-mcp-header {name:?} is on {where_:?} of type {}, not string, integer or boolean",
                other.unwrap_or("(none)")
            ));
        }
    }
    let header =
        HeaderName::from_bytes(format!("mcp-param-{}", name.to_ascii_lowercase()).as_bytes())
            .map_err(|_| format!("x-mcp-header {name:?} makes no valid header name"))?;
    Ok(ParamHeader {
        path: path.to_vec(),
        header,
    })
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests;
