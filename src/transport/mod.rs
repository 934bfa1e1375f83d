//! The upstream side: which transport carries messages to the server, chosen by
//! `--transport` or, in auto mode, by the server's answer to the first `initialize`.

pub mod backoff;
pub mod http;
pub mod legacy_sse;
mod listen;
mod modern_client;
pub mod resume;
pub mod stateless;
pub mod streamable;
mod upgraded;

use crate::cli::{ProtocolArg, TransportArg};
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
use upgraded::Upgrade;
use url::Url;

enum Active {
    Streamable(Arc<Streamable>),
    Sse(LegacySse),
    /// A stateful client and a server that speaks only 2026-07-28.
    Upgraded(Arc<Upgrade>),
}

/// The connection to the server, set up on the first message.
pub struct Upstream {
    mode: TransportArg,
    protocol: ProtocolArg,
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
    stateless: Arc<Stateless>,
    /// A 2026-07-28 client's first request found a server of that revision.
    modern_server: AtomicBool,
    /// The `initialize` result of the session the bridge holds for a 2026-07-28 client
    /// with a stateful server.
    hidden: OnceCell<serde_json::Value>,
    /// The log level last set on that session.
    log_level: std::sync::Mutex<Option<String>>,
}

impl Upstream {
    /// An upstream for `url`; nothing is sent until [`Upstream::send`].
    pub fn new(
        mode: TransportArg,
        protocol: ProtocolArg,
        http: Arc<Http>,
        url: Url,
        router: Arc<Router>,
        connect_wait: Duration,
    ) -> Self {
        let stateless = Arc::new(Stateless::new(http.clone(), url.clone(), router.clone()));
        Upstream {
            mode,
            protocol,
            http,
            url,
            router,
            connect_wait,
            active: OnceCell::new(),
            legacy: AtomicBool::new(false),
            probing: tokio::sync::Mutex::new(()),
            stateless,
            modern_server: AtomicBool::new(false),
            hidden: OnceCell::new(),
            log_level: std::sync::Mutex::new(None),
        }
    }

