//! Entries written into real files of each client's shape: comments, trailing commas,
//! indentation and every other key kept; invalid files refused with a place, not contents.

use super::*;

fn entry(typed: bool) -> Entry {
    Entry {
        typed,
        command: "/usr/bin/mcp-keybridge".into(),
        args: vec![
            "https://jira.example/mcp".into(),
            "--bearer".into(),
            "keychain:jira".into(),
        ],
    }
}

/// A VS Code user `mcp.json` as VS Code writes it, with a comment and an `inputs` array.
const VSCODE: &str = r#"{
	// Servers VS Code starts for Copilot.
	"servers": {
		"github": {
			"type": "http",
			"url": "https://api.githubcopilot.com/mcp/", // remote
		},
	},
	"inputs": [
		{"type": "promptString", "id": "token", "password": true},
	],
}
"#;

#[test]
fn vscode_keeps_comments_tabs_and_trailing_commas() {
    let (out, replaced) = upsert(Format::Jsonc, VSCODE, "servers", "jira", &entry(true)).unwrap();
    assert!(!replaced);
    assert!(
        out.starts_with("{\n\t// Servers VS Code starts for Copilot.\n"),
        "{out}"
    );
    assert!(
        out.contains("\"url\": \"https://api.githubcopilot.com/mcp/\", // remote"),
        "{out}"
    );
    assert!(
        out.contains("\t\t\"jira\": {\n\t\t\t\"type\": \"stdio\",\n"),
        "tabs kept: {out}"
    );
    assert!(out.contains(r#"{"type": "promptString", "id": "token", "password": true},"#));
    // Still JSONC a client reads: the same entries plus ours.
    let listed = entries(Format::Jsonc, &out, "servers").unwrap();
    assert_eq!(
        listed,
        [
            ("github".to_string(), None),
            (
                "jira".to_string(),
                Some("/usr/bin/mcp-keybridge".to_string())
            )
        ]
    );
    // Replaced in place, then removed: comments and the other entries stay.
    let mut other = entry(true);
    other.args = vec!["--profile".into(), "jira".into()];
    let (again, replaced) = upsert(Format::Jsonc, &out, "servers", "jira", &other).unwrap();
    assert!(replaced);
    assert!(again.contains("\"--profile\", \"jira\""), "{again}");
    let removed = remove(Format::Jsonc, &again, "servers", "jira")
        .unwrap()
        .unwrap();
    assert!(
        removed.contains("// remote") && !removed.contains("jira"),
        "{removed}"
    );
    assert_eq!(
        remove(Format::Jsonc, VSCODE, "servers", "nope").unwrap(),
        None
    );
}

/// Zed's settings.json: comments everywhere, `context_servers` among other settings.
const ZED: &str = r#"// Zed settings
//
// For information on how to configure Zed, see the Zed documentation.
{
  "ui_font_size": 16,
  /* block comment */
  "context_servers": {
    "postgres": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-postgres"],
      "env": {}
    }
  },
  "vim_mode": false
}
"#;

#[test]
fn zed_keeps_every_setting_and_comment() {
    let (out, _) = upsert(Format::Jsonc, ZED, "context_servers", "jira", &entry(false)).unwrap();
    assert!(
        out.starts_with("// Zed settings\n//\n// For information"),
        "{out}"
    );
    assert!(out.contains("/* block comment */"));
    assert!(out.contains("\"vim_mode\": false"));
    let listed = entries(Format::Jsonc, &out, "context_servers").unwrap();
    assert_eq!(listed[0], ("postgres".into(), Some("npx".into())));
    assert_eq!(listed[1].0, "jira");
    assert!(!out.contains("\"type\""), "Zed's entry has no type: {out}");
}

/// `~/.claude.json` holds much more than servers; strict JSON, two-space indent.
const CLAUDE_CODE: &str = r#"{
  "numStartups": 42,
  "projects": {
    "/home/u/app": {"mcpServers": {}, "allowedTools": []}
  },
  "mcpServers": {
    "context7": {"type": "stdio", "command": "npx", "args": ["-y", "@upstash/context7-mcp"], "env": {}}
  },
  "userID": "abc"
}"#;

#[test]
fn claude_code_user_file_changes_only_top_level_servers() {
    let (out, _) = upsert(
        Format::Json,
        CLAUDE_CODE,
        "mcpServers",
        "jira",
        &entry(true),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["projects"]["/home/u/app"]["mcpServers"], json!({}));
    assert_eq!(v["mcpServers"]["jira"], entry(true).to_json());
    assert_eq!(v["mcpServers"]["context7"]["command"], "npx");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["numStartups", "projects", "mcpServers", "userID"]);
    assert!(
        out.starts_with("{\n  \"numStartups\": 42,\n"),
        "untouched bytes: {out}"
    );
}

