//! The benchmark's fixed MCP server: Streamable HTTP with JSON replies only (no SSE), bearer
//! auth, tools `echo` and `big`, in both eras: a stateful request (2025-06-18) needs the
//! session of an `initialize`; a stateless one (2026-07-28: `params._meta` names
//! `io.modelcontextprotocol/protocolVersion`) needs no session but the headers its body
//! mirrors (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`), checked as the revision says
//! (400 with `-32020` HeaderMismatch). Both get the same result bytes. Its own cost is kept
//! small (replies are built by concatenating bytes, the 50 MB result is built once) so that
//! the figures measure the relay.
//!
//! It records every HTTP request it receives (method, path, JSON-RPC method, era, session
//! header), so the driver can say how many requests a candidate sent before its first real one
//! (a `tools/call`) and check that each candidate spoke the era it was meant to.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The bearer token every request must carry.
pub const TOKEN: &str = "bench-token-0123456789";
/// Size of the `big` tool's text, in bytes.
pub const BIG_LEN: usize = 50_000_000;
/// The `_meta` key that makes a request stateless (2026-07-28).
pub const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// The stateless revision the server speaks.
pub const MODERN_VERSION: &str = "2026-07-28";

/// One HTTP request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub rpc: Option<String>,
    /// The body was a 2026-07-28 message (its `params._meta` names a protocol version).
    pub modern: bool,
    /// The request carried `Mcp-Session-Id`.
    pub session: bool,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(rpc) = &self.rpc {
            write!(f, " {rpc}")?;
        }
        if self.modern {
            write!(f, " ({MODERN_VERSION})")?;
        }
        Ok(())
    }
}

/// What a session's requests were, by era, since the last reset.
#[derive(Debug, Default, Clone, Copy)]
pub struct Eras {
    /// POSTs of 2026-07-28 messages.
    pub modern: usize,
    /// POSTs of stateful-era messages.
    pub legacy: usize,
    /// Requests that were not a POST (GET stream, DELETE).
    pub other: usize,
    /// Requests that carried `Mcp-Session-Id`.
    pub with_session: usize,
}

/// The request record, reset by the driver before each candidate's session.
#[derive(Default)]
pub struct Record {
    seen: Vec<Seen>,
    /// The requests before the first `tools/call` of this session, once it arrived.
    before_real: Option<Vec<Seen>>,
}

/// Shared server state.
pub struct Server {
    record: Mutex<Record>,
    sessions: AtomicU64,
    big_result: Bytes,
}

impl Server {
    /// Forgets every request seen so far.
    pub fn reset(&self) {
        *self.record.lock().unwrap() = Record::default();
    }

    /// The requests seen before the first `tools/call` since the last reset, if it came.
    pub fn before_first_real(&self) -> Option<Vec<Seen>> {
        self.record.lock().unwrap().before_real.clone()
    }

    /// The requests since the last reset, by era.
    pub fn eras(&self) -> Eras {
        let rec = self.record.lock().unwrap();
        let mut e = Eras::default();
        for s in &rec.seen {
            match (s.method.as_str(), s.modern) {
                ("POST", true) => e.modern += 1,
                ("POST", false) => e.legacy += 1,
                _ => e.other += 1,
            }
            e.with_session += usize::from(s.session);
        }
        e
    }
}

/// The text the `big` tool returns: printable, deterministic, so the driver can check it.
pub fn big_text() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
    let bytes: Vec<u8> = (0..BIG_LEN)
        .map(|i| ALPHABET[(i * 7 + i / 4096) % ALPHABET.len()])
        .collect();
    String::from_utf8(bytes).expect("ASCII")
}

