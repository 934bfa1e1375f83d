//! Legacy HTTP+SSE (protocol 2024-11-05): a GET event stream whose first `endpoint` event
//! names where to POST; every server message arrives on that stream.
//!
//! The stream is the session: when it is lost, requests awaiting replies get an error (their
//! replies can no longer arrive), and the bridge reconnects with backoff, takes the new
//! `endpoint` and replays the client's `initialize` so the client carries on unaware. A 404 on
//! the POST endpoint means the server dropped the session while the stream may still be open
//! (Python SDK servers bind a session to the token's subject): the bridge then drops the
//! stream itself and sends the message again, once, on the new session. Messages that arrive
//! while the stream is down wait for the new session, up to `--connect-timeout`.

use super::backoff::Backoff;
use super::http::Http;
use super::resume::EventCursor;
use crate::error::UpstreamError;
use crate::jsonrpc::{self, Kind, Message};
use crate::router::Router;
use crate::sse::{self, Event, SseError};
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

type Events = Pin<Box<dyn Stream<Item = Result<Event, SseError>> + Send>>;

/// Longest `endpoint` event accepted: it is a URL path, and it is kept for the session.
const MAX_ENDPOINT: usize = 8 * 1024;

/// The session messages go to: `endpoint` is `None` while the stream reconnects, and is
/// published only once the replayed `initialize` went out, so nothing overtakes it.
#[derive(Clone, Default)]
struct Session {
    generation: u64,
    endpoint: Option<Url>,
}

/// The session as the reader task and the senders share it: where to POST, the client's
/// `initialize` to replay, what is still to be sent.
struct SessionState {
    http: Arc<Http>,
    url: Url,
    router: Arc<Router>,
    wait: Duration,
    session: watch::Sender<Session>,
    /// The client's own `initialize`, replayed on a new session.
    client_init: Mutex<Option<Bytes>>,
    /// The generation a sender saw refused with 404: the reader drops it and reconnects.
    renew: watch::Sender<u64>,
    /// Requests not yet delivered to a live session (waiting for one, or about to be sent
    /// again): losing the stream must not fail them, they go out on the next one.
    unsent: Mutex<HashSet<Box<str>>>,
}

/// A legacy SSE session that reconnects by itself.
pub struct LegacySse {
    shared: Arc<SessionState>,
    reader: JoinHandle<()>,
}

/// Keeps a request in [`SessionState::unsent`] until it is dropped.
struct Unsent<'a> {
    shared: &'a SessionState,
    key: Option<Box<str>>,
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            lock_ignoring_poison(&self.shared.unsent).remove(key);
        }
    }
}

impl LegacySse {
    /// Opens the event stream and waits (up to `wait`) for the `endpoint` event.
    pub async fn connect(
        http: Arc<Http>,
        url: &Url,
        router: Arc<Router>,
        wait: Duration,
    ) -> Result<Self, UpstreamError> {
        let shared = Arc::new(SessionState {
            http,
            url: url.clone(),
            router,
            wait,
            session: watch::channel(Session::default()).0,
            client_init: Mutex::new(None),
            renew: watch::channel(0).0,
            unsent: Mutex::new(HashSet::new()),
        });
        let (events, endpoint) = shared.open().await?;
        shared.publish(endpoint);
        let reader = tokio::spawn(read_forever(shared.clone(), events));
        Ok(LegacySse { shared, reader })
    }

    /// POSTs one message to the endpoint; the answer arrives on the stream. A 404 renews the
    /// session and sends the message once more (the replayed `initialize` and
    /// `notifications/initialized` already stand for themselves, and a response belongs to a
    /// request of the dropped session).
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        if msg.is("initialize") {
            *lock_ignoring_poison(&self.shared.client_init) = Some(msg.raw.clone());
        }
        let key = msg
            .id
            .as_ref()
            .filter(|_| msg.kind == Kind::Request)
            .map(|id| Box::<str>::from(id.key()));
        if let Some(key) = &key {
            lock_ignoring_poison(&self.shared.unsent).insert(key.clone());
        }
        let _unsent = Unsent {
            shared: &self.shared,
            key,
        };
        let (generation, endpoint) = self.shared.ready(0).await?;
        match self.shared.post_to(&endpoint, &msg.raw).await {
            Err(UpstreamError::Status { status: 404, .. }) if resendable(msg) => {
                tracing::info!(
                    "the server no longer knows the legacy SSE session (HTTP 404); reconnecting"
                );
                self.shared.renew.send_modify(|g| *g = (*g).max(generation));
                let (_, endpoint) = self.shared.ready(generation).await?;
                self.shared.post_to(&endpoint, &msg.raw).await
            }
            other => other,
        }
    }

    /// Stops reading the stream, which ends the session on the server.
    pub fn close(&self) {
        self.reader.abort();
    }
}

fn resendable(msg: &Message) -> bool {
    msg.kind != Kind::Response && !msg.is("initialize") && !msg.is("notifications/initialized")
}

