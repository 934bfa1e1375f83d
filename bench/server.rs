//! The benchmark's fixed MCP server: Streamable HTTP with JSON replies only (no SSE), bearer
//! auth, one session, tools `echo` and `big`. Its own cost is kept small (replies are built by
//! concatenating bytes, the 50 MB result is built once) so that the figures measure the relay.
//!
//! It records every HTTP request it receives (method, path, JSON-RPC method), so the driver
//! can say how many requests a candidate sent before its first real one (a `tools/call`).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The bearer token every request must carry.
pub const TOKEN: &str = "bench-token-0123456789";
/// Size of the `big` tool's text, in bytes.
pub const BIG_LEN: usize = 50_000_000;

/// One HTTP request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub rpc: Option<String>,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(rpc) = &self.rpc {
            write!(f, " {rpc}")?;
        }
        Ok(())
    }
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
    {
        let mut rec = server.record.lock().unwrap();
        let seen = Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            rpc: rpc.clone(),
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
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":"{message}"}}}}"#);
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

const INIT_RESULT: &str = r#"{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":false}},"serverInfo":{"name":"mcp-keybridge-bench","version":"1.0.0"}}"#;

const TOOLS: &str = r#"{"tools":[{"name":"echo","description":"Returns its text argument.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}},{"name":"big","description":"Returns a 50 MB text.","inputSchema":{"type":"object","properties":{}}}]}"#;
