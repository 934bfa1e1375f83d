//! The in-process MCP test server: configuration knobs, start-up, and the front door every
//! request passes (record → redirect → injected 5xx → bearer check → the mode's handler).

use super::listener::Listener;
use super::record::{Recorded, RequestLog};
use super::{STEP, legacy, sse, streamable};
use responses::unauthorized;
pub(crate) use responses::{json_response, plain};

mod responses;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Which kind of server to impersonate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Streamable HTTP on `/mcp` (2025-03-26 and later).
    Streamable,
    /// Legacy HTTP+SSE (2024-11-05): `GET …/sse` + `POST …/messages/?session_id=`.
    LegacySse,
    /// Like mcp-jira-confluence-sse: synchronous JSON on `POST /mcp|/sse|/`, broken `GET /sse`.
    Seed,
}

/// How a Streamable HTTP server answers a POSTed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    Json,
    Sse,
}

/// Every knob of the test server. Start from [`ServerConfig::streamable`],
/// [`ServerConfig::legacy_sse`] or [`ServerConfig::seed`] and override fields.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub mode: Mode,
    // --- Streamable HTTP ---
    pub reply: ReplyMode,
    /// Hand out `Mcp-Session-Id` on initialize and require it afterwards.
    pub sessions: bool,
    /// Forget the session once it has been presented on more than N requests (→ 404).
    pub expire_session_after: Option<usize>,
    /// Answer an unknown session id as the TypeScript SDK's session example does: 400 with
    /// a JSON-RPC body "Bad Request: No valid session ID provided" (else 404).
    pub stale_session_400: bool,
    /// Refuse every request but `initialize` with 400 and a JSON-RPC error with this message
    /// (a refusal that a new session does not cure, e.g. a bad protocol version).
    pub refuse_400: Option<String>,
    /// In SSE replies to `tools/call`: a `notifications/message` before the response.
    pub sse_notification: bool,
    /// In SSE replies to `tools/call`: a `roots/list` request (`"srv-N"`) before the response.
    pub sse_server_request: bool,
    /// The `capabilities` of the `initialize` result [default: tools without listChanged];
    /// with `resources.subscribe`, `resources/subscribe` and `unsubscribe` are answered.
    pub capabilities: Option<Value>,
    /// Give SSE reply events ids (`<stream>-<n>`), which allows `Last-Event-ID` replay.
    pub sse_event_ids: bool,
    /// Start SSE replies with a priming event (an id and empty data), as 2025-11-25 servers do.
    pub sse_priming_event: bool,
    /// Send a `retry:` field with the first SSE reply event.
    pub sse_retry_ms: Option<u64>,
    /// `GET /mcp` opens a server→client stream (else 405).
    pub get_stream: bool,
    /// `DELETE /mcp` ends the session with 200 (else 405).
    pub delete_allowed: bool,
    // --- legacy HTTP+SSE ---
    /// Data of the `endpoint` event; `{session}` is replaced by the session id.
    pub endpoint: String,
    /// Send the `endpoint` event first on `GET …/sse` (off: a stream that never says where
    /// to POST).
    pub endpoint_event: bool,
    /// Status for a POST to anything but the messages endpoint (Starlette answers 405).
    pub legacy_post_status: u16,
    /// Bind each session to the `Authorization` its GET carried: a POST with another one gets
    /// 404 "Could not find session", as Python SDK servers do when the token's subject changes.
    pub legacy_bind_identity: bool,
    // --- all modes ---
    /// End SSE lines with CRLF, as the Python SDK does (else LF).
    pub crlf: bool,
    /// Name message events `event: message` (else data-only events, type "message" by default).
    pub sse_event_names: bool,
    /// Cut every SSE frame into pieces of this many bytes, sent separately.
    pub sse_split_every: Option<usize>,
    /// Interval of `: ping` comments on long-lived SSE streams.
    pub ping_every: Duration,
    /// Require `Authorization: Bearer <token>`; else 401 with a `WWW-Authenticate` challenge.
    /// Rotate it on a running server with [`TestServer::update`].
    pub bearer: Option<String>,
    /// Answer a bad token like FastMCP: bare `WWW-Authenticate: Bearer`, empty body.
    pub bare_401: bool,
    /// How long `initialize` takes to answer.
    pub initialize_delay: Duration,
    /// Answer initialize with this version instead of echoing the client's.
    pub protocol_version: Option<String>,
    /// Serialise absent optional fields as `null`, as the seed server does (its pydantic
    /// models are dumped without `exclude_none`): `capabilities.logging: null`, tools with
    /// `annotations: null`, content blocks with `annotations: null`…
    pub null_fields: bool,
    // --- faults ---
    /// Answer the next N requests (of any kind) with `fail_status`.
    pub fail_next: usize,
    pub fail_status: u16,
    /// Requests with these JSON-RPC methods are never answered.
    pub hang_methods: Vec<String>,
    /// End SSE replies to POSTed requests after N events (the rest stays available for replay).
    pub cut_sse_after: Option<usize>,
    /// Answer every request with a 307 to this origin (same path and query).
    pub redirect_to: Option<String>,
}

