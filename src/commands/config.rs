//! `mcp-keybridge config <client> --name NAME [run options] [--write]`: the entry that starts
//! the bridge with these options, printed or merged into an MCP client's config file
//! (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Codex, Gemini CLI, Zed);
//! `config <client> --remove NAME` takes one out, `config --list` shows them all.
//!
//! The same rules hold for every client: the entry runs this binary by its absolute path,
//! its arguments are rebuilt from the parsed options and hold references only (a literal
//! secret is refused and never echoed), every other entry and key of the file stays as it
//! was, the old file is kept as a timestamped backup, the new one replaces it atomically.

pub mod clients;
mod doc;
mod entry;
mod files;
mod list;

use crate::cli::Client;
use crate::cli::{ConfigArgs, LogArgs};
use crate::config::ConfigError;
use crate::exit::{Exit, ExitCode};
use clients::Scope;
use doc::Entry;
use files::{Change, FileError, Outcome};
use std::path::Path;

pub use entry::command_and_args;

/// Why `config` did nothing.
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
        "no server URL: pass it as the first argument or use --profile NAME (the MCP client does not see this shell's MCP_KEYBRIDGE_URL)"
    )]
    NoUrl,
    /// The options do not make a working bridge.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// This binary's own path (or the current directory) could not be found.
    #[error("cannot find the path of this program: {0}")]
    Exe(String),
    /// Reading, checking or writing the client's config file failed.
    #[error(transparent)]
    File(#[from] FileError),
}

impl ExitCode for ConfigCmdError {
    /// Options that make no working entry are usage; this program's path not found or a
    /// config file that cannot be read or written is a failure.
    fn exit(&self) -> Exit {
        match self {
            ConfigCmdError::Exe(_) | ConfigCmdError::File(_) => Exit::Failure,
            _ => Exit::Usage,
        }
    }
}

/// Runs `config`; returns the exit code.
pub fn run(cmd: ConfigArgs, log: &LogArgs) -> Exit {
    match execute(cmd, log) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("mcp-keybridge: {e}");
            e.exit()
        }
    }
}

fn execute(cmd: ConfigArgs, log: &LogArgs) -> Result<(), ConfigCmdError> {
    let env = |k: &str| std::env::var(k).ok();
    let cwd = std::env::current_dir().map_err(|e| ConfigCmdError::Exe(e.to_string()))?;
    if cmd.list {
        print!("{}", list::report(&env, &cwd, &entry::binary_path()?));
        return Ok(());
    }
    let client = cmd.client.expect("clap requires a client without --list");
    let scope = if cmd.project {
        Scope::Project
    } else {
        Scope::User
    };
    let path = || match &cmd.config_file {
        Some(p) => Ok(p.clone()),
        None => client.path(scope, &env, &cwd),
    };
    if let Some(name) = &cmd.remove {
        let outcome = remove(client, &path()?, name)?;
        println!("{outcome}");
        println!("{}", client.reload_hint());
        return Ok(());
    }
    let name = cmd.name.as_deref().expect("clap requires --name");
    let (command, mut args) = command_and_args(name, &cmd.run, &env)?;
    // `--log-level` / `--log-file` given here are carried into the entry, for a bridge whose
    // logs you want to read.
    if log.log_level != "warn" {
        args.extend(["--log-level".into(), log.log_level.clone()]);
    }
    if let Some(file) = &log.log_file {
        args.extend(["--log-file".into(), entry::absolute(file)?]);
    }
    let spaced_header = cmd.run.headers.iter().any(|h| h.trim().contains(' '));
    if cfg!(windows) && client == Client::Claude && cmd.run.profile.is_none() && spaced_header {
        eprintln!(
            "note: Claude Desktop on Windows may split a header value that holds spaces; a profile (--profile NAME) avoids that."
        );
    }
    let entry = Entry {
        typed: client.typed(),
        command,
        args,
    };
    if !cmd.write {
        print!(
            "{}",
            doc::snippet(client.format(), client.key(), name, &entry)
        );
        let place = path().map_or_else(
            |_| "the client's config file".into(),
            |p| p.display().to_string(),
        );
        eprintln!(
            "Add this under \"{}\" in {place}, or run the same command with --write.",
            client.key()
        );
        return Ok(());
    }
    let outcome = merge(client, &path()?, name, &entry)?;
    println!("{outcome}");
    println!(
        "Check its credentials with: mcp-keybridge auth status {}",
        entry::shown_options(&cmd.run)
    );
    println!("{}", client.reload_hint());
    Ok(())
}

/// Sets the entry `name` in `client`'s file at `path` (created if missing).
fn merge(client: Client, path: &Path, name: &str, entry: &Entry) -> Result<Outcome, FileError> {
    let existing = files::read_existing(path)?;
    let text = existing.as_deref().unwrap_or("");
    let (new_text, replaced) = doc::upsert(client.format(), text, client.key(), name, entry)
        .map_err(|why| invalid(client, path, why))?;
    let backup = files::write(path, existing.is_some(), &new_text)?;
    Ok(Outcome {
        path: path.to_path_buf(),
        name: name.into(),
        change: if replaced {
            Change::Replaced
        } else {
            Change::Added
        },
        backup,
    })
}

/// Takes the entry `name` out of `client`'s file at `path`.
fn remove(client: Client, path: &Path, name: &str) -> Result<Outcome, FileError> {
    let no_entry = || FileError::NoEntry {
        path: path.to_path_buf(),
        name: name.into(),
    };
    let text = files::read_existing(path)?.ok_or_else(no_entry)?;
    let new_text = doc::remove(client.format(), &text, client.key(), name)
        .map_err(|why| invalid(client, path, why))?
        .ok_or_else(no_entry)?;
    let backup = files::write(path, true, &new_text)?;
    Ok(Outcome {
        path: path.to_path_buf(),
        name: name.into(),
        change: Change::Removed,
        backup,
    })
}

fn invalid(client: Client, path: &Path, why: String) -> FileError {
    FileError::Invalid {
        path: path.to_path_buf(),
        client: client.title(),
        why,
    }
}

#[cfg(test)]
mod tests;
