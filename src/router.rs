//! Where every message bound for stdout goes through: it tracks which client requests await
//! an answer, so that each is answered exactly once, and drops what must not reach the client
//! (replies to notifications, late or unknown replies). Replies pass the compatibility fixes
//! (`normalize`) on the way, keyed by the method they answer.

use crate::era::tool_headers::ToolHeaders;
use crate::error::{Context, UpstreamError};
use crate::jsonrpc::{self, Id, Kind};
use crate::normalize::Normalizer;
use crate::sync::lock;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// Routes server messages to stdout and answers client requests.
pub struct Router {
    out: mpsc::Sender<Bytes>,
    pending: Mutex<HashMap<Box<str>, Pending>>,
    init_id: Mutex<Option<Box<str>>>,
    protocol_version: Mutex<Option<String>>,
    /// Goes true once the initialize request has its answer (or error).
    initialized: watch::Sender<bool>,
    /// How many client requests await an answer.
    in_flight: watch::Sender<usize>,
    creds_desc: String,
    has_creds: bool,
    /// The compatibility fixes for responses; `None` with `--strict`.
    normalizer: Option<Normalizer>,
    /// The `x-mcp-header` annotations of the listed tools (their `tools/list` replies pass here).
    tools: Arc<ToolHeaders>,
    /// The server has answered a request: later failures are not the URL's fault.
    worked: AtomicBool,
}

/// A client request awaiting its answer.
struct Pending {
    id: Id,
    /// Its method: which compatibility fixes apply to the answer.
    method: Option<Box<str>>,
    /// It is a 2026-07-28 request.
    modern: bool,
}

impl Router {
    /// A router writing to `out`; `creds_desc` names the credential sources for error messages.
    pub fn new(out: mpsc::Sender<Bytes>, creds_desc: String, has_creds: bool) -> Self {
        Router {
            out,
            pending: Mutex::new(HashMap::new()),
            init_id: Mutex::new(None),
            protocol_version: Mutex::new(None),
            initialized: watch::channel(false).0,
            in_flight: watch::channel(0).0,
            creds_desc,
            has_creds,
            normalizer: Some(Normalizer::new()),
            tools: Arc::default(),
            worked: AtomicBool::new(false),
        }
    }

    /// Turns the compatibility fixes for responses on (the default) or off (`--strict`).
    pub fn normalising(mut self, on: bool) -> Self {
        self.normalizer = on.then(Normalizer::new);
        self
    }

    /// Records a client request for `method` (of the 2026-07-28 era when `modern`); false
    /// when that id is already awaiting an answer.
    pub fn register(&self, id: &Id, method: Option<&str>, modern: bool) -> bool {
        let count = {
            let mut pending = lock(&self.pending);
            if pending.contains_key(id.key()) {
                return false;
            }
            let method = method.map(Box::from);
            pending.insert(
                id.key().into(),
                Pending {
                    id: id.clone(),
                    method,
                    modern,
                },
            );
            pending.len()
        };
        // Published after the lock is released: watchers call `is_pending` under the watch lock.
        self.in_flight.send_replace(count);
        true
    }

    /// Marks `id` as the initialize request, whose answer opens the gate.
    pub fn set_initialize(&self, id: &Id) {
        *lock(&self.init_id) = Some(id.key().into());
        self.initialized.send_replace(false);
    }

    /// True while `id` still awaits an answer.
    pub fn is_pending(&self, id: &Id) -> bool {
        lock(&self.pending).contains_key(id.key())
    }

    /// True when `id` awaits an answer to a 2026-07-28 request.
    pub fn is_modern(&self, id: &Id) -> bool {
        lock(&self.pending).get(id.key()).is_some_and(|p| p.modern)
    }

    /// The pending requests for `method` (the long-lived `subscriptions/listen` ones).
    pub fn pending_for(&self, method: &str) -> Vec<Id> {
        lock(&self.pending)
            .values()
            .filter(|p| p.method.as_deref() == Some(method))
            .map(|p| p.id.clone())
            .collect()
    }

    /// What the listed tools' `x-mcp-header` annotations are.
    pub fn tool_headers(&self) -> &Arc<ToolHeaders> {
        &self.tools
    }

    /// Number of client requests awaiting an answer, as a watch.
    pub fn in_flight(&self) -> watch::Receiver<usize> {
        self.in_flight.subscribe()
    }

