//! The OAuth leg of [`Http::send`]: the signed-in token on each request (other configured
//! headers still go along; a DPoP-bound one through `http/dpop.rs`), and on a 401 Bearer or
//! DPoP challenge or a 403 `insufficient_scope` one new token from `src/oauth/` and one
//! retry. Nothing is probed before the server asks.

use super::Http;
use crate::error::UpstreamError;
use crate::oauth::dpop::Access;
use crate::oauth::{Challenge, OAuth, OAuthError};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Client, RequestBuilder, Response, StatusCode};

impl Http {
    /// [`Http::send`] with OAuth as the source of `Authorization`.
    pub(super) async fn send_oauth(
        &self,
        oauth: &OAuth,
        make: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, UpstreamError> {
        let mut token = oauth.current(oauth.forced()).await;
        let mut reread = false;
        // At most two renewals: a request sent without a token may first get the stored
        // one, and only then a refresh or a sign-in (src/oauth/ allows one sign-in in a row).
        for renewals in 0.. {
            let (generation, _) = self.creds.headers();
            let resp = self.send_with(oauth, &make, token.as_ref()).await?;
            let status = resp.status();
            if status.is_success() {
                if token.is_some() {
                    oauth.accepted();
                }
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse);
            let renewed = match (status, challenge) {
                // Even the renewed token is refused: say so, not "configure a credential".
                _ if renewals == 2 && status == StatusCode::UNAUTHORIZED && token.is_some() => {
                    let e = oauth.rejected_fresh();
                    return Err(UpstreamError::Auth {
                        origin: self.origin.clone(),
                        status: status.as_u16(),
                        why: e.to_string(),
                        advice: e.advice(oauth.tried()),
                    });
                }
                _ if renewals == 2 => return self.check(resp).await,
                (StatusCode::UNAUTHORIZED, Some(c)) => oauth.recover(&c, sent(&token)).await,
                // A 401 without a Bearer challenge to a request that carried our token.
                (StatusCode::UNAUTHORIZED, None) if token.is_some() => {
                    oauth.recover(&Challenge::default(), sent(&token)).await
                }
                (StatusCode::FORBIDDEN, Some(c))
                    if token.is_some() && c.error.as_deref() == Some("insufficient_scope") =>
                {
                    oauth.step_up(&c).await
                }
                _ if status == StatusCode::UNAUTHORIZED
                    && !reread
                    && self.reread_static(generation).await =>
                {
                    reread = true;
                    continue;
                }
                _ => return self.check(resp).await,
            };
            token = match renewed {
                Ok(t) => Some(t),
                // Not an OAuth server: other configured credentials may have changed at
                // their source; else the plain 401 and its "pass --bearer" advice.
                Err(OAuthError::NotOAuth) if !reread && self.reread_static(generation).await => {
                    reread = true;
                    continue;
                }
                Err(OAuthError::NotOAuth) => return self.check(resp).await,
                Err(e) => {
                    return Err(UpstreamError::Auth {
                        origin: self.origin.clone(),
                        status: status.as_u16(),
                        why: e.to_string(),
                        advice: e.advice(oauth.tried()),
                    });
                }
            };
            tracing::info!("retrying with the new OAuth access token");
        }
        unreachable!("the loop returns")
    }

    /// The classic 401 path for the other configured headers (e.g. `X-Jira-Token`): re-read
    /// their sources; true when a value changed, worth one retry.
    async fn reread_static(&self, generation: u64) -> bool {
        let changed = !self.creds.is_empty() && self.creds.refresh(generation).await;
        if changed {
            tracing::info!("retrying once with the re-read credentials after HTTP 401");
        }
        changed
    }

    /// One request with the configured headers and, if signed in, the OAuth token in
    /// place of any static Authorization.
    async fn send_with(
        &self,
        oauth: &OAuth,
        make: &impl Fn(&Client) -> RequestBuilder,
        token: Option<&Access>,
    ) -> Result<Response, UpstreamError> {
        let (_, headers) = self.creds.headers();
        let mut headers: HeaderMap = (*headers).clone();
        if let Some(access) = token {
            // A token the header cannot carry is left out; the 401 that follows says so.
            let text =
                zeroize::Zeroizing::new(format!("{} {}", access.scheme(), access.token.expose()));
            if let Ok(mut value) = HeaderValue::from_str(&text) {
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
        }
        let build = || make(&self.client).headers(headers.clone());
        if let Some(access) = token
            && let Some(key) = &access.key
        {
            return self.send_dpop(build, access, key, oauth.nonces()).await;
        }
        let resp = build().send().await.map_err(|e| self.transport_error(e))?;
        if resp
            .headers()
            .contains_key(crate::oauth::dpop::NONCE_HEADER)
            && let Ok(url) = url::Url::parse(&self.origin)
        {
            // A server may hand out a nonce before it asks for DPoP (RFC 9449 §8, §9).
            oauth.nonces().remember(&url, resp.headers());
        }
        Ok(resp)
    }
}

/// The token a request carried, for [`OAuth::recover`] to tell whether it was renewed since.
fn sent(token: &Option<Access>) -> Option<&crate::secret::Secret> {
    token.as_ref().map(|a| &a.token)
}