impl SessionState {
    /// GETs the stream and waits for its `endpoint`; returns the rest of the stream.
    async fn open(&self) -> Result<(Events, Url), UpstreamError> {
        let sse_err = |why: String| UpstreamError::Sse {
            origin: self.http.origin().into(),
            why,
        };
        // The GET's refusal is no answer to any client request: the bridge's own error (and
        // its advice about the transport) says more than the server's words for another call.
        let resp = self
            .http
            .send(|c| c.get(self.url.clone()).header(ACCEPT, "text/event-stream"))
            .await
            .map_err(UpstreamError::without_rpc)?;
        let mut events: Events = Box::pin(sse::events(resp.bytes_stream(), self.http.limit()));
        let endpoint = tokio::time::timeout(self.wait, next_endpoint(&mut events))
            .await
            .map_err(|_| {
                sse_err(format!(
                    "no `endpoint` event within {}s; the server may not speak legacy SSE at this URL",
                    self.wait.as_secs_f64()
                ))
            })?
            .map_err(sse_err)?;
        let endpoint = self
            .url
            .join(&endpoint)
            .map_err(|e| sse_err(format!("unreadable endpoint {endpoint:?}: {e}")))?;
        if endpoint.origin() != self.url.origin() {
            return Err(sse_err(format!(
                "the endpoint is on another origin ({}); refused so that no credential is sent there",
                endpoint.origin().ascii_serialization()
            )));
        }
        tracing::debug!("legacy SSE endpoint: {}", endpoint.path());
        Ok((events, endpoint))
    }

    /// Makes `endpoint` the live session: waiting senders go on.
    fn publish(&self, endpoint: Url) {
        self.session.send_modify(|s| {
            s.generation += 1;
            s.endpoint = Some(endpoint);
        });
    }

    /// The live session newer than generation `after`, waiting for a reconnection up to
    /// `--connect-timeout`.
    async fn ready(&self, after: u64) -> Result<(u64, Url), UpstreamError> {
        let mut rx = self.session.subscribe();
        let live = tokio::time::timeout(
            self.wait,
            rx.wait_for(|s| s.generation > after && s.endpoint.is_some()),
        )
        .await;
        if let Ok(Ok(s)) = live
            && let Some(endpoint) = s.endpoint.clone()
        {
            return Ok((s.generation, endpoint));
        }
        Err(UpstreamError::Connect {
            origin: self.http.origin().into(),
            cause: format!(
                "the event stream is down and did not come back within {}s (--connect-timeout); still reconnecting",
                self.wait.as_secs_f64()
            ),
            problem: crate::network::ConnectProblem::Other,
        })
    }

    async fn post_to(&self, endpoint: &Url, body: &Bytes) -> Result<(), UpstreamError> {
        self.http
            .send(|c| {
                c.post(endpoint.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await
            .map(drop)
    }

    /// On a new session: the client's `initialize` under a bridge id (its reply matches no
    /// pending request, so it is dropped), then `notifications/initialized`.
    async fn replay_initialize(&self, endpoint: &Url) -> Result<(), UpstreamError> {
        let Some(replay) = lock_ignoring_poison(&self.client_init)
            .as_deref()
            .and_then(jsonrpc::replay_initialize)
        else {
            return Ok(());
        };
        // POSTs are answered in order once queued, so the notification follows the request.
        self.post_to(endpoint, &replay).await?;
        self.post_to(
            endpoint,
            &Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
        )
        .await
    }
}

/// Reads `endpoint` events until one arrives; returns its data.
async fn next_endpoint(events: &mut Events) -> Result<String, String> {
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| e.to_string())?;
        if event.event.as_deref() == Some("endpoint") {
            if event.data.len() > MAX_ENDPOINT {
                return Err(format!(
                    "the `endpoint` event is {} bytes long; an endpoint URL over {} KiB is refused",
                    event.data.len(),
                    MAX_ENDPOINT / 1024
                ));
            }
            return Ok(event.data.trim().to_string());
        }
    }
    Err("the stream ended before an `endpoint` event".into())
}

/// Relays the stream; when it is lost (or a sender saw its session refused), fails what was
/// pending and reconnects with backoff.
async fn read_forever(shared: Arc<SessionState>, mut events: Events) {
    loop {
        let generation = shared.session.borrow().generation;
        let mut renew = shared.renew.subscribe();
        let (why, at_once) = tokio::select! {
            end = EventCursor::default().relay_events(&mut events, &shared.router, shared.http.origin()) => {
                let why = end.error.map_or_else(
                    || "the server closed the event stream".to_string(),
                    |e| e.to_string(),
                );
                (why, false)
            }
            _ = renew.wait_for(|g| *g >= generation) => {
                ("the server no longer knows the session (HTTP 404 on POST)".to_string(), true)
            }
        };
        tracing::warn!("legacy SSE stream lost ({why}); reconnecting");
        shared.session.send_modify(|s| s.endpoint = None);
        let lost = UpstreamError::Sse {
            origin: shared.http.origin().into(),
            why: format!("the event stream was lost before the reply arrived ({why})"),
        };
        let unsent = lock_ignoring_poison(&shared.unsent).clone();
        shared
            .router
            .fail_all_but(&lost, |id| unsent.contains(id.key()))
            .await;
        drop(events);
        events = reconnect(&shared, at_once).await;
    }
}

/// Tries until a new session is up, with [`Backoff`] between attempts (the first one at
/// once when the server dropped a session it still streams).
async fn reconnect(shared: &SessionState, at_once: bool) -> Events {
    let mut backoff = Backoff::default();
    let mut first = at_once;
    loop {
        if !std::mem::take(&mut first) {
            backoff.wait().await;
        }
        match shared.open().await {
            Ok((events, endpoint)) => match shared.replay_initialize(&endpoint).await {
                Ok(()) => {
                    tracing::info!("legacy SSE session re-established");
                    shared.publish(endpoint);
                    return events;
                }
                Err(e) => tracing::warn!("re-initializing failed: {e}"),
            },
            Err(e) => tracing::info!("reconnect failed: {e}"),
        }
    }
}
