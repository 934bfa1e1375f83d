//! One check session, driven through the bridge's own parts (credentials, [`Http`],
//! [`Router`], [`Upstream`]): `initialize`, `notifications/initialized`, `tools/list` (every
//! page), then closing the session, timing each round trip and keeping the first failure
//! as a typed value for the diagnosis.

use crate::cli::TransportArg;
use crate::config::RunConfig;
use crate::credentials::{CredentialError, Credentials};
use crate::error::UpstreamError;
use crate::jsonrpc::{self, Id, Kind, Message};
use crate::router::Router;
use crate::transport::{Upstream, http::Http};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The protocol version the check asks for; the server may answer with another it supports.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// How long one step may wait for its answer when no --request-timeout is given.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many `tools/list` pages are read, so a server looping on its cursor ends.
const MAX_PAGES: usize = 20;

/// What one check found.
#[derive(Debug)]
pub struct Outcome {
    /// The URL, without query or fragment (those may carry secrets).
    pub url: String,
    /// The transport asked for.
    pub requested: TransportArg,
    /// The transport the session used, once one was chosen.
    pub transport: Option<TransportArg>,
    /// Each credential header and where its value comes from (never the value).
    pub credentials: Vec<CredentialUse>,
    /// The credentials changed at their source after a 401 and the retry used new values.
    pub credentials_reread: bool,
    /// What `initialize` said, if it answered.
    pub server: Option<ServerInfo>,
    /// Tool names, if `tools/list` answered.
    pub tools: Option<Vec<String>>,
    /// Round trips in order: `initialize`, `tools/list`, `close`.
    pub timings: Vec<(&'static str, Duration)>,
    /// The first failure; `None` when every step worked.
    pub failure: Option<Failure>,
}

/// One header the check sends and its sources.
#[derive(Debug, Clone)]
pub struct CredentialUse {
    /// The header name, e.g. `authorization`.
    pub header: String,
    /// Its references, e.g. `keychain:jira`; empty for a literal value.
    pub sources: Vec<String>,
}

/// The server's side of the handshake.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// The protocol version the server chose.
    pub protocol_version: String,
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
}

/// Where a check stopped.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A credential source could not be read.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// The HTTP exchange failed.
    #[error("{step}: {error}")]
    Upstream {
        /// `initialize` or `tools/list`.
        step: &'static str,
        /// What failed.
        error: UpstreamError,
    },
    /// The server answered with a JSON-RPC error (or the bridge made one for a lost stream).
    #[error("{step}: the server answered with error {code}: {message}")]
    Rpc {
        /// The step.
        step: &'static str,
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The reply is not what MCP says it should be.
    #[error("{step}: {why}")]
    Protocol {
        /// The step.
        step: &'static str,
        /// What is wrong.
        why: String,
    },
    /// No answer in time.
    #[error("{step}: no answer within {}s", .after.as_secs_f64())]
    NoAnswer {
        /// The step.
        step: &'static str,
        /// How long it waited.
        after: Duration,
    },
}

/// Runs one check session with `cfg`, exactly as the bridge would connect.
pub async fn run(cfg: &RunConfig) -> Outcome {
    let mut url = cfg.url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let mut outcome = Outcome {
        url: url.to_string(),
        requested: cfg.transport,
        transport: None,
        credentials: cfg
            .headers
            .iter()
            .map(|spec| CredentialUse {
                header: spec.name.to_string(),
                sources: spec.template.refs().map(ToString::to_string).collect(),
            })
            .collect(),
        credentials_reread: false,
        server: None,
        tools: None,
        timings: Vec::new(),
        failure: None,
    };
    let creds = match Credentials::resolve(cfg.headers.clone()).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            outcome.failure = Some(e.into());
            return outcome;
        }
    };
    let http = match Http::for_config(cfg, creds.clone()) {
        Ok(h) => Arc::new(h),
        Err(e) => {
            outcome.failure = Some(Failure::Client(e.to_string()));
            return outcome;
        }
    };
    let (out, replies) = mpsc::channel(256);
    let router = Arc::new(Router::new(out, creds.describe(), !creds.is_empty()));
    let upstream = Upstream::new(
        cfg.transport,
        cfg.protocol,
        http,
        cfg.url.clone(),
        router.clone(),
        cfg.connect_timeout,
    );
    let mut session = Session {
        router,
        upstream: &upstream,
        replies,
        wait: cfg.request_timeout.unwrap_or(STEP_TIMEOUT),
        next_id: 0,
    };
    let result = session.steps(&mut outcome).await;
    outcome.transport = upstream.active_transport();
    outcome.credentials_reread = creds.headers().0 > 0;
    let started = Instant::now();
    upstream.close().await;
    if outcome.transport.is_some() {
        outcome.timings.push(("close", started.elapsed()));
    }
    outcome.failure = result.err();
    outcome
}

/// The messages of one check and where their answers arrive.
struct Session<'a> {
    router: Arc<Router>,
    upstream: &'a Upstream,
    replies: mpsc::Receiver<Bytes>,
    wait: Duration,
    next_id: u64,
}

