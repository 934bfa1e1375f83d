//! A strict MCP 2026-07-28 (stateless) test server: it checks every header the revision
//! asks a client for (`MCP-Protocol-Version` against `_meta`, `Mcp-Method`, `Mcp-Name`,
//! `Mcp-Param-*`, decoding the Base64 sentinel) and answers as a modern-only server does:
//! 400 with `-32020` / `-32022`, 404 with `-32601`, 405 for GET and DELETE. Its tools cover
//! the exchanges a bridge must relay: JSON and SSE replies, progress, a cut stream, a slow
//! call (to see cancellation arrive as a closed stream), an input-required round trip, an
//! invalid `x-mcp-header` tool, and `subscriptions/listen`.

use super::record::Recorded;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

pub const VERSION: &str = "2026-07-28";

/// A 2026-07-28 request line, as a stateless client writes it.
pub fn stateless_request(id: impl Into<Value>, method: &str, mut params: Value) -> String {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "modern-client", "version": "2"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    json!({"jsonrpc": "2.0", "id": id.into(), "method": method, "params": params}).to_string()
}
const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

#[derive(Default)]
struct Shared {
    log: Mutex<Vec<Recorded>>,
    /// Ids of calls whose response stream the client closed before the result.
    cancelled: Mutex<Vec<Value>>,
    listens: AtomicUsize,
    /// `tools/list` answers the `region` tool without its annotation (a stale list).
    hide_annotation: std::sync::atomic::AtomicBool,
}

/// A running modern test server on 127.0.0.1.
pub struct ModernServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _task: tokio::task::JoinHandle<()>,
}

impl ModernServer {
    pub async fn start() -> ModernServer {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(front).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ModernServer {
            addr,
            shared,
            _task: task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The POSTs of `method`, in order.
    pub fn posts_of(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_post_of(method))
            .collect()
    }

    pub fn cancelled(&self) -> Vec<Value> {
        self.shared.cancelled.lock().unwrap().clone()
    }

    pub fn listens(&self) -> usize {
        self.shared.listens.load(Ordering::SeqCst)
    }

    pub fn hide_annotation(&self, hide: bool) {
        self.shared.hide_annotation.store(hide, Ordering::SeqCst);
    }

    /// Waits (bounded) until `pred` holds.
    pub async fn wait_until(&self, what: &str, pred: impl Fn(&ModernServer) -> bool) {
        let deadline = tokio::time::Instant::now() + super::STEP;
        while !pred(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn front(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 16 << 20).await.unwrap_or_default();
    s.log
        .lock()
        .unwrap()
        .push(Recorded::new(&parts, body.to_vec()));
    if parts.method != axum::http::Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            -32700,
            "Parse error",
            None,
        );
    };
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    if let Err(why) = check_headers(&parts.headers, &msg) {
        return rpc_error(StatusCode::BAD_REQUEST, &id, -32020, &why, None);
    }
    let version = msg["params"]["_meta"][VERSION_KEY].as_str().unwrap_or("");
    if version != VERSION {
        let data = json!({"supported": [VERSION], "requested": version});
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &id,
            -32022,
            "Unsupported protocol version",
            Some(data),
        );
    }
    let method = msg["method"].as_str().unwrap_or("");
    match method {
        "server/discover" => json_result(
            &id,
            json!({
                "supportedVersions": [VERSION],
                "capabilities": {"tools": {"listChanged": true}},
                "serverInfo": {"name": "modern-test", "version": "1.0.0"},
                "instructions": "a strict 2026-07-28 test server",
                "resultType": "complete", "ttlMs": 0, "cacheScope": "private"
            }),
        ),
        "tools/list" => json_result(&id, tools(s.hide_annotation.load(Ordering::SeqCst))),
        "tools/call" => call(&s, &parts.headers, &id, &msg["params"]),
        "subscriptions/listen" => listen(&s, &id),
        _ => rpc_error(StatusCode::NOT_FOUND, &id, -32601, "Method not found", None),
    }
}

/// The revision's server validation of the standard and custom headers.
fn check_headers(h: &HeaderMap, msg: &Value) -> Result<(), String> {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(decode);
    let meta_version = msg["params"]["_meta"][VERSION_KEY].as_str();
    let version = get("mcp-protocol-version");
    if version.is_none() || version.as_deref() != meta_version {
        return Err(format!(
            "MCP-Protocol-Version {version:?} does not match _meta {meta_version:?}"
        ));
    }
    let method = msg["method"].as_str();
    if get("mcp-method").as_deref() != method {
        return Err(format!(
            "Mcp-Method {:?} does not match {method:?}",
            get("mcp-method")
        ));
    }
    if matches!(
        method,
        Some("tools/call" | "resources/read" | "prompts/get")
    ) {
        let body = msg["params"]["name"]
            .as_str()
            .or(msg["params"]["uri"].as_str());
        if get("mcp-name").as_deref() != body {
            return Err(format!(
                "Mcp-Name {:?} does not match {body:?}",
                get("mcp-name")
            ));
        }
    }
    if method == Some("tools/call") && msg["params"]["name"] == "region" {
        let arg = msg["params"]["arguments"]["region"].as_str();
        if get("mcp-param-region").as_deref() != arg {
            return Err(format!(
                "Mcp-Param-Region {:?} does not match {arg:?}",
                get("mcp-param-region")
            ));
        }
    }
    Ok(())
}

