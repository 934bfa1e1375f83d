//! Where every message bound for stdout goes through: it tracks which client requests await
//! an answer, so that each is answered exactly once, and drops what must not reach the client
//! (replies to notifications, late or unknown replies). Replies pass the compatibility fixes
//! (`normalize`) on the way, keyed by the method they answer.

use crate::era::tool_headers::ToolHeaders;
use crate::error::{Context, UpstreamError};
use crate::jsonrpc::{self, Id, Kind};
use crate::normalize::Normalizer;
use crate::sync::lock_ignoring_poison;
use crate::tool_filter::ToolFilter;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

mod handle;
mod listens;
mod redirect;

pub use listens::Filter;
pub use redirect::{Claim, INPUT_TIMEOUT};

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
    /// The last message written was a notification (progress, a log line).
    after_notification: AtomicBool,
    /// Replies to the bridge's own requests, by id key: they never reach stdout.
    expected: Mutex<HashMap<Box<str>, oneshot::Sender<Bytes>>>,
    /// A 2026-07-28 client talks to a stateful server: its results gain `resultType`.
    downgraded: AtomicBool,
    /// Messages the router sends the server itself (a refused server request), which the
    /// relay takes from `server_bound` and sends as its own.
    to_server: mpsc::UnboundedSender<Bytes>,
    server_bound: Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>,
    /// Input rounds under way for a stateless client, by `requestState` handle.
    parked: Arc<Mutex<HashMap<String, redirect::Parked>>>,
    /// Mints and checks those handles (`router/handle.rs`).
    handles: handle::Handles,
    /// How long an input round waits for the client's retry before its call is cancelled.
    input_timeout: std::time::Duration,
    /// Answers to upstream calls that now belong to another client id (an input round's
    /// retry): the target once known, else the answer kept until it is.
    redirects: Arc<Mutex<HashMap<Box<str>, redirect::Redirect>>>,
    /// The `subscriptions/listen` requests the bridge emulates on a stateful session.
    listens: Mutex<HashMap<Box<str>, (Id, Filter)>>,
    /// Tool filter hook: which tools the client may see and call (src/tool_filter.rs).
    tool_filter: ToolFilter,
}

/// A client request awaiting its answer.
struct Pending {
    id: Id,
    /// Its method: which compatibility fixes apply to the answer.
    method: Option<Box<str>>,
    /// It is a 2026-07-28 request.
    modern: bool,
    /// The request itself, kept for a call an input round may interrupt (`keep_request`).
    raw: Option<Bytes>,
}

