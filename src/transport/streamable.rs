//! MCP Streamable HTTP (2025-03-26 and later): one POST per message, replies as JSON or as an
//! event stream, a session id from the initialize reply, an optional GET stream for server
//! messages, and DELETE to end the session.
//!
//! Faults it absorbs: an expired session (404, or the 400 some servers give, see `stale.rs`)
//! is re-initialized with the client's own `initialize` and the message sent again, once; a
//! reply stream cut after events with ids is resumed with `Last-Event-ID`. A request whose
//! fate is unknown is never sent twice.

use super::http::{Http, content_type};
use super::resume::{EventCursor, StreamEnd};
use crate::error::UpstreamError;
use crate::jsonrpc::{self, Id, Kind, Message};
use crate::router::Router;
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{RequestBuilder, Response};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

mod get_stream;
mod stale;

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const LAST_EVENT_ID: &str = "last-event-id";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// How many times a cut reply stream is resumed before the request gets an error.
const MAX_RESUMES: u32 = 5;

/// One Streamable HTTP session with the server.
pub struct Streamable {
    http: Arc<Http>,
    url: Url,
    router: Arc<Router>,
    session: Mutex<Option<HeaderValue>>,
    /// The client's own `initialize`, replayed when the session expires.
    client_init: Mutex<Option<Bytes>>,
    /// Goes up each time the session is re-established.
    epoch: AtomicU64,
    reinit: tokio::sync::Mutex<()>,
    /// The session expired and re-initializing has not succeeded yet.
    session_lost: AtomicBool,
    get_started: AtomicBool,
    /// The epoch of the last session whose GET stream settled (opened, or refused).
    get_settled: tokio::sync::watch::Sender<Option<u64>>,
    /// The GET stream's task, aborted on close so nothing is sent after the DELETE.
    get_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    closed: AtomicBool,
}

