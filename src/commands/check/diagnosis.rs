//! From a failed check to what a person does next: a short kind (for scripts), the likely
//! cause in words, and the commands that fix it. Built from the typed errors only, so the
//! advice never depends on parsing a message, and it names sources, never values.

use super::probe::Failure;
use crate::cli::TransportArg;
use crate::config::ConfigError;
use crate::credentials::{CredentialError, SourceError};
use crate::error::UpstreamError;
use crate::network::ConnectProblem;

/// The likely cause of a failure and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// A stable word for scripts: `unauthorized`, `tls`, `connection_refused`, …
    pub kind: &'static str,
    /// What probably happened.
    pub cause: String,
    /// Commands (or steps) that fix it, most likely first.
    pub fixes: Vec<String>,
}

/// What the advice needs to know about the options the check ran with.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Every credential reference, e.g. `keychain:jira`.
    pub refs: Vec<String>,
    /// The transport asked for.
    pub requested: Option<TransportArg>,
    /// The URL as given on the command line (none when it came from a profile or the
    /// environment), without query.
    pub url: String,
    /// The options to repeat in a suggested command (--profile, --bearer; never a header
    /// value, which may be a literal secret).
    pub opts: String,
}

impl Context {
    fn auth_status(&self) -> String {
        join(&["mcp-keybridge auth status", &self.opts])
    }

    fn check_with(&self, extra: &str) -> String {
        join(&["mcp-keybridge check", &self.url, &self.opts, extra])
    }

    /// One fix per credential source, saying how to replace its value.
    fn replace_secrets(&self) -> Vec<String> {
        self.refs
            .iter()
            .map(|r| match r.split_once(':') {
                Some(("keychain", name)) => format!("mcp-keybridge auth set {name}"),
                Some(("env", var)) => {
                    format!("set a fresh token in the environment variable {var}")
                }
                Some(("file", path)) => format!("write a fresh token to {path}"),
                _ => format!("check what {r} prints"),
            })
            .collect()
    }
}

/// The non-empty parts, space-separated.
fn join(parts: &[&str]) -> String {
    let parts: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    parts.join(" ")
}

fn diag(kind: &'static str, cause: impl Into<String>, fixes: Vec<String>) -> Diagnosis {
    Diagnosis {
        kind,
        cause: cause.into(),
        fixes,
    }
}

/// For a configuration the check refused before connecting.
pub fn of_config(err: &ConfigError) -> Diagnosis {
    match err {
        ConfigError::PlainHttp(host) => diag(
            "plain_http",
            format!("credentials would travel unencrypted over http:// to {host}"),
            vec![
                "use the server's https:// URL".into(),
                "or, on a network you trust, add --allow-http".into(),
            ],
        ),
        ConfigError::NoUrl => diag(
            "no_url",
            "no server URL was given",
            vec![
                "mcp-keybridge check https://HOST/mcp --bearer keychain:NAME".into(),
                "mcp-keybridge check --demo (no server needed)".into(),
            ],
        ),
        other => diag(
            "config",
            other.to_string(),
            vec!["mcp-keybridge check --help".into()],
        ),
    }
}

/// For a check that failed after its options were accepted.
pub fn of_failure(failure: &Failure, ctx: &Context) -> Diagnosis {
    match failure {
        Failure::Credentials(e) => of_credentials(e, ctx),
        Failure::Client(e) => diag(
            "client",
            format!("the HTTP client could not start: {e}"),
            vec!["check the machine's TLS trust store".into()],
        ),
        Failure::Upstream { error, .. } => of_upstream(error, ctx),
        Failure::Rpc { message, .. } if message.starts_with("mcp-keybridge:") => diag(
            "stream_lost",
            "the legacy SSE stream was lost before the answer arrived",
            vec!["try again; if it keeps failing, check the server's logs".into()],
        ),
        Failure::Rpc {
            step,
            code,
            message,
        } => diag(
            "rpc_error",
            format!("the server refused {step} (error {code}: {message})"),
            vec![
                "check the server's logs; it may not support this client's protocol version".into(),
            ],
        ),
        Failure::Protocol { why, .. } => diag(
            "not_mcp",
            format!("the reply is not MCP: {why}"),
            vec!["check that the URL is the server's MCP endpoint (often /mcp or /sse)".into()],
        ),
        Failure::NoAnswer { step, after } => diag(
            "no_answer",
            format!("no answer to {step} within {}s", after.as_secs_f64()),
            vec![
                ctx.check_with("--request-timeout 120"),
                match ctx.requested {
                    Some(TransportArg::Sse) => ctx.check_with("--transport streamable-http"),
                    _ => ctx.check_with("--transport sse"),
                },
            ],
        ),
    }
}

