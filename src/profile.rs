//! Profiles: named sets of run options in `config.toml`, so that a client's MCP entry can say
//! `--profile jira` and hold no URL, header or secret of its own.
//!
//! ```toml
//! [profiles.jira]
//! url = "https://jira-mcp.corp/mcp"
//! bearer = "keychain:jira"
//! [profiles.jira.headers]
//! "X-Confluence-Token" = "${keychain:confluence}"
//! ```
//!
//! Every mistake is reported as `file:line: key: why`. Values are never echoed, because the
//! mistake may be a pasted token; a literal secret is refused outright with a hint to use
//! `keychain:`, since the point of the tool is that tokens do not sit in config files.

use crate::cli::{ProtocolArg, TransportArg};
use crate::credentials::HeaderSpec;
use crate::credentials::reference::{RefError, SecretRef, Template};
use crate::environment::EnvLookup;
use crate::tool_filter::ToolFilter;
use clap::ValueEnum;
use reqwest::header::HeaderName;
use secrets::check_proxy;
pub use secrets::{check_url, literal_secret};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, ValueDeserializer};

pub use oauth::ProfileOAuth;

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "MCP_KEYBRIDGE_CONFIG";

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error(
        "cannot read config file {}: {cause}; create it with a [profiles.NAME] table, or pass --config PATH",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// A mistake at a known place in the file.
    #[error("{}:{line}: {message}", path.display())]
    At {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key and what is wrong with it.
        message: String,
    },
    /// `--profile NAME` with no `[profiles.NAME]`.
    #[error("{}: no profile named {name:?} (profiles in it: {available})", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names there are.
        available: String,
    },
    /// No platform config directory and no override.
    #[error("no config directory found on this system; pass --config PATH or set {CONFIG_ENV}")]
    NoConfigDir,
}

/// One profile, every value checked. `None` means "not set in the profile".
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// `url`
    pub url: Option<String>,
    /// `transport`
    pub transport: Option<TransportArg>,
    /// `protocol`
    pub protocol: Option<ProtocolArg>,
    /// `bearer`, always a reference.
    pub bearer: Option<SecretRef>,
    /// `[profiles.NAME.headers]`
    pub headers: Vec<HeaderSpec>,
    /// `allow_http`
    pub allow_http: Option<bool>,
    /// `connect_timeout` in seconds.
    pub connect_timeout: Option<f64>,
    /// `max_message_mib`
    pub max_message_mib: Option<usize>,
    /// `request_timeout` in seconds.
    pub request_timeout: Option<f64>,
    /// `strict`
    pub strict: Option<bool>,
    /// `ca_cert`: one PEM file or a list, relative to the config file's directory.
    pub ca_certs: Vec<PathBuf>,
    /// `proxy`: a proxy URL without credentials.
    pub proxy: Option<String>,
    /// `allow_tools`: tool-name globs shown to the client (all when empty).
    pub allow_tools: Vec<String>,
    /// `deny_tools`: tool-name globs hidden from the client.
    pub deny_tools: Vec<String>,
    /// `[profiles.NAME.oauth]`
    pub oauth: ProfileOAuth,
    /// The other profiles of the file that cannot be used, each as `file:line: key: why`.
    pub broken_others: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    url: Option<Spanned<String>>,
    transport: Option<Spanned<String>>,
    protocol: Option<Spanned<String>>,
    bearer: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<Spanned<String>, Spanned<String>>,
    allow_http: Option<bool>,
    connect_timeout: Option<Spanned<f64>>,
    max_message_mib: Option<Spanned<usize>>,
    request_timeout: Option<Spanned<f64>>,
    strict: Option<bool>,
    ca_cert: Option<OneOrMany>,
    proxy: Option<Spanned<String>>,
    #[serde(default)]
    allow_tools: Vec<Spanned<String>>,
    #[serde(default)]
    deny_tools: Vec<Spanned<String>>,
    oauth: Option<oauth::RawOAuth>,
}

/// `ca_cert = "a.pem"` or `ca_cert = ["a.pem", "b.pem"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

