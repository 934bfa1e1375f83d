//! PKCE (RFC 7636) with S256 only, and the random `state` values sign-in needs. A server
//! that does not list S256 is refused: `plain` would send the verifier's twin in the
//! browser's URL, and no PKCE at all leaves a stolen code usable.

use super::OAuthError;
use super::discovery::AsMetadata;
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A code verifier and its S256 challenge.
#[derive(Debug)]
pub struct Pkce {
    /// Sent only to the token endpoint.
    pub verifier: Secret,
    /// Sent in the authorization URL.
    pub challenge: String,
}

impl Pkce {
    /// A fresh verifier of 43 characters (32 random bytes) and its challenge.
    pub fn new() -> Result<Self, OAuthError> {
        let verifier = random_urlsafe(32)?;
        let challenge = challenge_for(verifier.expose());
        Ok(Pkce {
            verifier,
            challenge,
        })
    }
}

/// `BASE64URL(SHA256(verifier))`.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `bytes` random bytes from the OS, base64url-encoded.
pub fn random_urlsafe(bytes: usize) -> Result<Secret, OAuthError> {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut buf)
        .map_err(|e| OAuthError::Authorize(format!("the OS has no randomness to offer: {e}")))?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(&*buf)))
}

/// Refuses an authorization server that does not advertise S256 (MCP 2025-11-25: a client
/// MUST refuse when `code_challenge_methods_supported` is absent).
pub fn require_s256(meta: &AsMetadata) -> Result<(), OAuthError> {
    if meta
        .code_challenge_methods_supported
        .iter()
        .any(|m| m == "S256")
    {
        Ok(())
    } else {
        Err(OAuthError::NoS256 {
            issuer: meta.issuer.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenges() {
        // printf %s abc | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d =
        assert_eq!(
            challenge_for("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        let p = Pkce::new().unwrap();
        assert_eq!(p.verifier.expose().len(), 43);
        assert_eq!(p.challenge, challenge_for(p.verifier.expose()));
        assert_ne!(Pkce::new().unwrap().verifier, p.verifier);
    }
}
