//! The OAuth credential source the HTTP client consults: the current access token (loaded
//! from the keychain, refreshed shortly before it expires), a new one after a 401 (another
//! instance's, a refreshed one, or one new sign-in), and one step-up after a 403
//! `insufficient_scope`. Every refresh and sign-in runs under the cross-process lock, and
//! the keychain is re-read once the lock is held. Tokens are bound to their issuer: a 401
//! makes discovery run again, and when the resource names another authorization server the
//! old tokens are not used there (SEP-2352); the renewal itself is in `flow/renew.rs`.

mod machine;
mod renew;

use super::discovery::{self, Discovered};
use super::dpop::{self, Access, Nonces};
use super::jws::SigningKey;
use super::lock::SignInLock;
use super::tokens::{self, Stored, Tokens};
use super::{Challenge, OAuthError, OAuthOptions, canonical_server_url, signin};
use crate::network::Network;
use crate::secret::Secret;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use url::Url;

/// Refresh this long before the access token expires.
const LEAD_SECS: u64 = 60;

/// The OAuth state of one server for this process.
pub struct OAuth {
    server: Url,
    key: String,
    opts: OAuthOptions,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
    /// The access token came straight from a sign-in here and no request has succeeded
    /// with it yet: if the server rejects it, another sign-in would loop. (Outside `state`
    /// so that marking success never waits for a sign-in under way.)
    untried_signin: AtomicBool,
    /// The latest DPoP nonce of each origin (authorization server and resource).
    nonces: Nonces,
    /// The resource has challenged with the `DPoP` scheme in this run.
    dpop_challenged: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Tokens in use; `None` until the first challenge (or `--oauth`) loads them.
    tokens: Option<Tokens>,
    /// The DPoP key of the keychain entry the tokens came from.
    key: Option<Arc<SigningKey>>,
    /// The keychain has been read once.
    loaded: bool,
    /// Discovery results, reused for proactive refreshes; a 401 checks them again.
    disc: Option<Discovered>,
    /// Discovery found no OAuth metadata at all: not asked again in this run.
    not_oauth: bool,
    /// The last entry written, used when the keychain cannot be read (tokens and the
    /// registration then last for this run).
    memory: Option<Stored>,
}

/// What the caller is willing to do to get a token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allow {
    /// Refresh only (the proactive path keeps the old token on failure).
    Refresh,
    /// Refresh, else one sign-in.
    SignIn,
}

impl OAuth {
    /// The OAuth source for `server`.
    pub fn new(
        server: &Url,
        opts: OAuthOptions,
        connect_timeout: Duration,
        network: &Network,
    ) -> Result<Self, OAuthError> {
        Ok(OAuth {
            key: canonical_server_url(server),
            server: server.clone(),
            opts,
            http: super::endpoints::client(connect_timeout, network)?,
            state: tokio::sync::Mutex::new(State::default()),
            untried_signin: AtomicBool::new(false),
            nonces: Nonces::default(),
            dpop_challenged: AtomicBool::new(false),
        })
    }

    /// The canonical server URL (the keychain account is `oauth:` and this).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The options that decide which advice can still help after a failure.
    pub fn tried(&self) -> super::Tried {
        super::Tried {
            no_resource_param: self.opts.no_resource_param,
            client_id: self.opts.client_id.is_some(),
        }
    }

    /// `--oauth`: send the stored token from the first request on.
    pub fn forced(&self) -> bool {
        self.opts.forced
    }

    /// The DPoP nonces servers sent, for the proofs of resource requests.
    pub fn nonces(&self) -> &Nonces {
        &self.nonces
    }

    /// The access token to send now, if there is one: loaded from the keychain when
    /// `start` (first use), refreshed when it expires within a minute.
    pub async fn current(&self, start: bool) -> Option<Access> {
        let mut st = self.state.lock().await;
        if !st.loaded && start {
            st.loaded = true;
            match tokens::load(&self.key).await {
                Ok(s) => {
                    st.key = s.as_ref().and_then(dpop::stored_key);
                    st.tokens = s.and_then(|s| s.tokens);
                }
                Err(e) => tracing::warn!("cannot read stored OAuth tokens: {e}"),
            }
        }
        let t = st.tokens.as_ref()?;
        // Without a refresh token there is nothing to do ahead of time: the 401 signs in.
        if t.expires_within(LEAD_SECS) && t.refresh_token.is_some() {
            let old = t.access_token.clone();
            let challenge = Challenge::default();
            if let Err(e) = self
                .renew(&mut st, &challenge, Some(&old), Allow::Refresh)
                .await
            {
                tracing::info!("refreshing the access token before it expires failed: {e}");
            }
        }
        let token = st.tokens.as_ref()?.access_token.clone();
        Some(Self::access(&st, Secret::new(token)))
    }

