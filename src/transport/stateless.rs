//! MCP 2026-07-28 over Streamable HTTP: each request is its own POST carrying the headers its
//! body mirrors (`src/era/headers.rs`), with no session, no GET stream and no DELETE. The
//! reply is JSON or an event stream that belongs to that one request.
//!
//! Faults it absorbs: a `-32020` HeaderMismatch on a `tools/call` re-reads `tools/list` and
//! sends the call once more; a `subscriptions/listen` stream that drops is reopened with the
//! same id and filter. Any other cut stream loses its request (the revision has no
//! resumption), and the bridge never re-sends a call by itself: the client is told to.

use super::http::{Http, content_type};
use super::resume::EventCursor;
use crate::era::errors::HEADER_MISMATCH;
use crate::era::{Modern, headers};
use crate::error::UpstreamError;
use crate::jsonrpc::{Kind, Message};
use crate::router::Router;
use crate::sse;
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use url::Url;

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// How many `tools/list` pages a re-read after a HeaderMismatch follows.
const MAX_PAGES: usize = 20;

/// What a first modern request learned about the server's era.
#[derive(Debug)]
pub enum FirstAnswer {
    /// A 2026-07-28 server: the answer was relayed.
    Modern,
    /// A server of the stateful revisions, and why the bridge thinks so.
    Legacy(String),
    /// A stateful server that needs no session answered: this reply, not yet relayed.
    Answered(Bytes),
}

/// The stateless side of one MCP endpoint.
pub struct Stateless {
    pub(super) http: Arc<Http>,
    url: Url,
    pub(super) router: Arc<Router>,
    /// Numbers the bridge's own `tools/list` requests.
    seq: AtomicU64,
    /// Tools called before they were listed, logged once each.
    unlisted: Mutex<HashSet<String>>,
}

impl Stateless {
    /// The endpoint `url`; nothing is sent until a request comes.
    pub fn new(http: Arc<Http>, url: Url, router: Arc<Router>) -> Self {
        Stateless {
            http,
            url,
            router,
            seq: AtomicU64::new(0),
            unlisted: Mutex::new(HashSet::new()),
        }
    }

