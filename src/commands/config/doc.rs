//! Editing one server entry inside a client's config text, keeping every other byte: JSON
//! and JSONC through a concrete syntax tree (comments, trailing commas, indentation and key
//! order stay as they were), TOML through `toml_edit` (comments and layout stay). Errors
//! name a place in the file, never its contents, which may hold other servers' secrets.

use super::clients::Format;
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::{Value, json};

/// The entry that starts the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Add `"type": "stdio"` (Claude Code, VS Code).
    pub typed: bool,
    /// This program's absolute path.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Entry {
    /// The entry as a JSON value, keys in the order the clients' docs show them.
    pub fn to_json(&self) -> Value {
        let mut v = json!({});
        if self.typed {
            v["type"] = json!("stdio");
        }
        v["command"] = json!(self.command);
        v["args"] = json!(self.args);
        v
    }

    fn to_cst(&self) -> CstInputValue {
        let mut props = Vec::new();
        if self.typed {
            props.push(("type".to_string(), CstInputValue::from("stdio")));
        }
        props.push(("command".into(), self.command.clone().into()));
        let args = self.args.iter().map(|a| a.clone().into()).collect();
        props.push(("args".into(), CstInputValue::Array(args)));
        CstInputValue::Object(props)
    }
}

/// One entry found in a file: its name and, when it has one, its `command`.
pub type Listed = (String, Option<String>);

/// Sets `key.name = entry` in `text`; returns the new text and whether an entry of that
/// name was replaced (in place).
pub fn upsert(
    format: Format,
    text: &str,
    key: &str,
    name: &str,
    entry: &Entry,
) -> Result<(String, bool), String> {
    match format {
        Format::Toml => toml_doc::upsert(text, key, name, entry),
        _ => {
            let root = parse_json(format, text)?;
            let servers = servers(&root, key, true)?.expect("created");
            let replaced = match servers.get(name) {
                Some(prop) => {
                    prop.set_value(entry.to_cst());
                    true
                }
                None => {
                    servers.append(name, entry.to_cst());
                    false
                }
            };
            Ok((with_newline(root.to_string()), replaced))
        }
    }
}

/// `text` without `key.name`; `None` when there is no such entry.
pub fn remove(format: Format, text: &str, key: &str, name: &str) -> Result<Option<String>, String> {
    match format {
        Format::Toml => toml_doc::remove(text, key, name),
        _ => {
            let root = parse_json(format, text)?;
            let Some(prop) = servers(&root, key, false)?.and_then(|s| s.get(name)) else {
                return Ok(None);
            };
            prop.remove();
            Ok(Some(with_newline(root.to_string())))
        }
    }
}

/// The entries under `key`, in file order.
pub fn entries(format: Format, text: &str, key: &str) -> Result<Vec<Listed>, String> {
    match format {
        Format::Toml => toml_doc::entries(text, key),
        _ => {
            let root = parse_json(format, text)?;
            let Some(servers) = servers(&root, key, false)? else {
                return Ok(Vec::new());
            };
            let listed = servers
                .properties()
                .into_iter()
                .filter_map(|prop| {
                    let name = prop.decoded_name()?;
                    let command = prop
                        .object_value()
                        .and_then(|o| o.get("command"))
                        .and_then(|c| c.value())
                        .and_then(|v| v.as_string_lit())
                        .and_then(|s| s.decoded_value().ok());
                    Some((name, command))
                })
                .collect();
            Ok(listed)
        }
    }
}

/// What to paste into the file by hand (print mode).
pub fn snippet(format: Format, key: &str, name: &str, entry: &Entry) -> String {
    match format {
        Format::Toml => toml_doc::upsert("", key, name, entry).map_or_else(|e| e, |(text, _)| text),
        _ => {
            let text = serde_json::to_string_pretty(&json!({ name: entry.to_json() }))
                .expect("a JSON value always serializes");
            with_newline(text)
        }
    }
}