impl Router {
    /// A router writing to `out`; `creds_desc` names the credential sources for error messages.
    pub fn new(out: mpsc::Sender<Bytes>, creds_desc: String, has_creds: bool) -> Self {
        let (to_server, server_bound) = mpsc::unbounded_channel();
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
            after_notification: AtomicBool::new(false),
            expected: Mutex::new(HashMap::new()),
            downgraded: AtomicBool::new(false),
            to_server,
            server_bound: Mutex::new(Some(server_bound)),
            parked: Arc::default(),
            handles: handle::Handles::default(),
            input_timeout: redirect::INPUT_TIMEOUT,
            redirects: Arc::default(),
            listens: Mutex::new(HashMap::new()),
            tool_filter: ToolFilter::default(),
        }
    }

    /// Tool filter hook: hides tools from the client (`--allow-tool`, `--deny-tool`).
    pub fn filtering_tools(mut self, filter: ToolFilter) -> Self {
        self.tool_filter = filter;
        self
    }

    /// Tool filter hook: the filter the relay checks client requests against.
    pub fn tool_filter(&self) -> &ToolFilter {
        &self.tool_filter
    }

    /// How long an input round waits for a 2026-07-28 client's retry (`--input-timeout`).
    pub fn with_input_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.input_timeout = timeout;
        self
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
            let mut pending = lock_ignoring_poison(&self.pending);
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
                    raw: None,
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
        *lock_ignoring_poison(&self.init_id) = Some(id.key().into());
        self.initialized.send_replace(false);
    }

    /// True while `id` still awaits an answer.
    pub fn is_pending(&self, id: &Id) -> bool {
        lock_ignoring_poison(&self.pending).contains_key(id.key())
    }

    /// True when `id` awaits an answer to a 2026-07-28 request.
    pub fn is_modern(&self, id: &Id) -> bool {
        lock_ignoring_poison(&self.pending)
            .get(id.key())
            .is_some_and(|p| p.modern)
    }

    /// The pending requests for `method` (the long-lived `subscriptions/listen` ones).
    pub fn pending_for(&self, method: &str) -> Vec<Id> {
        lock_ignoring_poison(&self.pending)
            .values()
            .filter(|p| p.method.as_deref() == Some(method))
            .map(|p| p.id.clone())
            .collect()
    }

    /// The reply to the bridge's own request `id_key` (as [`Id::key`] spells it), which goes
    /// to the returned receiver instead of stdout.
    pub fn expect(&self, id_key: &str) -> oneshot::Receiver<Bytes> {
        let (tx, rx) = oneshot::channel();
        lock_ignoring_poison(&self.expected).insert(id_key.into(), tx);
        rx
    }

    /// The protocol version of a session the bridge opened itself.
    pub fn set_protocol_version(&self, version: &str) {
        *lock_ignoring_poison(&self.protocol_version) = Some(version.to_string());
    }

    /// From now on the 2026-07-28 client's results come from a stateful server.
    pub fn set_downgraded(&self) {
        self.downgraded.store(true, Ordering::Relaxed);
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
        lock_ignoring_poison(&self.protocol_version).clone()
    }

    /// Delivers one server message (or a batch): requests and notifications go out; responses
    /// only when they answer a pending request.
    pub async fn deliver(&self, raw: Bytes) {
        self.deliver_on(raw, None).await
    }

    /// The same for a message read on the reply stream of the request `stream_of`, to which
    /// a server request there belongs.
    pub async fn deliver_on(&self, raw: Bytes, stream_of: Option<&Id>) {
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
                    let own = msg
                        .id
                        .as_ref()
                        .and_then(|id| lock_ignoring_poison(&self.expected).remove(id.key()));
                    if let Some(tx) = own {
                        let _ = tx.send(msg.raw);
                    } else if let Some(call) = msg.id.as_ref().and_then(|id| self.take(id)) {
                        self.answer(call, msg.raw).await;
                    } else if let Some((call, raw)) =
                        msg.id.as_ref().and_then(|id| self.redirected(id, msg.raw))
                    {
                        self.answer(call, raw).await;
                    } else {
                        tracing::debug!("dropping a reply to no pending request");
                    }
                }
                Ok(msg) if msg.kind == Kind::Request && self.takes_ask(&msg) => {
                    self.park(msg, stream_of).await
                }
                Ok(msg)
                    if let Some(copies) = msg
                        .method
                        .as_deref()
                        .and_then(|m| self.fan_out(m, &msg.raw)) =>
                {
                    for copy in copies {
                        self.write(copy).await;
                    }
                }
                Ok(msg) => {
                    if msg.kind == Kind::Notification {
                        self.after_notification.store(true, Ordering::Relaxed);
                    }
                    self.write(msg.raw).await
                }
                Err(e) => tracing::debug!("dropping a server message: {}", e.reason),
            }
        }
    }

    /// Writes the answer to a pending client request, through the compatibility fixes.
    async fn answer(&self, call: Pending, raw: Bytes) {
        self.worked.store(true, Ordering::Relaxed);
        let mut raw = match &self.normalizer {
            Some(n) => n.response(call.method.as_deref(), raw),
            None => raw,
        };
        if call.modern && self.downgraded.load(Ordering::Relaxed) {
            raw = crate::era::results::with_result_type(raw, call.method.as_deref());
        }
        if call.method.as_deref() == Some("tools/list")
            && let Some(kept) = self.tools.on_list_reply(&raw)
        {
            raw = kept.into();
        }
        // Tool filter hook: hidden tools leave tools/list results.
        let raw = self
            .tool_filter
            .screen_reply(call.method.as_deref(), &call.id, raw);
        self.after_answer(&call.id, Some(&raw));
        self.settle_notifications().await;
        self.write(raw).await;
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

    /// Answers every pending request with `err`: on a signal, when the grace is over.
    pub async fn fail_all(&self, err: &UpstreamError) {
        self.fail_all_but(err, |_| false).await;
    }

    /// The same, sparing those `keep` names (a lost legacy stream's unsent requests).
    pub async fn fail_all_but(&self, err: &UpstreamError, keep: impl Fn(&Id) -> bool) {
        let ids: Vec<Id> = lock_ignoring_poison(&self.pending)
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
            let mut pending = lock_ignoring_poison(&self.pending);
            let taken = pending.remove(id.key());
            (taken, pending.len())
        };
        self.in_flight.send_replace(count);
        taken
    }

    /// Opens the initialize gate when its answer passes, reading the negotiated version first
    /// so that messages released by the gate carry it.
    fn after_answer(&self, id: &Id, reply: Option<&Bytes>) {
        let mut init = lock_ignoring_poison(&self.init_id);
        if init.as_deref() != Some(id.key()) {
            return;
        }
        *init = None;
        if let Some(version) = reply.and_then(|r| jsonrpc::protocol_version(r)) {
            tracing::info!("server chose protocol version {version}");
            *lock_ignoring_poison(&self.protocol_version) = Some(version);
        }
        self.initialized.send_replace(true);
    }

    /// A response right behind a notification waits a moment, so the two reach the client
    /// in separate reads: the official TypeScript SDK clients (1.x and 2.x) run notification
    /// handlers a microtask later but settle a response at once, so a final progress
    /// notification read in the same chunk as its response is reported as being "for an
    /// unknown token" and lost. Only exchanges that had notifications pay it.
    async fn settle_notifications(&self) {
        if self.after_notification.swap(false, Ordering::Relaxed) {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    async fn write(&self, line: Bytes) {
        if self.out.send(jsonrpc::one_line(line)).await.is_err() {
            tracing::debug!("stdout is closed; message dropped");
        }
    }
}