    /// Sends one modern message and relays what the server answers on that exchange.
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        let Some(req) = msg.modern_fields() else {
            return Err(self.bad("the message has no io.modelcontextprotocol/protocolVersion"));
        };
        if msg.is("subscriptions/listen") {
            return self.keep_listening(msg, &req, false).await;
        }
        match self.exchange(msg, &req).await {
            Err(UpstreamError::Status { rpc: Some(e), .. })
                if e.code == HEADER_MISMATCH && msg.is("tools/call") =>
            {
                tracing::info!(
                    "HeaderMismatch (-32020): re-reading tools/list, then retrying once"
                );
                self.reread_tools(&req).await;
                self.exchange(msg, &req).await
            }
            other => other,
        }
    }

    /// Sends a modern request the bridge made (or rewrote) and returns the response to it;
    /// notifications on its stream still reach the client as they come.
    pub async fn request(&self, msg: &Message) -> Result<Bytes, UpstreamError> {
        let Some(req) = msg.modern_fields() else {
            return Err(self.bad("the message has no io.modelcontextprotocol/protocolVersion"));
        };
        let id = msg
            .id
            .as_ref()
            .map(|id| id.key().to_string())
            .unwrap_or_default();
        match self.capture(msg, &req, &id).await {
            Err(UpstreamError::Status { rpc: Some(e), .. })
                if e.code == HEADER_MISMATCH && msg.is("tools/call") =>
            {
                tracing::info!(
                    "HeaderMismatch (-32020): re-reading tools/list, then retrying once"
                );
                self.reread_tools(&req).await;
                self.capture(msg, &req, &id).await
            }
            other => other,
        }
    }

    async fn capture(
        &self,
        msg: &Message,
        req: &Modern<'_>,
        id: &str,
    ) -> Result<Bytes, UpstreamError> {
        let resp = self.post(&msg.raw, self.headers(msg, req)).await?;
        self.response_to(resp, id).await
    }

    /// The first modern request to a server of unknown era: relayed when the server is
    /// modern; `Legacy` (nothing relayed) when its answer is one no 2026-07-28 server gives:
    /// a 400, 404 or 405 without a modern error, or a `server/discover` answer that is
    /// neither a DiscoverResult nor a modern error; `Answered` when a stateful server that
    /// needs no session answered it (its result has no `resultType`).
    pub async fn first(&self, msg: &Message) -> Result<FirstAnswer, UpstreamError> {
        let legacy = |status: u16, rpc: &Option<crate::era::errors::RpcError>| {
            matches!(status, 400 | 404 | 405) && !rpc.as_ref().is_some_and(|e| e.is_modern(status))
        };
        if msg.is("subscriptions/listen") {
            // Long-lived: relayed as it comes; only a refusal tells the era.
            return match self.send(msg).await {
                Ok(()) => Ok(FirstAnswer::Modern),
                Err(UpstreamError::Status { status, rpc, .. }) if legacy(status, &rpc) => {
                    Ok(FirstAnswer::Legacy(format!("HTTP {status}")))
                }
                Err(e) => Err(e),
            };
        }
        let reply = match self.request(msg).await {
            Ok(reply) => reply,
            Err(UpstreamError::Status { status, rpc, .. }) if legacy(status, &rpc) => {
                return Ok(FirstAnswer::Legacy(format!("HTTP {status}")));
            }
            Err(e) => return Err(e),
        };
        if msg.is("server/discover") {
            if !is_modern_discover_answer(&reply) {
                return Ok(FirstAnswer::Legacy(
                    "its answer to server/discover is no DiscoverResult".into(),
                ));
            }
        } else if is_untyped_result(&reply) {
            return Ok(FirstAnswer::Answered(reply));
        }
        self.router.deliver(reply).await;
        Ok(FirstAnswer::Modern)
    }

    async fn exchange(&self, msg: &Message, req: &Modern<'_>) -> Result<(), UpstreamError> {
        let resp = self.post(&msg.raw, self.headers(msg, req)).await?;
        self.relay_response(msg, resp).await
    }

    /// Relays the answer to one request: JSON, or its own event stream.
    async fn relay_response(&self, msg: &Message, resp: Response) -> Result<(), UpstreamError> {
        let status = resp.status().as_u16();
        if content_type(&resp).starts_with("text/event-stream") {
            let end = EventCursor::default()
                .relay(resp, &self.router, self.http.limit(), self.http.origin())
                .await;
            return self.answered(msg, end.error.map(|e| e.to_string()));
        }
        self.relay_json(resp).await?;
        if self.pending(msg) {
            return Err(UpstreamError::NoAnswer {
                origin: self.http.origin().into(),
                status: Some(status),
            });
        }
        Ok(())
    }

    /// After a reply stream: the request is answered, or lost.
    pub(super) fn answered(
        &self,
        msg: &Message,
        cause: Option<String>,
    ) -> Result<(), UpstreamError> {
        if self.pending(msg) {
            return Err(UpstreamError::Lost {
                origin: self.http.origin().into(),
                cause,
            });
        }
        Ok(())
    }

    pub(super) fn pending(&self, msg: &Message) -> bool {
        msg.kind == Kind::Request && msg.id.as_ref().is_some_and(|id| self.router.is_pending(id))
    }

    /// The headers of this request; a `tools/call` of a tool never listed goes without its
    /// `Mcp-Param-*` headers (logged once: the server may then answer HeaderMismatch).
    pub(super) fn headers(&self, msg: &Message, req: &Modern<'_>) -> HeaderMap {
        let method = msg.method.as_deref().unwrap_or_default();
        let mut params = None;
        if method == "tools/call"
            && let Some(tool) = req.name.as_deref()
        {
            params = self.router.tool_headers().for_tool(tool);
            if params.is_none() && lock_ignoring_poison(&self.unlisted).insert(tool.to_string()) {
                tracing::info!(
                    "tools/call of {tool:?}, which no tools/list showed yet: sent without Mcp-Param-* headers"
                );
            }
        }
        headers::for_request(method, req, params.as_deref().unwrap_or_default())
    }

    pub(super) async fn post(
        &self,
        body: &Bytes,
        headers: HeaderMap,
    ) -> Result<Response, UpstreamError> {
        self.http
            .send(|c| {
                c.post(self.url.clone())
                    .header(ACCEPT, ACCEPT_BOTH)
                    .header(CONTENT_TYPE, "application/json")
                    .headers(headers.clone())
                    .body(body.clone())
            })
            .await
    }

    /// Relays a JSON reply (or nothing, for 202/204).
    pub(super) async fn relay_json(&self, resp: Response) -> Result<(), UpstreamError> {
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        if status == 202 || status == 204 {
            return Ok(());
        }
        let body = self.http.read_body(resp).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        // A JSON content type is taken at its word: a 50 MB result is not parsed twice.
        if !content_type.contains("json")
            && serde_json::from_slice::<&serde_json::value::RawValue>(&body).is_err()
        {
            return Err(UpstreamError::BadReply {
                origin: self.http.origin().into(),
                why: "expected JSON".into(),
                status: Some(status),
            });
        }
        self.router.deliver(body).await;
        Ok(())
    }

    /// Reads `tools/list` again under the bridge's own ids (with the client's `_meta`), so
    /// the router learns the current annotations; the client never sees these replies.
    async fn reread_tools(&self, req: &Modern<'_>) {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let n = self.seq.fetch_add(1, Ordering::Relaxed);
            let id = format!("\"mcp-keybridge-tools-{n}\"");
            let cursor_member = cursor
                .as_deref()
                .map(|c| format!(",\"cursor\":{}", serde_json::Value::from(c)))
                .unwrap_or_default();
            let body = Bytes::from(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{"_meta":{}{cursor_member}}}}}"#,
                req.meta
            ));
            let reply = match self.fetch(&body, &id, req).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::warn!("re-reading tools/list failed: {e}");
                    return;
                }
            };
            self.router.tool_headers().on_list_reply(&reply);
            cursor = next_cursor(&reply);
            if cursor.is_none() {
                return;
            }
        }
    }

    /// POSTs one of the bridge's own requests and returns the reply whose id is `id`.
    async fn fetch(
        &self,
        body: &Bytes,
        id: &str,
        req: &Modern<'_>,
    ) -> Result<Bytes, UpstreamError> {
        let resp = self
            .post(body, headers::for_request("tools/list", req, &[]))
            .await?;
        self.response_to(resp, id).await
    }

    /// Reads the response whose id key is `id` from a JSON or event-stream reply, passing the
    /// stream's notifications on to the client.
    async fn response_to(&self, resp: Response, id: &str) -> Result<Bytes, UpstreamError> {
        if !content_type(&resp).starts_with("text/event-stream") {
            return self.http.read_body(resp).await;
        }
        let mut events = std::pin::pin!(sse::events(resp.bytes_stream(), self.http.limit()));
        let mut cause = None;
        while let Some(ev) = events.next().await {
            match ev {
                Ok(ev) if ev.data.is_empty() => {}
                Ok(ev) if reply_id(&ev.data).as_deref() == Some(id) => return Ok(ev.data.into()),
                Ok(ev) => self.router.deliver(ev.data.into()).await,
                Err(e) => {
                    cause = Some(e.to_string());
                    break;
                }
            }
        }
        Err(UpstreamError::Lost {
            origin: self.http.origin().into(),
            cause,
        })
    }

    pub(super) fn bad(&self, why: &str) -> UpstreamError {
        UpstreamError::BadReply {
            origin: self.http.origin().into(),
            why: why.into(),
            status: None,
        }
    }
}

