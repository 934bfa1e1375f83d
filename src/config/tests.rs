//! Tests of how options, profiles and the environment combine into the run configuration.

use super::*;
use crate::credentials::describe_spec;
use clap::Parser;

fn config(argv: &[&str], vars: &[(&str, &str)]) -> Result<RunConfig, ConfigError> {
    let cli = crate::cli::Cli::try_parse_from(
        std::iter::once("mcp-keybridge").chain(argv.iter().copied()),
    )
    .unwrap();
    let env = |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    resolve(&cli.run, &env)
}

fn described(c: &RunConfig) -> Vec<String> {
    c.headers.iter().map(describe_spec).collect()
}

#[test]
fn url_from_argument_then_env() {
    assert!(matches!(config(&[], &[]), Err(ConfigError::NoUrl)));
    let c = config(&[], &[("SSE_SERVER_URL", "http://localhost:8000")]).unwrap();
    assert_eq!(c.url.as_str(), "http://localhost:8000/");
    let c = config(
        &[],
        &[
            ("SSE_SERVER_URL", "http://a:1"),
            ("MCP_KEYBRIDGE_URL", "http://127.0.0.1:2/mcp"),
        ],
    )
    .unwrap();
    assert_eq!(c.url.as_str(), "http://127.0.0.1:2/mcp");
    assert!(config(&["ftp://x"], &[]).is_err());
    assert!(config(&["https://u:p@x/mcp"], &[]).is_err());
}

