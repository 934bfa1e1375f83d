//! The demo server's HTTP side (hyper 1, HTTP/1.1, 127.0.0.1 only): every request must carry
//! `Authorization: Bearer <token>`, else 401. Streamable HTTP on `/mcp` (POST with JSON
//! replies, GET for a server stream, DELETE to end the session); legacy HTTP+SSE on `GET /sse`
//! (an `endpoint` event, then replies as `message` events) and `POST /messages?session_id=`.

use super::{random_hex, tools};
use crate::secret::Secret;
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

type Body = UnsyncBoxBody<Bytes, Infallible>;
type Stream = mpsc::UnboundedSender<Bytes>;

/// Largest request body the demo reads.
const MAX_BODY: usize = 1024 * 1024;
const SESSION_HEADER: &str = "mcp-session-id";

/// A running demo server; stopped (every connection closed) when dropped.
pub struct DemoServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

struct State {
    /// `Bearer <token>`, compared in constant time.
    expected: Secret,
    /// Streamable HTTP sessions → their GET stream, once opened.
    sessions: Mutex<HashMap<String, Option<Stream>>>,
    /// Legacy sessions → their event stream.
    legacy: Mutex<HashMap<String, Stream>>,
    rejected: AtomicUsize,
}

impl DemoServer {
    /// Listens on a random port of 127.0.0.1, accepting only `token` as bearer.
    pub async fn start(token: &Secret) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            expected: Secret::new(format!("Bearer {}", token.expose())),
            sessions: Mutex::new(HashMap::new()),
            legacy: Mutex::new(HashMap::new()),
            rejected: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(DemoServer {
            addr,
            state,
            accept,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Streamable HTTP sessions not yet ended by a DELETE.
    pub fn live_sessions(&self) -> usize {
        lock_ignoring_poison(&self.state.sessions).len()
    }

    /// How many requests were refused for a missing or wrong token.
    pub fn rejected(&self) -> usize {
        self.state.rejected.load(Ordering::SeqCst)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        // The accept task owns every connection task; aborting it closes them all.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Without it, Nagle's algorithm and the client's delayed ACK hold each SSE event
        // back by about 40 ms.
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("demo server connection: {e}");
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Body> {
    if !state.authorized(req.headers()) {
        state.rejected.fetch_add(1, Ordering::SeqCst);
        return unauthorized();
    }
    let path = req.uri().path().to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::POST, "/mcp") => streamable_post(state, req).await,
        (Method::GET, "/mcp") => streamable_get(state, req.headers()),
        (Method::DELETE, "/mcp") => streamable_delete(state, req.headers()),
        (Method::GET, "/sse") => legacy_open(state),
        (Method::POST, "/messages") => legacy_post(state, req).await,
        (_, "/mcp" | "/sse" | "/messages") => plain(StatusCode::METHOD_NOT_ALLOWED, ""),
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

impl State {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(AUTHORIZATION)
            .map_or(&b""[..], |v| v.as_bytes());
        let expected = self.expected.expose().as_bytes();
        // No early exit on the first differing byte.
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The Streamable HTTP session named by the request: 400 without one, 404 for one that
    /// is not (or no longer) live.
    fn session(&self, headers: &HeaderMap) -> Result<String, (StatusCode, &'static str)> {
        let id = headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or((StatusCode::BAD_REQUEST, "missing Mcp-Session-Id"))?;
        if !lock_ignoring_poison(&self.sessions).contains_key(id) {
            return Err((StatusCode::NOT_FOUND, "unknown session"));
        }
        Ok(id.to_string())
    }
}

async fn streamable_post(state: &State, req: Request<Incoming>) -> Response<Body> {
    let headers = req.headers().clone();
    let msg = match read_json(req).await {
        Ok(msg) => msg,
        Err(resp) => return resp,
    };
    if msg["method"] == "initialize" {
        let Ok(id) = random_hex(16) else {
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
        };
        lock_ignoring_poison(&state.sessions).insert(id.clone(), None);
        let mut resp = json_reply(tools::answer(&msg).unwrap_or_default());
        if let Ok(value) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(SESSION_HEADER, value);
        }
        return resp;
    }
    if let Err((status, why)) = state.session(&headers) {
        return plain(status, why);
    }
    match tools::answer(&msg) {
        Some(reply) => json_reply(reply),
        None => plain(StatusCode::ACCEPTED, ""),
    }
}

/// The server→client stream of a session; the demo never sends on it, but holds it open
/// until the session ends, as a real server would.
fn streamable_get(state: &State, headers: &HeaderMap) -> Response<Body> {
    let id = match state.session(headers) {
        Ok(id) => id,
        Err((status, why)) => return plain(status, why),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    lock_ignoring_poison(&state.sessions).insert(id, Some(tx));
    event_stream(rx)
}

fn streamable_delete(state: &State, headers: &HeaderMap) -> Response<Body> {
    match state.session(headers) {
        Ok(id) => {
            // Dropping the GET stream's sender ends that stream.
            lock_ignoring_poison(&state.sessions).remove(&id);
            plain(StatusCode::OK, "")
        }
        Err((status, why)) => plain(status, why),
    }
}

fn legacy_open(state: &State) -> Response<Body> {
    let Ok(id) = random_hex(16) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = format!("event: endpoint\ndata: /messages?session_id={id}\n\n");
    let _ = tx.send(Bytes::from(endpoint));
    lock_ignoring_poison(&state.legacy).insert(id, tx);
    event_stream(rx)
}

async fn legacy_post(state: &State, req: Request<Incoming>) -> Response<Body> {
    let id = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("session_id="))
        .unwrap_or("")
        .to_string();
    let Some(stream) = lock_ignoring_poison(&state.legacy).get(&id).cloned() else {
        return plain(StatusCode::NOT_FOUND, "unknown session");
    };
    let msg = match read_json(req).await {
        Ok(msg) => msg,
        Err(resp) => return resp,
    };
    if let Some(reply) = tools::answer(&msg) {
        let frame = format!("event: message\ndata: {reply}\n\n");
        if stream.send(Bytes::from(frame)).is_err() {
            // The client closed the event stream: the session is over.
            lock_ignoring_poison(&state.legacy).remove(&id);
            return plain(StatusCode::NOT_FOUND, "session closed");
        }
    }
    plain(StatusCode::ACCEPTED, "Accepted")
}

/// Reads a body of at most [`MAX_BODY`] bytes holding one JSON-RPC object.
async fn read_json(req: Request<Incoming>) -> Result<Value, Response<Body>> {
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large or cut"))?
        .to_bytes();
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(json_response(
            StatusCode::BAD_REQUEST,
            json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "expected one JSON-RPC object"}}),
        )),
    }
}

fn unauthorized() -> Response<Body> {
    let mut resp = json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": "invalid_token", "error_description": "missing or wrong bearer token"}),
    );
    resp.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(
            r#"Bearer error="invalid_token", error_description="missing or wrong bearer token""#,
        ),
    );
    resp
}

fn json_reply(value: Value) -> Response<Body> {
    json_response(StatusCode::OK, value)
}

fn json_response(status: StatusCode, value: Value) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(value.to_string())).boxed_unsync());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync());
    *resp.status_mut() = status;
    resp
}

/// A `text/event-stream` response fed by `rx`; it ends when every sender is gone.
fn event_stream(mut rx: mpsc::UnboundedReceiver<Bytes>) -> Response<Body> {
    let frames = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|next| next.map(|b| Ok::<_, Infallible>(Frame::data(b))))
    });
    let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    resp
}
