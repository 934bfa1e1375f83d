//! The test server's record of every HTTP request it received, in arrival order, so tests
//! can assert on the headers the bridge sent, how many requests it made, and their order.

use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One HTTP request as the server saw it, before any routing, auth check or fault.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names lowercased; values lossily decoded (tests look for substrings).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status the server answered with, once it has (shared by every copy).
    pub status: Arc<OnceLock<u16>>,
}

impl Recorded {
    /// The record of a request as it arrived (before any routing or fault).
    pub fn new(parts: &axum::http::request::Parts, body: Vec<u8>) -> Recorded {
        Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (n.as_str().to_owned(), value)
                })
                .collect(),
            body,
            at: Instant::now(),
            status: Arc::default(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server answered with a 2xx, i.e. processed the request.
    pub fn status_was_success(&self) -> bool {
        self.status.get().is_some_and(|s| (200..300).contains(s))
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The JSON-RPC method of a POSTed message, if any.
    pub fn rpc_method(&self) -> Option<String> {
        self.json()?.get("method")?.as_str().map(str::to_owned)
    }

    pub fn is_post_of(&self, rpc_method: &str) -> bool {
        self.method == "POST" && self.rpc_method().as_deref() == Some(rpc_method)
    }

    /// Whether any header value (or the URL) contains `needle`: used for credential leaks.
    pub fn mentions(&self, needle: &str) -> bool {
        self.headers.iter().any(|(_, v)| v.contains(needle))
            || self.path.contains(needle)
            || self.query.as_deref().is_some_and(|q| q.contains(needle))
    }

    /// A one-line summary for assertion messages.
    pub fn summary(&self) -> String {
        let target = match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        };
        format!(
            "{} {target} {}",
            self.method,
            String::from_utf8_lossy(&self.body)
        )
    }
}

#[derive(Default)]
pub(crate) struct RequestLog {
    entries: Mutex<Vec<Recorded>>,
}

impl RequestLog {
    pub fn push(&self, rec: Recorded) {
        self.entries.lock().unwrap().push(rec);
    }

    pub fn snapshot(&self) -> Vec<Recorded> {
        self.entries.lock().unwrap().clone()
    }

    /// Polls until a recorded request satisfies `pred`; panics after `limit`.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Recorded {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(hit) = self.snapshot().into_iter().find(|r| pred(r)) {
                return hit;
            }
            if Instant::now() >= deadline {
                panic!(
                    "server never received {what}; it saw:\n{}",
                    summarize(&self.snapshot())
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One line per request, for assertion messages.
pub fn summarize(records: &[Recorded]) -> String {
    records
        .iter()
        .map(Recorded::summary)
        .collect::<Vec<_>>()
        .join("\n")
}