impl ServerConfig {
    /// The `event:` name for JSON-RPC messages on a stream.
    pub(crate) fn message_event(&self) -> Option<&'static str> {
        self.sse_event_names.then_some("message")
    }

    pub fn streamable() -> Self {
        ServerConfig {
            mode: Mode::Streamable,
            reply: ReplyMode::Json,
            sessions: true,
            expire_session_after: None,
            stale_session_400: false,
            refuse_400: None,
            sse_notification: false,
            sse_server_request: false,
            capabilities: None,
            sse_event_ids: false,
            sse_priming_event: false,
            sse_retry_ms: None,
            get_stream: false,
            delete_allowed: true,
            endpoint: "/messages/?session_id={session}".into(),
            legacy_post_status: 405,
            legacy_bind_identity: false,
            endpoint_event: true,
            crlf: true,
            sse_event_names: true,
            sse_split_every: None,
            ping_every: Duration::from_millis(300),
            bearer: None,
            bare_401: false,
            initialize_delay: Duration::ZERO,
            protocol_version: None,
            null_fields: false,
            fail_next: 0,
            fail_status: 503,
            hang_methods: Vec::new(),
            cut_sse_after: None,
            redirect_to: None,
        }
    }

    pub fn legacy_sse() -> Self {
        ServerConfig {
            mode: Mode::LegacySse,
            ..Self::streamable()
        }
    }

    pub fn seed() -> Self {
        ServerConfig {
            mode: Mode::Seed,
            sessions: false,
            crlf: false,
            ..Self::streamable()
        }
    }
}

/// What a replayable SSE reply has produced so far (`done` once the response is in).
#[derive(Default)]
pub(crate) struct StreamLog {
    pub events: Vec<String>,
    pub done: bool,
}

/// State shared by all handlers of one server instance.
pub(crate) struct Shared {
    pub cfg: Mutex<ServerConfig>,
    pub log: RequestLog,
    counter: AtomicUsize,
    /// Live streamable sessions → how many requests presented them.
    pub sessions: Mutex<HashMap<String, usize>>,
    /// Legacy sessions → their GET stream.
    pub legacy: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
    /// Legacy sessions → the `Authorization` that opened them (`legacy_bind_identity`).
    pub legacy_owner: Mutex<HashMap<String, Option<String>>>,
    /// Open streamable `GET` streams (server-initiated messages go there).
    pub get_streams: Mutex<Vec<mpsc::UnboundedSender<String>>>,
    /// Pushed messages waiting for a stream to open.
    pub pending_push: Mutex<Vec<String>>,
    /// SSE replies by stream id, for `Last-Event-ID` replay.
    pub replay: Mutex<HashMap<String, watch::Sender<StreamLog>>>,
    /// Streams that must stay open forever (the seed's `GET /sse`).
    pub parked: Mutex<Vec<mpsc::UnboundedSender<String>>>,
    /// `: ping` comments written so far, on every stream.
    pub pings: Arc<AtomicUsize>,
}

impl Shared {
    pub fn cfg(&self) -> ServerConfig {
        self.cfg.lock().unwrap().clone()
    }

    pub fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Sends `msg` on every open server→client stream, or queues it until one opens.
    /// Lock order (streams → legacy → pending) matches the stream openers, so a message
    /// pushed while a stream opens is either queued and drained, or delivered.
    pub fn push(&self, msg: String) {
        let cfg = self.cfg();
        let frame = sse::event(cfg.message_event(), None, &msg, cfg.crlf);
        let streams = self.get_streams.lock().unwrap();
        let legacy = self.legacy.lock().unwrap();
        let mut delivered = false;
        for tx in streams.iter().chain(legacy.values()) {
            delivered |= tx.send(frame.clone()).is_ok();
        }
        if !delivered {
            self.pending_push.lock().unwrap().push(msg);
        }
    }

    pub fn take_pending(&self) -> Vec<String> {
        std::mem::take(&mut *self.pending_push.lock().unwrap())
    }
}

/// A running test server. Dropping it stops it.
pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Mutex<Option<Listener>>,
}