fn of_credentials(err: &CredentialError, ctx: &Context) -> Diagnosis {
    let source = match err {
        CredentialError::Source { source, .. } => source,
        CredentialError::BadValue { from, .. } => {
            return diag(
                "bad_secret",
                format!("the secret from {from} cannot go into an HTTP header (a line break?)"),
                ctx.replace_secrets(),
            );
        }
    };
    let (cause, fixes) = match source {
        SourceError::EnvMissing(var) => (
            format!("the environment variable {var} is not set"),
            vec![format!("set {var} in the environment that starts mcp-keybridge")],
        ),
        SourceError::KeychainMissing(name) => (
            format!("nothing is stored as keychain:{name}"),
            vec![format!("mcp-keybridge auth set {name}")],
        ),
        SourceError::NoKeychain(_) => (
            "no OS keychain is reachable".into(),
            vec![
                "start a Secret Service (gnome-keyring or KeePassXC), or use env:VAR, file:PATH or cmd:COMMAND".into(),
            ],
        ),
        SourceError::Keychain { name, .. } => (
            format!("the keychain refused to read {name:?}"),
            vec!["unlock the keychain, then run again".into(), ctx.auth_status()],
        ),
        SourceError::Cmd { cmd, .. } => (
            format!("the credential command `{cmd}` failed"),
            vec![format!("run `{cmd}` yourself and fix what it says")],
        ),
        SourceError::File { path, .. } => (
            format!("the secret file {} cannot be read", path.display()),
            vec![format!("check that {} exists and holds the token", path.display())],
        ),
    };
    diag("credential_source", cause, fixes)
}

/// A 401 to configured credentials: `cause` says why, as far as the bridge knows.
fn unauthorized(ctx: &Context, cause: String) -> Diagnosis {
    let mut fixes = ctx.replace_secrets();
    if !ctx.refs.iter().any(|r| r.starts_with("keychain:")) {
        fixes.push(
            "or keep the token in the OS keychain: mcp-keybridge auth set NAME, then --bearer keychain:NAME"
                .into(),
        );
    }
    fixes.push(ctx.auth_status());
    diag("unauthorized", cause, fixes)
}

