//! `mcp-keybridge config claude --name NAME [run options] [--write]`: the `mcpServers` entry
//! that starts the bridge with these options, printed or merged into Claude Desktop's config.
//!
//! The entry's `args` are rebuilt from the parsed options (never the raw command line), and
//! hold references only: a `--bearer` or `--header` that would put a literal secret into
//! `claude_desktop_config.json` is refused, since keeping tokens out of that file is the
//! point of the tool.

mod desktop;

use crate::cli::{ConfigCommand, LogArgs, RunArgs};
use crate::config::{self, ConfigError};
use crate::credentials::reference::SecretRef;
use crate::profile::{self, CONFIG_ENV};
use clap::ValueEnum;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Why `config claude` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ConfigCmdError {
    /// An empty or odd entry name.
    #[error("--name {0:?}: use a short name such as jira (letters, digits, - _ .)")]
    BadName(String),
    /// A value that would put a secret into the client's config file.
    #[error(
        "{option}: {why}. The entry would put it in clear into the MCP client's config file; store it with `mcp-keybridge auth set NAME` and pass a reference (--bearer keychain:NAME, --header 'X-Token: ${{keychain:NAME}}'), or put constant headers in a profile and pass --profile"
    )]
    LiteralSecret {
        /// The option, e.g. `--header X-Jira-Token`.
        option: String,
        /// What is wrong with it.
        why: String,
    },
    /// Neither a URL nor a profile: the client's environment may not have the variables.
    #[error(
        "no server URL: pass it as the first argument or use --profile NAME (Claude Desktop does not see this shell's MCP_KEYBRIDGE_URL)"
    )]
    NoUrl,
    /// The options do not make a working bridge.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// This binary's own path could not be found.
    #[error("cannot find the path of this program: {0}")]
    Exe(String),
    /// Reading, checking or writing the client's config file failed.
    #[error(transparent)]
    File(#[from] desktop::FileError),
}

impl ConfigCmdError {
    fn exit_code(&self) -> i32 {
        match self {
            ConfigCmdError::Exe(_) | ConfigCmdError::File(_) => 1,
            _ => 2,
        }
    }
}

/// Runs a `config` subcommand; returns the exit code.
pub fn run(cmd: ConfigCommand, log: &LogArgs) -> i32 {
    match execute(cmd, log) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mcp-keybridge: {e}");
            e.exit_code()
        }
    }
}

fn execute(cmd: ConfigCommand, log: &LogArgs) -> Result<(), ConfigCmdError> {
    let ConfigCommand::Claude {
        name,
        write,
        config_file,
        run,
    } = cmd;
    let env = |k: &str| std::env::var(k).ok();
    let mut entry = claude(&name, &run, &env)?;
    // `--log-level` / `--log-file` given here are carried into the entry, for a bridge whose
    // logs you want to read.
    let args = entry["args"].as_array_mut().expect("args is an array");
    if log.log_level != "warn" {
        args.extend([json!("--log-level"), json!(log.log_level)]);
    }
    if let Some(file) = &log.log_file {
        args.extend([json!("--log-file"), json!(absolute(file)?)]);
    }
    let spaced_header = run.headers.iter().any(|h| h.trim().contains(' '));
    if cfg!(windows) && run.profile.is_none() && spaced_header {
        eprintln!(
            "note: Claude Desktop on Windows may split a header value that holds spaces; a profile (--profile NAME) avoids that."
        );
    }
    if !write {
        let printed = serde_json::to_string_pretty(&json!({ name.as_str(): entry }))
            .expect("a JSON value always serializes");
        println!("{printed}");
        eprintln!(
            "Add this under \"mcpServers\" in claude_desktop_config.json, or run the same command with --write."
        );
        return Ok(());
    }
    let path = match config_file {
        Some(p) => p,
        None => desktop::default_path(&env)?,
    };
    let outcome = desktop::merge(&path, &name, entry)?;
    println!("{outcome}");
    println!(
        "Check its credentials with: mcp-keybridge auth status {}",
        shown_options(&run)
    );
    println!("Restart Claude Desktop (quit it completely, then start it) to load the change.");
    Ok(())
}

/// The entry `{"command": …, "args": […]}` for `run`, after checking it holds no secret and
/// makes a valid configuration.
pub fn claude(
    name: &str,
    run: &RunArgs,
    env: config::EnvLookup<'_>,
) -> Result<Value, ConfigCmdError> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        return Err(ConfigCmdError::BadName(name.chars().take(40).collect()));
    }
    refuse_literal_secrets(run)?;
    if run.url.is_none() && run.profile.is_none() {
        return Err(ConfigCmdError::NoUrl);
    }
    // Check the options as the bridge will see them: Claude Desktop starts it without this
    // shell's variables, so none is consulted but the config file's location.
    let only_config_env = |k: &str| if k == CONFIG_ENV { env(k) } else { None };
    config::resolve(run, &only_config_env)?;
    let args = rebuild_args(run, env)?;
    Ok(json!({ "command": binary_path()?, "args": args }))
}

