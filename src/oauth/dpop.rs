//! DPoP (RFC 9449, MCP extension SEP-1932): tokens bound to a key pair the bridge holds, so
//! that a stolen access or refresh token is useless without the private key. One ES256 key
//! per server, made on first use and kept in the keychain entry next to the tokens it binds
//! (one keychain write, so a bound token is never stored without its key); proofs for the
//! token endpoint and for every request to the resource; and the latest `DPoP-Nonce` each
//! origin sent, put in the next proof to it.

use super::endpoints::{self, show};
use super::jws::{self, SigningKey};
use super::tokens::Stored;
use super::{OAuthError, discovery::Discovered};
use crate::cli::DpopMode;
use crate::secret::Secret;
use crate::sync::lock_ignoring_poison;
use reqwest::Client;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use url::Url;

/// The response header that carries a server-provided nonce.
pub const NONCE_HEADER: &str = "dpop-nonce";

/// The latest `DPoP-Nonce` per origin, from every response that carried one.
#[derive(Default)]
pub struct Nonces(Mutex<HashMap<String, String>>);

impl Nonces {
    /// The nonce to put in a proof for `url`, if its origin sent one.
    pub fn get(&self, url: &Url) -> Option<String> {
        let map = lock_ignoring_poison(&self.0);
        map.get(&url.origin().ascii_serialization()).cloned()
    }

    /// Keeps the `DPoP-Nonce` of a response from `url`; true when it is a new one.
    pub fn remember(&self, url: &Url, headers: &HeaderMap) -> bool {
        let Some(nonce) = headers
            .get(NONCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|n| !n.is_empty())
        else {
            return false;
        };
        let mut map = lock_ignoring_poison(&self.0);
        let old = map.insert(url.origin().ascii_serialization(), nonce.to_string());
        old.as_deref() != Some(nonce)
    }
}

/// A key and the nonce memory: what signs the proofs of one request.
#[derive(Clone, Copy)]
pub struct Prover<'a> {
    /// The server's DPoP key.
    pub key: &'a SigningKey,
    /// Where the servers' nonces are kept.
    pub nonces: &'a Nonces,
}

impl Prover<'_> {
    /// A fresh proof for `method` on `url` (`htu` without query or fragment), with `ath` of
    /// `access_token` for a resource request, and the origin's latest nonce.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&Secret>,
    ) -> Result<Secret, OAuthError> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let jti = super::pkce::random_urlsafe(16)?;
        let mut claims = json!({
            "jti": jti.expose(),
            "htm": method,
            "htu": htu.as_str(),
            "iat": jws::now_secs(),
        });
        if let Some(token) = access_token {
            claims["ath"] = Value::from(jws::sha256_b64(token.expose()));
        }
        if let Some(nonce) = self.nonces.get(url) {
            claims["nonce"] = Value::from(nonce);
        }
        let mut header = Map::new();
        header.insert("jwk".into(), self.key.public_jwk().unwrap_or_default());
        self.key
            .sign("dpop+jwt", header, &claims)
            .map(Secret::new)
            .map_err(|e| OAuthError::Dpop(e.to_string()))
    }

    /// POSTs a token request with a proof; after a `use_dpop_nonce` error that brought a
    /// new nonce (RFC 9449 §8), once more with it.
    pub async fn post_form(
        &self,
        client: &Client,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Value, OAuthError> {
        let mut retried = false;
        loop {
            let proof = self.proof("POST", url, None)?;
            let (headers, reply) =
                endpoints::post_form_with(client, url, form, basic, &proof).await?;
            let fresh = self.nonces.remember(url, &headers);
            match reply {
                Err(e) if !retried && fresh && e.is_use_dpop_nonce() => {
                    tracing::debug!("{} asked for a DPoP nonce; retrying once", show(url));
                    retried = true;
                }
                other => return other,
            }
        }
    }
}

/// An access token as the resource must receive it: Bearer, or DPoP with its key.
#[derive(Clone)]
pub struct Access {
    /// The token itself.
    pub token: Secret,
    /// The key the token is bound to, when it is a DPoP token.
    pub key: Option<Arc<SigningKey>>,
}

impl Access {
    /// The `Authorization` scheme to send the token with.
    pub fn scheme(&self) -> &'static str {
        if self.key.is_some() { "DPoP" } else { "Bearer" }
    }
}

/// The key kept in `stored`, if there is a readable one.
pub fn stored_key(stored: &Stored) -> Option<Arc<SigningKey>> {
    let text = stored.dpop_key.as_ref()?;
    match SigningKey::from_stored(&Secret::new(text.clone())) {
        Ok(k) => Some(Arc::new(k)),
        Err(e) => {
            tracing::warn!("the stored DPoP key is unreadable ({e}); a new one is made");
            None
        }
    }
}