fn decode(v: &str) -> String {
    match v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(b64) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            String::from_utf8_lossy(&raw).into_owned()
        }
        None => v.to_owned(),
    }
}

fn tools(hide_annotation: bool) -> Value {
    let mut region = json!({"type": "string", "x-mcp-header": "Region"});
    if hide_annotation {
        region = json!({"type": "string"});
    }
    let text = |d: &str| json!({"type": "object", "properties": {"text": {"type": "string"}}, "description": d});
    json!({
        "tools": [
            {"name": "echo", "inputSchema": text("echoes text")},
            {"name": "region", "inputSchema": {"type": "object", "properties": {"region": region}}},
            {"name": "slow", "inputSchema": {"type": "object", "properties": {"ms": {"type": "integer"}}}},
            {"name": "cut", "inputSchema": {"type": "object"}},
            {"name": "ask", "inputSchema": {"type": "object"}},
            {"name": "broken", "inputSchema": {"type": "object", "properties": {"o": {"type": "object", "x-mcp-header": "O"}}}}
        ],
        "resultType": "complete", "ttlMs": 0, "cacheScope": "private"
    })
}

fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "resultType": "complete"})
}

fn call(s: &Arc<Shared>, h: &HeaderMap, id: &Value, params: &Value) -> Response {
    let args = &params["arguments"];
    let token = params["_meta"]["progressToken"].clone();
    let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
        "params": {"progressToken": token, "progress": 1, "total": 2}});
    match params["name"].as_str().unwrap_or("") {
        "echo" => json_result(id, text_result(args["text"].as_str().unwrap_or(""))),
        "region" => json_result(
            id,
            text_result(&decode(h["mcp-param-region"].to_str().unwrap())),
        ),
        "slow" => {
            let ms = args["ms"].as_u64().unwrap_or(100);
            let (s, id, final_) = (s.clone(), id.clone(), reply(id, text_result("slow done")));
            sse(move |tx| async move {
                let _ = tx.send(event(&progress)).await;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {
                        let _ = tx.send(event(&final_)).await;
                    }
                    () = tx.closed() => s.cancelled.lock().unwrap().push(id),
                }
            })
        }
        // Progress, then the stream ends without the result.
        "cut" => sse(move |tx| async move {
            let _ = tx.send(event(&progress)).await;
        }),
        "ask" => match params.get("inputResponses") {
            None => json_result(
                id,
                json!({
                    "resultType": "input_required",
                    "inputRequests": {"q1": {"method": "elicitation/create", "params": {
                        "mode": "form", "message": "Your name?",
                        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}}},
                    "requestState": "opaque-\u{e9}tat-1"
                }),
            ),
            Some(answers) if params["requestState"] == "opaque-\u{e9}tat-1" => {
                let name = answers["q1"]["content"]["name"].as_str().unwrap_or("?");
                json_result(id, text_result(&format!("hello {name}")))
            }
            Some(_) => rpc_error(
                StatusCode::OK,
                id,
                -32602,
                "requestState was not echoed",
                None,
            ),
        },
        other => rpc_error(
            StatusCode::OK,
            id,
            -32602,
            &format!("unknown tool {other}"),
            None,
        ),
    }
}

/// The first listen stream says one list change and ends (as a restarting server's would);
/// later ones say one more and stay open.
fn listen(s: &Arc<Shared>, id: &Value) -> Response {
    let n = s.listens.fetch_add(1, Ordering::SeqCst);
    let meta = json!({"io.modelcontextprotocol/subscriptionId": id});
    let ack = json!({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": {"_meta": meta}});
    let changed = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": {"_meta": meta, "n": n}});
    sse(move |tx| async move {
        let _ = tx.send(event(&ack)).await;
        let _ = tx.send(event(&changed)).await;
        if n > 0 {
            tx.closed().await;
        }
    })
}

fn sse<F, Fut>(produce: F) -> Response
where
    F: FnOnce(mpsc::Sender<Result<Bytes, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(produce(tx));
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap()
}

fn event(msg: &Value) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!("event: message\ndata: {msg}\n\n")))
}

fn reply(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn json_result(id: &Value, result: Value) -> Response {
    json_response(StatusCode::OK, &reply(id, result))
}

fn rpc_error(
    status: StatusCode,
    id: &Value,
    code: i64,
    message: &str,
    data: Option<Value>,
) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let Some(d) = data {
        error["data"] = d;
    }
    json_response(status, &json!({"jsonrpc": "2.0", "id": id, "error": error}))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    Response::builder()
        .status(status)
        .body(Body::from(text))
        .unwrap()
}