/// `--bearer` must be a reference; every `--header` value must hold one and no token-shaped
/// literal; the URL and the proxy must carry no credentials.
fn refuse_literal_secrets(run: &RunArgs) -> Result<(), ConfigCmdError> {
    let refused = |option: String, why: String| ConfigCmdError::LiteralSecret { option, why };
    if let Some(b) = &run.bearer {
        SecretRef::parse(b.trim()).map_err(|e| refused("--bearer".into(), e.to_string()))?;
    }
    for raw in &run.headers {
        let spec = config::parse_header(raw)?;
        let option = format!("--header {}", spec.name);
        if spec.template.refs().next().is_none() {
            let why =
                "the value is not a credential reference such as ${keychain:NAME} or ${env:VAR}";
            return Err(refused(option, why.into()));
        }
        if let Some(why) = profile::literal_secret(&spec.name, &spec.template) {
            return Err(refused(option, why));
        }
    }
    if let Some(url) = &run.url {
        profile::check_url(url).map_err(|why| refused("the URL".into(), why))?;
    }
    if let Some(proxy) = &run.proxy
        && url::Url::parse(proxy.trim()).is_ok_and(|u| u.password().is_some())
    {
        let why = "the proxy URL holds a password; set HTTPS_PROXY in Claude Desktop's environment instead";
        return Err(refused("--proxy".into(), why.into()));
    }
    Ok(())
}

/// The bridge's arguments, from the parsed options: `--profile` (and the config file, when
/// it is not the default) rather than the profile's contents, paths made absolute because
/// the client starts the bridge from a directory of its own.
fn rebuild_args(run: &RunArgs, env: config::EnvLookup<'_>) -> Result<Vec<String>, ConfigCmdError> {
    let mut args = Vec::new();
    let mut push = |flag: &str, value: Option<String>| {
        args.push(flag.to_string());
        args.extend(value);
    };
    if let Some(url) = &run.url {
        push(url.trim(), None);
    }
    if let Some(p) = &run.profile {
        push("--profile", Some(p.clone()));
        let explicit = run.config.clone().or_else(|| {
            env(CONFIG_ENV)
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        });
        if let Some(file) = explicit {
            push("--config", Some(absolute(&file)?));
        }
    }
    if let Some(t) = run.transport {
        let value = t.to_possible_value().map(|v| v.get_name().to_string());
        push("--transport", value);
    }
    if let Some(b) = &run.bearer {
        push("--bearer", Some(b.trim().to_string()));
    }
    for raw in &run.headers {
        let (name, value) = raw.split_once(':').unwrap_or((raw, ""));
        push(
            "--header",
            Some(format!("{}: {}", name.trim(), value.trim())),
        );
    }
    if run.allow_http {
        push("--allow-http", None);
    }
    let number = |v: f64| v.to_string();
    if let Some(t) = run.connect_timeout {
        push("--connect-timeout", Some(number(t)));
    }
    if let Some(m) = run.max_message_mib {
        push("--max-message-mib", Some(m.to_string()));
    }
    if let Some(t) = run.request_timeout {
        push("--request-timeout", Some(number(t)));
    }
    for ca in &run.ca_certs {
        push("--ca-cert", Some(absolute(ca)?));
    }
    if let Some(proxy) = &run.proxy {
        push("--proxy", Some(proxy.trim().to_string()));
    }
    for glob in &run.allow_tools {
        push("--allow-tool", Some(glob.trim().to_string()));
    }
    for glob in &run.deny_tools {
        push("--deny-tool", Some(glob.trim().to_string()));
    }
    Ok(args)
}

/// The run options as a shell line, for the `auth status` hint (they hold no secret: checked).
fn shown_options(run: &RunArgs) -> String {
    let args = rebuild_args(run, &|_| None).unwrap_or_default();
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:/=@".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

fn absolute(path: &Path) -> Result<String, ConfigCmdError> {
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .map_err(|e| ConfigCmdError::Exe(format!("{}: {e}", path.display())))
}

/// The path this program was started by, made absolute: through `PATH` when it was started
/// by name, so that a package manager's stable link (not a versioned target) is used.
fn binary_path() -> Result<String, ConfigCmdError> {
    let arg0 = std::env::args_os().next().map(PathBuf::from);
    if let Some(arg0) = arg0 {
        if arg0.components().count() > 1 {
            return absolute(&arg0);
        }
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| {
                    dir.join(&arg0)
                        .with_extension(std::env::consts::EXE_EXTENSION)
                })
                .find(|p| p.is_file())
        });
        if let Some(p) = found {
            return absolute(&p);
        }
    }
    let exe = std::env::current_exe().map_err(|e| ConfigCmdError::Exe(e.to_string()))?;
    Ok(exe.display().to_string())
}

#[cfg(test)]
mod tests;
