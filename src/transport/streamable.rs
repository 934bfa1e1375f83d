//! MCP Streamable HTTP (2025-03-26 and later): one POST per message, replies as JSON or as an
//! event stream, a session id from the initialize reply, an optional GET stream for server
//! messages, and DELETE to end the session.

use super::http::Http;
use crate::error::UpstreamError;
use crate::jsonrpc::{Kind, Message};
use crate::router::Router;
use crate::sse;
use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// One Streamable HTTP session with the server.
pub struct Streamable {
    http: Arc<Http>,
    url: Url,
    router: Arc<Router>,
    session: Mutex<Option<HeaderValue>>,
    get_started: AtomicBool,
}

impl Streamable {
    /// A session with the endpoint `url`; nothing is sent until the first message.
    pub fn new(http: Arc<Http>, url: Url, router: Arc<Router>) -> Self {
        Streamable {
            http,
            url,
            router,
            session: Mutex::new(None),
            get_started: AtomicBool::new(false),
        }
    }

    /// POSTs a message and returns the response once its status is known (2xx only).
    pub async fn post(&self, msg: &Message) -> Result<Response, UpstreamError> {
        let session = self.session_header();
        let version = self.router.protocol_version();
        let body = msg.raw.clone();
        self.http
            .send(|c| {
                let mut req = c
                    .post(self.url.clone())
                    .header(ACCEPT, ACCEPT_BOTH)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
                if let Some(s) = &session {
                    req = req.header(SESSION_HEADER, s.clone());
                }
                if let Some(v) = &version {
                    req = req.header(VERSION_HEADER, v.as_str());
                }
                req
            })
            .await
    }

    /// Sends one message and relays everything the server answers on that exchange.
    pub async fn send(self: &Arc<Self>, msg: &Message) -> Result<(), UpstreamError> {
        let resp = self.post(msg).await?;
        self.relay_reply(msg, resp).await
    }

    /// Reads the POST's reply (JSON, an event stream, or nothing) into the router. A request
    /// left unanswered when it ends is an error.
    pub async fn relay_reply(
        self: &Arc<Self>,
        msg: &Message,
        resp: Response,
    ) -> Result<(), UpstreamError> {
        let status = resp.status().as_u16();
        if msg.is("initialize")
            && let Some(id) = resp.headers().get(SESSION_HEADER)
        {
            tracing::debug!("session established");
            *self.session.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.clone());
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("text/event-stream") {
            self.relay_events(resp).await?;
        } else if status != 202 && status != 204 {
            let body = self.http.read_body(resp).await?;
            if !body.iter().all(u8::is_ascii_whitespace) {
                if !content_type.contains("json")
                    && serde_json::from_slice::<&serde_json::value::RawValue>(&body).is_err()
                {
                    return Err(UpstreamError::BadReply {
                        origin: self.http.origin().into(),
                        why: format!(
                            "expected JSON, got {}",
                            if content_type.is_empty() {
                                "no content type"
                            } else {
                                &content_type
                            }
                        ),
                        status: Some(status),
                    });
                }
                self.router.deliver(body).await;
            }
        }
        if msg.is("notifications/initialized") {
            self.start_get_stream();
        }
        match &msg.id {
            Some(id) if msg.kind == Kind::Request && self.router.is_pending(id) => {
                Err(UpstreamError::NoAnswer {
                    origin: self.http.origin().into(),
                    status: Some(status),
                })
            }
            _ => Ok(()),
        }
    }

    async fn relay_events(&self, resp: Response) -> Result<(), UpstreamError> {
        let mut events = std::pin::pin!(sse::events(resp.bytes_stream(), self.http.limit()));
        while let Some(event) = events.next().await {
            match event {
                Ok(ev) if ev.data.is_empty() => {}
                Ok(ev) if ev.event.as_deref().is_none_or(|e| e == "message") => {
                    self.router.deliver(ev.data.into()).await;
                }
                Ok(ev) => tracing::debug!("ignoring event of type {:?}", ev.event),
                Err(e) => {
                    return Err(UpstreamError::Broken {
                        origin: self.http.origin().into(),
                        cause: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Opens the GET stream for server-initiated messages, once. A 405 means the server has
    /// none, which is fine.
    fn start_get_stream(self: &Arc<Self>) {
        if self.get_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let session = this.session_header();
            let version = this.router.protocol_version();
            let result = this
                .http
                .send(|c| {
                    let mut req = c.get(this.url.clone()).header(ACCEPT, "text/event-stream");
                    if let Some(s) = &session {
                        req = req.header(SESSION_HEADER, s.clone());
                    }
                    if let Some(v) = &version {
                        req = req.header(VERSION_HEADER, v.as_str());
                    }
                    req
                })
                .await;
            match result {
                Ok(resp) if is_event_stream(&resp) => {
                    if let Err(e) = this.relay_events(resp).await {
                        tracing::info!("server message stream ended: {e}");
                    }
                }
                Ok(resp) => tracing::debug!("GET stream not offered (HTTP {})", resp.status()),
                Err(e) => tracing::debug!("no GET stream: {e}"),
            }
        });
    }

    /// Ends the session with DELETE (best effort, bounded).
    pub async fn close(&self) {
        let Some(session) = self.session_header() else {
            return;
        };
        let version = self.router.protocol_version();
        let delete = self.http.send(|c| {
            let mut req = c
                .delete(self.url.clone())
                .header(SESSION_HEADER, session.clone());
            if let Some(v) = &version {
                req = req.header(VERSION_HEADER, v.as_str());
            }
            req
        });
        match tokio::time::timeout(Duration::from_secs(2), delete).await {
            Ok(Ok(_)) => tracing::debug!("session deleted"),
            Ok(Err(e)) => tracing::debug!("DELETE of the session: {e}"),
            Err(_) => tracing::debug!("DELETE of the session timed out"),
        }
    }

    fn session_header(&self) -> Option<HeaderValue> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn is_event_stream(resp: &Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/event-stream"))
}
