//! The GET stream for server-initiated messages: one per session, held open across cuts and
//! restarts, renewing the session itself when the server no longer knows it.

use super::{ACCEPT, LAST_EVENT_ID, Streamable, content_type, stale};
use crate::error::UpstreamError;
use crate::sync::lock_ignoring_poison;
use crate::transport::backoff::Backoff;
use crate::transport::resume::EventCursor;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Streamable {
    /// Opens the GET stream for server-initiated messages, once per session (a stream left
    /// from an earlier session is stopped: it belongs to a session that no longer exists).
    pub(super) fn start_get_stream(self: &Arc<Self>) {
        if self.closed.load(Ordering::SeqCst) || self.get_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let task = tokio::spawn(Arc::clone(self).keep_get_stream());
        if let Some(old) = lock_ignoring_poison(&self.get_task).replace(task) {
            old.abort();
        }
    }

    /// Waits (at most `within`) until this session's GET stream is open or refused, so that
    /// a server request sent there before the first call is not lost. Only the bridge's own
    /// session waits: a client's messages are never held back for it.
    pub async fn get_stream_settled(&self, within: std::time::Duration) {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let mut rx = self.get_settled.subscribe();
        let settled = rx.wait_for(|e| e.is_some_and(|e| e >= epoch));
        if tokio::time::timeout(within, settled).await.is_err() {
            tracing::debug!("the GET stream did not open within {within:?}; going on");
        }
    }

    /// Holds the GET stream open for the session's life: after a cut, a server restart or a
    /// dead connection it is reopened with [`Backoff`] (and `Last-Event-ID` when its events
    /// had ids, so nothing is delivered twice). It stops when the server offers none (405 or
    /// a non-stream answer) or the session is gone (404 or a session 400): a session whose
    /// stream had opened is then re-initialized, which starts a new stream.
    async fn keep_get_stream(self: Arc<Self>) {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let mut cursor = EventCursor::default();
        let mut backoff = Backoff::default();
        let mut opened = false;
        while !self.closed.load(Ordering::SeqCst) && self.epoch.load(Ordering::SeqCst) == epoch {
            let last_id = cursor.last_id.clone();
            let result = self
                .http
                .send(|c| {
                    let req = self
                        .with_session(c.get(self.url.clone()))
                        .header(ACCEPT, "text/event-stream");
                    match &last_id {
                        Some(id) => req.header(LAST_EVENT_ID, id.as_str()),
                        None => req,
                    }
                })
                .await;
            // Open, refused or failed: nothing to wait for any more (an open stream's
            // response head means the server has it registered).
            self.get_settled.send_replace(Some(epoch));
            match result {
                Ok(resp) if content_type(&resp).starts_with("text/event-stream") => {
                    backoff.reset();
                    opened = true;
                    let end = cursor
                        .relay(resp, &self.router, self.http.limit(), self.http.origin())
                        .await;
                    tracing::info!("server message stream ended{}; reopening", end.describe());
                    cursor = end.cursor;
                }
                Ok(resp) => {
                    tracing::debug!("GET stream not offered (HTTP {})", resp.status());
                    return;
                }
                Err(UpstreamError::Status { status: 405, .. }) => {
                    tracing::debug!("GET stream not offered (HTTP 405)");
                    return;
                }
                Err(e) if stale::session_lost(&e) => {
                    if self.epoch.load(Ordering::SeqCst) == epoch {
                        self.get_started.store(false, Ordering::SeqCst);
                    }
                    // Only a session whose stream once opened is re-initialized from here: a
                    // server that refuses every GET would otherwise be re-initialized forever.
                    if opened {
                        tracing::info!(
                            "the session is gone (HTTP {}); initializing a new one",
                            e.http_status().unwrap_or_default()
                        );
                        let this = Arc::clone(&self);
                        // Its own task: the new session's stream replaces (aborts) this one.
                        tokio::spawn(async move {
                            if let Err(e) = this.reinitialize(epoch).await {
                                tracing::info!(
                                    "re-initializing failed: {e}; the next request tries again"
                                );
                            }
                        });
                    } else {
                        tracing::info!(
                            "the GET stream was refused (HTTP {}); the next request renews the session",
                            e.http_status().unwrap_or_default()
                        );
                    }
                    return;
                }
                Err(e) => tracing::info!("server message stream: {e}; retrying"),
            }
            backoff.wait().await;
        }
    }
}
