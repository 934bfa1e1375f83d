//! `config <client>`: the entry's arguments and the literal-secret refusals.

use super::*;
use crate::cli::Cli;
use crate::cli::RunArgs;
use crate::profile::CONFIG_ENV;
use clap::Parser;
use std::path::Path;

fn run_args(argv: &[&str]) -> RunArgs {
    let mut full = vec!["mcp-keybridge", "config", "claude", "--name", "x"];
    full.extend_from_slice(argv);
    match Cli::parse_from(full).command {
        Some(crate::cli::Command::Config(ConfigArgs { run, .. })) => run,
        other => panic!("parsed as {other:?}"),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn args_of(argv: &[&str]) -> Result<Vec<String>, ConfigCmdError> {
    let (command, args) = command_and_args("jira", &run_args(argv), &no_env)?;
    assert!(Path::new(&command).is_absolute(), "{command}");
    Ok(args)
}

#[test]
fn rebuilds_the_arguments_from_the_parsed_options() {
    let args = args_of(&[
        "https://jira.example/mcp",
        "--transport",
        "streamable-http",
        "--bearer",
        "keychain:jira",
        "-H",
        "X-Confluence-Token:${keychain:confluence}",
        "--request-timeout",
        "30",
        "--connect-timeout",
        "2.5",
        "--allow-tool",
        "jira_*",
        "--deny-tool",
        "*delete*",
    ])
    .unwrap();
    assert_eq!(
        args,
        [
            "https://jira.example/mcp",
            "--transport",
            "streamable-http",
            "--bearer",
            "keychain:jira",
            "--header",
            "X-Confluence-Token: ${keychain:confluence}",
            "--connect-timeout",
            "2.5",
            "--request-timeout",
            "30",
            "--allow-tool",
            "jira_*",
            "--deny-tool",
            "*delete*",
        ]
    );
}

#[test]
fn refuses_literal_secrets_without_echoing_them() {
    let secret = "ghp_0123456789abcdefghij";
    for argv in [
        vec!["https://h/mcp", "--bearer", secret],
        vec!["https://h/mcp", "-H", "X-Api-Key: 0123456789abcdef"],
        vec!["https://h/mcp", "-H", "X-Org: acme"],
        vec![
            "https://h/mcp",
            "-H",
            "X-Jira-Token: ghp_0123456789abcdefghij ${env:A}",
        ],
        vec!["https://u:ghp_0123456789abcdefghij@h/mcp"],
        vec![
            "https://h/mcp",
            "--proxy",
            "http://u:ghp_0123456789abcdefghij@p:3128",
        ],
    ] {
        let err = args_of(&argv).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ConfigCmdError::LiteralSecret { .. }),
            "{argv:?}: {text}"
        );
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(!text.contains("acme"), "{text}");
        assert!(text.contains("auth set"), "{text}");
    }
}

#[test]
fn needs_a_url_or_a_profile_and_a_valid_configuration() {
    assert!(matches!(args_of(&[]), Err(ConfigCmdError::NoUrl)));
    assert!(matches!(
        args_of(&["ftp://h/x"]),
        Err(ConfigCmdError::Config(_))
    ));
    assert!(matches!(
        command_and_args("a b", &run_args(&["https://h/mcp"]), &no_env),
        Err(ConfigCmdError::BadName(_))
    ));
}

#[test]
fn emits_the_profile_rather_than_its_contents() {
    let dir = std::env::temp_dir().join(format!("mkb-cfg-claude-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        "[profiles.jira]\nurl = \"https://jira.example/mcp\"\nbearer = \"keychain:jira\"\n[profiles.jira.headers]\n\"X-Trace\" = \"a b ${env:T}\"\n",
    )
    .unwrap();
    let file_str = file.to_str().unwrap();
    let args = args_of(&["--profile", "jira", "--config", file_str]).unwrap();
    assert_eq!(args, ["--profile", "jira", "--config", file_str]);
    // The config file named by the environment is spelled out: the client does not see it.
    let env = |k: &str| (k == CONFIG_ENV).then(|| file_str.to_string());
    let (_, args) = command_and_args("jira", &run_args(&["--profile", "jira"]), &env).unwrap();
    assert_eq!(args, ["--profile", "jira", "--config", file_str]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn carries_every_oauth_option() {
    let args = args_of(&[
        "https://h.example/mcp",
        "--oauth",
        "--client-id",
        "corp-client",
        "--client-secret",
        "keychain:corp",
        "--client-metadata-url",
        "https://me.example/client.json",
        "--scope",
        "mcp:tools offline_access",
        "--no-resource-param",
        "--auth-timeout",
        "120",
        "--device",
        "--callback-port",
        "8976",
        "--callback-host",
        "localhost",
        "--authorization-server",
        "https://login.example",
    ])
    .unwrap();
    assert_eq!(
        args,
        [
            "https://h.example/mcp",
            "--oauth",
            "--no-resource-param",
            "--device",
            "--client-id",
            "corp-client",
            "--client-secret",
            "keychain:corp",
            "--client-metadata-url",
            "https://me.example/client.json",
            "--scope",
            "mcp:tools offline_access",
            "--auth-timeout",
            "120",
            "--callback-port",
            "8976",
            "--callback-host",
            "localhost",
            "--authorization-server",
            "https://login.example",
        ]
    );
    let args = args_of(&[
        "https://h.example/mcp",
        "--client-id",
        "svc",
        "--client-secret",
        "env:SVC_SECRET",
        "--client-credentials",
        "--callback-host",
        "[::1]",
    ])
    .unwrap();
    assert_eq!(
        args[1..],
        [
            "--client-credentials",
            "--client-id",
            "svc",
            "--client-secret",
            "env:SVC_SECRET",
            "--callback-host",
            "[::1]",
        ]
    );
}

#[test]
fn refuses_a_literal_client_secret_and_bad_oauth_options() {
    let secret = "s3cr3t-0123456789abcdef";
    let err = args_of(&[
        "https://h/mcp",
        "--client-id",
        "c",
        "--client-secret",
        secret,
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ConfigCmdError::LiteralSecret { .. }) && text.contains("--client-secret"),
        "{text}"
    );
    assert!(!text.contains("0123456789abcdef"), "{text}");
    let err = args_of(&["https://h/mcp", "--authorization-server", "ftp://x"]).unwrap_err();
    assert!(err.to_string().contains("--authorization-server"), "{err}");
}

#[test]
fn carries_the_keyless_flows_and_refuses_their_literals() {
    let args = args_of(&[
        "https://h/mcp",
        "--client-id",
        "c",
        "--client-key",
        "keychain:k",
        "--id-token",
        "env:ID",
        "--idp-token-endpoint",
        "https://idp.example/token",
        "--idp-client-id",
        "i",
        "--idp-client-secret",
        "env:S",
        "--dpop",
        "always",
    ])
    .unwrap();
    for pair in [
        ["--client-key", "keychain:k"],
        ["--id-token", "env:ID"],
        ["--idp-token-endpoint", "https://idp.example/token"],
        ["--idp-client-id", "i"],
        ["--idp-client-secret", "env:S"],
        ["--dpop", "always"],
    ] {
        assert!(args.windows(2).any(|w| w == pair), "{pair:?} in {args:?}");
    }
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl";
    for option in ["--workload-token", "--client-key"] {
        let err = args_of(&["https://h/mcp", "--client-id", "c", option, token]).unwrap_err();
        assert!(
            matches!(err, ConfigCmdError::LiteralSecret { .. }) && err.to_string().contains(option),
            "{err}"
        );
        assert!(!err.to_string().contains("c2lnbmF0dXJl"), "{err}");
    }
}
