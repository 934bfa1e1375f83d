//! Getting fresh tokens under the cross-process lock: another instance's, a refresh, the
//! client-credentials grant, or one sign-in. Stored tokens from another issuer than the one
//! the resource names now are never used (SEP-2352), and a refresh token the server calls
//! dead is forgotten at once, so that no later request tries it again.

use super::super::discovery::Discovered;
use super::super::dpop;
use super::super::jws::SigningKey;
use super::super::lock::SignInLock;
use super::super::registration;
use super::super::tokens::{self, Stored, Tokens};
use super::super::{Challenge, OAuthError};
use super::{Allow, LEAD_SECS, OAuth, State};
use crate::secret::Secret;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl OAuth {
    /// Gets fresh tokens into `st` under the cross-process lock; returns the access token.
    pub(super) async fn renew(
        &self,
        st: &mut State,
        challenge: &Challenge,
        rejected: Option<&str>,
        allow: Allow,
    ) -> Result<Secret, OAuthError> {
        // Discovery first: a server that is not an OAuth one costs no lock or keychain read.
        let disc = self.discovery(st, challenge).await?;
        let _lock = SignInLock::acquire(&self.key, self.lock_wait()).await?;
        let mut stored = self.load_stored(st).await;
        if let Some(t) = &stored.tokens
            && t.issuer != disc.issuer()
        {
            // Credentials are bound to their issuer: neither the access token nor the
            // refresh token of the old server may be presented to the new one.
            tracing::info!(
                "the stored tokens are from {}, but {} now uses {}; signing in there",
                t.issuer,
                self.key,
                disc.issuer()
            );
            stored.tokens = None;
        }
        // Another instance may have refreshed or signed in while this one waited (or, on a
        // restart, this is the token an earlier run stored).
        if let Some(t) = &stored.tokens
            && Some(t.access_token.as_str()) != rejected
            && !t.expires_within(if allow == Allow::Refresh {
                LEAD_SECS
            } else {
                0
            })
        {
            tracing::info!("using the stored tokens for {}", self.key);
            let token = Secret::new(t.access_token.clone());
            st.key = dpop::stored_key(&stored);
            st.tokens = stored.tokens;
            return Ok(token);
        }
        let scopes = match &stored.tokens {
            Some(t) if !t.scopes.is_empty() => t.scopes.clone(),
            _ => self.scopes(challenge, &disc),
        };
        let key = self.dpop_key(&disc, &mut stored)?;
        if self.opts.without_browser() {
            let t = self.machine_grant(&disc, &scopes, &key).await?;
            registration::remember_preregistered(&self.opts, &disc, &mut stored);
            // A fresh token the resource rejects means the grant is misconfigured: asking
            // again with the same credentials would only loop.
            self.untried_signin.store(true, Ordering::Relaxed);
            return Ok(self.keep(st, stored, t).await);
        }
        let refresh = stored.tokens.as_ref().and_then(|t| t.refresh_token.clone());
        if let Some(refresh) = refresh {
            match self.refresh(&disc, &stored, &refresh, &scopes, &key).await {
                Ok(t) => {
                    tracing::info!("refreshed the access token for {}", self.key);
                    return Ok(self.keep(st, stored, t).await);
                }
                Err(e) if e.is_invalid_grant() => {
                    self.forget_refresh_token(st, &mut stored).await;
                    if allow == Allow::Refresh {
                        return Err(e);
                    }
                    tracing::warn!("the refresh token was refused ({e}); signing in again");
                }
                Err(e) => return Err(e),
            }
        }
        if allow == Allow::Refresh {
            return Err(OAuthError::GaveUp("no refresh token".into()));
        }
        stored.tokens = None;
        let t = self.sign_in(st, &disc, &mut stored, &scopes).await?;
        self.untried_signin.store(true, Ordering::Relaxed);
        Ok(self.keep(st, stored, t).await)
    }

    /// The refresh token is dead: it is dropped here and in the keychain (the access token
    /// may still serve until it expires), so neither this run's later requests nor another
    /// instance tries it again while a sign-in is under way or after one failed.
    async fn forget_refresh_token(&self, st: &mut State, stored: &mut Stored) {
        if let Some(t) = stored.tokens.as_mut() {
            t.refresh_token = None;
        }
        if let Some(t) = st.tokens.as_mut() {
            t.refresh_token = None;
        }
        if let Err(e) = tokens::save(stored).await {
            tracing::debug!("cannot record the dead refresh token in the keychain: {e}");
        }
        st.memory = Some(stored.clone());
    }

    async fn refresh(
        &self,
        disc: &Discovered,
        stored: &Stored,
        refresh: &str,
        scopes: &[String],
        key: &Option<Arc<SigningKey>>,
    ) -> Result<Tokens, OAuthError> {
        let client = match registration::preregistered(&self.opts, disc).await? {
            Some(c) => c,
            None => match registration::metadata_document(&self.opts, disc)
                .or_else(|| stored.clients.get(disc.issuer()).cloned())
            {
                Some(c) => registration::stored_auth(&c, disc).await?,
                None => {
                    return Err(OAuthError::Token {
                        error: "invalid_grant".into(),
                        description: Some(
                            "no client registration is stored for this refresh token".into(),
                        ),
                    });
                }
            },
        };
        self.token_request(disc, &client, key)
            .refresh(refresh, scopes)
            .await
    }

    pub(super) async fn client_credentials(
        &self,
        disc: &Discovered,
        scopes: &[String],
        key: &Option<Arc<SigningKey>>,
    ) -> Result<Tokens, OAuthError> {
        let client = registration::preregistered(&self.opts, disc)
            .await?
            .filter(|c| c.secret.is_some() || c.key.is_some())
            .ok_or_else(|| OAuthError::Registration {
                issuer: disc.issuer().to_string(),
                why: "--client-credentials needs --client-id and --client-secret REF or --client-key REF of a client registered for that grant".into(),
            })?;
        self.token_request(disc, &client, key)
            .client_credentials(scopes)
            .await
    }

    /// Stores `t` (with the registrations) and makes it current. Without a keychain the
    /// tokens still serve this run; the warning says the next start signs in again.
    pub(super) async fn keep(&self, st: &mut State, mut stored: Stored, t: Tokens) -> Secret {
        let token = Secret::new(t.access_token.clone());
        stored.tokens = Some(t.clone());
        if let Err(e) = tokens::save(&stored).await {
            tracing::warn!(
                "the OAuth tokens are kept in memory only, so the next start signs in again: {e}"
            );
        }
        st.key = dpop::stored_key(&stored);
        st.memory = Some(stored);
        st.tokens = Some(t);
        token
    }

    /// The keychain entry; without a usable keychain, what this run last wrote.
    pub(super) async fn load_stored(&self, st: &State) -> Stored {
        match tokens::load(&self.key).await {
            Ok(Some(s)) => s,
            Ok(None) => self.empty(),
            Err(e) => {
                tracing::warn!("cannot read stored OAuth tokens: {e}");
                st.memory.clone().unwrap_or_else(|| self.empty())
            }
        }
    }

    pub(super) fn empty(&self) -> Stored {
        Stored {
            server: self.key.clone(),
            ..Stored::default()
        }
    }
}
