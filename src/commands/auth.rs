//! `mcp-keybridge auth set|delete|status`: putting secrets into the OS keychain, taking them
//! out, and checking every credential the bridge would send.
//!
//! Nothing here ever prints a secret: only its source, its length, a short SHA-256
//! fingerprint and a JWT's expiry, which are enough to tell a stale or mistyped token from
//! the right one.

use crate::cli::{AuthCommand, RunArgs};
use crate::config::{self, ConfigError};
use crate::credentials::reference::{Part, SecretRef, Template};
use crate::credentials::sources::{self, SourceError};
use crate::credentials::{HeaderSpec, jwt};
use crate::exit::{Exit, ExitCode};
use crate::secret::Secret;
use std::io::{IsTerminal, Read};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// Most bytes `auth set` reads from stdin: far more than any token, little enough to notice
/// a file piped in by mistake.
const MAX_SECRET: u64 = 64 * 1024;

/// Why an `auth` command failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A keychain entry name that `keychain:NAME` could not carry.
    #[error(
        "invalid name {0:?}: use 1 to 128 letters, digits and . _ - @ + / : (e.g. jira or work/jira)"
    )]
    BadName(String),
    /// Nothing (or only whitespace) was given.
    #[error("refusing to store an empty secret for {0:?}")]
    Empty(String),
    /// A secret a header cannot carry.
    #[error(
        "the secret for {0:?} has a line break or another control character, which an HTTP header cannot carry; pass the token alone"
    )]
    NotOneLine(String),
    /// `auth delete` of an entry that does not exist.
    #[error("nothing is stored as keychain:{0}")]
    NotStored(String),
    /// stdin held more than [`MAX_SECRET`] bytes.
    #[error("more than {} KiB on stdin; pipe only the token", MAX_SECRET / 1024)]
    TooLong,
    /// Reading stdin or the terminal failed.
    #[error("cannot read the secret: {0}")]
    Read(#[from] std::io::Error),
    /// The keychain refused, or there is none.
    #[error(transparent)]
    Keychain(#[from] SourceError),
    /// The options or the profile are wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl ExitCode for AuthError {
    /// A bad name or a configuration mistake is usage; everything else (no keychain
    /// included) is a failure.
    fn exit(&self) -> Exit {
        match self {
            AuthError::BadName(_) | AuthError::Config(_) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

/// Runs one `auth` subcommand; returns the exit code.
pub async fn run(cmd: AuthCommand) -> Exit {
    let result = match cmd {
        AuthCommand::Set { name } => set(&name).await,
        AuthCommand::Delete { name } => delete(&name).await,
        AuthCommand::Status { creds } => status(&creds.to_run_args()).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mcp-keybridge: {e}");
            e.exit()
        }
    }
}

async fn set(name: &str) -> Result<Exit, AuthError> {
    check_name(name)?;
    let secret = read_secret(name)?;
    let summary = summarize(&secret, SystemTime::now());
    let key = name.to_string();
    sources::keychain_call(move || sources::keychain_set(&key, &secret)).await??;
    println!("Stored keychain:{name} ({summary}).");
    println!("Use it as --bearer keychain:{name}, or as \"${{keychain:{name}}}\" in a header.");
    Ok(Exit::Ok)
}

async fn delete(name: &str) -> Result<Exit, AuthError> {
    check_name(name)?;
    let key = name.to_string();
    match sources::keychain_call(move || sources::keychain_delete(&key)).await? {
        Err(SourceError::KeychainMissing(_)) => return Err(AuthError::NotStored(name.into())),
        other => other?,
    }
    println!("Deleted keychain:{name}.");
    Ok(Exit::Ok)
}

/// The names `keychain:NAME` and `${keychain:NAME}` can carry unambiguously.
fn check_name(name: &str) -> Result<(), AuthError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@+/:".contains(c);
    if name.is_empty() || name.len() > 128 || !name.chars().all(allowed) {
        return Err(AuthError::BadName(name.chars().take(40).collect()));
    }
    Ok(())
}

/// From stdin when it is piped, else from the terminal with echo off.
fn read_secret(name: &str) -> Result<Secret, AuthError> {
    let raw = if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password(format!(
            "Secret for keychain:{name} (input is hidden): "
        ))?)
    } else {
        let mut buf = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .take(MAX_SECRET + 1)
            .read_to_string(&mut buf)?;
        if buf.len() as u64 > MAX_SECRET {
            return Err(AuthError::TooLong);
        }
        buf
    };
    // Trimmed like every other source, so `echo token |` and a pasted newline both work.
    let value = raw.trim();
    if value.is_empty() {
        return Err(AuthError::Empty(name.to_string()));
    }
    if value.chars().any(char::is_control) {
        return Err(AuthError::NotOneLine(name.to_string()));
    }
    Ok(Secret::new(value.to_string()))
}

/// "40 characters, sha256 1a2b3c4d, JWT expires in 53 minutes".
fn summarize(secret: &Secret, now: SystemTime) -> String {
    let mut text = format!(
        "{} characters, sha256 {}",
        secret.char_len(),
        secret.fingerprint()
    );
    if let Some(exp) = jwt::expiry(secret.expose()) {
        text.push_str(&format!(", JWT {}", jwt::describe(exp, now)));
    }
    text
}

