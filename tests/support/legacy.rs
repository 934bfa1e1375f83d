//! Legacy HTTP+SSE mode (2024-11-05, as the Python SDK serves it) and the seed server's
//! quirks (mcp-jira-confluence-sse): synchronous JSON on POST, a broken `GET /sse`.

use super::dispatch::{Kind, answer, error, is_tool_call, kind, preamble};
use super::record::Recorded;
use super::server::{ServerConfig, Shared, json_response, plain};
use super::sse;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn handle(shared: Arc<Shared>, rec: Recorded, cfg: ServerConfig) -> Response {
    let path = rec.path.as_str();
    match rec.method.as_str() {
        "GET" if path.ends_with("/sse") => open_stream(&shared, &rec, &cfg),
        "POST" if path.ends_with("/messages/") || path.ends_with("/messages") => {
            message(&shared, &rec, cfg)
        }
        // What a client probing for Streamable HTTP gets (Starlette: a GET-only route → 405).
        "POST" if path.ends_with("/sse") => {
            let status = StatusCode::from_u16(cfg.legacy_post_status).unwrap();
            plain(status, "Method Not Allowed")
        }
        _ => plain(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `GET …/sse`: the `endpoint` event first, then `message` events and `: ping` comments.
fn open_stream(shared: &Shared, rec: &Recorded, cfg: &ServerConfig) -> Response {
    let session = format!("{:032x}", shared.next());
    let owner = rec.header("authorization").map(str::to_owned);
    shared
        .legacy_owner
        .lock()
        .unwrap()
        .insert(session.clone(), owner);
    let endpoint = cfg.endpoint.replace("{session}", &session);
    let (tx, resp) = sse::stream_response(cfg.sse_split_every);
    if cfg.endpoint_event {
        let _ = tx.send(sse::event(Some("endpoint"), None, &endpoint, cfg.crlf));
    }
    {
        // Same lock order as `Shared::push`: legacy → pending.
        let mut legacy = shared.legacy.lock().unwrap();
        for msg in shared.take_pending() {
            let _ = tx.send(sse::event(cfg.message_event(), None, &msg, cfg.crlf));
        }
        legacy.insert(session, tx.clone());
    }
    sse::keep_pinging(&tx, cfg.ping_every, cfg.crlf, shared.pings.clone());
    resp
}

/// `POST …/messages/?session_id=X`: 202 at once; any reply goes out on the GET stream.
fn message(shared: &Shared, rec: &Recorded, cfg: ServerConfig) -> Response {
    let session = rec.query.as_deref().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("session_id="))
            .map(str::to_owned)
    });
    let Some(session) = session else {
        return plain(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let Some(tx) = shared.legacy.lock().unwrap().get(&session).cloned() else {
        return plain(StatusCode::NOT_FOUND, "Could not find session");
    };
    let owner = shared.legacy_owner.lock().unwrap().get(&session).cloned();
    if cfg.legacy_bind_identity && owner.flatten().as_deref() != rec.header("authorization") {
        return plain(StatusCode::NOT_FOUND, "Could not find session");
    }
    let Ok(msg) = serde_json::from_slice::<Value>(&rec.body) else {
        return plain(StatusCode::BAD_REQUEST, "Could not parse message");
    };
    if matches!(kind(&msg), Kind::Request { .. }) {
        let srv_request_no = shared.next();
        // Weak, so that a slow or hanging reply does not keep a closed stream open.
        let weak = tx.downgrade();
        tokio::spawn(async move {
            let send = |data: &str| {
                if let Some(tx) = weak.upgrade() {
                    let _ = tx.send(sse::event(cfg.message_event(), None, data, cfg.crlf));
                }
            };
            if is_tool_call(&msg) {
                preamble(&cfg, &msg, srv_request_no)
                    .iter()
                    .for_each(|m| send(m));
            }
            send(&answer(&cfg, &msg, false).await);
        });
    }
    plain(StatusCode::ACCEPTED, "Accepted")
}

pub(crate) async fn seed(shared: Arc<Shared>, rec: Recorded, cfg: ServerConfig) -> Response {
    let known = matches!(rec.path.as_str(), "/mcp" | "/sse" | "/");
    match rec.method.as_str() {
        "POST" if known => seed_post(&rec, &cfg).await,
        "GET" if rec.path == "/sse" => broken_stream(&shared),
        _ if known => plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        _ => plain(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Always 200 and JSON, even for notifications (which the bridge must not relay).
async fn seed_post(rec: &Recorded, cfg: &ServerConfig) -> Response {
    let Ok(msg) = serde_json::from_slice::<Value>(&rec.body) else {
        return json_response(StatusCode::OK, error(&Value::Null, -32700, "Parse error"));
    };
    let body = match kind(&msg) {
        Kind::Request { .. } => answer(cfg, &msg, true).await,
        Kind::Notification { method } if method == "notifications/initialized" => {
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#.to_owned()
        }
        _ => error(&Value::Null, -32601, "Method not found"),
    };
    json_response(StatusCode::OK, body)
}

/// No `endpoint` event, double-wrapped data, and then silence forever.
fn broken_stream(shared: &Shared) -> Response {
    let (tx, resp) = sse::stream_response(None);
    let _ = tx.send("data: data: {\"jsonrpc\":\"2.0\",\"method\":\"connection/ready\"}\n\n".into());
    shared.parked.lock().unwrap().push(tx);
    resp
}
