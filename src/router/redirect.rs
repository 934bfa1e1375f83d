//! Input rounds for a 2026-07-28 client on a session the bridge holds with a stateful
//! server (`transport/modern_client.rs`): the server's own `elicitation/create`,
//! `sampling/createMessage` and `roots/list` requests are taken off the way to stdout, the
//! client's call they belong to (the one whose reply stream carried them, else the only
//! call under way) is answered `input_required` while its upstream request goes on, and
//! that request's final answer is handed to the client's retry, whose id is only known
//! later. The `requestState` is an authenticated handle bound to the call
//! (`router/handle.rs`); when the client does not retry in time, the held server requests
//! get an error and the upstream call is cancelled.

use super::{Pending, Router};
use crate::jsonrpc::{self, Id, Message};
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// The server requests a stateless client can answer in an input round.
const ASKS: [&str; 4] = [
    "elicitation/create",
    "sampling/createMessage",
    "roots/list",
    "ping",
];

/// The calls an input round can interrupt.
const CALLS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];

/// How long an input round waits for the client's retry by default: a person is answering.
pub const INPUT_TIMEOUT: Duration = Duration::from_secs(600);

/// An input round under way: the upstream call, and which of its server requests each
/// `inputRequests` key stands for.
pub struct Parked {
    upstream: Id,
    method: Box<str>,
    asks: Vec<(String, Id)>,
}

/// What a stateless client's request is to the input rounds.
pub enum Claim {
    /// Not a retry of one (no `requestState`).
    NotARetry,
    /// The retry of a round: the upstream call it now waits for, and the answers to send
    /// the server for its held requests.
    Retry(Id, Vec<Bytes>),
    /// A `requestState` this bridge cannot accept: the error to answer with.
    Refused(Bytes),
}

/// Where the answer to an upstream call goes (see `Router::redirects`).
#[derive(Default)]
pub(super) struct Redirect {
    target: Option<Id>,
    kept: Option<Bytes>,
}

/// The client call a server request belongs to.
struct Call {
    client: Id,
    upstream: Id,
    method: Box<str>,
    params: Option<Value>,
}

impl Router {
    /// The messages the router sends the server itself; taken once, by the relay.
    pub fn server_bound(&self) -> Option<mpsc::UnboundedReceiver<Bytes>> {
        lock_ignoring_poison(&self.server_bound).take()
    }

    /// True when `msg`, a server request, becomes an input round (a stateless client on a
    /// stateful server's session).
    pub(super) fn takes_ask(&self, msg: &Message) -> bool {
        self.downgraded.load(Ordering::Relaxed)
            && msg.method.as_deref().is_some_and(|m| ASKS.contains(&m))
    }

    /// Keeps the request of a pending call an input round may interrupt: its parameters
    /// are what the round's handle is bound to.
    pub fn keep_request(&self, msg: &Message) {
        if let Some(id) = &msg.id
            && msg.method.as_deref().is_some_and(|m| CALLS.contains(&m))
            && let Some(p) = lock_ignoring_poison(&self.pending).get_mut(id.key())
        {
            p.raw = Some(msg.raw.clone());
        }
    }

    /// A stateful server's request during a stateless client's call: the call is answered
    /// `input_required` with the request in `inputRequests` and a fresh handle as
    /// `requestState`; the upstream call goes on. Without a call to attach it to, the
    /// server gets an error.
    pub(super) async fn park(&self, msg: Message, stream_of: Option<&Id>) {
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
        let call = match stream_of {
            Some(upstream) => self.call_waiting_on(upstream),
            None => self.single_modern_call(),
        };
        let Some(call) = call else {
            tracing::info!(
                "refusing the server's {method}: no call of this client to attach it to"
            );
            let refusal = jsonrpc::error_reply(
                Some(&id),
                jsonrpc::INTERNAL_ERROR,
                "mcp-keybridge: the client speaks MCP 2026-07-28 and takes such requests only during one of its calls",
                None,
            );
            let _ = self.to_server.send(refusal);
            return;
        };
        let handle = self
            .handles
            .mint(&call.method, call.params.as_ref(), self.input_timeout);
        let key = "bridge-0".to_string();
        lock_ignoring_poison(&self.parked).insert(
            handle.clone(),
            Parked {
                upstream: call.upstream.clone(),
                method: call.method,
                asks: vec![(key.clone(), id.clone())],
            },
        );
        self.expire_later(handle.clone());
        let method = Value::from(method.as_ref());
        let result = format!(
            r#"{{"resultType":"input_required","inputRequests":{{"{key}":{{"method":{method},"params":{params}}}}},"requestState":"{handle}"}}"#
        );
        tracing::debug!(
            "the server's {method} becomes an input round of request {}",
            call.client.raw()
        );
        self.answer_for_now(&call.client, &call.upstream, &result)
            .await;
    }