impl Session<'_> {
    async fn steps(&mut self, outcome: &mut Outcome) -> Result<(), Failure> {
        let started = Instant::now();
        let init = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "mcp-keybridge-check", "version": env!("CARGO_PKG_VERSION")},
                }),
            )
            .await?;
        outcome.timings.push(("initialize", started.elapsed()));
        outcome.server = Some(server_info(&init)?);
        let offers_tools = init["capabilities"].get("tools").is_some();
        self.notify("notifications/initialized").await?;
        let started = Instant::now();
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
            let page = match self.request("tools/list", params).await {
                Ok(page) => page,
                // A server without the tools capability may rightly not know the method.
                Err(Failure::Rpc { code: -32601, .. }) if !offers_tools => return Ok(()),
                Err(e) => return Err(e),
            };
            tools.extend(tool_names(&page)?);
            cursor = page["nextCursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        outcome.timings.push(("tools/list", started.elapsed()));
        outcome.tools = Some(tools);
        Ok(())
    }

    /// Sends a request and waits for its answer; returns the `result`.
    async fn request(&mut self, method: &'static str, params: Value) -> Result<Value, Failure> {
        self.next_id += 1;
        let line =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let msg = message(method, &line)?;
        let id = msg.id.clone().expect("a request has an id");
        self.router.register(&id, Some(method), false);
        if method == "initialize" {
            self.router.set_initialize(&id);
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        let send = self.upstream.send(&msg);
        tokio::pin!(send);
        let mut sent = false;
        loop {
            tokio::select! {
                result = &mut send, if !sent => {
                    result.map_err(|error| Failure::Upstream { step: method, error })?;
                    sent = true;
                }
                raw = self.replies.recv() => {
                    let Some(raw) = raw else {
                        return Err(Failure::Protocol { step: method, why: "the session ended".into() });
                    };
                    if let Some(result) = answer(method, &raw, &id)? {
                        return Ok(result);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Failure::NoAnswer { step: method, after: self.wait });
                }
            }
        }
    }

    async fn notify(&mut self, method: &'static str) -> Result<(), Failure> {
        let msg = message(method, &json!({"jsonrpc": "2.0", "method": method}))?;
        tokio::time::timeout(self.wait, self.upstream.send(&msg))
            .await
            .map_err(|_| Failure::NoAnswer {
                step: method,
                after: self.wait,
            })?
            .map_err(|error| Failure::Upstream {
                step: method,
                error,
            })
    }
}

fn message(step: &'static str, line: &Value) -> Result<Message, Failure> {
    jsonrpc::classify(Bytes::from(line.to_string())).map_err(|e| Failure::Protocol {
        step,
        why: e.reason,
    })
}

/// The `result` if `raw` answers request `id`; `None` for any other message (server
/// notifications and requests pass by unanswered: a check has nothing to say to them).
fn answer(step: &'static str, raw: &[u8], id: &Id) -> Result<Option<Value>, Failure> {
    let msg = match jsonrpc::classify(Bytes::copy_from_slice(raw)) {
        Ok(m) if m.kind == Kind::Response && m.id.as_ref().is_some_and(|i| i.key() == id.key()) => {
            m
        }
        _ => return Ok(None),
    };
    let mut value: Value = serde_json::from_slice(&msg.raw).map_err(|e| Failure::Protocol {
        step,
        why: format!("unreadable reply: {e}"),
    })?;
    if let Some(err) = value.get("error") {
        return Err(Failure::Rpc {
            step,
            code: err["code"].as_i64().unwrap_or(0),
            message: err["message"].as_str().unwrap_or("").to_string(),
        });
    }
    Ok(Some(value["result"].take()))
}

fn server_info(result: &Value) -> Result<ServerInfo, Failure> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let protocol_version = text(&result["protocolVersion"]).ok_or(Failure::Protocol {
        step: "initialize",
        why: "the reply has no protocolVersion".into(),
    })?;
    Ok(ServerInfo {
        protocol_version,
        name: text(&result["serverInfo"]["name"]).unwrap_or_else(|| "(unnamed)".into()),
        version: text(&result["serverInfo"]["version"]).unwrap_or_else(|| "?".into()),
    })
}

fn tool_names(result: &Value) -> Result<Vec<String>, Failure> {
    let tools = result["tools"].as_array().ok_or(Failure::Protocol {
        step: "tools/list",
        why: "the reply has no tools array".into(),
    })?;
    Ok(tools
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("(unnamed)").to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Id {
        let line = json!({"jsonrpc": "2.0", "id": n, "method": "ping"});
        message("ping", &line).unwrap().id.unwrap()
    }

    #[test]
    fn answer_matches_only_its_id() {
        let other = br#"{"jsonrpc":"2.0","id":2,"result":{}}"#;
        assert!(answer("x", other, &id(1)).unwrap().is_none());
        let note = br#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#;
        assert!(answer("x", note, &id(1)).unwrap().is_none());
        let ok = br#"{"jsonrpc":"2.0","id":1,"result":{"a":1}}"#;
        assert_eq!(answer("x", ok, &id(1)).unwrap().unwrap()["a"], 1);
        let err = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}"#;
        assert!(matches!(
            answer("x", err, &id(1)),
            Err(Failure::Rpc { code: -32601, .. })
        ));
    }

    #[test]
    fn server_info_needs_a_protocol_version() {
        assert!(server_info(&json!({"serverInfo": {"name": "s"}})).is_err());
        let info = server_info(&json!({"protocolVersion": "2025-06-18"})).unwrap();
        assert_eq!(info.name, "(unnamed)");
    }
}