impl Streamable {
    /// A session with the endpoint `url`; nothing is sent until the first message.
    pub fn new(http: Arc<Http>, url: Url, router: Arc<Router>) -> Self {
        Streamable {
            http,
            url,
            router,
            session: Mutex::new(None),
            client_init: Mutex::new(None),
            epoch: AtomicU64::new(0),
            reinit: tokio::sync::Mutex::new(()),
            session_lost: AtomicBool::new(false),
            get_started: AtomicBool::new(false),
            get_settled: tokio::sync::watch::channel(None).0,
            get_task: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// POSTs a message and returns the response once its status is known (2xx only).
    pub async fn post(&self, msg: &Message) -> Result<Response, UpstreamError> {
        if msg.is("initialize") {
            *lock_ignoring_poison(&self.client_init) = Some(msg.raw.clone());
            // The first POST to a server of either era: a 2026-07-28 one (or a gateway in
            // front of it) routes on Mcp-Method; a stateful one ignores it.
            return self.post_with(&msg.raw, Some("initialize")).await;
        }
        self.post_raw(&msg.raw).await
    }

    async fn post_raw(&self, body: &Bytes) -> Result<Response, UpstreamError> {
        self.post_with(body, None).await
    }

    async fn post_with(
        &self,
        body: &Bytes,
        method: Option<&'static str>,
    ) -> Result<Response, UpstreamError> {
        self.http
            .send(|c| {
                let req = self
                    .with_session(c.post(self.url.clone()))
                    .header(ACCEPT, ACCEPT_BOTH)
                    .header(CONTENT_TYPE, "application/json");
                match method {
                    Some(m) => req.header(crate::era::headers::METHOD, m),
                    None => req,
                }
                .body(body.clone())
            })
            .await
    }

    /// Sends one message and relays everything the server answers on that exchange. A 404
    /// (or a session 400) for a message carrying a session id means the session expired: it
    /// is re-established and the message sent once more (the server never saw it); a second
    /// refusal goes to the client, so a server that refuses for another reason is not looped on.
    pub async fn send(self: &Arc<Self>, msg: &Message) -> Result<(), UpstreamError> {
        if !msg.is("initialize") {
            self.settle_session().await?;
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let had_session = self.session_header().is_some();
        match self.post(msg).await {
            Err(e) if had_session && !msg.is("initialize") && stale::session_lost(&e) => {
                tracing::info!(
                    "session expired (HTTP {}); initializing a new one",
                    e.http_status().unwrap_or_default()
                );
                self.reinitialize(epoch).await?;
                let resp = self.post(msg).await?;
                self.relay_reply(msg, resp).await
            }
            Ok(resp) => self.relay_reply(msg, resp).await,
            Err(e) => Err(e),
        }
    }

    /// Waits for a re-initialization under way, and retries one that failed (the server was
    /// down, say), so that no message goes out without the new session id.
    async fn settle_session(self: &Arc<Self>) -> Result<(), UpstreamError> {
        drop(self.reinit.lock().await);
        if self.session_lost.load(Ordering::SeqCst) {
            self.reinitialize(self.epoch.load(Ordering::SeqCst)).await?;
        }
        Ok(())
    }

    /// Replays the client's `initialize` under a bridge id (its reply matches no pending
    /// request, so the client never sees it), then `notifications/initialized`. Requests that
    /// hit the expiry together share one re-initialization.
    async fn reinitialize(self: &Arc<Self>, seen_epoch: u64) -> Result<(), UpstreamError> {
        let _guard = self.reinit.lock().await;
        if self.epoch.load(Ordering::SeqCst) != seen_epoch {
            return Ok(());
        }
        let original = lock_ignoring_poison(&self.client_init).clone();
        let replay = original
            .as_deref()
            .and_then(jsonrpc::replay_initialize)
            .ok_or_else(|| UpstreamError::SessionExpired {
                origin: self.http.origin().into(),
            })?;
        // The dead session id stays in place until the new one is known: a message sent
        // meanwhile gets a 404 and waits for this re-initialization, instead of a 400 for
        // carrying no session at all.
        self.session_lost.store(true, Ordering::SeqCst);
        let init = jsonrpc::classify(replay).map_err(|e| UpstreamError::BadReply {
            origin: self.http.origin().into(),
            why: e.reason,
            status: None,
        })?;
        let resp = self
            .http
            .send(|c| {
                c.post(self.url.clone())
                    .header(ACCEPT, ACCEPT_BOTH)
                    .header(CONTENT_TYPE, "application/json")
                    .body(init.raw.clone())
            })
            .await?;
        self.capture_session(&resp);
        self.relay_body(resp, None).await?;
        let initialized =
            Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        let resp = self.post_raw(&initialized).await?;
        self.relay_body(resp, None).await?;
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.session_lost.store(false, Ordering::SeqCst);
        self.get_started.store(false, Ordering::SeqCst);
        self.start_get_stream();
        Ok(())
    }

    /// Reads the POST's reply (JSON, an event stream, or nothing) into the router. A request
    /// left unanswered when it ends is an error.
    pub async fn relay_reply(
        self: &Arc<Self>,
        msg: &Message,
        resp: Response,
    ) -> Result<(), UpstreamError> {
        let status = resp.status().as_u16();
        if msg.is("initialize") {
            self.capture_session(&resp);
        }
        let pending = |s: &Self| {
            msg.kind == Kind::Request && msg.id.as_ref().is_some_and(|id| s.router.is_pending(id))
        };
        if let Some(end) = self.relay_body(resp, msg.id.as_ref()).await? {
            self.resume(end, || pending(self)).await?;
        }
        if msg.is("notifications/initialized") {
            self.start_get_stream();
        }
        if pending(self) {
            return Err(UpstreamError::NoAnswer {
                origin: self.http.origin().into(),
                status: Some(status),
            });
        }
        Ok(())
    }

    /// Relays one reply body; for an event stream, says where it ended.
    async fn relay_body(
        &self,
        resp: Response,
        request: Option<&Id>,
    ) -> Result<Option<StreamEnd>, UpstreamError> {
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        if content_type.starts_with("text/event-stream") {
            let cursor = EventCursor::answering(request);
            return Ok(Some(
                cursor
                    .relay(resp, &self.router, self.http.limit(), self.http.origin())
                    .await,
            ));
        }
        if status == 202 || status == 204 {
            return Ok(None);
        }
        let body = self.http.read_body(resp).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !content_type.contains("json")
            && serde_json::from_slice::<&serde_json::value::RawValue>(&body).is_err()
        {
            let got = if content_type.is_empty() {
                "no content type"
            } else {
                &content_type
            };
            return Err(UpstreamError::BadReply {
                origin: self.http.origin().into(),
                why: format!("expected JSON, got {got}"),
                status: Some(status),
            });
        }
        self.router.deliver(body).await;
        Ok(None)
    }

    /// After a reply stream ended: if its request is still unanswered and the events had ids,
    /// GET the rest with `Last-Event-ID`; without ids the request's fate is unknown.
    async fn resume(
        &self,
        mut end: StreamEnd,
        still_pending: impl Fn() -> bool,
    ) -> Result<(), UpstreamError> {
        let mut attempts = 0;
        while still_pending() {
            let Some(last_id) = end.cursor.last_id.clone() else {
                return match end.error {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
            };
            attempts += 1;
            if attempts > MAX_RESUMES {
                return Err(end.error.unwrap_or(UpstreamError::NoAnswer {
                    origin: self.http.origin().into(),
                    status: None,
                }));
            }
            tokio::time::sleep(end.cursor.retry.unwrap_or(Duration::from_millis(500))).await;
            tracing::info!("reply stream cut; resuming after event {last_id}");
            let resp = self
                .http
                .send(|c| {
                    self.with_session(c.get(self.url.clone()))
                        .header(ACCEPT, "text/event-stream")
                        .header(LAST_EVENT_ID, last_id.as_str())
                })
                .await;
            end = match resp {
                Ok(resp) => {
                    end.cursor
                        .relay(resp, &self.router, self.http.limit(), self.http.origin())
                        .await
                }
                // The server will not resume this stream (session gone, id unknown): the reply
                // is lost for good. A connection failure or a 5xx is worth another attempt.
                Err(e @ UpstreamError::Status { status: ..500, .. }) => {
                    return Err(UpstreamError::Unresumable {
                        origin: self.http.origin().into(),
                        status: e.http_status(),
                        cause: e.to_string(),
                    });
                }
                Err(e) => StreamEnd {
                    cursor: end.cursor,
                    error: Some(e),
                },
            };
        }
        Ok(())
    }

    /// Ends the session with DELETE (best effort, bounded).
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(task) = lock_ignoring_poison(&self.get_task).take() {
            task.abort();
        }
        if self.session_header().is_none() {
            return;
        }
        let delete = self
            .http
            .send(|c| self.with_session(c.delete(self.url.clone())));
        match tokio::time::timeout(Duration::from_secs(2), delete).await {
            Ok(Ok(_)) => tracing::debug!("session deleted"),
            Ok(Err(e)) => tracing::debug!("DELETE of the session: {e}"),
            Err(_) => tracing::debug!("DELETE of the session timed out"),
        }
    }

    /// Keeps the session id an initialize reply hands out.
    pub fn capture_session(&self, resp: &Response) {
        if let Some(id) = resp.headers().get(SESSION_HEADER) {
            tracing::debug!("session established");
            *lock_ignoring_poison(&self.session) = Some(id.clone());
        }
    }

    /// Adds the session id and the negotiated protocol version, once known.
    fn with_session(&self, mut req: RequestBuilder) -> RequestBuilder {
        if let Some(s) = self.session_header() {
            req = req.header(SESSION_HEADER, s);
        }
        if let Some(v) = self.router.protocol_version() {
            req = req.header(VERSION_HEADER, v);
        }
        req
    }

    fn session_header(&self) -> Option<HeaderValue> {
        lock_ignoring_poison(&self.session).clone()
    }
}
