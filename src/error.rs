//! Failures on the upstream leg, and how each becomes a JSON-RPC error a person can act on.

use crate::era::errors::RpcError;
use crate::jsonrpc::{self, Id};
use crate::network::{ConnectProblem, TlsProblem};
use bytes::Bytes;

/// Why a message could not be delivered to the server, or its answer not brought back.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// TCP connect or DNS failed: the request never reached the server.
    #[error("cannot connect to {origin}: {cause}")]
    Connect {
        /// `scheme://host:port` of the server.
        origin: String,
        /// The lowest-level cause.
        cause: String,
        /// Which kind of failure, for the advice (told by type, not by `cause`'s words).
        problem: ConnectProblem,
    },
    /// The TLS handshake failed.
    #[error("TLS failure talking to {origin}: {problem} ({cause})")]
    Tls {
        /// The server's origin.
        origin: String,
        /// Which kind of failure, for the advice.
        problem: TlsProblem,
        /// What rustls said.
        cause: String,
    },
    /// No answer in time.
    #[error("{origin} did not answer in time ({what})")]
    Timeout {
        /// The server's origin.
        origin: String,
        /// What was being waited for.
        what: String,
    },
    /// The server answered with an HTTP error status.
    #[error("HTTP {status} from {origin}{}", said(.detail))]
    Status {
        /// The status code.
        status: u16,
        /// The server's origin.
        origin: String,
        /// The challenge's `error_description` or the start of the body.
        detail: String,
        /// The server's JSON-RPC error, when the body was one: relayed to the client as is.
        rpc: Option<RpcError>,
    },
    /// The server's reply could not be read as MCP.
    #[error("the reply from {origin} is not usable: {why}")]
    BadReply {
        /// The server's origin.
        origin: String,
        /// What is wrong with it.
        why: String,
        /// Its HTTP status.
        status: Option<u16>,
    },
    /// A redirect to another origin, refused so credentials stay with the configured server.
    #[error(
        "{origin} redirected to another origin ({to}); refused, so that no credential is sent there"
    )]
    Redirect {
        /// The server's origin.
        origin: String,
        /// Where it pointed.
        to: String,
        /// The redirect's status.
        status: u16,
    },
    /// The response stream ended without the answer.
    #[error("{origin} closed the response stream without answering this request")]
    NoAnswer {
        /// The server's origin.
        origin: String,
        /// The HTTP status of the exchange.
        status: Option<u16>,
    },
    /// A 2026-07-28 response stream ended before its answer: the request is lost (such
    /// streams cannot be resumed) and may be re-issued.
    #[error("{origin} closed the response stream of this request before answering it")]
    Lost {
        /// The server's origin.
        origin: String,
        /// Why the stream ended, when it broke rather than closed.
        cause: Option<String>,
    },
    /// The reply stream was cut and the server refused to resume it.
    #[error("{origin} cut the reply stream and refused to resume it ({cause})")]
    Unresumable {
        /// The server's origin.
        origin: String,
        /// The status of the refused resumption.
        status: Option<u16>,
        /// The refusal.
        cause: String,
    },
    /// The connection broke mid-exchange.
    #[error("the connection to {origin} broke: {cause}")]
    Broken {
        /// The server's origin.
        origin: String,
        /// The lowest-level cause.
        cause: String,
    },
    /// A signal ended the bridge before the answer came.
    #[error("the bridge was stopped (SIGTERM/SIGINT) before {origin} answered")]
    ShuttingDown {
        /// The server's origin.
        origin: String,
    },
    /// OAuth sign-in or refresh failed (src/oauth/).
    #[error("signing in to {origin} failed: {why}")]
    Auth {
        /// The server's origin.
        origin: String,
        /// The status that started it (401, or 403 for a step-up).
        status: u16,
        /// What went wrong, from [`crate::oauth::OAuthError`].
        why: String,
        /// What to do about it (empty when `why` says it already).
        advice: String,
    },
    /// The credential sources could not be read (since the bridge started): nothing was sent.
    #[error("cannot read the credentials: {why}")]
    Credentials {
        /// The source and what failed (never a value).
        why: String,
        /// The command or change that fixes it, for that kind of source.
        fix: String,
    },
    /// The server refused the configured (static) credentials.
    #[error("HTTP {status} from {origin}: {what}{}", said(.server))]
    Rejected {
        /// 401.
        status: u16,
        /// The server's origin.
        origin: String,
        /// What the bridge knows: an expired JWT by source, or which sources were refused.
        what: String,
        /// The server's own words (its challenge's `error_description` or its body).
        server: String,
        /// What to do, fitting each source's kind.
        fix: String,
    },
    /// The legacy SSE session could not be set up, or was lost.
    #[error("legacy SSE session with {origin}: {why}")]
    Sse {
        /// The server's origin.
        origin: String,
        /// What went wrong.
        why: String,
    },
    /// A Streamable HTTP session expired before the client's `initialize` passed through the
    /// bridge, so the bridge has nothing to open a new one with.
    #[error(
        "the Streamable HTTP session with {origin} expired, and it cannot be renewed: the bridge never saw the client's initialize"
    )]
    SessionExpired {
        /// The server's origin.
        origin: String,
    },
}

/// The server's words, quoted as the server's so they are not read as the bridge's advice.
fn said(server: &str) -> String {
    if server.is_empty() {
        String::new()
    } else {
        format!("; the server said: \"{server}\"")
    }
}

