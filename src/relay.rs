//! The relay pump: reads client messages from stdin, holds them until `initialize` is
//! answered, sends them upstream (requests concurrently, notifications in order), and shuts
//! down cleanly: on stdin EOF once every request is answered, on a signal after a short grace.

use crate::error::UpstreamError;
use crate::jsonrpc::{self, Kind, Message};
use crate::router::Router;
use crate::stdio::{Frame, LineReader};
use crate::sync::lock_ignoring_poison;
use crate::transport::Upstream;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncBufRead;
use waits::{next_bound, shutdown_signal, watch_reaches};

mod waits;

/// How long a signal waits for in-flight replies before the bridge exits.
const SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// Why the pump stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// stdin closed and every request was answered.
    Eof,
    /// SIGTERM or SIGINT.
    Signal,
}

/// The pump's state.
pub struct Relay<R> {
    input: LineReader<R>,
    router: Arc<Router>,
    upstream: Arc<Upstream>,
    /// Messages waiting for the initialize reply.
    held: VecDeque<Message>,
    initializing: bool,
    request_timeout: Option<Duration>,
    /// The exchanges of 2026-07-28 requests, by id key: cancelling one closes its stream.
    exchanges: Arc<Mutex<HashMap<Box<str>, tokio::task::AbortHandle>>>,
    /// Messages the router sends the server itself.
    server_bound: Option<tokio::sync::mpsc::UnboundedReceiver<Bytes>>,
}

impl<R: AsyncBufRead + Unpin> Relay<R> {
    /// A pump reading `input` (lines of at most `max_line` bytes).
    pub fn new(
        input: R,
        max_line: usize,
        router: Arc<Router>,
        upstream: Arc<Upstream>,
        request_timeout: Option<Duration>,
    ) -> Self {
        let server_bound = router.server_bound();
        Relay {
            server_bound,
            input: LineReader::new(input, max_line),
            router,
            upstream,
            held: VecDeque::new(),
            initializing: false,
            request_timeout,
            exchanges: Arc::default(),
        }
    }

    /// Runs until stdin closes and all is answered, or a signal arrives; then ends the session.
    pub async fn run(mut self) -> Stop {
        let mut initialized = self.router.initialized();
        let mut in_flight = self.router.in_flight();
        let mut stdin_open = true;
        let signal = shutdown_signal();
        tokio::pin!(signal);
        let stop = loop {
            tokio::select! {
                frame = self.input.next_frame(), if stdin_open => match frame {
                    Ok(Some(frame)) => self.on_frame(frame).await,
                    Ok(None) => {
                        stdin_open = false;
                        self.end_listens();
                    }
                    Err(e) => {
                        tracing::warn!("reading stdin failed: {e}");
                        stdin_open = false;
                        self.end_listens();
                    }
                },
                // `watch_reaches` drops the watch's read guard before the body runs: dispatching
                // a held `initialize` writes to that watch, which would deadlock under the guard.
                () = watch_reaches(&mut initialized, true), if self.initializing => {
                    self.initializing = false;
                    while let Some(msg) = self.held.pop_front() {
                        self.dispatch(msg).await;
                        if self.initializing {
                            break;
                        }
                    }
                }
                Some(raw) = next_bound(&mut self.server_bound) => {
                    if let Ok(msg) = jsonrpc::classify(raw) {
                        self.dispatch(msg).await;
                    }
                }
                () = watch_reaches(&mut in_flight, 0), if !stdin_open && !self.initializing && self.held.is_empty() => {
                    break Stop::Eof;
                }
                _ = &mut signal => {
                    tracing::info!("signal received; finishing in-flight requests");
                    let mut draining = self.router.in_flight();
                    let _ = tokio::time::timeout(SIGNAL_GRACE, draining.wait_for(|n| *n == 0)).await;
                    // Said before the session ends, so no request is blamed on the server.
                    let stopping = UpstreamError::ShuttingDown {
                        origin: self.upstream.origin().into(),
                    };
                    self.router.fail_all(&stopping).await;
                    break Stop::Signal;
                }
            }
        };
        self.upstream.close().await;
        stop
    }

