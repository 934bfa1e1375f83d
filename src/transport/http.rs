//! The HTTP client both transports share: credentials on every request, one retry after a 401
//! when the credentials changed at their source, same-origin redirects only, and reqwest
//! errors turned into [`UpstreamError`]s that never show a URL's query or a header value.

use crate::config::RunConfig;
use crate::credentials::{Credentials, advice};
use crate::era::errors::RpcError;
use crate::error::UpstreamError;
use crate::network::{ConnectProblem, Network, TlsProblem, chain, redact_userinfo};
use crate::oauth::OAuth;
use bytes::{Bytes, BytesMut};
use reqwest::{Client, RequestBuilder, Response, StatusCode, redirect};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

/// A client bound to one server origin, carrying the credentials.
pub struct Http {
    client: Client,
    creds: Arc<Credentials>,
    origin: String,
    limit: usize,
    /// The explicit proxy, credentials redacted, for connection errors.
    proxy: Option<String>,
    /// OAuth sign-in as a credential source (see `http/signed_in.rs`); `None` when a static
    /// Authorization is configured and `--oauth` was not given.
    oauth: Option<Arc<OAuth>>,
}

mod dpop;
mod signed_in;

impl Http {
    /// The client a resolved run configuration asks for, as the bridge and `check` use it.
    pub fn for_config(cfg: &RunConfig, creds: Arc<Credentials>) -> reqwest::Result<Self> {
        Self::with_network(
            &cfg.url,
            creds,
            cfg.connect_timeout,
            cfg.max_message,
            &cfg.network,
        )
    }