impl TestServer {
    pub async fn start(cfg: ServerConfig) -> TestServer {
        let shared = Arc::new(Shared {
            cfg: Mutex::new(cfg),
            log: RequestLog::default(),
            counter: AtomicUsize::new(0),
            sessions: Mutex::default(),
            legacy: Mutex::default(),
            legacy_owner: Mutex::default(),
            get_streams: Mutex::default(),
            pending_push: Mutex::default(),
            replay: Mutex::default(),
            parked: Mutex::default(),
            pings: Arc::default(),
        });
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let (listener, addr) = Listener::bind(any_port, app(&shared)).await;
        TestServer {
            addr,
            shared,
            listener: Mutex::new(Some(listener)),
        }
    }

    /// Takes the server down as a crash would: every connection and stream is cut, new
    /// connections are refused, and every session is forgotten.
    pub fn stop(&self) {
        if let Some(listener) = self.listener.lock().unwrap().take() {
            listener.stop();
        }
        self.close_streams();
        self.expire_sessions();
        self.shared.replay.lock().unwrap().clear();
    }

    /// Brings a stopped server back on the same port (knobs and request record kept).
    pub async fn restart(&self) {
        self.stop();
        let (listener, _) = Listener::bind(self.addr, app(&self.shared)).await;
        *self.listener.lock().unwrap() = Some(listener);
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT<path>`
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.snapshot()
    }

    /// How many `: ping` comments the server has written (`ping_every`).
    pub fn pings(&self) -> usize {
        self.shared.pings.load(Ordering::Relaxed)
    }

    /// How many requests received so far match `pred`.
    pub fn count(&self, pred: impl Fn(&Recorded) -> bool) -> usize {
        self.shared
            .log
            .snapshot()
            .iter()
            .filter(|r| pred(r))
            .count()
    }

    /// Waits (bounded) until a request matching `pred` has arrived and returns it.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        self.shared.log.wait_for(what, STEP, pred).await
    }

    /// Changes knobs of the running server (e.g. to rotate the accepted token).
    pub fn update(&self, change: impl FnOnce(&mut ServerConfig)) {
        change(&mut self.shared.cfg.lock().unwrap());
    }

    /// Pushes a server→client message on the open GET stream(s) (queued until one opens).
    pub fn push(&self, msg: &str) {
        self.shared.push(msg.to_owned());
    }

    /// Ends every open event stream (legacy sessions, GET streams, the seed's `GET /sse`),
    /// as a server restart or a proxy timeout would.
    pub fn close_streams(&self) {
        self.shared.get_streams.lock().unwrap().clear();
        self.shared.legacy.lock().unwrap().clear();
        self.shared.parked.lock().unwrap().clear();
    }

    /// Forgets every Streamable HTTP session: the next request presenting one gets 404.
    pub fn expire_sessions(&self) {
        self.shared.sessions.lock().unwrap().clear();
    }

    /// Streamable HTTP session ids handed out and neither deleted nor expired.
    pub fn live_sessions(&self) -> Vec<String> {
        let sessions = self.shared.sessions.lock().unwrap();
        sessions.keys().cloned().collect()
    }
}

fn app(shared: &Arc<Shared>) -> Router {
    Router::new()
        .fallback(front_door)
        .with_state(shared.clone())
}

async fn front_door(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let rec = Recorded::new(&parts, body.to_vec());
    let status = rec.status.clone();
    shared.log.push(rec.clone());
    let resp = route(shared, rec).await;
    let _ = status.set(resp.status().as_u16());
    resp
}

/// Faults first, then the redirect, the bearer check and the mode's handler.
async fn route(shared: Arc<Shared>, rec: Recorded) -> Response {
    let cfg = {
        let mut cfg = shared.cfg.lock().unwrap();
        if cfg.fail_next > 0 {
            cfg.fail_next -= 1;
            let status = StatusCode::from_u16(cfg.fail_status).expect("fail_status");
            return plain(status, "injected failure");
        }
        cfg.clone()
    };
    if let Some(origin) = &cfg.redirect_to {
        let target = match &rec.query {
            Some(q) => format!("{origin}{}?{q}", rec.path),
            None => format!("{origin}{}", rec.path),
        };
        let mut resp = plain(StatusCode::TEMPORARY_REDIRECT, "");
        resp.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(&target).unwrap());
        return resp;
    }
    if let Some(token) = &cfg.bearer
        && rec.header("authorization") != Some(&format!("Bearer {token}"))
    {
        return unauthorized(cfg.bare_401);
    }
    match cfg.mode {
        Mode::Streamable => streamable::handle(shared, rec, cfg).await,
        Mode::LegacySse => legacy::handle(shared, rec, cfg).await,
        Mode::Seed => legacy::seed(shared, rec, cfg).await,
    }
}