/// A DiscoverResult or a modern error: what only a 2026-07-28 server answers to
/// `server/discover`.
fn is_modern_discover_answer(reply: &Bytes) -> bool {
    if let Some(e) = crate::era::errors::RpcError::parse(reply) {
        // Not -32601: every 2026-07-28 server implements server/discover.
        return e.code != crate::era::errors::METHOD_NOT_FOUND && e.is_modern(400);
    }
    serde_json::from_slice::<serde_json::Value>(reply)
        .ok()
        .and_then(|v| v.pointer("/result/supportedVersions").map(|s| s.is_array()))
        .unwrap_or(false)
}

/// A result without `resultType`, which every 2026-07-28 result carries.
fn is_untyped_result(reply: &Bytes) -> bool {
    serde_json::from_slice::<serde_json::Value>(reply)
        .ok()
        .and_then(|v| v.get("result").map(|r| r.get("resultType").is_none()))
        .unwrap_or(false)
}

/// The canonical text of a reply's `id` (as `jsonrpc::Id::key` spells it).
fn reply_id(data: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    if v.get("method").is_some() {
        return None;
    }
    Some(v.get("id")?.to_string())
}

fn next_cursor(reply: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(reply).ok()?;
    Some(v.get("result")?.get("nextCursor")?.as_str()?.to_string())
}
