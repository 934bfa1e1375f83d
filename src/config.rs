//! Turns the command line, the profile it names and the environment into the bridge's run
//! configuration: the URL, the transport, and which headers carry which credentials. The
//! command line wins over the profile, which wins over the environment.

use crate::cli::{ProtocolArg, RunArgs, TransportArg};
use crate::credentials::HeaderSpec;
use crate::credentials::reference::{Part, RefError, SecretRef, Template};
use crate::environment::EnvLookup;
use crate::network::{Network, NetworkError};
use crate::profile::{self, Profile, ProfileError};
use crate::tool_filter::{FilterError, ToolFilter};
use reqwest::header::{AUTHORIZATION, HeaderName};
use std::path::PathBuf;
use std::time::Duration;
use url::{Host, Url};

/// Everything the relay needs to know before it starts.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The server's MCP endpoint (Streamable HTTP) or SSE URL (legacy).
    pub url: Url,
    /// Which transport to use.
    pub transport: TransportArg,
    /// Which protocol era the server speaks (`auto`: find out).
    pub protocol: ProtocolArg,
    /// Headers to attach to every upstream request.
    pub headers: Vec<HeaderSpec>,
    /// Connection and legacy `endpoint` wait limit.
    pub connect_timeout: Duration,
    /// Largest message, in bytes, from either side.
    pub max_message: usize,
    /// Per-request deadline, if any.
    pub request_timeout: Option<Duration>,
    /// How long an input round waits for a 2026-07-28 client (`--input-timeout`).
    pub input_timeout: Duration,
    /// Relay responses without the compatibility fixes (`--strict`).
    pub strict: bool,
    /// Extra trust roots and the proxy.
    pub network: Network,
    /// OAuth sign-in options, checked by `oauth::OAuthOptions::from_args`.
    pub oauth: Box<crate::cli::OAuthArgs>,
    /// Which tools the client may see and call (`--allow-tool`, `--deny-tool`).
    pub tool_filter: ToolFilter,
    /// The other profiles of the config file that cannot be used (`file:line: key: why`).
    pub profile_notes: Vec<String>,
}

/// A configuration mistake: exit code 2 and this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No URL anywhere.
    #[error(
        "no server URL: pass it as the first argument, or set MCP_KEYBRIDGE_URL (or SSE_SERVER_URL)"
    )]
    NoUrl,
    /// The URL does not parse or is not http(s).
    #[error("invalid server URL {url:?}: {why}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it is refused.
        why: String,
    },
    /// `--header` without `Name: value` form or with a bad name.
    #[error("invalid --header {0:?}: write it as 'Name: value'")]
    BadHeader(String),
    /// A credential reference that does not parse.
    #[error("{context}: {source}")]
    BadRef {
        /// Which option.
        context: String,
        /// Why.
        #[source]
        source: RefError,
    },
    /// Credentials over plain http to a non-loopback host.
    #[error(
        "refusing to send credentials over plain http:// to {0}; use https://, or pass --allow-http if this network is trusted"
    )]
    PlainHttp(String),
    /// A numeric option out of range.
    #[error("{0}")]
    BadValue(String),
    /// The profile could not be read.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A `--ca-cert` or `--proxy` that cannot be used.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A `--allow-tool` or `--deny-tool` pattern that cannot be used.
    #[error(transparent)]
    ToolFilter(#[from] FilterError),
}

/// The run options merged (command line over profile over defaults), before anything is
/// checked or a URL required: [`resolve`] turns them into a [`RunConfig`]; `auth status`
/// needs only their credentials.
#[derive(Debug)]
pub struct MergedOptions {
    /// The URL, if any was given.
    pub url: Option<String>,
    /// The headers, with the command line's winning over the profile's.
    pub headers: Vec<HeaderSpec>,
    /// `(name, file)` of the profile used, if any.
    pub profile: Option<(String, PathBuf)>,
    transport: TransportArg,
    protocol: ProtocolArg,
    allow_http: bool,
    connect_timeout: f64,
    max_message_mib: usize,
    request_timeout: Option<f64>,
    strict: bool,
    /// `--ca-cert` files, then the profile's `ca_cert`.
    pub ca_certs: Vec<PathBuf>,
    /// `--proxy`, else the profile's `proxy`.
    pub proxy: Option<String>,
    /// `--allow-tool`s, else the profile's `allow_tools`.
    pub allow_tools: Vec<String>,
    /// The profile's `deny_tools`, then every `--deny-tool`: a deny only ever hides more.
    pub deny_tools: Vec<String>,
    /// The other profiles of the config file that cannot be used (`file:line: key: why`).
    pub profile_notes: Vec<String>,
    /// The OAuth options: the command line's over the profile's `[profiles.NAME.oauth]`.
    pub oauth: crate::cli::OAuthArgs,
}

