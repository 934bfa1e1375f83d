//! The DPoP leg of a request to the resource (RFC 9449 §7): the token under the `DPoP`
//! scheme with a fresh proof of that exact request (its method and URL, `ath` of the token,
//! the resource's latest nonce), and one retry when the resource answers `use_dpop_nonce`
//! with a new nonce (§9). Every transport's requests (POST, GET stream, DELETE) come here.

use super::Http;
use crate::error::UpstreamError;
use crate::oauth::Challenge;
use crate::oauth::dpop::{Access, Nonces, Prover};
use crate::oauth::jws::SigningKey;
use reqwest::header::{HeaderValue, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};

impl Http {
    /// Sends the request `make` builds (headers included) with a proof of `key`.
    pub(super) async fn send_dpop(
        &self,
        make: impl Fn() -> RequestBuilder,
        access: &Access,
        key: &SigningKey,
        nonces: &Nonces,
    ) -> Result<Response, UpstreamError> {
        let prover = Prover { key, nonces };
        let mut retried = false;
        loop {
            let mut req = make().build().map_err(|e| self.transport_error(e))?;
            let proof = prover
                .proof(req.method().as_str(), req.url(), Some(&access.token))
                .map_err(|e| UpstreamError::Credentials {
                    why: e.to_string(),
                    fix: "Run with --dpop never if the server accepts Bearer tokens.".into(),
                })?;
            if let Ok(mut value) = HeaderValue::from_str(proof.expose()) {
                value.set_sensitive(true);
                req.headers_mut().insert("dpop", value);
            }
            let url = req.url().clone();
            let resp = self
                .client
                .execute(req)
                .await
                .map_err(|e| self.transport_error(e))?;
            let fresh = nonces.remember(&url, resp.headers());
            if !retried && fresh && wants_nonce(&resp) {
                tracing::debug!("the server asked for a DPoP nonce; retrying once with it");
                retried = true;
                continue;
            }
            return Ok(resp);
        }
    }
}

/// A 401 `DPoP error="use_dpop_nonce"` challenge.
fn wants_nonce(resp: &Response) -> bool {
    resp.status() == StatusCode::UNAUTHORIZED
        && resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(Challenge::parse)
            .any(|c| c.error.as_deref() == Some("use_dpop_nonce"))
}