    async fn on_frame(&mut self, frame: Frame) {
        let line =
            match frame {
                Frame::Line(line) => line,
                Frame::TooLong => return self
                    .reject(
                        None,
                        jsonrpc::PARSE_ERROR,
                        "line longer than the message limit (--max-message-mib); it was dropped",
                    )
                    .await,
                Frame::NotUtf8 => {
                    return self
                        .reject(None, jsonrpc::PARSE_ERROR, "line is not valid UTF-8")
                        .await;
                }
            };
        let first = line.iter().find(|b| !b.is_ascii_whitespace()).copied();
        // Almost every line is an object, whose one parse is `classify`'s; anything else,
        // and an object `classify` refused, is first checked for being JSON at all.
        let not_json = |line: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(line).err();
        if first != Some(b'{')
            && let Some(e) = not_json(&line)
        {
            return self
                .reject(None, jsonrpc::PARSE_ERROR, &format!("not JSON: {e}"))
                .await;
        }
        match first {
            Some(b'{') => match jsonrpc::classify(line.clone()) {
                Ok(msg) => self.accept(msg).await,
                Err(e) => match not_json(&line) {
                    Some(e) => {
                        self.reject(None, jsonrpc::PARSE_ERROR, &format!("not JSON: {e}"))
                            .await
                    }
                    None => {
                        self.reject(e.id.as_ref(), jsonrpc::INVALID_REQUEST, &e.reason)
                            .await
                    }
                },
            },
            Some(b'[') => self.accept_batch(line).await,
            _ => {
                self.reject(
                    None,
                    jsonrpc::INVALID_REQUEST,
                    "a JSON-RPC message must be a JSON object",
                )
                .await
            }
        }
    }

    /// A batch (protocol 2025-03-26) is forwarded whole; its requests are tracked one by one.
    async fn accept_batch(&mut self, mut line: Bytes) {
        // Tool filter hook (src/tool_filter.rs): refused tools/calls are answered here and cut
        // out of the batch; the server never sees them.
        if let Some((rest, refusals)) = self.router.tool_filter().screen_batch(&line) {
            for reply in refusals {
                self.router.reply_now(reply).await;
            }
            let Some(rest) = rest else { return };
            line = rest;
        }
        let parts = match jsonrpc::split_batch(&line) {
            Ok(parts) => parts,
            Err(e) => return self.reject(None, jsonrpc::INVALID_REQUEST, &e.reason).await,
        };
        let mut ids = Vec::new();
        let mut methods = Vec::new();
        for part in parts {
            match jsonrpc::classify(part) {
                Ok(m) if m.is("initialize") => {
                    return self
                        .reject(
                            None,
                            jsonrpc::INVALID_REQUEST,
                            "initialize cannot be in a batch",
                        )
                        .await;
                }
                Ok(m) if m.kind == Kind::Request => {
                    ids.extend(m.id);
                    methods.push(m.method);
                }
                Ok(_) => {}
                Err(e) => {
                    return self
                        .reject(
                            None,
                            jsonrpc::INVALID_REQUEST,
                            &format!("in batch: {}", e.reason),
                        )
                        .await;
                }
            }
        }
        let msg = Message {
            raw: line,
            kind: if ids.is_empty() {
                Kind::Notification
            } else {
                Kind::Request
            },
            id: None,
            method: None,
            spans: None,
            // Batches belong to 2025-03-26.
            modern: false,
        };
        if let Some(dup) = ids.iter().find(|id| self.router.is_pending(id)) {
            let reason = format!("in batch: id {} is already awaiting an answer", dup.raw());
            return self.reject(None, jsonrpc::INVALID_REQUEST, &reason).await;
        }
        for (id, method) in ids.iter().zip(&methods) {
            self.router.register(id, method.as_deref(), false);
        }
        self.forward(msg, ids);
    }

    async fn accept(&mut self, msg: Message) {
        // Tool filter hook (src/tool_filter.rs): a call of a hidden tool is answered here.
        if let Some(reply) = self.router.tool_filter().refusal(&msg) {
            return self.router.reply_now(reply).await;
        }
        if msg.is("notifications/cancelled")
            && let Some(id) = jsonrpc::cancelled_request(&msg.raw)
        {
            // Over 2026-07-28 HTTP, closing the request's stream is the cancellation.
            let modern = self.router.is_modern(&id) || self.upstream.translating();
            self.router.forget(&id);
            if modern {
                if let Some(task) = lock_ignoring_poison(&self.exchanges).remove(id.key()) {
                    tracing::debug!("cancelled request {}: closing its stream", id.raw());
                    task.abort();
                }
                // A stateful server held for a 2026-07-28 client still needs to be told.
                if !self.upstream.downgraded() {
                    return;
                }
            }
        }
        if msg.kind == Kind::Request
            && let Some(id) = &msg.id
            && !self.router.register(id, msg.method.as_deref(), msg.modern)
        {
            return self
                .reject(
                    None,
                    jsonrpc::INVALID_REQUEST,
                    &format!("id {} is already awaiting an answer", id.raw()),
                )
                .await;
        }
        if self.initializing && !msg.is("ping") {
            self.held.push_back(msg);
        } else {
            self.dispatch(msg).await;
        }
    }

