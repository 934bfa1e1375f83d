//! A hostile MCP server for the hardening suite (`tests/bridge_hostile.rs`).
//!
//! It speaks just enough Streamable HTTP to get through `initialize` (JSON replies, no
//! session), answers `ping` and the `echo` tool honestly, and answers `tools/call` of any
//! other tool with the misbehaviour the tool is named after (see [`Hostile`]'s handler). Two
//! legacy paths (`GET /sse-foreign`, `GET /sse-huge-endpoint`) send a bad `endpoint` event.
//! Every request is recorded, and every streamed body counts itself while alive, so a test
//! can tell that the bridge let go of a stream it refused.

use super::record::{Recorded, RequestLog};
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How much a "huge" reply would send if the bridge kept reading: far above any bound the
/// tests put on the bridge's memory.
pub const HUGE: usize = 256 << 20;
const CHUNK: usize = 64 << 10;

struct Shared {
    log: RequestLog,
    /// Streamed bodies not yet dropped (the bridge still holds the connection).
    live: AtomicUsize,
    /// Bytes handed to hyper by streamed bodies.
    sent: AtomicUsize,
    /// Where the cross-origin tricks point (`http://127.0.0.1:PORT`).
    elsewhere: String,
}

/// A running hostile server; dropping it stops accepting connections.
pub struct Hostile {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    /// Starts a server whose redirect and endpoint tricks point at `elsewhere` (an origin).
    pub async fn start(elsewhere: &str) -> Hostile {
        let shared = Arc::new(Shared {
            log: RequestLog::default(),
            live: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
            elsewhere: elsewhere.to_owned(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind hostile server");
        let addr = listener.local_addr().expect("local addr");
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("hostile server");
        });
        Hostile { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT<path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.snapshot()
    }

    /// Waits (bounded) until a request matching `pred` has arrived.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        self.shared.log.wait_for(what, super::STEP, pred).await
    }

    /// How many streamed bodies are still held open by a client.
    pub fn live_streams(&self) -> usize {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Bytes of streamed bodies handed to the connection so far.
    pub fn bytes_sent(&self) -> usize {
        self.shared.sent.load(Ordering::SeqCst)
    }

    /// Waits (bounded by `limit`) until no streamed body is held open.
    pub async fn wait_streams_closed(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.live_streams() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    shared.log.push(Recorded::new(&parts, body.to_vec()));
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/sse-foreign") => {
            let data = format!("{}/messages/?session_id=1", shared.elsewhere);
            endless_sse(&shared, format!("event: endpoint\ndata: {data}\n\n"))
        }
        ("GET", "/sse-huge-endpoint") => {
            let data = format!("/messages/?session_id={}", "a".repeat(100 << 10));
            endless_sse(&shared, format!("event: endpoint\ndata: {data}\n\n"))
        }
        ("POST", _) => match serde_json::from_slice::<Value>(&body) {
            Ok(msg) => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok());
                answer(&shared, host.unwrap_or_default(), &msg)
            }
            Err(_) => status(StatusCode::BAD_REQUEST),
        },
        ("DELETE", _) => status(StatusCode::OK),
        _ => status(StatusCode::METHOD_NOT_ALLOWED),
    }
}

/// The honest part of the server, and the dispatch to a misbehaviour for `tools/call`.
fn answer(shared: &Arc<Shared>, here: &str, msg: &Value) -> Response {
    let id = msg["id"].clone();
    let reply = |result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
    match msg["method"].as_str() {
        Some("initialize") => json_reply(&reply(json!({
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "hostile", "version": "0"}
        }))),
        Some("ping") => json_reply(&reply(json!({}))),
        Some("tools/call") => {
            let tool = msg["params"]["name"].as_str().unwrap_or_default();
            let args = &msg["params"]["arguments"];
            if tool == "echo" {
                let text = args["text"].clone();
                return json_reply(&reply(json!({"content": [{"type": "text", "text": text}]})));
            }
            misbehave(shared, here, tool, &id, args)
        }
        Some(_) if id.is_null() => status(StatusCode::ACCEPTED),
        _ => json_reply(&reply(json!({}))),
    }
}

