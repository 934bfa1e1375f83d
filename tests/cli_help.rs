//! The small things a new user trips on: each command's `--help` shows only what it uses,
//! `check --help` gives one default for `--request-timeout`, every man page the main page
//! refers to is generated, and `check --demo` names the directory an unusable TMPDIR left
//! it without.

mod support;

use std::process::{Command, Output};
use support::bridge::scratch_dir;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-keybridge");

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().envs(envs.iter().copied());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.output().expect("run mcp-keybridge")
}

fn help(args: &[&str]) -> String {
    let out = run(args, &[]);
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn logout_and_auth_status_show_only_what_they_use() {
    let logout = help(&["logout", "--help"]);
    let status = help(&["auth", "status", "--help"]);
    for unused in [
        "--transport",
        "--strict",
        "--proxy",
        "--ca-cert",
        "--allow-tool",
        "--client-id",
    ] {
        assert!(
            !logout.contains(unused),
            "logout --help lists {unused}:\n{logout}"
        );
        assert!(
            !status.contains(unused),
            "auth status --help lists {unused}:\n{status}"
        );
    }
    assert!(
        logout.contains("--profile") && !logout.contains("--bearer"),
        "{logout}"
    );
    for used in ["--profile", "--bearer", "--header", "--oauth"] {
        assert!(
            status.contains(used),
            "auth status --help lacks {used}:\n{status}"
        );
    }
    // And they refuse what they would have ignored.
    let out = run(
        &["logout", "https://h.example/mcp", "--transport", "sse"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_help_gives_one_request_timeout_default() {
    let check = help(&["check", "--help"]);
    let line = check
        .split("--request-timeout")
        .nth(1)
        .expect("documents --request-timeout");
    let text: String = line.chars().take(200).collect();
    assert!(text.contains("[default: 30]"), "{text}");
    assert!(!check.contains("no limit"), "{check}");
    assert!(
        help(&["--help"]).contains("no limit"),
        "the bridge itself has none"
    );
}

#[test]
fn every_man_page_the_main_page_names_is_generated() {
    let dir = scratch_dir();
    let out = run(&["man", "--dir", dir.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let main = std::fs::read_to_string(dir.join("mcp-keybridge.1")).unwrap();
    let referred: Vec<String> = main
        .split("mcp\\-keybridge\\-")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once("(1)")
                .map(|(name, _)| name.replace("\\-", "-"))
        })
        .collect();
    assert!(referred.contains(&"config".to_string()), "{referred:?}");
    for name in &referred {
        let page = dir.join(format!("mcp-keybridge-{name}.1"));
        assert!(
            page.is_file(),
            "the main page names {page:?}, which is not generated"
        );
    }
    assert!(dir.join("mcp-keybridge-auth-status.1").is_file());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_demo_names_the_missing_temporary_directory() {
    let out = run(&["check", "--demo"], &[("TMPDIR", "/nonexistent/mkb-tmp")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/mkb-tmp"), "{stderr}");
    assert!(stderr.contains("TMPDIR"), "{stderr}");
}

#[test]
fn a_broken_profile_does_not_take_the_others_down() {
    let dir = scratch_dir();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        "[profiles.good]\nurl = \"https://h.example/mcp\"\nbearer = \"env:MKB_T\"\n\n[profiles.typo]\nurll = \"https://y.example/mcp\"\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let envs = [("MKB_T", "s3cr3t-value")];
    let out = run(
        &["auth", "status", "--profile", "good", "--config", config],
        &envs,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("another profile cannot be used")
            && stdout.contains(":6: profiles.typo.urll"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cr3t-value"));
    // The broken one fails when it is used, with its place.
    let out = run(
        &["auth", "status", "--profile", "typo", "--config", config],
        &envs,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":6: profiles.typo.urll"));
    let _ = std::fs::remove_dir_all(dir);
}
