//! `config <client>` for every client through the real binary, against a scratch HOME and
//! project directory: each client's real file shape (comments kept where the format has
//! them), `--project`, `--remove`, `--list`, `CODEX_HOME`, private new files, backups, and
//! literal secrets refused without being echoed.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::bridge::scratch_dir;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-keybridge");

/// A scratch HOME with a project directory inside, removed when the test ends.
struct Home(PathBuf);

impl Home {
    fn new() -> Home {
        let home = Home(scratch_dir());
        std::fs::create_dir_all(home.project()).unwrap();
        home
    }
    fn project(&self) -> PathBuf {
        self.0.join("work/app")
    }
    fn file(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    /// Writes `text` at `rel` (under HOME), creating directories.
    fn put(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the binary in the project directory with a clean environment, `home` as HOME.
fn run(home: &Home, extra_env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("HOME", &home.0)
        .current_dir(home.project());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.output().expect("run mcp-keybridge")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn write_jira(client: &str, more: &[&str]) -> Vec<String> {
    let mut args = vec![
        "config",
        client,
        "--name",
        "jira",
        "https://jira.example.com/mcp",
        "--bearer",
        "keychain:jira",
        "--deny-tool",
        "*delete*",
        "--write",
    ];
    args.extend_from_slice(more);
    args.into_iter().map(String::from).collect()
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

const ARGS: [&str; 5] = [
    "https://jira.example.com/mcp",
    "--bearer",
    "keychain:jira",
    "--deny-tool",
    "*delete*",
];

fn mode(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o600
    }
}

#[test]
fn every_json_client_gets_its_own_shape_in_a_new_private_file() {
    let home = Home::new();
    let vscode_user = if cfg!(target_os = "macos") {
        "Library/Application Support/Code/User/mcp.json"
    } else {
        ".config/Code/User/mcp.json"
    };
    for (client, rel, key, typed) in [
        ("claude-code", ".claude.json", "mcpServers", true),
        ("cursor", ".cursor/mcp.json", "mcpServers", false),
        ("vscode", vscode_user, "servers", true),
        (
            "windsurf",
            ".codeium/windsurf/mcp_config.json",
            "mcpServers",
            false,
        ),
        ("gemini", ".gemini/settings.json", "mcpServers", false),
        ("zed", ".config/zed/settings.json", "context_servers", false),
    ] {
        let stdout = ok(&run(&home, &[], &argv(&write_jira(client, &[]))));
        assert!(
            stdout.contains("Added the \"jira\" entry"),
            "{client}: {stdout}"
        );
        let path = home.file(rel);
        let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{client}: {e}"));
        let mut expected = json!({"command": BIN, "args": ARGS});
        if typed {
            expected = json!({"type": "stdio", "command": BIN, "args": ARGS});
        }
        assert_eq!(written, json!({ key: {"jira": expected} }), "{client}");
        assert_eq!(
            mode(&path),
            0o600,
            "{client}: a new file is the user's alone"
        );
    }
}

#[test]
fn project_files_are_written_in_the_current_directory() {
    let home = Home::new();
    for (client, rel) in [
        ("claude-code", ".mcp.json"),
        ("cursor", ".cursor/mcp.json"),
        ("vscode", ".vscode/mcp.json"),
        ("codex", ".codex/config.toml"),
        ("gemini", ".gemini/settings.json"),
        ("zed", ".zed/settings.json"),
    ] {
        ok(&run(&home, &[], &argv(&write_jira(client, &["--project"]))));
        let path = home.project().join(rel);
        let written = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{client}: {e}"));
        assert!(written.contains("keychain:jira"), "{client}: {written}");
    }
    for client in ["claude", "windsurf"] {
        let out = run(&home, &[], &argv(&write_jira(client, &["--project"])));
        assert_eq!(out.status.code(), Some(1), "{client}");
        assert!(
            text(&out.stderr).contains("no project config file"),
            "{client}"
        );
    }
}

const ZED_SETTINGS: &str = r#"// Zed settings
{
  "theme": "One Dark", // my theme
  "context_servers": {
    // kept
    "postgres": {"command": "npx", "args": ["-y", "pg"],},
  },
  "vim_mode": true,
}
"#;

#[test]
fn jsonc_files_keep_comments_and_trailing_commas_with_a_backup() {
    let home = Home::new();
    let path = home.put(".config/zed/settings.json", ZED_SETTINGS);
    let stdout = ok(&run(&home, &[], &argv(&write_jira("zed", &[]))));
    assert!(stdout.contains("Zed reads its settings again"), "{stdout}");
    // The hint names only what `auth status` takes (not --deny-tool, which it refuses).
    assert!(
        stdout.contains("auth status https://jira.example.com/mcp --bearer keychain:jira\n"),
        "{stdout}"
    );
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.starts_with("// Zed settings\n{\n  \"theme\": \"One Dark\", // my theme\n"));
    assert!(after.contains(
        "// kept\n    \"postgres\": {\"command\": \"npx\", \"args\": [\"-y\", \"pg\"],},"
    ));
    assert!(after.contains("\"vim_mode\": true,\n}"), "{after}");
    assert!(after.contains("\"jira\": {"), "{after}");
    let backups: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), ZED_SETTINGS);
    assert!(stdout.contains(&backups[0].display().to_string()));

    // --remove takes it out again (another backup), comments still there.
    let stdout = ok(&run(&home, &[], &["config", "zed", "--remove", "jira"]));
    assert!(
        stdout.contains("Removed the \"jira\" entry from"),
        "{stdout}"
    );
    let removed = std::fs::read_to_string(&path).unwrap();
    assert!(
        !removed.contains("jira") && removed.contains("// my theme"),
        "{removed}"
    );
    let out = run(&home, &[], &["config", "zed", "--remove", "jira"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no entry named \"jira\""));
}

const CODEX_TOML: &str = r#"# my Codex settings
model = "gpt-5-codex"  # pinned

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]

