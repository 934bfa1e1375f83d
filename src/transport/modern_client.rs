//! How a 2026-07-28 client's messages reach the server: as stateless exchanges when the
//! server speaks that revision, or on a session the bridge holds with a server that speaks
//! only the stateful ones (`translate/downgrade.rs`). The first answer decides, and the
//! verdict holds for the process (`--protocol` pins it).

use super::Upstream;
use super::stateless::FirstAnswer;
use crate::cli::ProtocolArg;
use crate::error::UpstreamError;
use crate::jsonrpc::{self, Message};
use crate::router::{Claim, Filter};
use crate::sync::lock_ignoring_poison;
use crate::translate::downgrade;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

impl Upstream {
    /// Sends one message of a 2026-07-28 client.
    pub(super) async fn send_modern(&self, msg: &Message) -> Result<(), UpstreamError> {
        if self.protocol == ProtocolArg::Legacy
            && msg.is("server/discover")
            && let Some(id) = &msg.id
        {
            // A dual-era client's probe: the answer it reads as "legacy server", so that it
            // falls back to initialize and nothing needs translating.
            let reply = jsonrpc::error_reply(
                Some(id),
                crate::era::errors::METHOD_NOT_FOUND,
                "mcp-keybridge: --protocol legacy: this server speaks the stateful MCP revisions; use initialize",
                Some(serde_json::json!({ "source": "mcp-keybridge" })),
            );
            self.router.deliver(reply).await;
            return Ok(());
        }
        if self.protocol == ProtocolArg::Legacy || self.hidden.initialized() {
            return self.on_hidden_session(msg).await;
        }
        if self.protocol == ProtocolArg::Modern || self.modern_server.load(Ordering::Relaxed) {
            return self.stateless.send(msg).await;
        }
        match self.stateless.first(msg).await? {
            FirstAnswer::Modern => {
                self.modern_server.store(true, Ordering::Relaxed);
                Ok(())
            }
            FirstAnswer::Answered(reply) => {
                tracing::info!(
                    "the server answered as a stateful one that needs no session: holding a session for this client"
                );
                if let Err(e) = self
                    .hidden
                    .get_or_try_init(|| self.open_hidden_session(msg))
                    .await
                {
                    tracing::warn!("could not open a session for this client: {e}");
                    self.router.set_downgraded();
                }
                self.router.deliver(reply).await;
                Ok(())
            }
            FirstAnswer::Legacy(why) => {
                tracing::info!(
                    "the server does not speak MCP 2026-07-28 ({why}): holding a stateful session for this client"
                );
                self.on_hidden_session(msg).await
            }
        }
    }

