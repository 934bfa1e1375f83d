//! The MCP clients `config` knows: where each keeps its servers (user and project files),
//! the key they sit under, the entry's shape, the file's format, and what to restart.
//!
//! Checked against each client's documentation (2026-12): Claude Code `~/.claude.json`
//! top-level `mcpServers` (user scope) and `.mcp.json` (project), entries with
//! `"type": "stdio"`; Cursor `~/.cursor/mcp.json` / `.cursor/mcp.json`; VS Code `mcp.json` in
//! the user profile / `.vscode/mcp.json` under `servers`, `"type": "stdio"`, JSONC; Windsurf
//! `~/.codeium/windsurf/mcp_config.json`; Codex `$CODEX_HOME/config.toml` (default
//! `~/.codex/`) / `.codex/config.toml` (trusted projects) with `[mcp_servers.NAME]`; Gemini CLI
//! `~/.gemini/settings.json` / `.gemini/settings.json` (comments allowed, as its loader strips
//! them); Zed `settings.json` under `context_servers`, JSONC.

use super::files::FileError;
use crate::cli::Client;
use crate::environment::EnvLookup;
use std::path::{Path, PathBuf};

/// Which of a client's files (`--project` picks the project's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client's file for this user.
    User,
    /// The client's file in the current directory's project.
    Project,
}

/// How a client's file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Strict JSON: the client's parser refuses comments and trailing commas.
    Json,
    /// JSON with comments and trailing commas, both kept as they are.
    Jsonc,
    /// TOML, edited in place (comments and layout kept).
    Toml,
}

impl Client {
    /// Every client, in the order `config --list` shows them.
    pub const ALL: [Client; 8] = [
        Client::Claude,
        Client::ClaudeCode,
        Client::Cursor,
        Client::Vscode,
        Client::Windsurf,
        Client::Codex,
        Client::Gemini,
        Client::Zed,
    ];

    /// The name on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Client::Claude => "claude",
            Client::ClaudeCode => "claude-code",
            Client::Cursor => "cursor",
            Client::Vscode => "vscode",
            Client::Windsurf => "windsurf",
            Client::Codex => "codex",
            Client::Gemini => "gemini",
            Client::Zed => "zed",
        }
    }

    /// The product's name, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Client::Claude => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Cursor => "Cursor",
            Client::Vscode => "VS Code",
            Client::Windsurf => "Windsurf",
            Client::Codex => "Codex",
            Client::Gemini => "Gemini CLI",
            Client::Zed => "Zed",
        }
    }

    /// The file's format.
    pub fn format(self) -> Format {
        match self {
            Client::Vscode | Client::Zed | Client::Gemini => Format::Jsonc,
            Client::Codex => Format::Toml,
            _ => Format::Json,
        }
    }

    /// The key (table) the servers sit under.
    pub fn key(self) -> &'static str {
        match self {
            Client::Vscode => "servers",
            Client::Zed => "context_servers",
            Client::Codex => "mcp_servers",
            _ => "mcpServers",
        }
    }

    /// True when the entry names its transport (`"type": "stdio"`).
    pub fn typed(self) -> bool {
        matches!(self, Client::ClaudeCode | Client::Vscode)
    }

    /// What to do for the client to load a written entry.
    pub fn reload_hint(self) -> &'static str {
        match self {
            Client::Claude => {
                "Restart Claude Desktop (quit it completely, then start it) to load the change."
            }
            Client::ClaudeCode => {
                "Start a new Claude Code session to load it (/mcp shows its state); a project .mcp.json server asks for approval the first time."
            }
            Client::Cursor => {
                "Cursor loads it from Settings → MCP; restart Cursor if the server does not appear."
            }
            Client::Vscode => {
                "VS Code reads mcp.json again by itself; start the server from the MCP view (or 'MCP: List Servers') if it does not start."
            }
            Client::Windsurf => {
                "Press refresh in Windsurf's MCP panel (or restart Windsurf) to load it."
            }
            Client::Codex => {
                "Start a new Codex session to load it (/mcp lists the servers); a project's .codex/config.toml is read only in a trusted project."
            }
            Client::Gemini => "Restart Gemini CLI to load it (/mcp lists the servers).",
            Client::Zed => {
                "Zed reads its settings again by itself; the server shows in the Agent Panel's settings."
            }
        }
    }

    /// The client's file for `scope`; `cwd` is the project's directory.
    pub fn path(self, scope: Scope, env: EnvLookup<'_>, cwd: &Path) -> Result<PathBuf, FileError> {
        match scope {
            Scope::User => self.user_path(env),
            Scope::Project => self
                .project_file()
                .map(|rel| cwd.join(rel))
                .ok_or(FileError::NoProjectFile(self.title())),
        }
    }

    /// The project file, relative to the project's directory, when the client has one.
    pub fn project_file(self) -> Option<&'static str> {
        match self {
            Client::Claude | Client::Windsurf => None,
            Client::ClaudeCode => Some(".mcp.json"),
            Client::Cursor => Some(".cursor/mcp.json"),
            Client::Vscode => Some(".vscode/mcp.json"),
            Client::Codex => Some(".codex/config.toml"),
            Client::Gemini => Some(".gemini/settings.json"),
            Client::Zed => Some(".zed/settings.json"),
        }
    }

    /// The client's file for this user, from the environment (so a test can point HOME away).
    pub fn user_path(self, env: EnvLookup<'_>) -> Result<PathBuf, FileError> {
        let home = || home(env);
        Ok(match self {
            Client::Claude => app_config_dir(env)?
                .join("Claude")
                .join("claude_desktop_config.json"),
            Client::ClaudeCode => home()?.join(".claude.json"),
            Client::Cursor => home()?.join(".cursor").join("mcp.json"),
            Client::Vscode => app_config_dir(env)?
                .join("Code")
                .join("User")
                .join("mcp.json"),
            Client::Windsurf => home()?
                .join(".codeium")
                .join("windsurf")
                .join("mcp_config.json"),
            Client::Codex => match set(env, "CODEX_HOME") {
                Some(dir) => dir.join("config.toml"),
                None => home()?.join(".codex").join("config.toml"),
            },
            Client::Gemini => home()?.join(".gemini").join("settings.json"),
            // Zed keeps ~/.config/zed on macOS too; only Windows differs.
            Client::Zed if cfg!(windows) => set(env, "APPDATA")
                .ok_or(FileError::NoHome("APPDATA"))?
                .join("Zed")
                .join("settings.json"),
            Client::Zed => set(env, "XDG_CONFIG_HOME")
                .map_or_else(|| home().map(|h| h.join(".config")), Ok)?
                .join("zed")
                .join("settings.json"),
        })
    }
}