    /// Builds the client for `url`'s origin with extra trust roots and an explicit proxy.
    fn with_network(
        url: &Url,
        creds: Arc<Credentials>,
        connect_timeout: Duration,
        limit: usize,
        network: &Network,
    ) -> reqwest::Result<Self> {
        let mut builder = Client::builder()
            .user_agent(concat!("mcp-keybridge/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect_timeout)
            // A connection left half-open by sleep/wake or a vanished NAT entry must fail
            // within about a minute, so the stream readers reconnect: TCP probes after 30 s
            // idle, every 10 s, 3 misses; over HTTP/2 a PING every 30 s answered within 20 s.
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_keepalive_interval(Duration::from_secs(10))
            .tcp_keepalive_retries(3)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .http2_keep_alive_timeout(Duration::from_secs(20))
            .http2_keep_alive_while_idle(true)
            // Node's and uvicorn's servers close an idle keep-alive connection after 5 s; a
            // request sent on one just as it closes is reset. Let it go first.
            .pool_idle_timeout(Duration::from_secs(4))
            .redirect(same_origin_redirects());
        if crate::config::is_loopback(url) {
            // A proxy on another machine cannot reach this one's loopback (and a proxy must not
            // see credentials meant for a local server): connect directly, as browsers do,
            // whatever HTTP_PROXY / HTTPS_PROXY say. An explicit --proxy, applied next, wins.
            builder = builder.no_proxy();
        }
        let client = network.apply(builder)?.build()?;
        Ok(Http {
            client,
            creds,
            origin: url.origin().ascii_serialization(),
            limit,
            proxy: network.proxy().map(|p| redact_userinfo(p.as_str())),
            oauth: None,
        })
    }

    /// Adds OAuth sign-in: 401 Bearer challenges (and 403 `insufficient_scope`) are then
    /// answered by `src/oauth/` instead of the static-credential re-read.
    pub fn with_oauth(mut self, oauth: Arc<OAuth>) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// The server's origin, for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Sends a request built by `make`, with credentials. A 401 re-reads the credentials and,
    /// if they changed, sends once more. Any non-2xx status becomes an error.
    pub async fn send(
        &self,
        make: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, UpstreamError> {
        if let Err(problem) = self.creds.ensure().await {
            return Err(UpstreamError::Credentials {
                why: problem.to_string(),
                fix: advice::unreadable(&problem),
            });
        }
        if let Some(oauth) = &self.oauth {
            return self.send_oauth(oauth, make).await;
        }
        let (generation, headers) = self.creds.headers();
        let resp = make(&self.client)
            .headers((*headers).clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        if resp.status() != StatusCode::UNAUTHORIZED || self.creds.is_empty() {
            return self.check(resp).await;
        }
        if !self.creds.refresh(generation).await {
            return self.check(resp).await.map_err(|e| self.rejected(e));
        }
        tracing::info!("retrying once with the re-read credentials after HTTP 401");
        let (_, headers) = self.creds.headers();
        let resp = make(&self.client)
            .headers((*headers).clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        self.check(resp).await.map_err(|e| self.rejected(e))
    }

    /// A 401 to the configured credentials, told as what the bridge knows about them: a JWT
    /// past its `exp` by source, else which sources were refused; the fix fits each source.
    fn rejected(&self, err: UpstreamError) -> UpstreamError {
        let UpstreamError::Status {
            status: status @ 401,
            origin,
            detail,
            ..
        } = err
        else {
            return err;
        };
        let refs = self.creds.refs();
        let what =
            advice::expired(&self.creds.expiries(), SystemTime::now()).unwrap_or_else(|| {
                format!(
                    "the server rejected the credentials ({}): expired, revoked or mistyped?",
                    self.creds.describe()
                )
            });
        UpstreamError::Rejected {
            status,
            origin,
            what,
            server: detail,
            fix: advice::fresh_tokens(refs.iter()),
        }
    }

    /// Passes 2xx through; turns anything else into [`UpstreamError::Status`], keeping a
    /// JSON-RPC error body so that the server's own words reach the client.
    async fn check(&self, resp: Response) -> Result<Response, UpstreamError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(challenge_detail);
        let body = error_body(resp, self.limit.min(ERROR_BODY_LIMIT)).await;
        let rpc = RpcError::parse(&body);
        let detail = match challenge {
            Some(d) => d,
            None => excerpt(&body),
        };
        Err(UpstreamError::Status {
            status: status.as_u16(),
            origin: self.origin.clone(),
            detail,
            rpc,
        })
    }

    /// Reads a whole body, refusing more than the message limit.
    pub async fn read_body(&self, mut resp: Response) -> Result<Bytes, UpstreamError> {
        let status = resp.status().as_u16();
        let mut body = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > self.limit {
                return Err(UpstreamError::BadReply {
                    origin: self.origin.clone(),
                    why: format!(
                        "larger than the {} MiB message limit (--max-message-mib)",
                        self.limit >> 20
                    ),
                    status: Some(status),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// The message size limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Turns a reqwest error into ours, naming the lowest cause but never the URL (nor a
    /// proxy's credentials).
    pub fn transport_error(&self, err: reqwest::Error) -> UpstreamError {
        let origin = self.origin.clone();
        let cause = redact_userinfo(&root_cause(&err));
        if let Some(refused) = find_refusal(&err) {
            return UpstreamError::Redirect {
                origin,
                to: refused.to.clone(),
                status: refused.status,
            };
        }
        if chain::find::<hyper::Error>(&err).is_some_and(hyper::Error::is_parse_too_large) {
            // hyper's cap (about 400 KiB and 100 headers for HTTP/1, 16 KiB for HTTP/2).
            return UpstreamError::BadReply {
                origin,
                why: "its response headers are too large or too many".into(),
                status: None,
            };
        }
        if err.is_timeout() {
            return UpstreamError::Timeout {
                origin,
                what: "connect".into(),
            };
        }
        if let Some(problem) = TlsProblem::find(&err) {
            return UpstreamError::Tls {
                origin,
                problem,
                cause,
            };
        }
        if err.is_connect() {
            // The server closed the connection in the middle of the TLS handshake
            // (tokio-rustls's "tls handshake eof"): a TCP connect never ends that way, and a
            // proxy tunnel's early end is its own error type.
            if chain::has_io_kind(&err, std::io::ErrorKind::UnexpectedEof) {
                return UpstreamError::Tls {
                    origin,
                    problem: TlsProblem::Other,
                    cause,
                };
            }
            let problem = ConnectProblem::of(&err);
            let cause = match &self.proxy {
                Some(p) => format!("{cause} (through the proxy {p}; check --proxy)"),
                None => cause,
            };
            return UpstreamError::Connect {
                origin,
                cause,
                problem,
            };
        }
        UpstreamError::Broken { origin, cause }
    }
}

/// Follows redirects only within the original origin, so that no credential (custom headers
/// included, which reqwest would keep) reaches another server.
fn same_origin_redirects() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first();
        if let Some(to) = first.and_then(|from| redirect_refusal(from, attempt.url())) {
            let refused = RedirectRefused {
                status: attempt.status().as_u16(),
                to,
            };
            attempt.error(refused)
        } else if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// Why a redirect from `from` to `to` is refused (the target, as shown in the error), or
/// `None` when it may be followed. Scheme, host and port must all stay the same, so a
/// downgrade to plain http or a hop to another port on the same host is refused too; so is
/// a target with a user name or password in it, which only a trick would need.
pub fn redirect_refusal(from: &Url, to: &Url) -> Option<String> {
    let target = to.origin().ascii_serialization();
    if from.origin() != to.origin() {
        Some(target)
    } else if !to.username().is_empty() || to.password().is_some() {
        Some(format!("{target} with a user name or password in the URL"))
    } else {
        None
    }
}

/// Carried through reqwest's error chain so the refusal can name the status and the target.
#[derive(Debug, thiserror::Error)]
#[error("redirect ({status}) to {to} refused")]
struct RedirectRefused {
    status: u16,
    to: String,
}

/// The redirect refusal in `err`'s chain, if that is what it is.
fn find_refusal(err: &reqwest::Error) -> Option<&RedirectRefused> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<RedirectRefused>() {
            return Some(r);
        }
        next = e.source();
    }
    None
}

/// The deepest error in the chain, without the URL reqwest adds.
fn root_cause(err: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = err;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = last.to_string();
    if std::ptr::eq(last as *const _ as *const u8, err as *const _ as *const u8) {
        // reqwest's own Display may include the URL; drop it.
        return text.split(" for url").next().unwrap_or(&text).to_string();
    }
    text
}

/// `error_description` (or `error`) from a `WWW-Authenticate: Bearer …` (or `DPoP …`) challenge.
pub fn challenge_detail(header: &str) -> Option<String> {
    let h = header.trim();
    let params = ["Bearer", "bearer", "DPoP", "dpop"]
        .iter()
        .find_map(|s| h.strip_prefix(s))?;
    let find = |key: &str| {
        let start = params.find(&format!("{key}=\""))? + key.len() + 2;
        let end = params[start..].find('"')?;
        Some(params[start..start + end].to_string())
    };
    find("error_description").or_else(|| find("error"))
}

/// A response's media type, lowercased (`""` without one); the transports choose between
/// JSON and an event stream by it.
pub fn content_type(resp: &Response) -> String {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// How much of an error body is read: enough for any JSON-RPC error a server writes.
const ERROR_BODY_LIMIT: usize = 1 << 20;

/// An error response's body, at most `limit` bytes (what is cut off is not needed).
async fn error_body(mut resp: Response, limit: usize) -> Bytes {
    let mut body = BytesMut::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body.freeze()
}

/// The first 200 characters of an error body, on one line (the server's words, not ours).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

#[cfg(test)]
mod tests;
