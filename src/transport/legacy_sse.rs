//! Legacy HTTP+SSE (protocol 2024-11-05): a GET event stream whose first `endpoint` event
//! names where to POST; every server message arrives on that stream.
//!
//! The stream is the session: when it is lost, requests awaiting replies get an error (their
//! replies can no longer arrive), and the bridge reconnects with backoff, takes the new
//! `endpoint` and replays the client's `initialize` so the client carries on unaware.

use super::backoff::Backoff;
use super::http::Http;
use super::resume::EventCursor;
use crate::error::UpstreamError;
use crate::jsonrpc::{self, Message};
use crate::router::Router;
use crate::sse::{self, Event, SseError};
use crate::sync::lock;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use url::Url;

type Events = Pin<Box<dyn Stream<Item = Result<Event, SseError>> + Send>>;

/// Longest `endpoint` event accepted: it is a URL path, and it is kept for the session.
const MAX_ENDPOINT: usize = 8 * 1024;

/// What the reader task and the senders share.
struct Shared {
    http: Arc<Http>,
    url: Url,
    router: Arc<Router>,
    wait: Duration,
    /// Where to POST; `None` while reconnecting.
    endpoint: Mutex<Option<Url>>,
    /// The client's own `initialize`, replayed on a new session.
    client_init: Mutex<Option<Bytes>>,
}

/// A legacy SSE session that reconnects by itself.
pub struct LegacySse {
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

impl LegacySse {
    /// Opens the event stream and waits (up to `wait`) for the `endpoint` event.
    pub async fn connect(
        http: Arc<Http>,
        url: &Url,
        router: Arc<Router>,
        wait: Duration,
    ) -> Result<Self, UpstreamError> {
        let shared = Arc::new(Shared {
            http,
            url: url.clone(),
            router,
            wait,
            endpoint: Mutex::new(None),
            client_init: Mutex::new(None),
        });
        let events = shared.open().await?;
        let reader = tokio::spawn(read_forever(shared.clone(), events));
        Ok(LegacySse { shared, reader })
    }

    /// POSTs one message to the endpoint; the answer arrives on the stream.
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        if msg.is("initialize") {
            *lock(&self.shared.client_init) = Some(msg.raw.clone());
        }
        self.shared.post(&msg.raw).await
    }

    /// Stops reading the stream, which ends the session on the server.
    pub fn close(&self) {
        self.reader.abort();
    }
}

impl Shared {
    /// GETs the stream and waits for its `endpoint`; returns the rest of the stream.
    async fn open(&self) -> Result<Events, UpstreamError> {
        let sse_err = |why: String| UpstreamError::Sse {
            origin: self.http.origin().into(),
            why,
        };
        let resp = self
            .http
            .send(|c| c.get(self.url.clone()).header(ACCEPT, "text/event-stream"))
            .await?;
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
        *lock(&self.endpoint) = Some(endpoint);
        Ok(events)
    }

    async fn post(&self, body: &Bytes) -> Result<(), UpstreamError> {
        let endpoint = lock(&self.endpoint)
            .clone()
            .ok_or_else(|| UpstreamError::Connect {
                origin: self.http.origin().into(),
                cause: "the event stream is down; reconnecting in the background".into(),
            })?;
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
    async fn replay_initialize(&self) -> Result<(), UpstreamError> {
        let Some(replay) = lock(&self.client_init)
            .as_deref()
            .and_then(jsonrpc::replay_initialize)
        else {
            return Ok(());
        };
        // POSTs are answered in order once queued, so the notification follows the request.
        self.post(&replay).await?;
        self.post(&Bytes::from_static(
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ))
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

/// Relays the stream; when it is lost, fails what was pending and reconnects with backoff.
async fn read_forever(shared: Arc<Shared>, mut events: Events) {
    loop {
        let end = EventCursor::default()
            .relay_events(&mut events, &shared.router, shared.http.origin())
            .await;
        let why = end.error.map_or_else(
            || "the server closed the event stream".to_string(),
            |e| e.to_string(),
        );
        tracing::warn!("legacy SSE stream lost ({why}); reconnecting");
        *lock(&shared.endpoint) = None;
        let lost = UpstreamError::Sse {
            origin: shared.http.origin().into(),
            why: format!("the event stream was lost before the reply arrived ({why})"),
        };
        shared.router.fail_all(&lost).await;
        events = reconnect(&shared).await;
    }
}

/// Tries until a new session is up, with [`Backoff`] between attempts.
async fn reconnect(shared: &Shared) -> Events {
    let mut backoff = Backoff::default();
    loop {
        backoff.wait().await;
        match shared.open().await {
            Ok(events) => match shared.replay_initialize().await {
                Ok(()) => {
                    tracing::info!("legacy SSE session re-established");
                    return events;
                }
                Err(e) => tracing::warn!("re-initializing failed: {e}"),
            },
            Err(e) => tracing::info!("reconnect failed: {e}"),
        }
    }
}