#[test]
fn bearer_and_headers() {
    let c = config(
        &[
            "https://x/mcp",
            "--bearer",
            "env:T",
            "-H",
            "X-Jira-Token: ${keychain:jira}",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        described(&c),
        [
            "x-jira-token from keychain:jira",
            "authorization from env:T"
        ]
    );
    let c = config(&["https://x/mcp"], &[("MCP_KEYBRIDGE_TOKEN", "t")]).unwrap();
    assert_eq!(
        described(&c),
        ["authorization from env:MCP_KEYBRIDGE_TOKEN"]
    );
    assert!(matches!(
        config(&["https://x", "--bearer", "vault:x"], &[]),
        Err(ConfigError::BadRef { .. })
    ));
    assert!(matches!(
        config(&["https://x", "-H", "novalue"], &[]),
        Err(ConfigError::BadHeader(_))
    ));
}

#[test]
fn seed_client_environment() {
    let one = config(&["https://x"], &[("JIRA_PERSONAL_TOKEN", "a")]).unwrap();
    assert_eq!(
        described(&one),
        ["authorization from env:JIRA_PERSONAL_TOKEN"]
    );
    let same = config(
        &["https://x"],
        &[
            ("JIRA_PERSONAL_TOKEN", "a"),
            ("CONFLUENCE_PERSONAL_TOKEN", "a"),
        ],
    )
    .unwrap();
    assert_eq!(
        described(&same),
        ["authorization from env:JIRA_PERSONAL_TOKEN"]
    );
    let conf = config(&["https://x"], &[("CONFLUENCE_PERSONAL_TOKEN", "c")]).unwrap();
    assert_eq!(
        described(&conf),
        ["authorization from env:CONFLUENCE_PERSONAL_TOKEN"]
    );
    let two = config(
        &["https://x"],
        &[
            ("JIRA_PERSONAL_TOKEN", "a"),
            ("CONFLUENCE_PERSONAL_TOKEN", "b"),
        ],
    )
    .unwrap();
    assert_eq!(
        described(&two),
        [
            "x-jira-token from env:JIRA_PERSONAL_TOKEN",
            "x-confluence-token from env:CONFLUENCE_PERSONAL_TOKEN"
        ]
    );
    // Explicit options win over the seed variables.
    let explicit = config(
        &["https://x", "--bearer", "env:T"],
        &[("JIRA_PERSONAL_TOKEN", "a")],
    )
    .unwrap();
    assert_eq!(described(&explicit), ["authorization from env:T"]);
}

#[test]
fn plain_http_only_to_loopback_or_when_allowed() {
    let t = [("MCP_KEYBRIDGE_TOKEN", "t")];
    assert!(matches!(
        config(&["http://example.com/mcp"], &t),
        Err(ConfigError::PlainHttp(_))
    ));
    assert!(config(&["http://example.com/mcp", "--allow-http"], &t).is_ok());
    assert!(
        config(&["http://example.com/mcp"], &[]).is_ok(),
        "no credentials, nothing to protect"
    );
    for local in [
        "http://localhost:1/mcp",
        "http://127.0.0.5/mcp",
        "http://[::1]:9/mcp",
    ] {
        assert!(config(&[local], &t).is_ok(), "{local}");
    }
}

/// A config file in a fresh directory; the directory is removed when the guard drops.
struct TempConfig(std::path::PathBuf);

impl TempConfig {
    fn new(tag: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mkb-config-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
        TempConfig(dir)
    }

    fn path(&self) -> String {
        self.0.join("config.toml").display().to_string()
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PROFILES: &str = r#"
[profiles.jira]
url = "https://jira-mcp.corp/mcp"
transport = "sse"
bearer = "keychain:jira"
connect_timeout = 3
request_timeout = 30
[profiles.jira.headers]
"X-Confluence-Token" = "${keychain:confluence}"
"#;

#[test]
fn profile_supplies_options_and_flags_win() {
    let file = TempConfig::new("merge", PROFILES);
    let path = file.path();
    let env = [("MCP_KEYBRIDGE_CONFIG", path.as_str())];
    let c = config(&["--profile", "jira"], &env).unwrap();
    assert_eq!(c.url.as_str(), "https://jira-mcp.corp/mcp");
    assert_eq!(c.transport, TransportArg::Sse);
    assert_eq!(c.connect_timeout, Duration::from_secs(3));
    assert_eq!(c.request_timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        described(&c),
        [
            "x-confluence-token from keychain:confluence",
            "authorization from keychain:jira"
        ]
    );
    let c = config(
        &[
            "https://other/mcp",
            "--profile",
            "jira",
            "--config",
            &path,
            "--transport",
            "auto",
            "--bearer",
            "env:T",
            "-H",
            "X-Confluence-Token: ${env:C}",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(c.url.as_str(), "https://other/mcp");
    assert_eq!(c.transport, TransportArg::Auto);
    assert_eq!(
        described(&c),
        ["x-confluence-token from env:C", "authorization from env:T"]
    );
}

#[test]
fn profile_errors_are_configuration_errors() {
    let file = TempConfig::new("errors", PROFILES);
    let path = file.path();
    let env = [("MCP_KEYBRIDGE_CONFIG", path.as_str())];
    let e = config(&["--profile", "nope"], &env).unwrap_err();
    assert!(e.to_string().contains("no profile named \"nope\""), "{e}");
    let missing = format!("{path}.missing");
    let e = config(&["--profile", "jira", "--config", &missing], &[]).unwrap_err();
    assert!(e.to_string().contains("cannot read config file"), "{e}");
    // --config alone is a usage error: it only says where profiles live.
    let argv = ["mcp-keybridge", "--config", "x.toml", "https://x/mcp"];
    assert!(crate::cli::Cli::try_parse_from(argv).is_err());
}

#[test]
fn strict_from_flag_or_profile() {
    assert!(!config(&["https://x/mcp"], &[]).unwrap().strict);
    assert!(config(&["https://x/mcp", "--strict"], &[]).unwrap().strict);
    let file = TempConfig::new(
        "strict",
        "[profiles.s]\nurl = \"https://x/mcp\"\nstrict = true\n",
    );
    let path = file.path();
    let env = [("MCP_KEYBRIDGE_CONFIG", path.as_str())];
    assert!(config(&["--profile", "s"], &env).unwrap().strict);
}

#[test]
fn ca_cert_paths_from_a_profile_are_relative_to_its_file() {
    let dir = std::env::temp_dir().join(format!("mkb-cfg-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        "[profiles.p]\nurl = \"https://h/mcp\"\nca_cert = \"corp.pem\"\n",
    )
    .unwrap();
    let args = crate::cli::Cli::try_parse_from(["mcp-keybridge", "--profile", "p"]).unwrap();
    let env = |k: &str| (k == "MCP_KEYBRIDGE_CONFIG").then(|| file.display().to_string());
    let merged = merge_options(&args.run, &env).unwrap();
    assert_eq!(merged.ca_certs, [dir.join("corp.pem")]);
    // The file does not exist: resolving names it as a --ca-cert problem.
    let err = resolve(&args.run, &env).unwrap_err().to_string();
    assert!(
        err.contains("corp.pem") && err.contains("cannot read it"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn absurd_timeouts_are_usage_errors_not_panics() {
    let url = "https://mcp.example.com/mcp";
    for flag in ["--connect-timeout", "--request-timeout"] {
        for value in ["1e300", "0", "NaN", "inf"] {
            assert!(
                matches!(
                    config(&[url, flag, value], &[]),
                    Err(ConfigError::BadValue(_))
                ),
                "{flag} {value}"
            );
        }
        assert!(config(&[url, flag, "2.5"], &[]).is_ok(), "{flag} 2.5");
    }
}
