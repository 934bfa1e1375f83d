//! Reading a reply event stream while remembering where it stopped (the last event id and
//! the server's `retry`), so a cut stream can be resumed with `Last-Event-ID`.

use crate::error::UpstreamError;
use crate::jsonrpc::Id;
use crate::router::Router;
use crate::sse;
use futures_util::{Stream, StreamExt};
use reqwest::Response;
use std::time::Duration;

/// Where an event stream stands.
#[derive(Debug, Default, Clone)]
pub struct EventCursor {
    /// The id of the last event seen (priming events with empty data included).
    pub last_id: Option<String>,
    /// The server's requested reconnection delay.
    pub retry: Option<Duration>,
    /// The request whose POST this stream answers: a server request on it belongs to that
    /// call (`None` for the GET stream).
    pub for_request: Option<Id>,
}

impl EventCursor {
    /// The cursor of the stream answering `request`.
    pub fn answering(request: Option<&Id>) -> Self {
        EventCursor {
            for_request: request.cloned(),
            ..EventCursor::default()
        }
    }
}

/// How a stream ended: cleanly (`error` is `None`) or not, and where.
#[derive(Debug)]
pub struct StreamEnd {
    /// Position reached.
    pub cursor: EventCursor,
    /// Why it broke, if it did.
    pub error: Option<UpstreamError>,
}

impl StreamEnd {
    /// `""` for a clean end, else `": <why>"`, for logs.
    pub fn describe(&self) -> String {
        self.error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    }
}

impl EventCursor {
    /// Relays every `message` event's data to the router until the stream ends.
    pub async fn relay(
        self,
        resp: Response,
        router: &Router,
        limit: usize,
        origin: &str,
    ) -> StreamEnd {
        self.relay_events(sse::events(resp.bytes_stream(), limit), router, origin)
            .await
    }

    /// The same for an event stream already being read.
    pub async fn relay_events<S>(mut self, events: S, router: &Router, origin: &str) -> StreamEnd
    where
        S: Stream<Item = Result<sse::Event, sse::SseError>>,
    {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            let ev = match event {
                Ok(ev) => ev,
                Err(e) => {
                    let error = UpstreamError::Broken {
                        origin: origin.into(),
                        cause: e.to_string(),
                    };
                    return StreamEnd {
                        cursor: self,
                        error: Some(error),
                    };
                }
            };
            if ev.id.is_some() {
                self.last_id = ev.id;
            }
            if let Some(ms) = ev.retry {
                self.retry = Some(Duration::from_millis(ms.min(60_000)));
            }
            if ev.data.is_empty() {
                continue;
            }
            if ev.event.as_deref().is_none_or(|e| e == "message") {
                router
                    .deliver_on(ev.data.into(), self.for_request.as_ref())
                    .await;
            } else {
                tracing::debug!("ignoring event of type {:?}", ev.event);
            }
        }
        StreamEnd {
            cursor: self,
            error: None,
        }
    }
}