    /// Sends one message: requests run concurrently, everything else in order.
    async fn dispatch(&mut self, msg: Message) {
        if msg.is("initialize") && msg.kind == Kind::Request {
            if let Some(id) = &msg.id {
                self.router.set_initialize(id);
            }
            self.initializing = true;
        }
        match (msg.kind, msg.id.clone()) {
            (Kind::Request, Some(id)) => self.forward(msg, vec![id]),
            _ => {
                if let Err(e) = self.upstream.send(&msg).await {
                    tracing::warn!("could not deliver a {}: {e}", describe(&msg));
                }
            }
        }
    }

    /// Sends a message carrying `ids` in the background; each id is answered with the error
    /// if sending fails, or when `--request-timeout` passes first.
    fn forward(&self, msg: Message, ids: Vec<jsonrpc::Id>) {
        let upstream = self.upstream.clone();
        let router = self.router.clone();
        // A subscription is meant to stay open.
        let limit = self
            .request_timeout
            .filter(|_| !msg.is("subscriptions/listen"));
        let modern = msg.modern || self.upstream.translating();
        let exchanges = self.exchanges.clone();
        let key: Option<Box<str>> = ids.first().filter(|_| modern).map(|id| id.key().into());
        let task_key = key.clone();
        let task = tokio::spawn(async move {
            let exchange = async {
                if let Err(e) = upstream.send(&msg).await {
                    for id in &ids {
                        router.fail(id, &e).await;
                    }
                }
                // Legacy SSE answers on its stream, after the POST is done.
                let mut answered = router.in_flight();
                let _ = answered
                    .wait_for(|_| ids.iter().all(|id| !router.is_pending(id)))
                    .await;
            };
            let finished = match limit {
                None => {
                    exchange.await;
                    true
                }
                Some(limit) => tokio::time::timeout(limit, exchange).await.is_ok(),
            };
            if let Some(key) = &task_key {
                lock_ignoring_poison(&exchanges).remove(key);
            }
            if finished {
                return;
            }
            let err = UpstreamError::Timeout {
                origin: upstream.origin().into(),
                what: format!(
                    "no answer within {}s, --request-timeout",
                    limit.unwrap_or_default().as_secs_f64()
                ),
            };
            for id in ids.iter().filter(|id| router.is_pending(id)) {
                router.fail(id, &err).await;
                if modern {
                    // The dropped exchange closed the stream: that is the cancellation.
                    continue;
                }
                let cancel = jsonrpc::cancellation(id, "mcp-keybridge: --request-timeout passed");
                if let Ok(note) = jsonrpc::classify(cancel) {
                    let _ = upstream.send(&note).await;
                }
            }
        });
        // The runtime is single-threaded, so the task has not run (nor removed its key) yet.
        if let Some(key) = key {
            lock_ignoring_poison(&self.exchanges).insert(key, task.abort_handle());
        }
    }

    /// On stdin EOF: nobody is left to read a subscription's notifications, and its stream
    /// would hold the exit forever, so the `subscriptions/listen` requests end here.
    fn end_listens(&self) {
        for id in self.router.pending_for("subscriptions/listen") {
            self.router.forget(&id);
            if let Some(task) = lock_ignoring_poison(&self.exchanges).remove(id.key()) {
                task.abort();
            }
        }
    }

    async fn reject(&self, id: Option<&jsonrpc::Id>, code: i64, reason: &str) {
        tracing::warn!("bad input from the client: {reason}");
        let message = format!("mcp-keybridge: {reason}");
        let data = serde_json::json!({ "source": "mcp-keybridge" });
        self.router
            .reply_now(jsonrpc::error_reply(id, code, &message, Some(data)))
            .await;
    }
}

fn describe(msg: &Message) -> String {
    match (&msg.method, msg.kind) {
        (Some(m), _) => format!("{m} notification"),
        (None, Kind::Response) => "response".into(),
        _ => "message".into(),
    }
}