[profiles.fast]
model = "o4-mini"
"#;

#[test]
fn codex_toml_is_edited_in_place_under_codex_home() {
    let home = Home::new();
    let codex_home = home.file("codex-home");
    let path = home.put("codex-home/config.toml", CODEX_TOML);
    let env = [("CODEX_HOME", codex_home.as_path())];
    let stdout = ok(&run(&home, &env, &argv(&write_jira("codex", &[]))));
    assert!(stdout.contains("Start a new Codex session"), "{stdout}");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.starts_with("# my Codex settings\nmodel = \"gpt-5-codex\"  # pinned\n"));
    assert!(
        after.contains("[mcp_servers.docs]\ncommand = \"npx\"\n"),
        "{after}"
    );
    assert!(
        after.contains("[profiles.fast]\nmodel = \"o4-mini\"\n"),
        "{after}"
    );
    let table: toml::Table = toml::from_str(&after).unwrap();
    assert_eq!(table["mcp_servers"]["jira"]["command"].as_str(), Some(BIN));
    assert_eq!(
        table["mcp_servers"]["jira"]["args"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(!home.file(".codex/config.toml").exists(), "CODEX_HOME wins");

    let stdout = ok(&run(&home, &env, &["config", "codex", "--remove", "jira"]));
    assert!(stdout.contains("Removed"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CODEX_TOML);
}

#[test]
fn list_shows_this_programs_entries_in_every_file() {
    let home = Home::new();
    ok(&run(&home, &[], &argv(&write_jira("cursor", &[]))));
    ok(&run(
        &home,
        &[],
        &argv(&write_jira("codex", &["--project"])),
    ));
    home.put(
        ".gemini/settings.json",
        r#"{"mcpServers": {"other": {"command": "npx"}}}"#,
    );
    home.put(".codeium/windsurf/mcp_config.json", "{ broken");
    let stdout = ok(&run(&home, &[], &["config", "--list"]));
    let line = |client: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(client))
            .unwrap_or_else(|| panic!("no {client} line: {stdout}"))
            .to_string()
    };
    assert!(line("cursor").ends_with(": jira"), "{stdout}");
    assert!(
        line("codex").contains(".codex/config.toml: jira"),
        "{stdout}"
    );
    assert!(
        line("gemini").ends_with("no mcp-keybridge entry"),
        "{stdout}"
    );
    assert!(line("windsurf").contains("cannot be read"), "{stdout}");
    assert!(
        !stdout.contains("zed"),
        "files that do not exist are not listed"
    );
    let empty = Home::new();
    assert!(ok(&run(&empty, &[], &["config", "--list"])).contains("No MCP client config file"));
}

#[test]
fn print_mode_and_refusals_write_nothing() {
    let home = Home::new();
    let out = run(
        &home,
        &[],
        &[
            "config",
            "codex",
            "--name",
            "jira",
            "https://jira.example.com/mcp",
        ],
    );
    let stdout = ok(&out);
    assert!(
        stdout.starts_with("[mcp_servers.jira]\ncommand = "),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("--write"));
    let token = "ghp_R3allySecretTokenValue1234567890";
    for client in ["claude-code", "vscode", "codex", "zed"] {
        let out = run(
            &home,
            &[],
            &[
                "config",
                client,
                "--name",
                "j",
                "https://h.example/mcp",
                "--bearer",
                token,
                "--write",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{client}");
        assert!(!text(&out.stderr).contains("R3allySecret"), "{client}");
        assert!(!text(&out.stdout).contains("R3allySecret"), "{client}");
    }
    let files: Vec<_> = walk(&home.0);
    assert!(files.is_empty(), "nothing written: {files:?}");
    // A bad entry in an existing strict-JSON file: refused with a place, file untouched.
    let path = home.put(
        ".cursor/mcp.json",
        "{\"mcpServers\": {\"a\": {\"command\": \"x\",}}}",
    );
    let out = run(&home, &[], &argv(&write_jira("cursor", &[])));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a valid Cursor config"),
        "{}",
        text(&out.stderr)
    );
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"x\",}"));
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