/// The config file to read: `--config`, else `$MCP_KEYBRIDGE_CONFIG`, else `config.toml` in
/// the platform config directory (`~/.config/mcp-keybridge/` on Linux).
pub fn config_path(explicit: Option<&Path>, env: EnvLookup<'_>) -> Result<PathBuf, ProfileError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env(CONFIG_ENV).filter(|p| !p.trim().is_empty()) {
        return Ok(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "mcp-keybridge")
        .map(|d| d.config_dir().join("config.toml"))
        .ok_or(ProfileError::NoConfigDir)
}

/// Reads profile `name` from the file at `path`.
pub fn load(name: &str, path: &Path) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Read {
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    parse(name, &text, path)
}

/// Parses `text` (the contents of `path`) and returns profile `name`. Only that profile's
/// mistakes fail: the others' are kept in [`Profile::broken_others`], so one typo does not
/// take every profile of the file down (a syntax error in the file still does).
pub fn parse(name: &str, text: &str, path: &Path) -> Result<Profile, ProfileError> {
    let at = |offset: usize, message: String| ProfileError::At {
        path: path.to_path_buf(),
        line: text[..offset.min(text.len())].matches('\n').count() + 1,
        message,
    };
    let located = |e: toml::de::Error| {
        let offset = e.span().map_or(0, |s| s.start).min(text.len());
        let message = without_quoted(e.message().trim());
        match key_at(text, offset) {
            Some(k) => at(offset, format!("{k}: {message}")),
            None => at(offset, message),
        }
    };
    let root = DeTable::parse(text).map_err(located)?;
    let mut profiles = None;
    for (key, value) in root.get_ref() {
        if key.get_ref() != "profiles" {
            let why = "unknown key; the file holds [profiles.NAME] tables";
            return Err(at(key.span().start, format!("{}: {why}", key.get_ref())));
        }
        profiles = Some(value);
    }
    let table = match profiles.map(|p| (p, p.get_ref().as_table())) {
        None => None,
        Some((_, Some(table))) => Some(table),
        Some((p, None)) => {
            let why = "profiles: must be tables, [profiles.NAME]";
            return Err(at(p.span().start, why.into()));
        }
    };
    let mut names = Vec::new();
    let mut chosen = None;
    let mut broken_others = Vec::new();
    for (pname, value) in table.into_iter().flatten() {
        let pname = pname.get_ref().to_string();
        let checked = RawProfile::deserialize(ValueDeserializer::from(value.clone()))
            .map_err(located)
            .and_then(|raw| check(&pname, &raw, &at));
        match checked {
            Ok(profile) if pname == name => chosen = Some(profile),
            Err(e) if pname == name => return Err(e),
            Ok(_) => {}
            Err(e) => broken_others.push(e.to_string()),
        }
        names.push(pname);
    }
    let mut profile = chosen.ok_or_else(|| {
        names.sort();
        ProfileError::NotFound {
            path: path.to_path_buf(),
            name: name.to_string(),
            available: if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        }
    })?;
    profile.broken_others = broken_others;
    Ok(profile)
}