fn set(env: EnvLookup<'_>, key: &str) -> Option<PathBuf> {
    env(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The user's home: `HOME`, and on Windows `USERPROFILE` when HOME is not set.
fn home(env: EnvLookup<'_>) -> Result<PathBuf, FileError> {
    if let Some(h) = set(env, "HOME") {
        return Ok(h);
    }
    if cfg!(windows) {
        return set(env, "USERPROFILE").ok_or(FileError::NoHome("USERPROFILE"));
    }
    Err(FileError::NoHome("HOME"))
}

/// Where desktop apps keep their settings: `%APPDATA%` on Windows, `~/Library/Application
/// Support` on macOS, `$XDG_CONFIG_HOME` (default `~/.config`) elsewhere.
fn app_config_dir(env: EnvLookup<'_>) -> Result<PathBuf, FileError> {
    if cfg!(windows) {
        set(env, "APPDATA").ok_or(FileError::NoHome("APPDATA"))
    } else if cfg!(target_os = "macos") {
        Ok(home(env)?.join("Library").join("Application Support"))
    } else {
        match set(env, "XDG_CONFIG_HOME") {
            Some(d) => Ok(d),
            None => Ok(home(env)?.join(".config")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_environment() {
        let env = |k: &str| match k {
            "HOME" => Some("/h".to_string()),
            "APPDATA" => Some("C:\\Users\\u\\AppData\\Roaming".to_string()),
            _ => None,
        };
        let user = |c: Client| c.user_path(&env).unwrap();
        assert!(user(Client::Claude).ends_with("Claude/claude_desktop_config.json"));
        assert!(user(Client::Vscode).ends_with("Code/User/mcp.json"));
        if cfg!(target_os = "linux") {
            assert_eq!(
                user(Client::Claude),
                Path::new("/h/.config/Claude/claude_desktop_config.json")
            );
            assert_eq!(user(Client::ClaudeCode), Path::new("/h/.claude.json"));
            assert_eq!(user(Client::Cursor), Path::new("/h/.cursor/mcp.json"));
            assert_eq!(
                user(Client::Windsurf),
                Path::new("/h/.codeium/windsurf/mcp_config.json")
            );
            assert_eq!(user(Client::Codex), Path::new("/h/.codex/config.toml"));
            assert_eq!(user(Client::Gemini), Path::new("/h/.gemini/settings.json"));
            assert_eq!(user(Client::Zed), Path::new("/h/.config/zed/settings.json"));
            let codex_home = |k: &str| (k == "CODEX_HOME").then(|| "/c".to_string());
            assert_eq!(
                Client::Codex.user_path(&codex_home).unwrap(),
                Path::new("/c/config.toml")
            );
        }
        assert!(Client::Cursor.user_path(&|_| None).is_err());
        let cwd = Path::new("/p");
        let project = |c: Client| c.path(Scope::Project, &env, cwd);
        assert_eq!(project(Client::ClaudeCode).unwrap(), cwd.join(".mcp.json"));
        assert_eq!(
            project(Client::Zed).unwrap(),
            cwd.join(".zed/settings.json")
        );
        assert!(matches!(
            project(Client::Windsurf),
            Err(FileError::NoProjectFile("Windsurf"))
        ));
    }
}