/// Strict JSON refuses what the client's own parser would (comments, trailing commas, JSON5
/// extras); JSONC allows comments and trailing commas only, as VS Code and Zed do.
fn parse_json(format: Format, text: &str) -> Result<CstRootNode, String> {
    let jsonc = format == Format::Jsonc;
    // The syntax tree keeps comments whatever the options say: a strict file is checked by
    // serde_json too, whose messages give the place and never the text.
    if !jsonc && !text.trim().is_empty() {
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    }
    let options = ParseOptions {
        allow_comments: jsonc,
        allow_loose_object_property_names: false,
        allow_trailing_commas: jsonc,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    CstRootNode::parse(text, &options).map_err(|e| e.to_string())
}

/// The object under `key` at the top level, created (when `create`) if missing.
fn servers(root: &CstRootNode, key: &str, create: bool) -> Result<Option<CstObject>, String> {
    let top = match root.value() {
        None if create => root.object_value_or_set(),
        None => return Ok(None),
        Some(v) => v.as_object().ok_or("the top level is not a JSON object")?,
    };
    match top.get(key) {
        Some(prop) => prop
            .object_value()
            .map(Some)
            .ok_or_else(|| format!("\"{key}\" is not a JSON object")),
        None if create => Ok(Some(top.object_value_or_set(key))),
        None => Ok(None),
    }
}

fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Codex's `config.toml`: `[mcp_servers.NAME]` tables.
mod toml_doc {
    use super::{Entry, Listed};
    use toml_edit::{Array, DocumentMut, Item, Table, value};

    fn parse(text: &str) -> Result<DocumentMut, String> {
        // The parser's message quotes the offending line: keep only its first line (the place).
        text.parse::<DocumentMut>().map_err(|e| {
            let message = e.to_string();
            message.lines().next().unwrap_or("invalid TOML").to_string()
        })
    }

    fn servers<'d>(
        doc: &'d mut DocumentMut,
        key: &str,
        create: bool,
    ) -> Result<Option<&'d mut Table>, String> {
        let root = doc.as_table_mut();
        if !root.contains_key(key) {
            if !create {
                return Ok(None);
            }
            // Implicit: no empty `[mcp_servers]` header, only `[mcp_servers.NAME]`.
            let mut table = Table::new();
            table.set_implicit(true);
            root.insert(key, Item::Table(table));
        }
        root[key]
            .as_table_mut()
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not a table of servers ([{key}.NAME])"))
    }

    pub fn upsert(
        text: &str,
        key: &str,
        name: &str,
        entry: &Entry,
    ) -> Result<(String, bool), String> {
        let mut doc = parse(text)?;
        let servers = servers(&mut doc, key, true)?.expect("created");
        let replaced = servers.contains_key(name);
        match servers.get_mut(name).and_then(Item::as_table_mut) {
            // Cleared in place: the table keeps its position and the comments above it.
            Some(table) => table.clear(),
            None => {
                if replaced {
                    return Err(format!("`{key}.{name}` is not a table"));
                }
                servers.insert(name, Item::Table(Table::new()));
            }
        }
        let table = servers[name].as_table_mut().expect("a table");
        table.insert("command", value(entry.command.as_str()));
        table.insert("args", value(entry.args.iter().collect::<Array>()));
        Ok((doc.to_string(), replaced))
    }

    pub fn remove(text: &str, key: &str, name: &str) -> Result<Option<String>, String> {
        let mut doc = parse(text)?;
        let Some(servers) = servers(&mut doc, key, false)? else {
            return Ok(None);
        };
        Ok(servers.remove(name).map(|_| doc.to_string()))
    }

    pub fn entries(text: &str, key: &str) -> Result<Vec<Listed>, String> {
        let mut doc = parse(text)?;
        let Some(servers) = servers(&mut doc, key, false)? else {
            return Ok(Vec::new());
        };
        Ok(servers
            .iter()
            .map(|(name, item)| {
                let command = item.get("command").and_then(Item::as_str).map(String::from);
                (name.to_string(), command)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
