//! The upstream side: which transport carries messages to the server, chosen by
//! `--transport` or, in auto mode, by the server's answer to the first `initialize`.

pub mod backoff;
pub mod http;
pub mod legacy_sse;
pub mod network;
pub mod resume;
pub mod stateless;
pub mod streamable;

use crate::cli::TransportArg;
use crate::error::UpstreamError;
use crate::jsonrpc::Message;
use crate::router::Router;
use http::Http;
use legacy_sse::LegacySse;
use stateless::Stateless;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use streamable::Streamable;
use tokio::sync::OnceCell;
use url::Url;

enum Active {
    Streamable(Arc<Streamable>),
    Sse(LegacySse),
}

/// The connection to the server, set up on the first message.
pub struct Upstream {
    mode: TransportArg,
    http: Arc<Http>,
    url: Url,
    router: Arc<Router>,
    connect_wait: Duration,
    active: OnceCell<Active>,
    /// Auto mode found a legacy SSE server.
    legacy: AtomicBool,
    /// Held while auto mode probes with `initialize`, so other messages wait for the answer.
    probing: tokio::sync::Mutex<()>,
    /// Where 2026-07-28 messages go, whatever the stateful transport is.
    stateless: Stateless,
}

impl Upstream {
    /// An upstream for `url`; nothing is sent until [`Upstream::send`].
    pub fn new(
        mode: TransportArg,
        http: Arc<Http>,
        url: Url,
        router: Arc<Router>,
        connect_wait: Duration,
    ) -> Self {
        let stateless = Stateless::new(http.clone(), url.clone(), router.clone());
        Upstream {
            mode,
            http,
            url,
            router,
            connect_wait,
            active: OnceCell::new(),
            legacy: AtomicBool::new(false),
            probing: tokio::sync::Mutex::new(()),
            stateless,
        }
    }

    /// Sends one message. For Streamable HTTP this also relays the server's reply; for legacy
    /// SSE the reply arrives on the event stream. A 2026-07-28 message is its own stateless
    /// exchange: it neither needs nor decides the stateful transport.
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        if msg.modern {
            return self.stateless.send(msg).await;
        }
        if self.mode == TransportArg::Auto && self.active.get().is_none() && !msg.is("initialize") {
            // Only `initialize` may decide; wait for a probe under way, if any.
            let probing = self.probing.lock().await;
            if self.active.get().is_none() && !self.legacy.load(Ordering::SeqCst) {
                drop(probing);
                // Still undecided: no session exists yet, so nothing is lost by not keeping it.
                return self.streamable().send(msg).await;
            }
        }
        let mut first_reply = None;
        let active = self
            .active
            .get_or_try_init(|| self.choose(msg, &mut first_reply))
            .await?;
        match (active, first_reply) {
            (Active::Streamable(s), Some(resp)) => s.relay_reply(msg, resp).await,
            (Active::Streamable(s), None) => s.send(msg).await,
            (Active::Sse(s), _) => s.send(msg).await,
        }
    }

    /// Picks the transport. In auto mode the first `initialize` is POSTed as Streamable HTTP;
    /// a 400, 404 or 405 means a legacy server (the spec's backwards-compatibility rule). The
    /// POST's reply, if kept, is handed back through `first_reply`.
    async fn choose(
        &self,
        msg: &Message,
        first_reply: &mut Option<reqwest::Response>,
    ) -> Result<Active, UpstreamError> {
        match self.mode {
            TransportArg::StreamableHttp => Ok(Active::Streamable(self.streamable())),
            TransportArg::Sse => self.connect_legacy().await,
            TransportArg::Auto if self.legacy.load(Ordering::SeqCst) => self.connect_legacy().await,
            TransportArg::Auto => {
                let _probing = self.probing.lock().await;
                let s = self.streamable();
                match s.post(msg).await {
                    Ok(resp) => {
                        *first_reply = Some(resp);
                        Ok(Active::Streamable(s))
                    }
                    // A 2026-07-28 server's own error (it speaks no initialize) is relayed,
                    // not taken for a legacy server's refusal.
                    Err(UpstreamError::Status {
                        status: status @ (400 | 404 | 405),
                        rpc,
                        ..
                    }) if !rpc.as_ref().is_some_and(|e| e.is_modern(status)) => {
                        tracing::info!("server refused Streamable HTTP; trying legacy HTTP+SSE");
                        // Sticks even if connecting fails now, so later messages retry legacy.
                        self.legacy.store(true, Ordering::SeqCst);
                        self.connect_legacy().await
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn streamable(&self) -> Arc<Streamable> {
        Arc::new(Streamable::new(
            self.http.clone(),
            self.url.clone(),
            self.router.clone(),
        ))
    }

    async fn connect_legacy(&self) -> Result<Active, UpstreamError> {
        let sse = LegacySse::connect(
            self.http.clone(),
            &self.url,
            self.router.clone(),
            self.connect_wait,
        )
        .await?;
        Ok(Active::Sse(sse))
    }

    /// The transport the first message settled on; `None` before that.
    pub fn active_transport(&self) -> Option<TransportArg> {
        match self.active.get()? {
            Active::Streamable(_) => Some(TransportArg::StreamableHttp),
            Active::Sse(_) => Some(TransportArg::Sse),
        }
    }

    /// The server's origin, for messages.
    pub fn origin(&self) -> &str {
        self.http.origin()
    }

    /// Ends the session: DELETE for Streamable HTTP, closing the stream for legacy SSE.
    pub async fn close(&self) {
        match self.active.get() {
            Some(Active::Streamable(s)) => s.close().await,
            Some(Active::Sse(s)) => s.close(),
            None => {}
        }
    }
}
