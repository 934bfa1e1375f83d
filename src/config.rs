//! Turns the command line and the environment into the bridge's run configuration: the URL,
//! the transport, and which headers carry which credentials.

use crate::cli::{RunArgs, TransportArg};
use crate::credentials::HeaderSpec;
use crate::credentials::reference::{Part, RefError, SecretRef, Template};
use reqwest::header::{AUTHORIZATION, HeaderName};
use std::time::Duration;
use url::{Host, Url};

/// Everything the relay needs to know before it starts.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The server's MCP endpoint (Streamable HTTP) or SSE URL (legacy).
    pub url: Url,
    /// Which transport to use.
    pub transport: TransportArg,
    /// Headers to attach to every upstream request.
    pub headers: Vec<HeaderSpec>,
    /// Connection and legacy `endpoint` wait limit.
    pub connect_timeout: Duration,
    /// Largest message, in bytes, from either side.
    pub max_message: usize,
    /// Per-request deadline, if any.
    pub request_timeout: Option<Duration>,
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
}

/// Reads an environment variable as the process sees it; a seam for tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Builds the run configuration from the options and the environment.
pub fn resolve(args: &RunArgs, env: EnvLookup<'_>) -> Result<RunConfig, ConfigError> {
    let raw_url = args
        .url
        .clone()
        .or_else(|| non_empty(env("MCP_KEYBRIDGE_URL")))
        .or_else(|| non_empty(env("SSE_SERVER_URL")))
        .ok_or(ConfigError::NoUrl)?;
    let url = parse_url(&raw_url)?;
    let headers = header_specs(args, env)?;
    if !headers.is_empty() && url.scheme() == "http" && !args.allow_http && !is_loopback(&url) {
        return Err(ConfigError::PlainHttp(
            url.host_str().unwrap_or("").to_string(),
        ));
    }
    if !(args.connect_timeout.is_finite() && args.connect_timeout > 0.0) {
        return Err(ConfigError::BadValue(
            "--connect-timeout must be a positive number of seconds".into(),
        ));
    }
    if args.max_message_mib == 0 {
        return Err(ConfigError::BadValue(
            "--max-message-mib must be at least 1".into(),
        ));
    }
    Ok(RunConfig {
        url,
        transport: args.transport,
        headers,
        connect_timeout: Duration::from_secs_f64(args.connect_timeout),
        max_message: args.max_message_mib.saturating_mul(1024 * 1024),
        request_timeout: match args.request_timeout {
            None => None,
            Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
            Some(_) => {
                return Err(ConfigError::BadValue(
                    "--request-timeout must be a positive number of seconds".into(),
                ));
            }
        },
    })
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

fn header_specs(args: &RunArgs, env: EnvLookup<'_>) -> Result<Vec<HeaderSpec>, ConfigError> {
    let mut specs = Vec::new();
    for raw in &args.headers {
        specs.push(parse_header(raw)?);
    }
    let has_auth_header = specs.iter().any(|s| s.name == AUTHORIZATION);
    let bearer = match &args.bearer {
        Some(r) => Some(SecretRef::parse(r).map_err(|source| ConfigError::BadRef {
            context: "--bearer".into(),
            source,
        })?),
        None if has_auth_header => None,
        None if non_empty(env("MCP_KEYBRIDGE_TOKEN")).is_some() => {
            Some(SecretRef::Env("MCP_KEYBRIDGE_TOKEN".into()))
        }
        None => None,
    };
    if let Some(reference) = bearer {
        specs.push(HeaderSpec {
            name: AUTHORIZATION,
            template: Template::bearer(reference),
        });
    }
    if specs.is_empty() {
        specs = seed_headers(env);
    }
    Ok(specs)
}

fn parse_header(raw: &str) -> Result<HeaderSpec, ConfigError> {
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
mod tests {
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
}