#[test]
fn strict_json_clients_refuse_comments_and_trailing_commas() {
    for bad in [
        "{\"mcpServers\": {},}",
        "// c\n{}",
        "{'a': 1}",
        "[1]",
        "{\"mcpServers\": []}",
    ] {
        let err = upsert(Format::Json, bad, "mcpServers", "jira", &entry(false)).unwrap_err();
        assert!(
            !err.contains("mcpServers\": {}"),
            "no contents echoed: {err}"
        );
    }
    let secret = "{\n  \"a\": \"ghp_secret\",\n}";
    let err = upsert(Format::Json, secret, "mcpServers", "x", &entry(false)).unwrap_err();
    assert!(err.contains("line 2") || err.contains("line 3"), "{err}");
    assert!(!err.contains("ghp_secret"), "{err}");
    // Empty and missing files start fresh.
    let (out, _) = upsert(Format::Json, "", "mcpServers", "jira", &entry(false)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, json!({"mcpServers": {"jira": entry(false).to_json()}}));
}

/// A Codex config.toml with comments, another server with sub-tables, and profiles after.
const CODEX: &str = r#"# ~/.codex/config.toml
model = "gpt-5-codex" # default model
approval_policy = "on-request"

# Docs lookups
[mcp_servers.context7]
command = "npx"
args = ["-y", "@upstash/context7-mcp"]

[mcp_servers.context7.env]
LOG = "1"

[mcp_servers.jira]
# the old, token-in-file way
command = "node"
args = ["jira.js"]
env = { JIRA_TOKEN = "ghp_oldsecret" }

[profiles.fast]
model = "o4-mini"
"#;

#[test]
fn codex_toml_keeps_comments_and_layout() {
    let (out, replaced) =
        upsert(Format::Toml, CODEX, "mcp_servers", "jira", &entry(false)).unwrap();
    assert!(replaced);
    assert!(out.starts_with("# ~/.codex/config.toml\nmodel = \"gpt-5-codex\" # default model\n"));
    assert!(
        out.contains("# Docs lookups\n[mcp_servers.context7]\n"),
        "{out}"
    );
    assert!(
        out.contains("[mcp_servers.context7.env]\nLOG = \"1\"\n"),
        "{out}"
    );
    assert!(
        !out.contains("ghp_oldsecret"),
        "the old entry is replaced whole: {out}"
    );
    let jira_at = out.find("[mcp_servers.jira]").unwrap();
    assert!(
        jira_at < out.find("[profiles.fast]").unwrap(),
        "replaced in place: {out}"
    );
    assert!(
        out.contains("command = \"/usr/bin/mcp-keybridge\"\nargs = [\"https://jira.example/mcp\", \"--bearer\", \"keychain:jira\"]\n"),
        "{out}"
    );
    let parsed: ::toml::Table = ::toml::from_str(&out).unwrap();
    assert_eq!(
        parsed["profiles"]["fast"]["model"].as_str(),
        Some("o4-mini")
    );

    let (added, replaced) =
        upsert(Format::Toml, CODEX, "mcp_servers", "conf", &entry(false)).unwrap();
    assert!(!replaced);
    assert!(added.contains("[mcp_servers.conf]\ncommand"), "{added}");
    let listed = entries(Format::Toml, &added, "mcp_servers").unwrap();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["context7", "jira", "conf"]);

    let removed = remove(Format::Toml, &added, "mcp_servers", "conf")
        .unwrap()
        .unwrap();
    assert_eq!(removed, CODEX, "add then remove leaves the file as it was");
    assert_eq!(
        remove(Format::Toml, CODEX, "mcp_servers", "nope").unwrap(),
        None
    );
}

#[test]
fn codex_fresh_file_and_bad_toml() {
    let (out, _) = upsert(Format::Toml, "", "mcp_servers", "jira", &entry(false)).unwrap();
    assert!(
        out.starts_with("[mcp_servers.jira]\n"),
        "no empty [mcp_servers] header: {out}"
    );
    let bad = "a = \"ghp_x\"\nb = = 1\n";
    let err = upsert(Format::Toml, bad, "mcp_servers", "j", &entry(false)).unwrap_err();
    assert!(!err.contains("ghp_x"), "{err}");
    let not_table = "mcp_servers = 1\n";
    assert!(upsert(Format::Toml, not_table, "mcp_servers", "j", &entry(false)).is_err());
}

#[test]
fn snippets_are_what_the_file_would_hold() {
    let json_snippet = snippet(Format::Json, "mcpServers", "jira", &entry(true));
    let v: serde_json::Value = serde_json::from_str(&json_snippet).unwrap();
    assert_eq!(v["jira"]["type"], "stdio");
    let toml_snippet = snippet(Format::Toml, "mcp_servers", "jira", &entry(false));
    assert!(
        toml_snippet.starts_with("[mcp_servers.jira]\ncommand = "),
        "{toml_snippet}"
    );
}
