//! Input rounds for a 2026-07-28 client on a session the bridge holds with a stateful
//! server (`transport/modern_client.rs`): the server's own `elicitation/create`,
//! `sampling/createMessage` and `roots/list` requests are taken off the way to stdout, the
//! client's pending call is answered `input_required` while its upstream request goes on,
//! and that request's final answer is handed to the client's retry, whose id is only known
//! later. The `requestState` is a random handle the bridge keeps, bound to the call's method.

use super::{Pending, Redirect, Router};
use crate::jsonrpc::{Id, Message};
use crate::sync::lock;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// The server requests a stateless client can answer in an input round.
const ASKS: [&str; 4] = [
    "elicitation/create",
    "sampling/createMessage",
    "roots/list",
    "ping",
];

/// An input round under way: the upstream call, and which of its server requests each
/// `inputRequests` key stands for.
pub struct Parked {
    upstream: Id,
    method: Box<str>,
    asks: Vec<(String, String)>,
}

impl Router {
    /// The messages the router sends the server itself; taken once, by the relay.
    pub fn server_bound(&self) -> Option<mpsc::UnboundedReceiver<Bytes>> {
        lock(&self.server_bound).take()
    }

    /// True when `msg`, a server request, becomes an input round (a stateless client on a
    /// stateful server's session).
    pub(super) fn takes_ask(&self, msg: &Message) -> bool {
        self.downgraded.load(Ordering::Relaxed)
            && msg.method.as_deref().is_some_and(|m| ASKS.contains(&m))
    }