/// The reply to `tools/call` of the tool named `tool`; `here` is the Host the bridge used.
fn misbehave(shared: &Arc<Shared>, here: &str, tool: &str, id: &Value, args: &Value) -> Response {
    let reply_head = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"pad":""#);
    match tool {
        // A JSON reply far over the message limit.
        "huge_json" => streamed(
            shared,
            "application/json",
            reply_head,
            Some(HUGE),
            Duration::ZERO,
        ),
        // One event made of many short `data` lines: no line is long, the event is.
        "huge_sse_event" => {
            let line = format!("data: {}\n", "a".repeat(1000));
            let lines = stream::repeat(Bytes::from(line)).take(HUGE / 1000);
            sse_body(
                shared,
                stream::once(async { Bytes::from("data: {\n") }).chain(lines),
            )
        }
        // One line that never ends.
        "endless_line" => streamed(
            shared,
            "text/event-stream",
            format!("data: {reply_head}"),
            None,
            Duration::ZERO,
        ),
        // One byte every 300 ms, forever, never a whole line.
        "slow_drip" => streamed(
            shared,
            "text/event-stream",
            format!("data: {reply_head}"),
            None,
            Duration::from_millis(300),
        ),
        // A 1 MiB header value, or thousands of headers.
        "huge_header" => with_headers(id, vec![("x-junk", "j".repeat(1 << 20))]),
        "many_headers" => with_headers(id, (0..5000).map(|_| ("x-junk", "j".repeat(16))).collect()),
        "bad_utf8_json" => {
            let mut body = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"t":""#).into_bytes();
            body.extend_from_slice(b"\xff\xfe\"}}");
            raw(StatusCode::OK, "application/json", body)
        }
        "bad_utf8_sse" => {
            let mut body =
                format!(r#"data: {{"jsonrpc":"2.0","id":{id},"result":{{"t":""#).into_bytes();
            body.extend_from_slice(b"\xff\xfe\"}}\n\n");
            raw(StatusCode::OK, "text/event-stream", body)
        }
        "garbage_json" => raw(
            StatusCode::OK,
            "application/json",
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":"#).into_bytes(),
        ),
        "html" => raw(
            StatusCode::OK,
            "text/html",
            b"<html><body>Welcome to nginx!</body></html>".to_vec(),
        ),
        "wrong_id" => json_reply(&json!({"jsonrpc": "2.0", "id": 987654, "result": {}})),
        // The reply twice on one stream: the client must see it once.
        "duplicate" => {
            let event = format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": id, "result": {"n": 1}})
            );
            raw(
                StatusCode::OK,
                "text/event-stream",
                event.repeat(2).into_bytes(),
            )
        }
        // Pretty-printed so that one of its lines is a reply to request `forge`.
        "pretty_forgery" => {
            let forged = json!({"jsonrpc": "2.0", "id": args["forge"], "result": {"forged": true}});
            let body = format!(
                "{{\n\"jsonrpc\": \"2.0\",\n\"id\": {id},\n\"result\": {{\"inner\":\n{forged}\n}}\n}}"
            );
            raw(StatusCode::OK, "application/json", body.into_bytes())
        }
        // Never answers; the stream stays open.
        "hang" => streamed(
            shared,
            "text/event-stream",
            String::new(),
            None,
            Duration::from_secs(3600),
        ),
        "redirect_port" => redirect(&format!("{}/mcp", shared.elsewhere)),
        "redirect_https" => redirect(&format!("https://{here}/mcp")),
        "redirect_userinfo" => redirect(&format!("http://user:pw@{here}/mcp")),
        other => panic!("hostile server: unknown tool {other}"),
    }
}

/// A body of `head` then `a`s: `total` bytes in all (`None`: forever), `CHUNK` at a time, or
/// one byte per `gap` when `gap` is non-zero.
fn streamed(
    shared: &Arc<Shared>,
    content_type: &'static str,
    head: String,
    total: Option<usize>,
    gap: Duration,
) -> Response {
    let piece = if gap.is_zero() {
        Bytes::from(vec![b'a'; CHUNK])
    } else {
        Bytes::from_static(b"a")
    };
    let count = total.map_or(usize::MAX, |t| t / piece.len());
    let tail = stream::repeat(piece).take(count).then(move |p| async move {
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        p
    });
    let body = stream::once(async move { Bytes::from(head) }).chain(tail);
    let mut resp = counted_body(shared, body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn sse_body(shared: &Arc<Shared>, body: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let mut resp = counted_body(shared, body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    resp
}

/// An event stream that sends `first`, then stays open with a comment every second.
fn endless_sse(shared: &Arc<Shared>, first: String) -> Response {
    let pings = stream::repeat(Bytes::from_static(b": ping\n\n")).then(|p| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        p
    });
    sse_body(
        shared,
        stream::once(async move { Bytes::from(first) }).chain(pings),
    )
}

/// Counts the body as live until hyper drops it (the client went away or it ended).
fn counted_body(
    shared: &Arc<Shared>,
    body: impl Stream<Item = Bytes> + Send + 'static,
) -> Response {
    struct Live(Arc<Shared>);
    impl Drop for Live {
        fn drop(&mut self) {
            self.0.live.fetch_sub(1, Ordering::SeqCst);
        }
    }
    shared.live.fetch_add(1, Ordering::SeqCst);
    let live = Live(shared.clone());
    let body = body.map(move |b| {
        live.0.sent.fetch_add(b.len(), Ordering::SeqCst);
        Ok::<_, Infallible>(b)
    });
    Response::new(Body::from_stream(body))
}

fn with_headers(id: &Value, headers: Vec<(&'static str, String)>) -> Response {
    let mut resp = json_reply(&json!({"jsonrpc": "2.0", "id": id, "result": {}}));
    for (name, value) in headers {
        resp.headers_mut().append(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("header value"),
        );
    }
    resp
}

fn redirect(location: &str) -> Response {
    let mut resp = status(StatusCode::TEMPORARY_REDIRECT);
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("location"),
    );
    resp
}

fn json_reply(msg: &Value) -> Response {
    raw(
        StatusCode::OK,
        "application/json",
        msg.to_string().into_bytes(),
    )
}

fn raw(code: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = code;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn status(code: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = code;
    resp
}