async fn status(args: &RunArgs) -> Result<Exit, AuthError> {
    let merged = config::merge_options(args, &|k| std::env::var(k).ok())?;
    if let Some((name, path)) = &merged.profile {
        println!("Profile {name} from {}", path.display());
    }
    // Named, not fatal: a typo in another profile must not stop this one.
    for note in &merged.profile_notes {
        println!("Note: another profile cannot be used: {note}");
    }
    if let Some(url) = merged
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u.trim()).ok())
    {
        // Origin and path only: a query string could hold anything.
        println!(
            "Server {}{}",
            url.origin().ascii_serialization(),
            url.path()
        );
        // OAuth entries (src/oauth/): expiry and scopes, never a token.
        super::oauth::status_line(&url, args.oauth.oauth).await;
    }
    if merged.headers.is_empty() {
        println!(
            "No credentials configured: pass --bearer REF or --header 'Name: ${{REF}}', or use --profile NAME."
        );
        return Ok(Exit::Ok);
    }
    let now = SystemTime::now();
    let mut cache: Vec<(SecretRef, Result<Secret, SourceError>)> = Vec::new();
    let mut all_ok = true;
    for spec in &merged.headers {
        println!("{}: {}", spec.name, shape(&spec.template));
        all_ok &= report(spec, &mut cache, now).await;
    }
    Ok(Exit::ok_if(all_ok))
}

/// Prints one line per source of `spec` (or one for a literal value); true when all resolve
/// and the assembled value can go into a header.
async fn report(
    spec: &HeaderSpec,
    cache: &mut Vec<(SecretRef, Result<Secret, SourceError>)>,
    now: SystemTime,
) -> bool {
    let mut value = Zeroizing::new(String::new());
    let mut ok = true;
    for part in &spec.template.0 {
        let reference = match part {
            Part::Literal(text) => {
                value.push_str(text);
                continue;
            }
            Part::Ref(r) => r,
        };
        // Each source is read once, however many headers use it (a cmd: may be slow).
        let idx = match cache.iter().position(|(r, _)| r == reference) {
            Some(i) => i,
            None => {
                cache.push((reference.clone(), sources::read(reference).await));
                cache.len() - 1
            }
        };
        match &cache[idx].1 {
            // A JWT past its `exp` is refused by any server that checks it: not usable.
            Ok(secret) if jwt::expiry(secret.expose()).is_some_and(|exp| exp <= now) => {
                println!("  {reference}: NOT USABLE: {}", summarize(secret, now));
                value.push_str(secret.expose());
                ok = false;
            }
            Ok(secret) => {
                println!("  {reference}: ok, {}", summarize(secret, now));
                value.push_str(secret.expose());
            }
            Err(e) => {
                println!("  {reference}: NOT USABLE: {e}");
                ok = false;
            }
        }
    }
    if spec.template.refs().next().is_none() {
        let literal = Secret::new(value.to_string());
        println!("  literal value: {}", summarize(&literal, now));
    }
    if ok && reqwest::header::HeaderValue::from_str(&value).is_err() {
        println!("  NOT USABLE: the assembled value has characters an HTTP header cannot carry");
        ok = false;
    }
    ok
}

/// The template with its references and auth-scheme words shown and any other literal text
/// hidden, since a literal given with --header may itself be a secret.
fn shape(template: &Template) -> String {
    let shown: Vec<String> = template
        .0
        .iter()
        .map(|part| match part {
            Part::Ref(r) => format!("${{{r}}}"),
            Part::Literal(text) if is_scheme_or_separator(text) => text.clone(),
            Part::Literal(text) => format!("<{} literal characters>", text.chars().count()),
        })
        .collect();
    shown.concat()
}

fn is_scheme_or_separator(text: &str) -> bool {
    let scheme = ["bearer ", "token ", "basic ", "bot "]
        .iter()
        .any(|s| text.eq_ignore_ascii_case(s));
    scheme || text.chars().all(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["jira", "work/jira", "a.b-c_d@e+f:g", "J1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "x}", "${x}", "tab\t", &"n".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shapes_hide_literals() {
        let t = Template::parse("Bearer ${keychain:jira}").unwrap();
        assert_eq!(shape(&t), "Bearer ${keychain:jira}");
        let t = Template::parse("${env:A}:${env:B}").unwrap();
        assert_eq!(shape(&t), "${env:A}:${env:B}");
        let t = Template::parse("hunter2hunter2").unwrap();
        assert_eq!(shape(&t), "<14 literal characters>");
        let t = Template::parse("Basic ${env:B} tail-secret").unwrap();
        assert!(!shape(&t).contains("tail-secret"));
    }

    #[test]
    fn summaries_show_no_secret() {
        let exp = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let token = jwt::test_token(r#"{"exp":1000}"#);
        let s = summarize(
            &Secret::new(token.clone()),
            exp + std::time::Duration::from_secs(600),
        );
        assert!(s.ends_with("JWT expired 10 minutes ago"), "{s}");
        assert!(!s.contains(&token));
        let s = summarize(&Secret::new("abc".into()), exp);
        assert_eq!(s, "3 characters, sha256 ba7816bf");
    }
}