/// Merges the command line over the profile (if `--profile` names one) over the defaults.
pub fn merge_options(args: &RunArgs, env: EnvLookup<'_>) -> Result<MergedOptions, ConfigError> {
    let (profile, used) = match &args.profile {
        Some(name) => {
            let path = profile::config_path(args.config.as_deref(), env)?;
            (profile::load(name, &path)?, Some((name.clone(), path)))
        }
        None => (Profile::default(), None),
    };
    let url = args
        .url
        .clone()
        .or_else(|| profile.url.clone())
        .or_else(|| non_empty(env("MCP_KEYBRIDGE_URL")))
        .or_else(|| non_empty(env("SSE_SERVER_URL")));
    let ca_certs = args
        .ca_certs
        .iter()
        .cloned()
        .chain(profile_paths(&profile.ca_certs, used.as_ref()))
        .collect();
    Ok(MergedOptions {
        url,
        headers: header_specs(args, &profile, env)?,
        profile: used,
        transport: args
            .transport
            .or(profile.transport)
            .unwrap_or(TransportArg::Auto),
        protocol: args
            .protocol
            .or(profile.protocol)
            .unwrap_or(ProtocolArg::Auto),
        allow_http: args.allow_http || profile.allow_http.unwrap_or(false),
        connect_timeout: args
            .connect_timeout
            .or(profile.connect_timeout)
            .unwrap_or(10.0),
        max_message_mib: args
            .max_message_mib
            .or(profile.max_message_mib)
            .unwrap_or(64),
        request_timeout: args.request_timeout.or(profile.request_timeout),
        strict: args.strict || profile.strict.unwrap_or(false),
        ca_certs,
        proxy: args.proxy.clone().or(profile.proxy),
        allow_tools: if args.allow_tools.is_empty() {
            profile.allow_tools
        } else {
            args.allow_tools.clone()
        },
        profile_notes: profile.broken_others,
        oauth: profile.oauth.under(&args.oauth),
        deny_tools: profile
            .deny_tools
            .into_iter()
            .chain(args.deny_tools.iter().cloned())
            .collect(),
    })
}

/// Builds the run configuration from the options, the profile and the environment.
pub fn resolve(args: &RunArgs, env: EnvLookup<'_>) -> Result<RunConfig, ConfigError> {
    let merged = merge_options(args, env)?;
    let raw_url = merged.url.ok_or(ConfigError::NoUrl)?;
    let url = parse_url(&raw_url)?;
    let headers = merged.headers;
    if !headers.is_empty() && url.scheme() == "http" && !merged.allow_http && !is_loopback(&url) {
        return Err(ConfigError::PlainHttp(
            url.host_str().unwrap_or("").to_string(),
        ));
    }
    // try_from_secs_f64: a finite but huge value (1e300) would make Duration panic later.
    if !(merged.connect_timeout > 0.0
        && Duration::try_from_secs_f64(merged.connect_timeout).is_ok())
    {
        return Err(ConfigError::BadValue(
            "--connect-timeout must be a positive number of seconds".into(),
        ));
    }
    if merged.max_message_mib == 0 {
        return Err(ConfigError::BadValue(
            "--max-message-mib must be at least 1".into(),
        ));
    }
    if let Some(t) = merged.request_timeout
        && !(t > 0.0 && Duration::try_from_secs_f64(t).is_ok())
    {
        return Err(ConfigError::BadValue(
            "--request-timeout must be a positive number of seconds".into(),
        ));
    }
    let input_timeout = args
        .input_timeout
        .unwrap_or(crate::router::INPUT_TIMEOUT.as_secs_f64());
    if !(input_timeout > 0.0 && Duration::try_from_secs_f64(input_timeout).is_ok()) {
        return Err(ConfigError::BadValue(
            "--input-timeout must be a positive number of seconds".into(),
        ));
    }
    let tool_filter = ToolFilter::new(&merged.allow_tools, &merged.deny_tools)?;
    let network = Network::load(&merged.ca_certs, merged.proxy.as_deref())?;
    Ok(RunConfig {
        url,
        transport: merged.transport,
        protocol: merged.protocol,
        headers,
        connect_timeout: Duration::from_secs_f64(merged.connect_timeout),
        max_message: merged.max_message_mib.saturating_mul(1024 * 1024),
        request_timeout: merged.request_timeout.map(Duration::from_secs_f64),
        input_timeout: Duration::from_secs_f64(input_timeout),
        strict: merged.strict,
        network,
        oauth: Box::new(merged.oauth),
        tool_filter,
        profile_notes: merged.profile_notes,
    })
}