    /// `token` as it must be sent: with the DPoP key when the current tokens are bound.
    fn access(st: &State, token: Secret) -> Access {
        let bound = st.tokens.as_ref().is_some_and(|t| t.dpop);
        Access {
            token,
            key: st.key.clone().filter(|_| bound),
        }
    }

    /// The DPoP key for a token request to `disc`, if DPoP is to be used there.
    fn dpop_key(
        &self,
        disc: &Discovered,
        stored: &mut Stored,
    ) -> Result<Option<Arc<SigningKey>>, OAuthError> {
        let challenged = self.dpop_challenged.load(Ordering::Relaxed);
        dpop::key_for(self.opts.dpop, disc, stored, challenged)
    }

    /// Signs the proofs of a token request with `key`, if any.
    fn prover<'a>(&'a self, key: &'a Option<Arc<SigningKey>>) -> Option<dpop::Prover<'a>> {
        key.as_deref().map(|key| dpop::Prover {
            key,
            nonces: &self.nonces,
        })
    }

    /// A request with the current token succeeded: the token works.
    pub fn accepted(&self) {
        self.untried_signin.store(false, Ordering::Relaxed);
    }

    /// After a 401 with `challenge` to a request that carried `rejected` (if anything): a
    /// new token from another instance, a refresh, or one sign-in.
    pub async fn recover(
        &self,
        challenge: &Challenge,
        rejected: Option<&Secret>,
    ) -> Result<Access, OAuthError> {
        let mut st = self.state.lock().await;
        st.loaded = true;
        if challenge.dpop {
            self.dpop_challenged.store(true, Ordering::Relaxed);
        }
        let rejected = rejected.map(Secret::expose);
        if let Some(t) = &st.tokens
            && Some(t.access_token.as_str()) != rejected
        {
            // Another request renewed it while this one waited.
            let token = Secret::new(t.access_token.clone());
            return Ok(Self::access(&st, token));
        }
        if self.untried_signin.load(Ordering::Relaxed) && rejected.is_some() {
            return Err(self.rejected_fresh());
        }
        // The resource may have moved to another authorization server since the token was
        // issued: look again before refreshing or signing in (a few GETs, on a 401 only).
        self.rediscover(&mut st, challenge).await?;
        let token = self
            .renew(&mut st, challenge, rejected, Allow::SignIn)
            .await?;
        Ok(Self::access(&st, token))
    }

    /// The resource rejects a token fresh from its authorization server (a sign-in, or a
    /// refresh after a rejected one): the two disagree on audience or scopes, or the resource
    /// wants tokens without `resource` (when that was sent). Another sign-in would loop.
    pub fn rejected_fresh(&self) -> OAuthError {
        let resource = if self.opts.no_resource_param {
            ""
        } else {
            ", or try --no-resource-param"
        };
        OAuthError::GaveUp(format!(
            "{} rejected the token its authorization server issued moments ago; not opening another sign-in. Ask the server's operator to check that its authorization server issues tokens for it (audience, scopes){resource}",
            self.key
        ))
    }

