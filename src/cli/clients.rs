//! The MCP clients `config <client>` can write an entry for, by the names the command line
//! takes; what each keeps where is in `commands/config/clients.rs`, beside the `impl`.

use clap::ValueEnum;

/// `config <client>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    /// Claude Desktop (claude_desktop_config.json).
    Claude,
    /// Claude Code (~/.claude.json, or .mcp.json with --scope project).
    ClaudeCode,
    /// Cursor (~/.cursor/mcp.json, or .cursor/mcp.json).
    Cursor,
    /// VS Code (mcp.json in the user profile, or .vscode/mcp.json).
    Vscode,
    /// Windsurf (~/.codeium/windsurf/mcp_config.json).
    Windsurf,
    /// Codex CLI ($CODEX_HOME/config.toml, default ~/.codex/config.toml; or .codex/config.toml).
    Codex,
    /// Gemini CLI (~/.gemini/settings.json, or .gemini/settings.json).
    Gemini,
    /// Zed (~/.config/zed/settings.json, or .zed/settings.json).
    Zed,
}