/// A profile's relative paths are relative to its file, not to wherever the client starts
/// the bridge.
fn profile_paths(paths: &[PathBuf], used: Option<&(String, PathBuf)>) -> Vec<PathBuf> {
    let base = used.and_then(|(_, file)| file.parent());
    paths
        .iter()
        .map(|p| match base {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.clone(),
        })
        .collect()
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn parse_url(raw: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::BadUrl {
        url: raw.to_string(),
        why: why.to_string(),
    };
    let url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// URLs are supported"));
    }
    if url.host().is_none() {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL are refused; use --bearer or --header",
        ));
    }
    Ok(url)
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The command line's headers and bearer; then the profile's, for header names the command
/// line did not set; then `MCP_KEYBRIDGE_TOKEN` if nothing sets `Authorization`; then, if
/// nothing at all is configured, the seed client's variables.
fn header_specs(
    args: &RunArgs,
    profile: &Profile,
    env: EnvLookup<'_>,
) -> Result<Vec<HeaderSpec>, ConfigError> {
    let bearer_spec = |reference: SecretRef| HeaderSpec {
        name: AUTHORIZATION,
        template: Template::bearer(reference),
    };
    let mut specs = Vec::new();
    for raw in &args.headers {
        specs.push(parse_header(raw)?);
    }
    if let Some(r) = &args.bearer {
        let reference = SecretRef::parse(r).map_err(|source| ConfigError::BadRef {
            context: "--bearer".into(),
            source,
        })?;
        specs.push(bearer_spec(reference));
    }
    let from_command_line: Vec<HeaderName> = specs.iter().map(|s| s.name.clone()).collect();
    let from_profile = profile
        .headers
        .iter()
        .cloned()
        .chain(profile.bearer.clone().map(bearer_spec));
    specs.extend(from_profile.filter(|s| !from_command_line.contains(&s.name)));
    if !specs.iter().any(|s| s.name == AUTHORIZATION)
        && non_empty(env("MCP_KEYBRIDGE_TOKEN")).is_some()
    {
        specs.push(bearer_spec(SecretRef::Env("MCP_KEYBRIDGE_TOKEN".into())));
    }
    if specs.is_empty() {
        specs = seed_headers(env);
    }
    Ok(specs)
}

/// Parses `Name: value` (the value a template that may hold `${REF}`s).
pub fn parse_header(raw: &str) -> Result<HeaderSpec, ConfigError> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| ConfigError::BadHeader(header_name_only(raw)))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| ConfigError::BadHeader(header_name_only(raw)))?;
    let template = Template::parse(value.trim()).map_err(|source| ConfigError::BadRef {
        context: format!("--header {name}"),
        source,
    })?;
    Ok(HeaderSpec { name, template })
}

/// Only the part before `:`: the value may be a literal secret.
fn header_name_only(raw: &str) -> String {
    raw.split(':')
        .next()
        .unwrap_or("")
        .chars()
        .take(40)
        .collect()
}

/// The seed client's rule: one token (or two equal ones) → Bearer; two different → X- headers.
fn seed_headers(env: EnvLookup<'_>) -> Vec<HeaderSpec> {
    let jira = non_empty(env("JIRA_PERSONAL_TOKEN"));
    let confluence = non_empty(env("CONFLUENCE_PERSONAL_TOKEN"));
    let bearer = |var: &str| {
        vec![HeaderSpec {
            name: AUTHORIZATION,
            template: Template::bearer(SecretRef::Env(var.into())),
        }]
    };
    let header = |name: &'static str, var: &str| HeaderSpec {
        name: HeaderName::from_static(name),
        template: Template(vec![Part::Ref(SecretRef::Env(var.into()))]),
    };
    match (jira, confluence) {
        (Some(j), Some(c)) if j != c => vec![
            header("x-jira-token", "JIRA_PERSONAL_TOKEN"),
            header("x-confluence-token", "CONFLUENCE_PERSONAL_TOKEN"),
        ],
        (Some(_), _) => bearer("JIRA_PERSONAL_TOKEN"),
        (None, Some(_)) => bearer("CONFLUENCE_PERSONAL_TOKEN"),
        (None, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