    /// A stateful server's request during a stateless client's call: the call is answered
    /// `input_required` with the request in `inputRequests` and a fresh handle as
    /// `requestState`; the upstream call goes on. Without one call to attach it to, the
    /// server gets an error.
    pub(super) async fn park(&self, msg: Message) {
        #[derive(Deserialize)]
        struct Ask<'a> {
            #[serde(borrow)]
            params: Option<&'a RawValue>,
        }
        let (Some(id), Some(method)) = (msg.id.clone(), msg.method.clone()) else {
            return;
        };
        if method.as_ref() == "ping" {
            // A stateless client has no ping; the bridge answers for it.
            let pong = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, id.raw());
            let _ = self.to_server.send(Bytes::from(pong));
            return;
        }
        let params = serde_json::from_slice::<Ask<'_>>(&msg.raw)
            .ok()
            .and_then(|a| a.params.map(|p| p.get().to_string()))
            .unwrap_or_else(|| "{}".into());
        let Some((client, call_method)) = self.single_modern_call() else {
            tracing::info!(
                "refusing the server's {method}: no single call of this client to attach it to"
            );
            let refusal = crate::jsonrpc::error_reply(
                Some(&id),
                crate::jsonrpc::INTERNAL_ERROR,
                "mcp-keybridge: the client speaks MCP 2026-07-28 and takes such requests only during one call",
                None,
            );
            let _ = self.to_server.send(refusal);
            return;
        };
        let upstream = self.upstream_of(&client).unwrap_or_else(|| client.clone());
        let handle = new_handle();
        let key = "bridge-0".to_string();
        lock(&self.parked).insert(
            handle.clone(),
            Parked {
                upstream: upstream.clone(),
                method: call_method,
                asks: vec![(key.clone(), id.raw().to_string())],
            },
        );
        let method = serde_json::Value::from(method.as_ref());
        let result = format!(
            r#"{{"resultType":"input_required","inputRequests":{{"{key}":{{"method":{method},"params":{params}}}}},"requestState":"{handle}"}}"#
        );
        tracing::debug!(
            "the server's {method} becomes an input round of request {}",
            client.raw()
        );
        self.answer_for_now(&client, &upstream, &result).await;
    }

    /// A stateless client's retry of an input round: the answers for the server's held
    /// requests (as responses to send it) and the upstream call whose answer the retry now
    /// waits for; `None` when `msg` retries no round of this bridge.
    pub fn claim_retry(&self, msg: &Message) -> Option<(Id, Vec<Bytes>)> {
        #[derive(Deserialize)]
        struct Retry<'a> {
            #[serde(borrow)]
            params: RetryParams<'a>,
        }
        #[derive(Deserialize)]
        struct RetryParams<'a> {
            #[serde(rename = "requestState")]
            state: Option<String>,
            #[serde(borrow, rename = "inputResponses", default)]
            answers: std::collections::HashMap<String, &'a RawValue>,
        }
        let retry: Retry<'_> = serde_json::from_slice(&msg.raw).ok()?;
        let state = retry.params.state?;
        let parked = {
            let mut parked = lock(&self.parked);
            let p = parked.get(&state)?;
            // The handle is bound to the call it was minted for.
            if msg.method.as_deref() != Some(p.method.as_ref()) {
                return None;
            }
            parked.remove(&state)?
        };
        let responses = parked
            .asks
            .iter()
            .map(|(key, server_id)| match retry.params.answers.get(key) {
                Some(answer) => Bytes::from(format!(
                    r#"{{"jsonrpc":"2.0","id":{server_id},"result":{}}}"#,
                    answer.get()
                )),
                None => Bytes::from(format!(
                    r#"{{"jsonrpc":"2.0","id":{server_id},"error":{{"code":-32603,"message":"mcp-keybridge: the client gave no answer"}}}}"#
                )),
            })
            .collect();
        Some((parked.upstream, responses))
    }

    /// The one pending 2026-07-28 call an input round can belong to, with its method;
    /// `None` when there is none, or several (the bridge cannot tell which).
    pub fn single_modern_call(&self) -> Option<(Id, Box<str>)> {
        let pending = lock(&self.pending);
        let mut calls = pending.values().filter(|p| {
            p.modern
                && matches!(
                    p.method.as_deref(),
                    Some("tools/call" | "prompts/get" | "resources/read")
                )
        });
        let one = calls.next()?;
        if calls.next().is_some() {
            return None;
        }
        Some((one.id.clone(), one.method.clone()?))
    }

    /// The upstream call whose answer `client` (a retry) is waiting for, if it is one.
    pub fn upstream_of(&self, client: &Id) -> Option<Id> {
        lock(&self.redirects)
            .iter()
            .find(|(_, r)| r.target.as_ref().is_some_and(|t| t.key() == client.key()))
            .and_then(|(k, _)| upstream_id(k))
    }

    /// Answers the pending `client` request with `result` (an `input_required` one) and
    /// keeps the later answer of `upstream` until the client's retry claims it.
    pub async fn answer_for_now(&self, client: &Id, upstream: &Id, result: &str) {
        lock(&self.redirects).insert(upstream.key().into(), Redirect::default());
        if let Some(call) = self.take(client) {
            let line = format!(
                r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#,
                client.raw()
            );
            self.answer(call, Bytes::from(line)).await;
        }
    }

    /// The client's retry `client` now waits for the answer of `upstream`; an answer that
    /// came already is written at once.
    pub async fn redirect(&self, upstream: &Id, client: &Id) {
        let kept = {
            let mut redirects = lock(&self.redirects);
            let entry = redirects.entry(upstream.key().into()).or_default();
            entry.target = Some(client.clone());
            entry.kept.take()
        };
        if let Some(raw) = kept
            && let Some((call, raw)) = self.redirected(upstream, raw)
        {
            self.answer(call, raw).await;
        }
    }

    /// For an answer to no pending request: the client request it now belongs to, and the
    /// answer under that request's id; kept for later when the retry has not come yet.
    pub(super) fn redirected(&self, id: &Id, raw: Bytes) -> Option<(Pending, Bytes)> {
        let mut redirects = lock(&self.redirects);
        let entry = redirects.get_mut(id.key())?;
        let Some(target) = entry.target.clone() else {
            entry.kept = Some(raw);
            return None;
        };
        redirects.remove(id.key());
        drop(redirects);
        let call = self.take(&target)?;
        self.worked.store(true, Ordering::Relaxed);
        Some((call, reid(&raw, &target)?))
    }
}

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// `raw` (a response) under the id `to`.
fn reid(raw: &[u8], to: &Id) -> Option<Bytes> {
    let a: Answer<'_> = serde_json::from_slice(raw).ok()?;
    let (key, value) = match (a.result, a.error) {
        (Some(r), _) => ("result", r),
        (None, Some(e)) => ("error", e),
        _ => return None,
    };
    Some(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"{key}":{}}}"#,
        to.raw(),
        value.get()
    )))
}

/// 128 random bits, hex: a `requestState` no one can guess.
fn new_handle() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: the clock, which is at least unique in this process.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id back from its key (ids are kept by their canonical JSON text).
fn upstream_id(key: &str) -> Option<Id> {
    let line = format!(r#"{{"jsonrpc":"2.0","id":{key},"result":{{}}}}"#);
    crate::jsonrpc::classify(Bytes::from(line)).ok()?.id
}
