//! A stateful client (2024-11-05 … 2025-11-25: Claude Desktop's TypeScript SDK 1.x among
//! them) talking to a server that speaks only 2026-07-28. The bridge plays the stateful
//! server the client expects: it answers `initialize` from `server/discover`, answers `ping`,
//! `logging/setLevel` and `resources/subscribe` itself, stamps every other request with the
//! `_meta` envelope, turns input-required results into requests to the client, and holds a
//! `subscriptions/listen` for the change notifications the client may receive.

use super::stateless::Stateless;
use crate::error::UpstreamError;
use crate::jsonrpc::{self, Id, Kind, Message};
use crate::router::Router;
use crate::sync::lock_ignoring_poison;
use crate::translate::rounds::{AskError, Asks, Outcome};
use crate::translate::stamp::{self, ClientInit};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many input rounds one request may take before the bridge gives up.
const MAX_ROUNDS: usize = 8;

/// The translated session with a 2026-07-28 server.
pub struct Upgrade {
    stateless: Arc<Stateless>,
    router: Arc<Router>,
    origin: String,
    client: Mutex<Option<ClientInit>>,
    log_level: Mutex<Option<String>>,
    /// The server's capabilities, from `server/discover`.
    capabilities: Mutex<Value>,
    subscribed: Mutex<BTreeSet<String>>,
    listen: Mutex<Option<tokio::task::JoinHandle<()>>>,
    asks: Asks,
    seq: AtomicU64,
}

impl Upgrade {
    /// A translated session over `stateless`.
    pub fn new(stateless: Arc<Stateless>, router: Arc<Router>, origin: &str) -> Self {
        Upgrade {
            stateless,
            router,
            origin: origin.into(),
            client: Mutex::new(None),
            log_level: Mutex::new(None),
            capabilities: Mutex::new(Value::Null),
            subscribed: Mutex::new(BTreeSet::new()),
            listen: Mutex::new(None),
            asks: Asks::default(),
            seq: AtomicU64::new(0),
        }
    }