    /// When the round behind `handle` is still unclaimed after the input timeout: its held
    /// server requests get an error, the upstream call is cancelled, and its answer will be
    /// dropped.
    fn expire_later(&self, handle: String) {
        let (parked, redirects) = (self.parked.clone(), self.redirects.clone());
        let (to_server, timeout) = (self.to_server.clone(), self.input_timeout);
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(round) = lock_ignoring_poison(&parked).remove(&handle) else {
                return;
            };
            lock_ignoring_poison(&redirects).remove(round.upstream.key());
            tracing::info!(
                "the client did not come back to the input round of its {} within {timeout:?}: cancelling it upstream",
                round.method
            );
            for (_, server_id) in &round.asks {
                let _ = to_server.send(jsonrpc::error_reply(
                    Some(server_id),
                    jsonrpc::INTERNAL_ERROR,
                    "mcp-keybridge: the client did not answer in time",
                    None,
                ));
            }
            let _ = to_server.send(jsonrpc::cancellation(
                &round.upstream,
                "mcp-keybridge: the client did not answer the server's request in time",
            ));
        });
    }

    /// A stateless client's request as the retry of an input round, checked against the
    /// handle it carries.
    pub fn claim_retry(&self, msg: &Message) -> Claim {
        #[derive(Deserialize)]
        struct Retry {
            params: Option<Value>,
        }
        if memchr::memmem::find(&msg.raw, b"\"requestState\"").is_none() {
            return Claim::NotARetry;
        }
        let Some(params) = serde_json::from_slice::<Retry>(&msg.raw)
            .ok()
            .and_then(|r| r.params)
        else {
            return Claim::NotARetry;
        };
        let Some(state) = params.get("requestState").and_then(Value::as_str) else {
            return Claim::NotARetry;
        };
        let refuse = |why: String| {
            tracing::info!("refusing a retry: {why}");
            Claim::Refused(jsonrpc::error_reply(
                msg.id.as_ref(),
                jsonrpc::INVALID_PARAMS,
                &format!("mcp-keybridge: {why}"),
                Some(serde_json::json!({ "source": "mcp-keybridge" })),
            ))
        };
        let method = msg.method.as_deref().unwrap_or_default();
        if let Err(e) = self.handles.check(state, method, Some(&params)) {
            // The round stays for the right retry, or for its expiry to clean up.
            return refuse(e.to_string());
        }
        let Some(parked) = lock_ignoring_poison(&self.parked).remove(state) else {
            return refuse(
                "the requestState was used already or its round expired; call again without it"
                    .into(),
            );
        };
        let answers = params.get("inputResponses");
        let responses = parked
            .asks
            .iter()
            .map(
                |(key, server_id)| match answers.and_then(|a| a.get(key.as_str())) {
                    Some(answer) => Bytes::from(format!(
                        r#"{{"jsonrpc":"2.0","id":{},"result":{answer}}}"#,
                        server_id.raw()
                    )),
                    None => jsonrpc::error_reply(
                        Some(server_id),
                        jsonrpc::INTERNAL_ERROR,
                        "mcp-keybridge: the client gave no answer",
                        None,
                    ),
                },
            )
            .collect();
        Claim::Retry(parked.upstream, responses)
    }

    /// The call whose upstream request is `upstream` (its reply stream carried a server
    /// request): the client request waiting for it now, the original or a round's retry.
    fn call_waiting_on(&self, upstream: &Id) -> Option<Call> {
        let target = lock_ignoring_poison(&self.redirects)
            .get(upstream.key())
            .and_then(|r| r.target.clone());
        let client = target.unwrap_or_else(|| upstream.clone());
        self.call_of(client, upstream.clone())
    }

    /// The one pending 2026-07-28 call an input round can belong to; `None` when there is
    /// none, or several (the bridge cannot tell which: a server request on the GET stream).
    fn single_modern_call(&self) -> Option<Call> {
        let client = {
            let pending = lock_ignoring_poison(&self.pending);
            let mut calls = pending
                .values()
                .filter(|p| p.modern && p.method.as_deref().is_some_and(|m| CALLS.contains(&m)));
            let one = calls.next()?;
            if calls.next().is_some() {
                return None;
            }
            one.id.clone()
        };
        let upstream = self.upstream_of(&client).unwrap_or_else(|| client.clone());
        self.call_of(client, upstream)
    }

    fn call_of(&self, client: Id, upstream: Id) -> Option<Call> {
        let pending = lock_ignoring_poison(&self.pending);
        let p = pending.get(client.key())?;
        let method = p.method.clone().filter(|m| CALLS.contains(&m.as_ref()))?;
        if !p.modern {
            return None;
        }
        let params = p.raw.as_ref().and_then(|raw| {
            serde_json::from_slice::<Value>(raw)
                .ok()
                .and_then(|mut v| v.get_mut("params").map(Value::take))
        });
        Some(Call {
            client,
            upstream,
            method,
            params,
        })
    }

    /// The upstream call whose answer `client` (a retry) is waiting for, if it is one.
    pub fn upstream_of(&self, client: &Id) -> Option<Id> {
        lock_ignoring_poison(&self.redirects)
            .iter()
            .find(|(_, r)| r.target.as_ref().is_some_and(|t| t.key() == client.key()))
            .and_then(|(k, _)| upstream_id(k))
    }

    /// Answers the pending `client` request with `result` (an `input_required` one) and
    /// keeps the later answer of `upstream` until the client's retry claims it.
    pub async fn answer_for_now(&self, client: &Id, upstream: &Id, result: &str) {
        lock_ignoring_poison(&self.redirects).insert(upstream.key().into(), Redirect::default());
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
            let mut redirects = lock_ignoring_poison(&self.redirects);
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
        let mut redirects = lock_ignoring_poison(&self.redirects);
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

/// `raw` (a response) under the id `to`.
fn reid(raw: &[u8], to: &Id) -> Option<Bytes> {
    let (key, value) = match jsonrpc::answer_of(raw)? {
        jsonrpc::Answer::Result(r) => ("result", r),
        jsonrpc::Answer::Error(e) => ("error", e),
    };
    Some(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{},"{key}":{}}}"#,
        to.raw(),
        value.get()
    )))
}

/// An id back from its key (ids are kept by their canonical JSON text).
fn upstream_id(key: &str) -> Option<Id> {
    let line = format!(r#"{{"jsonrpc":"2.0","id":{key},"result":{{}}}}"#);
    crate::jsonrpc::classify(Bytes::from(line)).ok()?.id
}