/// Starts the server on 127.0.0.1 (an ephemeral port) on its own runtime thread; returns the
/// endpoint URL and the state.
pub fn start() -> (String, Arc<Server>) {
    let result = serde_json::json!({
        "content": [{ "type": "text", "text": big_text() }],
        "isError": false
    });
    let server = Arc::new(Server {
        record: Mutex::new(Record::default()),
        sessions: AtomicU64::new(0),
        big_result: Bytes::from(serde_json::to_vec(&result).unwrap()),
    });
    let state = server.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new().fallback(handle).with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().expect("server address");
    (format!("http://{addr}/mcp"), server)
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    method: Option<String>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ModernParams<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "_meta", default)]
    meta: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, rename = "io.modelcontextprotocol/protocolVersion")]
    version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    name: String,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

async fn handle(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let probe: Option<Probe<'_>> = serde_json::from_slice(&body).ok();
    let rpc = probe.as_ref().and_then(|p| p.method.clone());
    let modern = probe.as_ref().and_then(|p| modern_fields(&body, p.params));
    {
        let mut rec = server.record.lock().unwrap();
        let seen = Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            rpc: rpc.clone(),
            modern: modern.is_some(),
            session: headers.contains_key("mcp-session-id"),
        };
        if rec.before_real.is_none() && rpc.as_deref() == Some("tools/call") {
            rec.before_real = Some(rec.seen.clone());
        }
        rec.seen.push(seen);
    }
    if uri.path() != "/mcp" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    match method {
        Method::GET => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
        Method::DELETE => return StatusCode::OK.into_response(),
        Method::POST => {}
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
    let Some(probe) = probe else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Some(m) = &modern {
        return handle_modern(&server, &headers, probe, m);
    }
    let is_init = probe.method.as_deref() == Some("initialize");
    if !is_init && headers.get("mcp-session-id").is_none() {
        return (StatusCode::BAD_REQUEST, "missing Mcp-Session-Id").into_response();
    }
    let Some(id) = probe.id else {
        return StatusCode::ACCEPTED.into_response();
    };
    let reply = |result: &[u8]| json_reply(id.get(), [Bytes::copy_from_slice(result)]);
    match probe.method.as_deref() {
        Some("initialize") => {
            let n = server.sessions.fetch_add(1, Ordering::Relaxed);
            let mut resp = reply(INIT_RESULT.as_bytes());
            resp.headers_mut()
                .insert("mcp-session-id", format!("bench-{n}").parse().unwrap());
            resp
        }
        Some("tools/list") => reply(TOOLS.as_bytes()),
        Some("ping") => reply(b"{}"),
        Some("tools/call") => call(&server, id.get(), probe.params),
        _ => error_reply(id.get(), -32601, "method not found"),
    }
}

/// The fields of a 2026-07-28 message its headers mirror.
struct Modern {
    version: String,
    name: Option<String>,
}

/// `params._meta["io.modelcontextprotocol/protocolVersion"]` (and `params.name`) of a
/// message, when it has one (a byte search first, so a stateful message costs one scan).
fn modern_fields(body: &[u8], params: Option<&RawValue>) -> Option<Modern> {
    memchr::memmem::find(body, VERSION_KEY.as_bytes())?;
    let params: ModernParams<'_> = serde_json::from_str(params?.get()).ok()?;
    let meta: Meta<'_> = serde_json::from_str(params.meta?.get()).ok()?;
    Some(Modern {
        version: meta.version?.into_owned(),
        name: params.name.map(Cow::into_owned),
    })
}