    /// Handles one message of the stateful client.
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        let id = msg.id.as_ref();
        match (msg.kind, msg.method.as_deref(), id) {
            (Kind::Request, Some("initialize"), Some(id)) => self.initialize(msg, id).await,
            (Kind::Request, Some("ping"), Some(id)) => self.reply(id, "{}").await,
            (Kind::Request, Some("logging/setLevel"), Some(id)) => {
                *lock_ignoring_poison(&self.log_level) = param_str(&msg.raw, "level");
                self.reply(id, "{}").await
            }
            (
                Kind::Request,
                Some(m @ ("resources/subscribe" | "resources/unsubscribe")),
                Some(id),
            ) => {
                if let Some(uri) = param_str(&msg.raw, "uri") {
                    let mut set = lock_ignoring_poison(&self.subscribed);
                    if m == "resources/subscribe" {
                        set.insert(uri);
                    } else {
                        set.remove(&uri);
                    }
                }
                self.relisten();
                self.reply(id, "{}").await
            }
            (Kind::Request, _, Some(id)) => self.forward(msg, id).await,
            (Kind::Response, _, Some(id)) if Asks::owns(id) => {
                self.asks.answer(id, msg.raw.clone());
                Ok(())
            }
            (Kind::Notification, Some("notifications/initialized"), _) => {
                self.relisten();
                Ok(())
            }
            _ => {
                tracing::debug!(
                    "not relayed to the 2026-07-28 server: {}",
                    msg.method.as_deref().unwrap_or("a response")
                );
                Ok(())
            }
        }
    }

    /// `initialize` answered from `server/discover`: the client's version, the server's
    /// capabilities, info and instructions.
    async fn initialize(&self, msg: &Message, id: &Id) -> Result<(), UpstreamError> {
        let init = ClientInit::parse(&msg.raw);
        *lock_ignoring_poison(&self.client) = Some(init.clone());
        let discover = br#"{"jsonrpc":"2.0","id":"mcp-keybridge-discover","method":"server/discover","params":{}}"#;
        let request = self.stamped(discover, None, None, None)?;
        let reply = match self.stateless.request(&request).await {
            // A server may refuse a first request to have the client pick from its list.
            Err(UpstreamError::Status { rpc: Some(e), .. })
                if e.still_supports(crate::era::MODERN_VERSION) =>
            {
                self.stateless.request(&request).await?
            }
            other => other?,
        };
        let result = result_of(&reply).ok_or_else(|| self.bad("server/discover gave no result"))?;
        *lock_ignoring_poison(&self.capabilities) =
            result.get("capabilities").cloned().unwrap_or(Value::Null);
        tracing::info!(
            "the server speaks only MCP 2026-07-28: translating for this stateful client"
        );
        let answer = stamp::initialize_result(&init, &result);
        self.reply(id, &answer.to_string()).await
    }

    /// Any other request: stamped, sent, and its input rounds played with the client.
    async fn forward(&self, msg: &Message, id: &Id) -> Result<(), UpstreamError> {
        let mut request = self.stamped(&msg.raw, None, None, None)?;
        for _ in 0..MAX_ROUNDS {
            let reply = self.stateless.request(&request).await?;
            let Some(result) = raw_result(&reply) else {
                return self.relay_error(id, &reply).await;
            };
            let outcome: Outcome<'_> = serde_json::from_str(result.get())
                .map_err(|e| self.bad(&format!("unreadable result ({e})")))?;
            if !outcome.needs_input() {
                return self.reply(id, result.get()).await;
            }
            let answers = match &outcome.input_requests {
                Some(requests) => {
                    let client = lock_ignoring_poison(&self.client)
                        .clone()
                        .unwrap_or_else(|| ClientInit::parse(b"{}"));
                    let answers = self
                        .asks
                        .gather(&self.router, requests, |m| client.allows(m))
                        .await
                        .map_err(|e| self.refused(e))?;
                    Some(RawValue::from_string(answers).map_err(|e| self.bad(&e.to_string()))?)
                }
                None => None,
            };
            let n = self.seq.fetch_add(1, Ordering::Relaxed);
            let retry_id = format!("\"mcp-keybridge-retry-{n}\"");
            request = self.stamped(
                &msg.raw,
                Some(&retry_id),
                answers.as_deref().map(|a| ("inputResponses", a)),
                outcome.request_state,
            )?;
        }
        Err(self.bad(&format!(
            "the server still asked for input after {MAX_ROUNDS} rounds; giving up on this request"
        )))
    }

    /// The request rewritten for the server, as a message the stateless transport sends.
    fn stamped(
        &self,
        raw: &[u8],
        id: Option<&str>,
        extra: Option<(&str, &RawValue)>,
        state: Option<&RawValue>,
    ) -> Result<Message, UpstreamError> {
        let client = lock_ignoring_poison(&self.client)
            .clone()
            .unwrap_or_else(|| ClientInit::parse(b"{}"));
        let level = lock_ignoring_poison(&self.log_level).clone();
        let body = stamp::modern_request(raw, &client, level.as_deref(), id, extra, state)
            .ok_or_else(|| self.bad("the request could not be rewritten for MCP 2026-07-28"))?;
        jsonrpc::classify(body).map_err(|e| self.bad(&e.reason))
    }

    /// (Re)opens the bridge's `subscriptions/listen` for what the server offers and the
    /// client subscribed to; the old stream, if any, is dropped.
    fn relisten(&self) {
        let caps = lock_ignoring_poison(&self.capabilities).clone();
        let mut filter = serde_json::Map::new();
        for (cap, key) in [
            ("tools", "toolsListChanged"),
            ("prompts", "promptsListChanged"),
            ("resources", "resourcesListChanged"),
        ] {
            if caps.pointer(&format!("/{cap}/listChanged")) == Some(&Value::Bool(true)) {
                filter.insert(key.into(), true.into());
            }
        }
        let uris: Vec<String> = lock_ignoring_poison(&self.subscribed)
            .iter()
            .cloned()
            .collect();
        if !uris.is_empty() {
            filter.insert("resourceSubscriptions".into(), uris.into());
        }
        if let Some(old) = lock_ignoring_poison(&self.listen).take() {
            old.abort();
        }
        if filter.is_empty() {
            return;
        }
        let params = serde_json::json!({ "notifications": filter }).to_string();
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":"mcp-keybridge-listen-{n}","method":"subscriptions/listen","params":{params}}}"#
        );
        let Ok(request) = self.stamped(body.as_bytes(), None, None, None) else {
            return;
        };
        let stateless = self.stateless.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = stateless.listen_for_client(&request).await {
                tracing::info!("the server refused change notifications: {e}");
            }
        });
        *lock_ignoring_poison(&self.listen) = Some(task);
    }

    /// Ends the held subscription (on shutdown).
    pub fn close(&self) {
        if let Some(task) = lock_ignoring_poison(&self.listen).take() {
            task.abort();
        }
    }

    async fn reply(&self, id: &Id, result: &str) -> Result<(), UpstreamError> {
        let line = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.raw());
        self.router.deliver(Bytes::from(line)).await;
        Ok(())
    }

    /// The server's error to a (possibly retried) request, under the client's id.
    async fn relay_error(&self, id: &Id, reply: &Bytes) -> Result<(), UpstreamError> {
        match crate::era::errors::RpcError::parse(reply) {
            Some(e) => {
                self.router.deliver(e.reply_to(id.raw())).await;
                Ok(())
            }
            None => Err(self.bad("the reply is neither a result nor an error")),
        }
    }

    fn refused(&self, e: AskError) -> UpstreamError {
        self.bad(&e.to_string())
    }

    fn bad(&self, why: &str) -> UpstreamError {
        UpstreamError::BadReply {
            origin: self.origin.clone(),
            why: why.into(),
            status: None,
        }
    }
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
}

fn raw_result(reply: &[u8]) -> Option<&RawValue> {
    serde_json::from_slice::<Reply<'_>>(reply).ok()?.result
}

fn result_of(reply: &[u8]) -> Option<Value> {
    serde_json::from_str(raw_result(reply)?.get()).ok()
}

/// A string member of `params`.
fn param_str(raw: &[u8], key: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(raw).ok()?;
    Some(v.get("params")?.get(key)?.as_str()?.to_string())
}