fn of_upstream(err: &UpstreamError, ctx: &Context) -> Diagnosis {
    match err {
        UpstreamError::Status { status: 401, .. } if ctx.refs.is_empty() => diag(
            "unauthorized",
            "the server requires a credential and none is configured",
            vec![
                "mcp-keybridge auth set NAME".into(),
                ctx.check_with("--bearer keychain:NAME"),
            ],
        ),
        UpstreamError::Rejected { what, .. } => unauthorized(ctx, what.clone()),
        UpstreamError::Credentials { why, fix } => {
            diag("credential_source", why.clone(), vec![fix.clone()])
        }
        UpstreamError::Status { status: 401, .. } => unauthorized(
            ctx,
            format!(
                "the server rejected the credentials from {} (expired, revoked or mistyped?)",
                ctx.refs.join(", ")
            ),
        ),
        UpstreamError::Status { status: 403, .. } => {
            let mut fixes = vec!["get a token with the missing permission or scope".into()];
            fixes.extend(ctx.replace_secrets());
            diag(
                "forbidden",
                "the server accepted who you are but refuses access (missing permission or scope)",
                fixes,
            )
        }
        UpstreamError::Status {
            status: status @ (400 | 404 | 405 | 406 | 415),
            ..
        } => wrong_endpoint(*status, ctx),
        UpstreamError::Status { status, .. } if *status >= 500 => diag(
            "server_error",
            format!("the server failed (HTTP {status})"),
            vec!["try again later, or check the server's logs".into()],
        ),
        UpstreamError::Status { status, .. } => diag(
            "http_error",
            format!("the server answered HTTP {status}"),
            vec!["check the URL".into(), ctx.check_with("--transport sse")],
        ),
        UpstreamError::Tls { cause, problem, .. } => diag(
            "tls",
            format!("the TLS handshake failed: {problem} ({cause})"),
            vec![problem.advice().into()],
        ),
        UpstreamError::Connect {
            origin,
            cause,
            problem,
        } => of_connect(origin, cause, *problem),
        UpstreamError::Timeout { origin, .. } => diag(
            "timeout",
            format!("{origin} did not answer in time"),
            vec![
                ctx.check_with("--connect-timeout 30"),
                "behind a proxy: pass --proxy URL (or set HTTPS_PROXY)".into(),
            ],
        ),
        UpstreamError::Redirect { to, .. } => diag(
            "redirect",
            format!(
                "the server redirects to another origin ({to}); credentials are not sent there"
            ),
            vec!["use the final URL directly, if you trust it".into()],
        ),
        UpstreamError::BadReply { why, .. } => diag(
            "not_mcp",
            format!("the reply is not MCP: {why}"),
            vec!["check that the URL is the server's MCP endpoint (often /mcp or /sse)".into()],
        ),
        UpstreamError::NoAnswer { .. }
        | UpstreamError::Lost { .. }
        | UpstreamError::Broken { .. }
        | UpstreamError::Unresumable { .. }
        | UpstreamError::ShuttingDown { .. } => diag(
            "connection_lost",
            "the connection broke before the answer arrived",
            vec!["try again; if it keeps failing, check the server's logs".into()],
        ),
        UpstreamError::Auth { why, advice, .. } => diag(
            "oauth",
            format!("OAuth sign-in failed: {why}"),
            // The cause's own fix first, when it has one.
            std::iter::once(advice.clone())
                .filter(|a| !a.is_empty())
                .chain([
                    ctx.check_with("--oauth"),
                    "or sign in ahead of time: mcp-keybridge login URL".into(),
                ])
                .collect(),
        ),
        UpstreamError::Sse { why, .. } => diag(
            "legacy_sse",
            format!("no legacy SSE session: {why}"),
            vec![
                "check the URL's path (legacy servers use /sse, Streamable HTTP ones /mcp)".into(),
                ctx.check_with("--transport streamable-http"),
            ],
        ),
        // The check always sends its own `initialize` first; kept for a server that
        // forgets the session at once.
        UpstreamError::SessionExpired { .. } => diag(
            "session_expired",
            "the server forgot the Streamable HTTP session before it could be renewed",
            vec!["try again; if it keeps failing, check the server's logs".into()],
        ),
    }
}

fn wrong_endpoint(status: u16, ctx: &Context) -> Diagnosis {
    let path = "check the URL's path (often /mcp for Streamable HTTP, /sse for legacy)".into();
    let (cause, fixes) = match ctx.requested {
        Some(TransportArg::StreamableHttp) => (
            "this URL does not take Streamable HTTP",
            vec![path, ctx.check_with("--transport sse")],
        ),
        Some(TransportArg::Sse) => (
            "this URL does not take legacy HTTP+SSE",
            vec![path, ctx.check_with("--transport streamable-http")],
        ),
        // Auto mode has tried both already.
        _ => (
            "this URL takes neither Streamable HTTP nor legacy HTTP+SSE",
            vec![path],
        ),
    };
    diag("wrong_endpoint", format!("HTTP {status}: {cause}"), fixes)
}

fn of_connect(origin: &str, cause: &str, problem: ConnectProblem) -> Diagnosis {
    let proxy = "behind a proxy: pass --proxy URL (or set HTTPS_PROXY)".to_string();
    if problem == ConnectProblem::NotTls {
        diag(
            "tls",
            format!("{origin} does not speak TLS on this port ({cause})"),
            vec!["if the server is plain HTTP, use its http:// URL".into()],
        )
    } else if problem == ConnectProblem::Dns {
        diag(
            "dns",
            format!("the host name of {origin} does not resolve ({cause})"),
            vec!["check the URL's host name".into(), proxy],
        )
    } else if problem == ConnectProblem::Refused {
        diag(
            "connection_refused",
            format!("nothing accepts connections at {origin}"),
            vec![
                "check that the server is running and the URL's port".into(),
                proxy,
            ],
        )
    } else {
        diag(
            "connect",
            format!("cannot connect to {origin}: {cause}"),
            vec!["check the URL and the network".into(), proxy],
        )
    }
}

#[cfg(test)]
mod tests;