/// A 2026-07-28 message: no session; the mirrored headers must match the body.
fn handle_modern(server: &Server, headers: &HeaderMap, probe: Probe<'_>, m: &Modern) -> Response {
    let id = probe.id.map_or("null", RawValue::get);
    let method = probe.method.as_deref().unwrap_or_default();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(decode);
    let mut mismatch = Vec::new();
    if header("mcp-protocol-version").as_deref() != Some(m.version.as_str()) {
        mismatch.push("MCP-Protocol-Version");
    }
    if header("mcp-method").as_deref() != Some(method) {
        mismatch.push("Mcp-Method");
    }
    if matches!(method, "tools/call" | "resources/read" | "prompts/get")
        && (m.name.is_none() || header("mcp-name") != m.name)
    {
        mismatch.push("Mcp-Name");
    }
    if !mismatch.is_empty() {
        let why = format!(
            "HeaderMismatch: {} missing or not as in the body",
            mismatch.join(", ")
        );
        return error_status(StatusCode::BAD_REQUEST, id, -32020, &why);
    }
    if headers.contains_key("mcp-session-id") {
        // The revision has no sessions; a relay that sends one has mixed the eras up.
        return error_status(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "Mcp-Session-Id on a 2026-07-28 request",
        );
    }
    if m.version != MODERN_VERSION {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32022,"message":"Unsupported protocol version","data":{{"supported":["{MODERN_VERSION}"],"requested":{}}}}}}}"#,
            serde_json::Value::from(m.version.as_str())
        );
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    if probe.id.is_none() {
        return StatusCode::ACCEPTED.into_response();
    }
    let reply = |result: &[u8]| json_reply(id, [Bytes::copy_from_slice(result)]);
    match method {
        "server/discover" => reply(DISCOVER_RESULT.as_bytes()),
        "tools/list" => reply(TOOLS.as_bytes()),
        "tools/call" => call(server, id, probe.params),
        _ => error_status(StatusCode::NOT_FOUND, id, -32601, "method not found"),
    }
}

/// A header value, with the revision's `=?base64?…?=` form decoded.
fn decode(v: &str) -> String {
    use base64::Engine;
    v.strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| v.to_string())
}

fn call(server: &Server, id: &str, params: Option<&RawValue>) -> Response {
    let params: Option<CallParams<'_>> = params.and_then(|p| serde_json::from_str(p.get()).ok());
    match params.as_ref().map(|p| p.name.as_str()) {
        Some("big") => json_reply(id, [server.big_result.clone()]),
        Some("echo") => {
            let text = params
                .and_then(|p| p.arguments)
                .and_then(|a| serde_json::from_str::<EchoArgs>(a.get()).ok())
                .map(|a| a.text)
                .unwrap_or_default();
            let result = serde_json::json!({
                "content": [{ "type": "text", "text": text }],
                "isError": false
            });
            json_reply(id, [Bytes::from(result.to_string())])
        }
        _ => error_reply(id, -32602, "unknown tool"),
    }
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result>}` without copying the result.
fn json_reply<const N: usize>(id: &str, result: [Bytes; N]) -> Response {
    let head = Bytes::from(format!(r#"{{"jsonrpc":"2.0","id":{id},"result":"#));
    let len = head.len() + result.iter().map(Bytes::len).sum::<usize>() + 1;
    if len < 64 * 1024 {
        let mut body = Vec::with_capacity(len);
        body.extend_from_slice(&head);
        result.iter().for_each(|r| body.extend_from_slice(r));
        body.push(b'}');
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    // The big result goes out without being copied into one buffer.
    let chunks: Vec<Result<Bytes, Infallible>> = std::iter::once(head)
        .chain(result)
        .chain(std::iter::once(Bytes::from_static(b"}")))
        .map(Ok)
        .collect();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, len)
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap()
}

fn error_reply(id: &str, code: i64, message: &str) -> Response {
    error_status(StatusCode::OK, id, code, message)
}

/// A JSON-RPC error body with an HTTP status (the 2026-07-28 errors come on 4xx).
fn error_status(status: StatusCode, id: &str, code: i64, message: &str) -> Response {
    let message = serde_json::Value::from(message);
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

const INIT_RESULT: &str = r#"{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":false}},"serverInfo":{"name":"mcp-keybridge-bench","version":"1.0.0"}}"#;

const DISCOVER_RESULT: &str = r#"{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{"listChanged":false}},"serverInfo":{"name":"mcp-keybridge-bench","version":"1.0.0"},"resultType":"complete","ttlMs":0,"cacheScope":"private"}"#;

const TOOLS: &str = r#"{"tools":[{"name":"echo","description":"Returns its text argument.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}},{"name":"big","description":"Returns a 50 MB text.","inputSchema":{"type":"object","properties":{}}}]}"#;