    /// Sends one message. For Streamable HTTP this also relays the server's reply; for legacy
    /// SSE the reply arrives on the event stream. A 2026-07-28 message is its own stateless
    /// exchange: it neither needs nor decides the stateful transport.
    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        // A 2026-07-28 client's notifications need not carry the envelope; on the session
        // the bridge holds for it they are its own (a cancelled listen or round) all the same.
        if msg.modern || (msg.kind == crate::jsonrpc::Kind::Notification && self.downgraded()) {
            return self.send_modern(msg).await;
        }
        self.send_stateful(msg).await
    }

    /// True when a 2026-07-28 client's requests go on a session the bridge holds.
    pub fn downgraded(&self) -> bool {
        self.hidden.initialized()
    }

    /// A message of the stateful revisions, on the transport the first `initialize` chose.
    async fn send_stateful(&self, msg: &Message) -> Result<(), UpstreamError> {
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
        let mut answered = false;
        let active = self
            .active
            .get_or_try_init(|| self.choose(msg, &mut first_reply, &mut answered))
            .await?;
        if answered {
            return Ok(());
        }
        match (active, first_reply) {
            (Active::Streamable(s), Some(resp)) => s.relay_reply(msg, resp).await,
            (Active::Streamable(s), None) => s.send(msg).await,
            (Active::Sse(s), _) => s.send(msg).await,
            (Active::Upgraded(u), _) => u.send(msg).await,
        }
    }

    /// True once the bridge translates for a stateful client: its requests then run as
    /// stateless exchanges, and cancelling one closes its stream.
    pub fn translating(&self) -> bool {
        matches!(self.active.get(), Some(Active::Upgraded(_)))
    }

    fn upgrade(&self) -> Arc<Upgrade> {
        Arc::new(Upgrade::new(
            self.stateless.clone(),
            self.router.clone(),
            self.http.origin(),
        ))
    }

    /// After the client's `initialize` was refused in a way no modern server refuses: one
    /// `server/discover` tells whether a 2026-07-28 server is there after all (it then
    /// answers the client's `initialize`, and `answered` says so).
    async fn try_modern(&self, msg: &Message, answered: &mut bool) -> Option<Active> {
        if !msg.is("initialize") || self.protocol == ProtocolArg::Legacy {
            return None;
        }
        let upgrade = self.upgrade();
        match upgrade.send(msg).await {
            Ok(()) => {
                *answered = true;
                Some(Active::Upgraded(upgrade))
            }
            Err(e) => {
                tracing::debug!("no 2026-07-28 server either: {e}");
                None
            }
        }
    }

    /// Picks the transport. In auto mode the first `initialize` is POSTed as Streamable HTTP;
    /// a 400, 404 or 405 means a legacy server (the spec's backwards-compatibility rule). The
    /// POST's reply, if kept, is handed back through `first_reply`.
    async fn choose(
        &self,
        msg: &Message,
        first_reply: &mut Option<reqwest::Response>,
        answered: &mut bool,
    ) -> Result<Active, UpstreamError> {
        if self.protocol == ProtocolArg::Modern {
            return Ok(Active::Upgraded(self.upgrade()));
        }
        match self.mode {
            TransportArg::StreamableHttp => Ok(Active::Streamable(self.streamable())),
            TransportArg::Sse => self.connect_legacy().await,
            TransportArg::Auto if self.legacy.load(Ordering::SeqCst) => self.connect_legacy().await,
            TransportArg::Auto => {
                let _probing = self.probing.lock().await;
                let s = self.streamable();
                match s.post(msg).await {
                    Ok(resp)
                        if msg.is("initialize")
                            && http::content_type(&resp).starts_with("application/json") =>
                    {
                        self.first_answer(msg, s, resp, answered).await
                    }
                    Ok(resp) => {
                        *first_reply = Some(resp);
                        Ok(Active::Streamable(s))
                    }
                    // A 2026-07-28 server's own error: it speaks no initialize.
                    Err(UpstreamError::Status {
                        status,
                        rpc: Some(e),
                        ..
                    }) if e.is_modern(status) && self.protocol == ProtocolArg::Auto => {
                        tracing::info!(
                            "the server answered initialize as a 2026-07-28 server does"
                        );
                        Ok(Active::Upgraded(self.upgrade()))
                    }
                    Err(
                        e @ UpstreamError::Status {
                            status: 400 | 404 | 405,
                            ..
                        },
                    ) => {
                        if matches!(&e, UpstreamError::Status { rpc: Some(r), status, .. } if r.is_modern(*status))
                        {
                            // A modern error under --protocol legacy: the client gets it.
                            return Err(e);
                        }
                        tracing::info!("server refused Streamable HTTP; trying legacy HTTP+SSE");
                        // Sticks even if connecting fails now, so later messages retry legacy.
                        self.legacy.store(true, Ordering::SeqCst);
                        let legacy = self.connect_legacy().await;
                        // Only when no legacy SSE server is there either: a 2026-07-28 one
                        // that refused initialize without saying so. A legacy server costs
                        // no extra request.
                        if legacy.is_err()
                            && let Some(active) = self.try_modern(msg, answered).await
                        {
                            return Ok(active);
                        }
                        legacy
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// A JSON answer to the first `initialize`: some 2026-07-28 servers answer it with HTTP
    /// 200 and a JSON-RPC error, or with a modern version no stateful client accepts. Such a
    /// server is asked `server/discover`; any other answer goes to the client as it came.
    async fn first_answer(
        &self,
        msg: &Message,
        s: Arc<Streamable>,
        resp: reqwest::Response,
        answered: &mut bool,
    ) -> Result<Active, UpstreamError> {
        s.capture_session(&resp);
        let status = resp.status().as_u16();
        let body = self.http.read_body(resp).await?;
        if crate::era::errors::initialize_says_modern(&body)
            && let Some(active) = self.try_modern(msg, answered).await
        {
            return Ok(active);
        }
        self.router.deliver(body).await;
        *answered = true;
        if msg.id.as_ref().is_some_and(|id| self.router.is_pending(id)) {
            return Err(UpstreamError::NoAnswer {
                origin: self.http.origin().into(),
                status: Some(status),
            });
        }
        Ok(Active::Streamable(s))
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
            Active::Streamable(_) | Active::Upgraded(_) => Some(TransportArg::StreamableHttp),
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
            Some(Active::Upgraded(u)) => u.close(),
            None => {}
        }
    }
}
