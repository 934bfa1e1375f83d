//! Legacy HTTP+SSE (protocol 2024-11-05): a GET event stream whose first `endpoint` event
//! names where to POST; every server message arrives on that stream.

use super::http::Http;
use crate::error::UpstreamError;
use crate::jsonrpc::Message;
use crate::router::Router;
use crate::sse::{self, Event, SseError};
use futures_util::{Stream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use url::Url;

type Events = Pin<Box<dyn Stream<Item = Result<Event, SseError>> + Send>>;

/// A connected legacy SSE session.
pub struct LegacySse {
    http: Arc<Http>,
    endpoint: Url,
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
        let origin = http.origin().to_string();
        let sse_err = |why: String| UpstreamError::Sse {
            origin: origin.clone(),
            why,
        };
        let resp = http
            .send(|c| c.get(url.clone()).header(ACCEPT, "text/event-stream"))
            .await?;
        let mut events: Events = Box::pin(sse::events(resp.bytes_stream(), http.limit()));
        let endpoint = tokio::time::timeout(wait, next_endpoint(&mut events))
            .await
            .map_err(|_| {
                sse_err(format!(
                    "no `endpoint` event within {}s; the server may not speak legacy SSE at this URL",
                    wait.as_secs_f64()
                ))
            })?
            .map_err(sse_err)?;
        let endpoint = url
            .join(&endpoint)
            .map_err(|e| sse_err(format!("unreadable endpoint {endpoint:?}: {e}")))?;
        if endpoint.origin() != url.origin() {
            return Err(sse_err(format!(
                "the endpoint is on another origin ({}); refused so that no credential is sent there",
                endpoint.origin().ascii_serialization()
            )));
        }
        tracing::debug!("legacy SSE endpoint: {}", endpoint.path());
        let reader = tokio::spawn(read_stream(events, router, origin));
        Ok(LegacySse {
            http,
            endpoint,
            reader,
        })
    }

    /// POSTs one message to the endpoint; the answer arrives on the stream.
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        let body = msg.raw.clone();
        self.http
            .send(|c| {
                c.post(self.endpoint.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await
            .map(drop)
    }

    /// Stops reading the stream, which ends the session on the server.
    pub fn close(&self) {
        self.reader.abort();
    }
}

/// Reads events until an `endpoint` event, whose data is returned.
async fn next_endpoint(events: &mut Events) -> Result<String, String> {
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| e.to_string())?;
        if event.event.as_deref() == Some("endpoint") {
            return Ok(event.data.trim().to_string());
        }
    }
    Err("the stream ended before an `endpoint` event".into())
}

/// Relays `message` events until the stream ends, then answers whatever was left pending:
/// their replies can no longer arrive.
async fn read_stream(mut events: Events, router: Arc<Router>, origin: String) {
    let why = loop {
        match events.next().await {
            Some(Ok(ev)) if ev.data.is_empty() => {}
            Some(Ok(ev)) if ev.event.as_deref().is_none_or(|e| e == "message") => {
                router.deliver(ev.data.into()).await
            }
            Some(Ok(ev)) => tracing::debug!("ignoring event of type {:?}", ev.event),
            Some(Err(e)) => break e.to_string(),
            None => break "the server closed the event stream".to_string(),
        }
    };
    tracing::warn!("legacy SSE stream lost: {why}");
    router.fail_all(&UpstreamError::Sse { origin, why }).await;
}