    /// Goes true when the initialize request has been answered.
    pub fn initialized(&self) -> watch::Receiver<bool> {
        self.initialized.subscribe()
    }

    /// The protocol version the server chose, once known.
    pub fn protocol_version(&self) -> Option<String> {
        lock(&self.protocol_version).clone()
    }

    /// Delivers one server message (or a batch): requests and notifications go out; responses
    /// only when they answer a pending request.
    pub async fn deliver(&self, raw: Bytes) {
        let parts = match jsonrpc::split_batch(&raw) {
            Ok(parts) => parts,
            Err(e) => {
                tracing::warn!(
                    "dropping a server message that is not JSON-RPC: {}",
                    e.reason
                );
                return;
            }
        };
        for part in parts {
            match jsonrpc::classify(part) {
                Ok(msg) if msg.kind == Kind::Response => {
                    if let Some(call) = msg.id.as_ref().and_then(|id| self.take(id)) {
                        self.worked.store(true, Ordering::Relaxed);
                        let mut raw = match &self.normalizer {
                            Some(n) => n.response(call.method.as_deref(), msg.raw),
                            None => msg.raw,
                        };
                        if call.method.as_deref() == Some("tools/list")
                            && let Some(kept) = self.tools.on_list_reply(&raw)
                        {
                            raw = kept.into();
                        }
                        self.after_answer(&call.id, Some(&raw));
                        self.write(raw).await;
                    } else {
                        tracing::debug!("dropping a reply to no pending request");
                    }
                }
                Ok(msg) => self.write(msg.raw).await,
                Err(e) => tracing::debug!("dropping a server message: {}", e.reason),
            }
        }
    }

    /// Answers `id` with the bridge's error for `err`, unless it was answered already.
    pub async fn fail(&self, id: &Id, err: &UpstreamError) {
        if let Some(call) = self.take(id) {
            tracing::warn!("request {} failed: {err}", id.raw());
            self.after_answer(id, None);
            let ctx = Context {
                creds: &self.creds_desc,
                has_creds: self.has_creds,
                modern: call.modern,
                worked: self.worked.load(Ordering::Relaxed),
            };
            self.write(err.to_reply(id, &ctx)).await;
        }
    }

    /// Answers `id` with any bridge-made error reply (bad input, duplicates).
    pub async fn reply_now(&self, reply: Bytes) {
        self.write(reply).await;
    }

    /// Stops tracking `id` without answering it: the client cancelled it, so a late reply
    /// must be dropped.
    pub fn forget(&self, id: &Id) {
        if self.take(id).is_some() {
            self.after_answer(id, None);
        }
    }

    /// Answers every pending request with `err` (a lost legacy stream, or shutdown).
    pub async fn fail_all(&self, err: &UpstreamError) {
        self.fail_all_but(err, |_| false).await;
    }

    /// The same, sparing the requests `keep` names (a legacy SSE sender will deliver them).
    pub async fn fail_all_but(&self, err: &UpstreamError, keep: impl Fn(&Id) -> bool) {
        let ids: Vec<Id> = lock(&self.pending)
            .values()
            .filter(|p| !keep(&p.id))
            .map(|p| p.id.clone())
            .collect();
        for id in ids {
            self.fail(&id, err).await;
        }
    }

    fn take(&self, id: &Id) -> Option<Pending> {
        let (taken, count) = {
            let mut pending = lock(&self.pending);
            let taken = pending.remove(id.key());
            (taken, pending.len())
        };
        self.in_flight.send_replace(count);
        taken
    }

    /// Opens the initialize gate when its answer passes, reading the negotiated version first
    /// so that messages released by the gate carry it.
    fn after_answer(&self, id: &Id, reply: Option<&Bytes>) {
        let mut init = lock(&self.init_id);
        if init.as_deref() != Some(id.key()) {
            return;
        }
        *init = None;
        if let Some(version) = reply.and_then(|r| jsonrpc::protocol_version(r)) {
            tracing::info!("server chose protocol version {version}");
            *lock(&self.protocol_version) = Some(version);
        }
        self.initialized.send_replace(true);
    }

    async fn write(&self, line: Bytes) {
        if self.out.send(jsonrpc::one_line(line)).await.is_err() {
            tracing::debug!("stdout is closed; message dropped");
        }
    }
}
