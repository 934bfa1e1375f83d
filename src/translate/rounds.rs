//! Multi-round-trip requests for a stateful client: a 2026-07-28 server's
//! `input_required` result becomes the server→client requests the client knows
//! (`elicitation/create`, `sampling/createMessage`, `roots/list`, under ids reserved for the
//! bridge), and their answers go back in a retry of the original request under a new id.

use crate::jsonrpc::{self, Id};
use crate::router::Router;
use crate::sync::lock_ignoring_poison;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;

/// The id prefix of the bridge's own requests to the client.
const PREFIX: &str = "mcp-keybridge-input-";

/// A result's `resultType`, `inputRequests` and `requestState`.
#[derive(Deserialize)]
pub struct Outcome<'a> {
    #[serde(rename = "resultType")]
    result_type: Option<&'a str>,
    #[serde(borrow, rename = "inputRequests")]
    pub input_requests: Option<BTreeMap<String, &'a RawValue>>,
    #[serde(borrow, rename = "requestState")]
    pub request_state: Option<&'a RawValue>,
}

impl Outcome<'_> {
    /// True when the server asks for input before it completes.
    pub fn needs_input(&self) -> bool {
        self.result_type == Some("input_required")
    }
}

#[derive(Deserialize)]
struct InputRequest {
    method: String,
}

/// The bridge's requests to the client that await an answer.
#[derive(Default)]
pub struct Asks {
    waiting: Mutex<HashMap<String, oneshot::Sender<Bytes>>>,
    seq: AtomicU64,
}

/// Why the input could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// The server asked for what the client did not declare.
    #[error("the server asked for {0}, which this client did not declare among its capabilities")]
    Undeclared(String),
    /// The server's input request is not one the revision knows.
    #[error("the server sent an input request the bridge cannot relay ({0})")]
    Unknown(String),
    /// The client answered with an error.
    #[error("the client answered the server's {method} with an error: {error}")]
    Refused {
        /// The input request's method.
        method: String,
        /// The client's error object.
        error: String,
    },
    /// The bridge stopped before the client answered.
    #[error("the client did not answer the server's {0}")]
    Unanswered(String),
}

impl Asks {
    /// True when `id` is one of the bridge's own requests to the client.
    pub fn owns(id: &Id) -> bool {
        id.key().starts_with(&format!("\"{PREFIX}"))
    }

    /// Hands a client's response to the request that waits for it.
    pub fn answer(&self, id: &Id, raw: Bytes) {
        match lock_ignoring_poison(&self.waiting).remove(id.key()) {
            Some(tx) => {
                let _ = tx.send(raw);
            }
            None => tracing::debug!("dropping a client response to no bridge request"),
        }
    }

    /// Sends each input request to the client and collects the answers as the JSON text
    /// of an `inputResponses` object.
    pub async fn gather(
        &self,
        router: &Router,
        requests: &BTreeMap<String, &RawValue>,
        allows: impl Fn(&str) -> bool,
    ) -> Result<String, AskError> {
        let mut pending = Vec::new();
        for (key, request) in requests {
            let method = serde_json::from_str::<InputRequest>(request.get())
                .map_err(|_| AskError::Unknown(key.clone()))?
                .method;
            if !matches!(
                method.as_str(),
                "elicitation/create" | "sampling/createMessage" | "roots/list"
            ) {
                return Err(AskError::Unknown(method));
            }
            if !allows(&method) {
                return Err(AskError::Undeclared(method));
            }
            let n = self.seq.fetch_add(1, Ordering::Relaxed);
            let id = format!("\"{PREFIX}{n}\"");
            let (tx, rx) = oneshot::channel();
            lock_ignoring_poison(&self.waiting).insert(id.clone(), tx);
            // The input request is `{method, params}`: it becomes a request by adding the
            // envelope around the server's own bytes.
            let inner = request.get().trim_start().strip_prefix('{').unwrap_or("}");
            let sep = if inner.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            let line = format!(r#"{{"jsonrpc":"2.0","id":{id}{sep}{inner}"#);
            tracing::debug!("relaying the server's {method} to the client as request {id}");
            router.deliver(Bytes::from(line)).await;
            pending.push((key, method, rx));
        }
        let mut answers = Vec::new();
        for (key, method, rx) in pending {
            let raw = rx.await.map_err(|_| AskError::Unanswered(method.clone()))?;
            match jsonrpc::answer_of(&raw) {
                Some(jsonrpc::Answer::Result(result)) => answers.push(format!(
                    "{}:{}",
                    serde_json::Value::from(key.as_str()),
                    result.get()
                )),
                Some(jsonrpc::Answer::Error(error)) => {
                    return Err(AskError::Refused {
                        method,
                        error: error.get().chars().take(300).collect(),
                    });
                }
                None => return Err(AskError::Unanswered(method)),
            }
        }
        Ok(format!("{{{}}}", answers.join(",")))
    }
}