/// The key for a token request to `disc`, when DPoP is to be used: the stored one, else a
/// new one put into `stored` (saved with the tokens it will bind). `challenged`: the resource
/// asked for DPoP.
pub fn key_for(
    mode: DpopMode,
    disc: &Discovered,
    stored: &mut Stored,
    challenged: bool,
) -> Result<Option<Arc<SigningKey>>, OAuthError> {
    let bound = stored.tokens.as_ref().is_some_and(|t| t.dpop);
    let offered = disc
        .meta
        .dpop_signing_alg_values_supported
        .iter()
        .any(|a| a == "ES256");
    let wanted = match mode {
        DpopMode::Never => false,
        DpopMode::Always => true,
        // A DPoP-bound refresh token must be presented with its key whatever the metadata says.
        DpopMode::Auto => offered || challenged || bound,
    };
    if !wanted {
        return Ok(None);
    }
    if let Some(key) = stored_key(stored) {
        return Ok(Some(key));
    }
    let key = SigningKey::generate_es256().map_err(|e| OAuthError::Dpop(e.to_string()))?;
    let text = key
        .to_stored()
        .map_err(|e| OAuthError::Dpop(e.to_string()))?;
    stored.dpop_key = Some(text.expose().to_string());
    tracing::info!("made a DPoP key for {}", stored.server);
    Ok(Some(Arc::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use reqwest::header::HeaderValue;

    fn claims(jwt: &str) -> (Value, Value) {
        let part = |i: usize| -> Value {
            let raw = URL_SAFE_NO_PAD
                .decode(jwt.split('.').nth(i).unwrap())
                .unwrap();
            serde_json::from_slice(&raw).unwrap()
        };
        (part(0), part(1))
    }

    #[test]
    fn proofs_carry_htm_htu_ath_nonce_and_a_fresh_jti() {
        let key = SigningKey::generate_es256().unwrap();
        let nonces = Nonces::default();
        let prover = Prover {
            key: &key,
            nonces: &nonces,
        };
        let url = Url::parse("https://rs.example/mcp?key=x#f").unwrap();
        let token = Secret::new("tok".into());
        let a = prover.proof("GET", &url, Some(&token)).unwrap();
        let (header, body) = claims(a.expose());
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["jwk"], key.public_jwk().unwrap());
        assert!(header["jwk"].get("d").is_none());
        assert_eq!(body["htm"], "GET");
        assert_eq!(body["htu"], "https://rs.example/mcp");
        assert_eq!(body["ath"], jws::sha256_b64("tok"));
        assert!(body.get("nonce").is_none());

        let mut headers = HeaderMap::new();
        headers.insert(NONCE_HEADER, HeaderValue::from_static("n1"));
        assert!(nonces.remember(&url, &headers));
        assert!(
            !nonces.remember(&url, &headers),
            "the same nonce is not new"
        );
        let b = prover.proof("GET", &url, Some(&token)).unwrap();
        let (_, body_b) = claims(b.expose());
        assert_eq!(body_b["nonce"], "n1");
        assert_ne!(body["jti"], body_b["jti"]);
        let other = Url::parse("https://as.example/token").unwrap();
        assert!(nonces.get(&other).is_none(), "nonces are per origin");
    }

    #[test]
    fn the_key_is_made_once_and_kept_in_the_entry() {
        let disc_meta = |algs: &[&str]| Discovered {
            resource: "https://rs.example/mcp".into(),
            resource_scopes: Vec::new(),
            meta: serde_json::from_value(json!({
                "issuer": "https://as.example",
                "token_endpoint": "https://as.example/token",
                "dpop_signing_alg_values_supported": algs,
            }))
            .unwrap(),
            guessed: false,
        };
        let mut stored = Stored {
            server: "https://rs.example/mcp".into(),
            ..Stored::default()
        };
        let plain = disc_meta(&[]);
        assert!(
            key_for(DpopMode::Auto, &plain, &mut stored, false)
                .unwrap()
                .is_none()
        );
        assert!(stored.dpop_key.is_none());
        let offered = disc_meta(&["RS256", "ES256"]);
        assert!(
            key_for(DpopMode::Never, &offered, &mut stored, true)
                .unwrap()
                .is_none()
        );
        let k1 = key_for(DpopMode::Auto, &offered, &mut stored, false)
            .unwrap()
            .unwrap();
        assert!(stored.dpop_key.is_some());
        let k2 = key_for(DpopMode::Always, &plain, &mut stored, false)
            .unwrap()
            .unwrap();
        assert_eq!(k1.thumbprint(), k2.thumbprint());
        assert!(
            key_for(DpopMode::Auto, &plain, &mut stored, true)
                .unwrap()
                .is_some()
        );
    }
}
