//! `config claude --write` against a temporary HOME: a fresh file, a file with other servers
//! and keys (kept, in order, with a backup), an entry replaced, invalid JSON refused and left
//! untouched, a literal secret refused; and `completions` / `man` output that parses.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::bridge::scratch_dir;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-keybridge");

/// A scratch HOME, removed when the test ends.
struct Home(PathBuf);

impl Home {
    fn new() -> Home {
        Home(scratch_dir())
    }
}

impl std::ops::Deref for Home {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the binary with a clean environment and `home` as HOME (no XDG_CONFIG_HOME, so the
/// Linux default `~/.config/Claude/` is used).
fn run(home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().env("HOME", home);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.output().expect("run mcp-keybridge")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn desktop_config(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/Claude/claude_desktop_config.json")
    } else {
        home.join(".config/Claude/claude_desktop_config.json")
    }
}

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    found.sort();
    found
}

const WRITE_JIRA: &[&str] = &[
    "config",
    "claude",
    "--name",
    "jira",
    "https://jira.example.com/mcp",
    "--bearer",
    "keychain:jira",
    "--header",
    "X-Confluence-Token: ${keychain:confluence}",
    "--write",
];

#[test]
fn fresh_file_is_created_private_with_the_entry() {
    let home = Home::new();
    let out = run(&home, WRITE_JIRA);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Restart Claude Desktop"), "{stdout}");
    assert!(stdout.contains("Added the \"jira\" entry"), "{stdout}");
    let path = desktop_config(&home);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({"mcpServers": {"jira": {
            "command": BIN,
            "args": ["https://jira.example.com/mcp", "--bearer", "keychain:jira",
                     "--header", "X-Confluence-Token: ${keychain:confluence}"]
        }}})
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a new config file is the user's alone");
    }
    assert!(backups(path.parent().unwrap()).is_empty());
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn other_servers_and_keys_are_kept_in_order_with_a_backup() {
    let home = Home::new();
    let path = desktop_config(&home);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let before = r#"{
  "zeta": {"keep": [1, 2, 3]},
  "mcpServers": {
    "weather": {"command": "npx", "args": ["-y", "weather-mcp"], "env": {"UNITS": "metric"}},
    "jira": {"command": "/old/path", "args": ["--old"]},
    "alpha": {"command": "alpha"}
  },
  "alphaKey": true
}
"#;
    std::fs::write(&path, before).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let out = run(&home, WRITE_JIRA);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Replaced the existing \"jira\" entry"),
        "{stdout}"
    );

    let after = std::fs::read_to_string(&path).unwrap();
    let written: Value = serde_json::from_str(&after).unwrap();
    let top: Vec<&String> = written.as_object().unwrap().keys().collect();
    assert_eq!(
        top,
        ["zeta", "mcpServers", "alphaKey"],
        "top-level order kept"
    );
    let servers = written["mcpServers"].as_object().unwrap();
    let names: Vec<&String> = servers.keys().collect();
    assert_eq!(
        names,
        ["weather", "jira", "alpha"],
        "entry replaced in place"
    );
    assert_eq!(
        servers["weather"],
        json!({"command": "npx", "args": ["-y", "weather-mcp"], "env": {"UNITS": "metric"}})
    );
    assert_eq!(servers["jira"]["command"], BIN);
    assert_eq!(written["zeta"], json!({"keep": [1, 2, 3]}));

    let saved = backups(path.parent().unwrap());
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), before);
    assert!(stdout.contains(&saved[0].display().to_string()), "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o640, "the file's permissions are kept");
        assert_eq!(mode(&saved[0]), 0o640, "the backup is no more readable");
    }
}

#[test]
fn invalid_json_is_refused_and_left_untouched() {
    let home = Home::new();
    let path = desktop_config(&home);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let broken = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n";
    std::fs::write(&path, broken).unwrap();
    let out = run(&home, WRITE_JIRA);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is not a valid Claude Desktop config"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3"),
        "the error gives the place: {stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(entries, 1, "no backup, no temporary file");

    // A JSON value that is not an object is refused the same way.
    std::fs::write(&path, "[1, 2]").unwrap();
    let out = run(&home, WRITE_JIRA);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a JSON object"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "[1, 2]");
}

#[test]
fn literal_secrets_are_refused_and_nothing_is_written() {
    let home = Home::new();
    let token = "ghp_R3allySecretTokenValue1234567890";
    let header = format!("X-Jira-Token: {token}");
    for args in [
        vec!["https://jira.example.com/mcp", "--bearer", token],
        vec!["https://jira.example.com/mcp", "--header", header.as_str()],
    ] {
        let mut full = vec!["config", "claude", "--name", "jira", "--write"];
        full.extend(args);
        let out = run(&home, &full);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("auth set"), "{stderr}");
        assert!(!stderr.contains("R3allySecret"), "{stderr}");
        assert!(!text(&out.stdout).contains("R3allySecret"));
        assert!(!desktop_config(&home).exists());
    }
}

#[test]
fn config_file_option_and_print_mode() {
    let home = Home::new();
    let target = home.join("elsewhere.json");
    let mut args = WRITE_JIRA.to_vec();
    args.extend(["--config-file", target.to_str().unwrap()]);
    let out = run(&home, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(target.exists());
    assert!(!desktop_config(&home).exists());

    // Without --write: the entry alone on stdout, nothing written anywhere; a log level
    // given with it is carried into the entry.
    let mut args = WRITE_JIRA[..WRITE_JIRA.len() - 1].to_vec();
    args.extend(["--log-level", "debug"]);
    let out = run(&home, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["jira"]["command"], BIN);
    let entry_args = printed["jira"]["args"].as_array().unwrap();
    assert_eq!(entry_args[2], "keychain:jira");
    assert_eq!(
        entry_args[entry_args.len() - 2..],
        [json!("--log-level"), json!("debug")]
    );
    assert!(!desktop_config(&home).exists());
}

#[test]
fn completions_and_man_page_parse() {
    let home = Home::new();
    let bash = run(&home, &["completions", "bash"]);
    assert!(bash.status.success());
    assert!(
        text(&bash.stdout).contains("config"),
        "subcommands are completed"
    );
    let script = home.join("mcp-keybridge.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stderr));

    for shell in ["zsh", "fish", "powershell"] {
        let out = run(&home, &["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(text(&out.stdout).contains("ca-cert"), "{shell}");
    }

    let man = run(&home, &["man"]);
    assert!(man.status.success());
    let page = text(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "{page:.80}"
    );
    assert!(page.contains(".TH mcp-keybridge 1"), "roff title line");
    assert!(page.contains("\\-\\-ca\\-cert"), "options are documented");
}
