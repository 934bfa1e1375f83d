//! `config --list`: for every client whose config file exists (this user's, and the
//! project's in the current directory), the entries that run this program.

use super::clients::Scope;
use super::{doc, files};
use crate::cli::Client;
use crate::environment::EnvLookup;
use std::fmt::Write;
use std::path::Path;

/// The report, one line per existing file.
pub fn report(env: EnvLookup<'_>, cwd: &Path, this_binary: &str) -> String {
    let mut out = String::new();
    for client in Client::ALL {
        for scope in [Scope::User, Scope::Project] {
            let Ok(path) = client.path(scope, env, cwd) else {
                continue;
            };
            let text = match files::read_existing(&path) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(e) => {
                    let _ = writeln!(out, "{:<12} {e}", client.id());
                    continue;
                }
            };
            let where_ = format!("{:<12} {}", client.id(), path.display());
            match doc::entries(client.format(), &text, client.key()) {
                Err(why) => {
                    let _ = writeln!(out, "{where_}: cannot be read ({why})");
                }
                Ok(entries) => {
                    let ours: Vec<String> = entries
                        .into_iter()
                        .filter(|(_, command)| {
                            command
                                .as_deref()
                                .is_some_and(|c| runs_this(c, this_binary))
                        })
                        .map(|(name, _)| name)
                        .collect();
                    let names = if ours.is_empty() {
                        "no mcp-keybridge entry".to_string()
                    } else {
                        ours.join(", ")
                    };
                    let _ = writeln!(out, "{where_}: {names}");
                }
            }
        }
    }
    if out.is_empty() {
        out.push_str(
            "No MCP client config file found (config <client> --name NAME --write creates one).\n",
        );
    }
    out
}

/// True when `command` starts this program: its very path, or any `mcp-keybridge` binary
/// (an entry written by another install of it).
fn runs_this(command: &str, this_binary: &str) -> bool {
    if command == this_binary {
        return true;
    }
    // Both separators: a Windows path is read on any system (a synced dotfile, say).
    let file = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let file = file.to_ascii_lowercase();
    file == "mcp-keybridge" || file == "mcp-keybridge.exe"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_its_own_entries() {
        assert!(runs_this("/usr/bin/mcp-keybridge", "/x"));
        assert!(runs_this("C:\\bin\\MCP-KEYBRIDGE.exe", "/x"));
        assert!(runs_this("/opt/kb", "/opt/kb"));
        assert!(!runs_this("npx", "/x"));
        assert!(!runs_this("/usr/bin/mcp-keybridge-old", "/x"));
    }
}
