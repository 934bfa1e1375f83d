//! Streamable HTTP mode: one endpoint, `/mcp`, for POST (messages), GET (server→client
//! stream, or `Last-Event-ID` replay) and DELETE (end of session).

use super::dispatch::{Kind, answer, error, is_tool_call, kind, preamble};
use super::record::Recorded;
use super::server::{ReplyMode, ServerConfig, Shared, StreamLog, json_response, plain};
use super::sse::{self, Frame};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

pub(crate) async fn handle(shared: Arc<Shared>, rec: Recorded, cfg: ServerConfig) -> Response {
    if rec.path != "/mcp" {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    match rec.method.as_str() {
        "POST" => post(shared, rec, cfg).await,
        "GET" => get(shared, rec, cfg),
        "DELETE" => delete(&shared, &rec, &cfg),
        _ => method_not_allowed(),
    }
}

async fn post(shared: Arc<Shared>, rec: Recorded, cfg: ServerConfig) -> Response {
    let Ok(msg) = serde_json::from_slice::<Value>(&rec.body) else {
        let body = error(&Value::Null, -32700, "Parse error");
        return json_response(StatusCode::BAD_REQUEST, body);
    };
    if !msg.is_object() {
        // Batches were removed in 2025-06-18; this server rejects them like the SDKs do.
        let body = error(&Value::Null, -32600, "Invalid Request");
        return json_response(StatusCode::BAD_REQUEST, body);
    }
    let mut new_session = None;
    if msg["method"] == "initialize" {
        if cfg.sessions {
            let id = format!("session-{}", shared.next());
            shared.sessions.lock().unwrap().insert(id.clone(), 0);
            new_session = Some(id);
        }
    } else if let Some(refusal) = session_refusal(&shared, &rec, &cfg) {
        return refusal;
    } else if let Some(why) = &cfg.refuse_400 {
        return json_response(StatusCode::BAD_REQUEST, error(&Value::Null, -32000, why));
    }
    if !matches!(kind(&msg), Kind::Request { .. }) {
        return plain(StatusCode::ACCEPTED, "");
    }
    let mut resp = match cfg.reply {
        ReplyMode::Json => json_response(StatusCode::OK, answer(&cfg, &msg, false).await),
        ReplyMode::Sse => sse_reply(&shared, cfg, msg),
    };
    if let Some(id) = new_session {
        let value = HeaderValue::from_str(&id).unwrap();
        resp.headers_mut().insert("mcp-session-id", value);
    }
    resp
}

/// The refusal for a request without a valid session: 400 without a session id, 404 for an
/// unknown or expired one. `None` lets the request through.
fn session_refusal(shared: &Shared, rec: &Recorded, cfg: &ServerConfig) -> Option<Response> {
    if !cfg.sessions {
        return None;
    }
    let Some(id) = rec.header("mcp-session-id") else {
        return Some(plain(
            StatusCode::BAD_REQUEST,
            "Bad Request: Missing session ID",
        ));
    };
    let mut sessions = shared.sessions.lock().unwrap();
    let Some(uses) = sessions.get_mut(id) else {
        return Some(unknown_session(cfg));
    };
    *uses += 1;
    if cfg.expire_session_after.is_some_and(|limit| *uses > limit) {
        sessions.remove(id);
        return Some(unknown_session(cfg));
    }
    None
}

/// 404 as the spec says, or the TypeScript SDK example's 400 (`stale_session_400`).
fn unknown_session(cfg: &ServerConfig) -> Response {
    if cfg.stale_session_400 {
        let body = error(
            &Value::Null,
            -32000,
            "Bad Request: No valid session ID provided",
        );
        return json_response(StatusCode::BAD_REQUEST, body);
    }
    plain(StatusCode::NOT_FOUND, "Session not found")
}

/// Answers on an event stream: optional priming event and preamble, then the response.
/// Every event is logged for replay even after `cut_sse_after` has closed the stream.
fn sse_reply(shared: &Shared, cfg: ServerConfig, msg: Value) -> Response {
    let (tx, resp) = sse::stream_response(cfg.sse_split_every);
    let stream_id = format!("s{}", shared.next());
    let (log, _) = watch::channel(StreamLog::default());
    let srv_request_no = shared.next();
    shared
        .replay
        .lock()
        .unwrap()
        .insert(stream_id.clone(), log.clone());
    tokio::spawn(async move {
        let mut out = ReplyStream {
            tx: Some(tx),
            sent: 0,
            stream_id,
            log,
            cfg: cfg.clone(),
        };
        if cfg.sse_priming_event {
            out.emit(String::new());
        }
        if is_tool_call(&msg) {
            for extra in preamble(&cfg, &msg, srv_request_no) {
                out.emit(extra);
            }
        }
        out.emit(answer(&cfg, &msg, false).await);
        out.log.send_modify(|l| l.done = true);
    });
    resp
}

struct ReplyStream {
    tx: Option<mpsc::UnboundedSender<String>>,
    sent: usize,
    stream_id: String,
    log: watch::Sender<StreamLog>,
    cfg: ServerConfig,
}

impl ReplyStream {
    fn emit(&mut self, data: String) {
        let index = self.log.borrow().events.len();
        self.log.send_modify(|l| l.events.push(data.clone()));
        let Some(tx) = &self.tx else { return };
        let id = self
            .cfg
            .sse_event_ids
            .then(|| format!("{}-{index}", self.stream_id));
        let text = sse::frame(
            &Frame {
                // A priming event is just an id and empty data.
                event: self.cfg.message_event().filter(|_| !data.is_empty()),
                id: id.as_deref(),
                retry_ms: if index == 0 {
                    self.cfg.sse_retry_ms
                } else {
                    None
                },
                data: &data,
            },
            self.cfg.crlf,
        );
        let _ = tx.send(text);
        self.sent += 1;
        if self.cfg.cut_sse_after.is_some_and(|n| self.sent >= n) {
            self.tx = None; // dropping the sender ends the HTTP body
        }
    }
}

fn get(shared: Arc<Shared>, rec: Recorded, cfg: ServerConfig) -> Response {
    if !cfg.get_stream {
        return method_not_allowed();
    }
    if let Some(refusal) = session_refusal(&shared, &rec, &cfg) {
        return refusal;
    }
    if let Some(last) = rec.header("last-event-id") {
        return replay(&shared, &cfg, last);
    }
    let (tx, resp) = sse::stream_response(cfg.sse_split_every);
    {
        // Hold the stream list while draining the queue so a concurrent push isn't lost.
        let mut streams = shared.get_streams.lock().unwrap();
        for msg in shared.take_pending() {
            let _ = tx.send(sse::event(cfg.message_event(), None, &msg, cfg.crlf));
        }
        streams.push(tx.clone());
    }
    sse::keep_pinging(&tx, cfg.ping_every, cfg.crlf, shared.pings.clone());
    resp
}

/// Replays the events after `Last-Event-ID` once the original reply has its response.
fn replay(shared: &Shared, cfg: &ServerConfig, last: &str) -> Response {
    let parsed = last
        .rsplit_once('-')
        .and_then(|(stream, n)| Some((stream.to_owned(), n.parse::<usize>().ok()?)));
    let found = parsed.and_then(|(stream, n)| {
        let log = shared.replay.lock().unwrap().get(&stream).cloned()?;
        Some((stream, n, log))
    });
    let Some((stream, after, log)) = found else {
        return plain(StatusCode::BAD_REQUEST, "Unknown Last-Event-ID");
    };
    let (tx, resp) = sse::stream_response(cfg.sse_split_every);
    let (crlf, name) = (cfg.crlf, cfg.message_event());
    tokio::spawn(async move {
        let mut rx = log.subscribe();
        let Ok(done) = rx.wait_for(|l| l.done).await else {
            return;
        };
        for (index, data) in done.events.iter().enumerate().skip(after + 1) {
            let id = format!("{stream}-{index}");
            let _ = tx.send(sse::event(name, Some(&id), data, crlf));
        }
    });
    resp
}

fn delete(shared: &Shared, rec: &Recorded, cfg: &ServerConfig) -> Response {
    if !cfg.delete_allowed {
        return method_not_allowed();
    }
    if !cfg.sessions {
        return plain(StatusCode::OK, "");
    }
    match rec.header("mcp-session-id") {
        None => plain(StatusCode::BAD_REQUEST, "Bad Request: Missing session ID"),
        Some(id) if shared.sessions.lock().unwrap().remove(id).is_some() => {
            plain(StatusCode::OK, "")
        }
        Some(_) => plain(StatusCode::NOT_FOUND, "Session not found"),
    }
}

fn method_not_allowed() -> Response {
    let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}