    /// After a 403 `insufficient_scope`: one sign-in asking for the current scopes plus the
    /// challenge's, then a clear error if the server still wants more.
    pub async fn step_up(&self, challenge: &Challenge) -> Result<Access, OAuthError> {
        let mut st = self.state.lock().await;
        let have: Vec<String> = st
            .tokens
            .as_ref()
            .map(|t| t.scopes.clone())
            .unwrap_or_default();
        let wanted: Vec<String> = challenge
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if self.untried_signin.load(Ordering::Relaxed) || wanted.iter().all(|s| have.contains(s)) {
            return Err(OAuthError::GaveUp(format!(
                "{} refused access for lack of a scope (insufficient_scope{}) even after signing in for it; ask its operator for access",
                self.key,
                challenge
                    .scope
                    .as_deref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            )));
        }
        let mut scopes = have;
        for s in wanted {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let _lock = SignInLock::acquire(&self.key, self.lock_wait()).await?;
        let disc = self.discovery(&mut st, challenge).await?;
        let mut stored = self.load_stored(&st).await;
        let t = if self.opts.without_browser() {
            let key = self.dpop_key(&disc, &mut stored)?;
            self.machine_grant(&disc, &scopes, &key).await?
        } else {
            self.sign_in(&mut st, &disc, &mut stored, &scopes).await?
        };
        self.untried_signin.store(true, Ordering::Relaxed);
        let token = self.keep(&mut st, stored, t).await;
        Ok(Self::access(&st, token))
    }

    /// `mcp-keybridge login`: signs in (or client-credentials) now, whatever is stored;
    /// the keychain must take the result.
    pub async fn login(&self) -> Result<Tokens, OAuthError> {
        super::endpoints::check_url("MCP server", &self.server)?;
        let challenge = &discovery::probe(&self.http, &self.server).await;
        if challenge.dpop {
            self.dpop_challenged.store(true, Ordering::Relaxed);
        }
        let mut st = self.state.lock().await;
        let _lock = SignInLock::acquire(&self.key, self.lock_wait()).await?;
        let disc = self.discovery(&mut st, challenge).await?;
        let mut stored = tokens::load(&self.key)
            .await?
            .unwrap_or_else(|| self.empty());
        let scopes = self.scopes(challenge, &disc);
        let t = if self.opts.without_browser() {
            let key = self.dpop_key(&disc, &mut stored)?;
            let t = self.machine_grant(&disc, &scopes, &key).await?;
            super::registration::remember_preregistered(&self.opts, &disc, &mut stored);
            t
        } else {
            self.sign_in(&mut st, &disc, &mut stored, &scopes).await?
        };
        stored.tokens = Some(t.clone());
        tokens::save(&stored).await?;
        Ok(t)
    }

    /// The discovery result of this run, found on first use.
    async fn discovery(
        &self,
        st: &mut State,
        challenge: &Challenge,
    ) -> Result<Discovered, OAuthError> {
        match &st.disc {
            Some(d) => Ok(d.clone()),
            None => self.rediscover(st, challenge).await,
        }
    }

    /// Discovery again (the authorization-server metadata is reused while the resource
    /// names the same issuer). A server found not to be an OAuth one is not asked again.
    async fn rediscover(
        &self,
        st: &mut State,
        challenge: &Challenge,
    ) -> Result<Discovered, OAuthError> {
        if st.not_oauth {
            return Err(OAuthError::NotOAuth);
        }
        // A token must not travel over plain http to anything but this machine.
        super::endpoints::check_url("MCP server", &self.server)?;
        let choice = self.opts.authorization_server.as_deref();
        let d = match discovery::discover(
            &self.http,
            &self.server,
            challenge,
            st.disc.as_ref(),
            choice,
        )
        .await
        {
            Err(OAuthError::NotOAuth) => {
                st.not_oauth = true;
                return Err(OAuthError::NotOAuth);
            }
            other => other?,
        };
        if let Some(old) = &st.disc
            && old.issuer() != d.issuer()
        {
            tracing::info!(
                "{} now names the authorization server {} (it was {}); credentials from the old one are not used there",
                self.key,
                d.issuer(),
                old.issuer()
            );
        }
        st.disc = Some(d.clone());
        Ok(d)
    }

    /// The browser sign-in; a 2025-03-26 guess whose registration endpoint turns out not to
    /// exist means the server is not an OAuth one after all.
    async fn sign_in(
        &self,
        st: &mut State,
        disc: &Discovered,
        stored: &mut Stored,
        scopes: &[String],
    ) -> Result<Tokens, OAuthError> {
        let clients = stored.clients.clone();
        let key = self.dpop_key(disc, stored)?;
        let prover = self.prover(&key);
        let result = signin::interactive(
            &self.http, disc, &self.opts, stored, scopes, &self.key, prover,
        )
        .await;
        match &result {
            Err(OAuthError::NotOAuth) => {
                st.not_oauth = true;
                st.disc = None;
            }
            // A registration made for a sign-in that then failed is kept all the same: the
            // next try reuses it instead of registering one more client.
            Err(_) if stored.clients != clients => {
                if let Err(e) = tokens::save(stored).await {
                    tracing::debug!("cannot store the new client registration: {e}");
                }
                st.memory = Some(stored.clone());
            }
            _ => {}
        }
        result
    }

    /// `--scope`, else the challenge's `scope`, else the resource's `scopes_supported`.
    fn scopes(&self, challenge: &Challenge, disc: &Discovered) -> Vec<String> {
        let split = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        match (&self.opts.scope, &challenge.scope) {
            (Some(s), _) | (None, Some(s)) => split(s),
            (None, None) => disc.resource_scopes.clone(),
        }
    }

    /// A waiting instance gives the holder the time a person has to sign in, and a margin.
    fn lock_wait(&self) -> Duration {
        self.opts.auth_timeout + Duration::from_secs(30)
    }
}