    /// The message on the bridge's own stateful session; `server/discover` is answered
    /// from that session's `initialize` result.
    async fn on_hidden_session(&self, msg: &Message) -> Result<(), UpstreamError> {
        let init = self
            .hidden
            .get_or_try_init(|| self.open_hidden_session(msg))
            .await?;
        if let Some(id) = &msg.id
            && let Some(refusal) = downgrade::check_envelope(&msg.raw, id)
        {
            // What a 2026-07-28 server would answer; the stateful server would not know.
            self.router.deliver(refusal).await;
            return Ok(());
        }
        if let Some(level) = downgrade::log_level(&msg.raw) {
            self.follow_log_level(level).await;
        }
        if msg.is("server/discover")
            && let Some(id) = &msg.id
        {
            let result = downgrade::discover_result(init);
            let line = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.raw());
            self.router.deliver(Bytes::from(line)).await;
            return Ok(());
        }
        if self.emulated_listen(msg, init).await? {
            return Ok(());
        }
        self.router.keep_request(msg);
        match self.router.claim_retry(msg) {
            Claim::NotARetry => {}
            Claim::Refused(reply) => {
                self.router.deliver(reply).await;
                return Ok(());
            }
            Claim::Retry(upstream, answers) => {
                // The held server requests get their answers and the call, still running
                // upstream, answers this request.
                if let Some(id) = &msg.id {
                    self.router.redirect(&upstream, id).await;
                }
                for answer in answers {
                    if let Ok(reply) = jsonrpc::classify(answer) {
                        self.send_stateful(&reply).await?;
                    }
                }
                return Ok(());
            }
        }
        let plain = Message {
            modern: false,
            ..msg.clone()
        };
        self.send_stateful(&plain).await
    }

    /// `subscriptions/listen` and its cancellation, which a stateful server does not know:
    /// the bridge acknowledges the listen itself, subscribes to its resources on the session
    /// and routes the session's change notifications to it (`router/listens.rs`). A
    /// cancellation of an input round's retry is sent for the upstream call it waits on.
    /// True when `msg` was handled here.
    async fn emulated_listen(&self, msg: &Message, init: &Value) -> Result<bool, UpstreamError> {
        if msg.is("subscriptions/listen")
            && let Some(id) = &msg.id
        {
            let requested = serde_json::from_slice::<Value>(&msg.raw)
                .ok()
                .and_then(|mut v| v.pointer_mut("/params/notifications").map(Value::take))
                .unwrap_or(Value::Null);
            let filter = Filter::agreed(&requested, &init["capabilities"]);
            tracing::debug!(
                "subscriptions/listen asks {requested}; the server offers {}",
                init["capabilities"]
            );
            for uri in self.router.open_listen(id, filter).await {
                self.on_session("resources/subscribe", json!({ "uri": uri }))
                    .await;
            }
            return Ok(true);
        }
        if !msg.is("notifications/cancelled") {
            return Ok(false);
        }
        let Some(id) = jsonrpc::cancelled_request(&msg.raw) else {
            return Ok(false);
        };
        if let Some(unneeded) = self.router.close_listen(&id) {
            for uri in unneeded {
                self.on_session("resources/unsubscribe", json!({ "uri": uri }))
                    .await;
            }
            return Ok(true);
        }
        if let Some(upstream) = self.router.upstream_of(&id) {
            let cancel = jsonrpc::cancellation(&upstream, "cancelled by the client");
            if let Ok(cancel) = jsonrpc::classify(cancel) {
                self.send_stateful(&cancel).await?;
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// A request of the bridge's own on the held session; its answer matches no client
    /// request and is dropped.
    async fn on_session(&self, method: &str, params: Value) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": format!("mcp-keybridge-session-{n}"),
            "method": method, "params": params});
        match jsonrpc::classify(Bytes::from(body.to_string())) {
            Ok(req) => {
                if let Err(e) = self.send_stateful(&req).await {
                    tracing::info!("{method} on the held session: {e}");
                }
            }
            Err(e) => tracing::debug!("{method}: {}", e.reason),
        }
    }

    /// A request's `logLevel` becomes the session's `logging/setLevel` when it changes (the
    /// answer matches no client request and is dropped).
    async fn follow_log_level(&self, level: String) {
        if lock_ignoring_poison(&self.log_level).as_deref() == Some(level.as_str()) {
            return;
        }
        *lock_ignoring_poison(&self.log_level) = Some(level.clone());
        self.on_session("logging/setLevel", json!({ "level": level }))
            .await;
    }

    /// Initializes the bridge's session on the client's behalf; returns the result.
    async fn open_hidden_session(&self, first: &Message) -> Result<Value, UpstreamError> {
        let bad = |why: String| UpstreamError::BadReply {
            origin: self.http.origin().into(),
            why,
            status: None,
        };
        let init =
            jsonrpc::classify(downgrade::initialize_for(&first.raw)).map_err(|e| bad(e.reason))?;
        let answer = self.router.expect(downgrade::INIT_ID);
        self.send_stateful(&init).await?;
        let reply = tokio::time::timeout(self.connect_wait, answer)
            .await
            .map_err(|_| UpstreamError::Timeout {
                origin: self.http.origin().into(),
                what: "the answer to the bridge's initialize".into(),
            })?
            .map_err(|_| bad("no answer to the bridge's initialize".into()))?;
        // The same compatibility fixes as a relayed initialize reply gets (the seed server's
        // `"logging": null` would make the DiscoverResult built from it invalid).
        let reply = match crate::normalize::normalise(Some("initialize"), &reply) {
            Some(fixed) => Bytes::from(fixed.text),
            None => reply,
        };
        let v: Value = serde_json::from_slice(&reply).map_err(|e| bad(e.to_string()))?;
        let Some(result) = v.get("result").cloned() else {
            return Err(bad(format!(
                "the server refused initialize: {}",
                v["error"]
            )));
        };
        if let Some(version) = result.get("protocolVersion").and_then(Value::as_str) {
            self.router.set_protocol_version(version);
        }
        self.router.set_downgraded();
        let done = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        let done = jsonrpc::classify(done).map_err(|e| bad(e.reason))?;
        self.send_stateful(&done).await?;
        if let Some(super::Active::Streamable(s)) = self.active.get() {
            // A server request the server sends on the GET stream before it is open is lost
            // (the official SDKs' servers drop it): the client's first call waits for it.
            s.get_stream_settled(self.connect_wait).await;
        }
        Ok(result)
    }
}