impl UpstreamError {
    /// The same error without the server's JSON-RPC body, for a refusal that answered
    /// something other than the client's request.
    pub fn without_rpc(self) -> Self {
        match self {
            UpstreamError::Status {
                status,
                origin,
                detail,
                ..
            } => UpstreamError::Status {
                status,
                origin,
                detail,
                rpc: None,
            },
            other => other,
        }
    }

    /// The HTTP status involved, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            UpstreamError::Status { status, .. }
            | UpstreamError::Rejected { status, .. }
            | UpstreamError::Redirect { status, .. }
            | UpstreamError::Auth { status, .. } => Some(*status),
            UpstreamError::BadReply { status, .. }
            | UpstreamError::NoAnswer { status, .. }
            | UpstreamError::Unresumable { status, .. } => *status,
            _ => None,
        }
    }

    /// What to do about it, given what the bridge knows of the request (credential
    /// names, never values; its era; whether the server had answered before).
    fn advice(&self, ctx: &Context<'_>) -> String {
        let creds = ctx.creds;
        match self {
            UpstreamError::Connect { .. } if ctx.worked => {
                "The server answered earlier requests, so it may have stopped or be restarting; the bridge keeps running and connects again on the next request.".into()
            }
            UpstreamError::Connect { .. } => {
                "The bridge keeps running and connects again on the next request; check that the server is running and that the URL is right.".into()
            }
            UpstreamError::Tls { problem, .. } => problem.advice().into(),
            UpstreamError::Timeout { .. } => "The server may be overloaded or the network down; try again.".into(),
            UpstreamError::Status { status: 401, .. } if ctx.has_creds => format!(
                "The server rejected the credentials ({creds}). Update the secret at its source \
                 (for keychain:NAME run `mcp-keybridge auth set NAME`); it is re-read on the next request."
            ),
            UpstreamError::Status { status: 401, .. } => {
                "The server requires authentication and none is configured: pass --bearer REF (e.g. --bearer keychain:NAME) or --header."
                    .into()
            }
            UpstreamError::Status { status: 403, .. } => format!(
                "The server refused access with these credentials ({creds}): the token may lack a permission or scope."
            ),
            UpstreamError::Status { status: 407, .. } => {
                "The proxy requires credentials: give them in the proxy URL (--proxy http://USER:PASSWORD@HOST:PORT, or HTTPS_PROXY).".into()
            }
            UpstreamError::Status { status, .. } if *status >= 500 => {
                "The server failed; try again, or check the server's logs.".into()
            }
            UpstreamError::Status { .. } | UpstreamError::BadReply { .. } if ctx.worked => {
                "The server answered earlier requests, so the URL is right; it refused this one (see its words above), or was restarted or changed.".into()
            }
            UpstreamError::Status { status: 404, .. } if ctx.modern => {
                "The server has no MCP endpoint at this path: check the URL's path (often /mcp).".into()
            }
            UpstreamError::Status { status: 404, .. } => "Check the URL's path (often /mcp or /sse).".into(),
            UpstreamError::Status { .. } | UpstreamError::BadReply { .. } if ctx.modern => {
                "The server did not take this MCP 2026-07-28 request; check the URL, and whether the server speaks that revision.".into()
            }
            UpstreamError::Status { .. } | UpstreamError::BadReply { .. } => {
                "Check the URL, and try --transport streamable-http or --transport sse.".into()
            }
            UpstreamError::Redirect { .. } => "Use the final URL directly if you trust it.".into(),
            UpstreamError::Lost { .. } => {
                "The request may or may not have run on the server; re-issue it (under a new id) if that is safe.".into()
            }
            UpstreamError::NoAnswer { .. }
            | UpstreamError::Broken { .. }
            | UpstreamError::Unresumable { .. }
            | UpstreamError::ShuttingDown { .. } => {
                "The request may or may not have run on the server; retry it if that is safe.".into()
            }
            UpstreamError::Credentials { fix, .. } | UpstreamError::Rejected { fix, .. } => fix.clone(),
            UpstreamError::Sse { .. } if ctx.worked => {
                "The server answered earlier requests, so the URL is right; the bridge reconnects by itself, so retry in a moment.".into()
            }
            UpstreamError::Sse { .. } => "Check the URL, or try --transport streamable-http.".into(),
            UpstreamError::SessionExpired { .. } => {
                "Restart the MCP server in the client (or the client itself) so that it initializes a new session.".into()
            }
            UpstreamError::Auth { advice, .. } => advice.clone(),
        }
    }

    /// The reply the client gets for its request `id`: the server's own JSON-RPC error when
    /// it sent one (credential and proxy refusals excepted, where the bridge knows which
    /// source to fix), else the bridge's error with advice.
    pub fn to_reply(&self, id: &Id, ctx: &Context<'_>) -> Bytes {
        if let UpstreamError::Status {
            status,
            rpc: Some(rpc),
            ..
        } = self
            && !matches!(status, 401 | 403 | 407)
        {
            return rpc.reply_to(id.raw());
        }
        let advice = self.advice(ctx);
        let message = if advice.is_empty() {
            format!("mcp-keybridge: {self}.")
        } else {
            format!("mcp-keybridge: {self}. {advice}")
        };
        let data =
            serde_json::json!({ "source": "mcp-keybridge", "httpStatus": self.http_status() });
        jsonrpc::error_reply(Some(id), jsonrpc::INTERNAL_ERROR, &message, Some(data))
    }
}

/// What the bridge knows about a failed request, for advice that fits it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The credential sources, by name (never values).
    pub creds: &'a str,
    /// Whether any credential is configured.
    pub has_creds: bool,
    /// The request was of the 2026-07-28 era.
    pub modern: bool,
    /// The server had answered an earlier request of this run.
    pub worked: bool,
}
