//! `subscriptions/listen` on the stateless side: the long-lived POST whose event stream
//! carries change notifications, reopened with the same request when it drops; and the one
//! the bridge holds for a stateful client, which never learns its id.

use super::backoff::Backoff;
use super::http::content_type;
use super::resume::EventCursor;
use super::stateless::Stateless;
use crate::era::Modern;
use crate::error::UpstreamError;
use crate::jsonrpc::Message;
use crate::sse;
use futures_util::StreamExt;

const ACK: &str = "notifications/subscriptions/acknowledged";

impl Stateless {
    /// A `subscriptions/listen` the bridge holds for a stateful client, which knows neither
    /// the request nor its acknowledgement: notifications go out without the
    /// `subscriptionId`, and the stream is reopened whenever it ends, until the task is
    /// dropped. Returns only when the server refuses it.
    pub async fn listen_for_client(&self, msg: &Message) -> Result<(), UpstreamError> {
        let Some(req) = msg.modern_fields() else {
            return Err(self.bad("the message has no io.modelcontextprotocol/protocolVersion"));
        };
        self.keep_listening(msg, &req, true).await
    }

    /// The long-lived `subscriptions/listen` of a client (or, `for_bridge`, the bridge's own
    /// for a stateful client): its notifications go out as they come, and a stream that ends
    /// without the result is reopened with the same request (same id, same filter) so the
    /// client's `subscriptionId` stays valid. The acknowledgement of a reopened stream is not
    /// repeated.
    pub(super) async fn keep_listening(
        &self,
        msg: &Message,
        req: &Modern<'_>,
        for_bridge: bool,
    ) -> Result<(), UpstreamError> {
        let mut backoff = Backoff::default();
        let mut opened = false;
        loop {
            let resp = match self.post(&msg.raw, self.headers(msg, req)).await {
                Ok(resp) => resp,
                // Refused outright (or refused now: the server no longer offers it).
                Err(e @ UpstreamError::Status { status: ..500, .. }) => return Err(e),
                Err(e) if !opened => return Err(e),
                Err(e) => {
                    tracing::info!("subscriptions/listen: {e}; reopening");
                    backoff.wait().await;
                    continue;
                }
            };
            if !content_type(&resp).starts_with("text/event-stream") {
                self.relay_json(resp).await?;
                return self.answered(msg, None);
            }
            let repeat = opened || for_bridge;
            opened = true;
            let events = sse::events(resp.bytes_stream(), self.http.limit()).filter_map(|ev| {
                std::future::ready(match ev {
                    Ok(e) if repeat && is_ack(&e.data) => None,
                    Ok(mut e) if for_bridge => without_subscription_id(&e.data).map(|data| {
                        e.data = data;
                        Ok(e)
                    }),
                    other => Some(other),
                })
            });
            let end = EventCursor::default()
                .relay_events(events, &self.router, self.http.origin())
                .await;
            if !for_bridge && !self.pending(msg) {
                return Ok(());
            }
            tracing::info!(
                "subscriptions/listen stream ended{}; reopening",
                end.describe()
            );
            backoff.wait().await;
        }
    }
}

/// A listen notification as a stateful client knows it: without the subscription id of
/// the bridge's own request (and nothing for the listen request's own result).
fn without_subscription_id(data: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(data).ok()?;
    v.get("method")?;
    if let Some(meta) = v
        .get_mut("params")
        .and_then(|p| p.get_mut("_meta"))
        .and_then(|m| m.as_object_mut())
    {
        meta.remove("io.modelcontextprotocol/subscriptionId");
        if meta.is_empty() {
            v["params"].as_object_mut()?.remove("_meta");
        }
    }
    Some(v.to_string())
}

fn is_ack(data: &str) -> bool {
    data.contains(ACK)
        && serde_json::from_str::<serde_json::Value>(data)
            .is_ok_and(|v| v.get("method").and_then(|m| m.as_str()) == Some(ACK))
}