/// Checks every value of profile `name`; `at` turns a byte offset into a located error.
fn check(
    name: &str,
    raw: &RawProfile,
    at: &dyn Fn(usize, String) -> ProfileError,
) -> Result<Profile, ProfileError> {
    let key = |k: &str| format!("profiles.{name}.{k}");
    let mut profile = Profile {
        allow_http: raw.allow_http,
        strict: raw.strict,
        ..Profile::default()
    };
    if let Some(url) = &raw.url {
        check_url(url.get_ref())
            .map_err(|why| at(url.span().start, format!("{}: {why}", key("url"))))?;
        profile.url = Some(url.get_ref().clone());
    }
    if let Some(t) = &raw.transport {
        profile.transport = Some(TransportArg::from_str(t.get_ref(), true).map_err(|_| {
            at(
                t.span().start,
                format!("{}: must be auto, streamable-http or sse", key("transport")),
            )
        })?);
    }
    if let Some(p) = &raw.protocol {
        profile.protocol = Some(ProtocolArg::from_str(p.get_ref(), true).map_err(|_| {
            at(
                p.span().start,
                format!("{}: must be auto, legacy or modern", key("protocol")),
            )
        })?);
    }
    if let Some(b) = &raw.bearer {
        let reference = parse_ref(b.get_ref()).map_err(|e| {
            // Not even the start of a value without a scheme: it is most likely a token.
            let e = match e {
                RefError::NoScheme(_) => "this has no scheme; a literal token is refused".into(),
                other => other.to_string(),
            };
            at(
                b.span().start,
                format!(
                    "{}: must be a reference such as \"keychain:NAME\", \"env:VAR\", \"cmd:COMMAND\" or \"file:PATH\" ({e}). {HINT}",
                    key("bearer")
                ),
            )
        })?;
        profile.bearer = Some(reference);
    }
    for (hname, value) in &raw.headers {
        let k = key(&format!("headers.{:?}", hname.get_ref()));
        let err = |why: String| at(hname.span().start, format!("{k}: {why}"));
        let name = HeaderName::from_bytes(hname.get_ref().trim().as_bytes())
            .map_err(|_| err("not a valid HTTP header name".into()))?;
        let template = Template::parse(value.get_ref().trim()).map_err(|e| err(e.to_string()))?;
        if let Some(why) = literal_secret(&name, &template) {
            return Err(err(format!("{why}. {HINT}")));
        }
        profile.headers.push(HeaderSpec { name, template });
    }
    let seconds = |value: &Option<Spanned<f64>>, name: &str| match value {
        Some(t) if !(t.get_ref().is_finite() && *t.get_ref() > 0.0) => Err(at(
            t.span().start,
            format!("{}: must be a positive number of seconds", key(name)),
        )),
        other => Ok(other.as_ref().map(|t| *t.get_ref())),
    };
    profile.connect_timeout = seconds(&raw.connect_timeout, "connect_timeout")?;
    profile.request_timeout = seconds(&raw.request_timeout, "request_timeout")?;
    if let Some(m) = &raw.max_message_mib {
        if *m.get_ref() == 0 {
            let why = "must be at least 1";
            return Err(at(
                m.span().start,
                format!("{}: {why}", key("max_message_mib")),
            ));
        }
        profile.max_message_mib = Some(*m.get_ref());
    }
    profile.ca_certs = match &raw.ca_cert {
        Some(OneOrMany::One(p)) => vec![p.clone()],
        Some(OneOrMany::Many(ps)) => ps.clone(),
        None => Vec::new(),
    };
    if let Some(p) = &raw.proxy {
        check_proxy(p.get_ref())
            .map_err(|why| at(p.span().start, format!("{}: {why}", key("proxy"))))?;
        profile.proxy = Some(p.get_ref().clone());
    }
    for (list, name, out) in [
        (&raw.allow_tools, "allow_tools", &mut profile.allow_tools),
        (&raw.deny_tools, "deny_tools", &mut profile.deny_tools),
    ] {
        for glob in list {
            let one = std::slice::from_ref(glob.get_ref());
            ToolFilter::new(one, &[])
                .map_err(|e| at(glob.span().start, format!("{}: {e}", key(name))))?;
            out.push(glob.get_ref().trim().to_string());
        }
    }
    if let Some(o) = &raw.oauth {
        profile.oauth = oauth::check(o, &key, at)?;
    }
    Ok(profile)
}

const HINT: &str = "Keep secrets out of the config file: store one with `mcp-keybridge auth set NAME` and refer to it as keychain:NAME (or \"${keychain:NAME}\" in a header)";

/// `keychain:x`, also accepted in the `${keychain:x}` form a header value uses.
fn parse_ref(text: &str) -> Result<SecretRef, RefError> {
    let text = text.trim();
    let inner = text
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    SecretRef::parse(inner)
}

/// The dotted key being defined on the line holding `offset` (`profiles.p.bearr` for a
/// `bearr = …` line under `[profiles.p]`): the parser's message names only the last part.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

/// Drops `"…"` from a parser message: serde quotes the offending value, which may be a token.
fn without_quoted(message: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("(value not shown)");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out.replace('\n', " ")
}

mod oauth;
mod secrets;
#[cfg(test)]
mod tests;
