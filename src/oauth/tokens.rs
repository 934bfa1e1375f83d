//! What sign-in keeps: the tokens (access, refresh, expiry, scopes) and the client
//! registrations, keyed by issuer, as one JSON value in the OS keychain (service
//! `mcp-keybridge`, account `oauth:<canonical server URL>`). Never in a plain file.

use super::OAuthError;
use crate::credentials::reference::SecretRef;
use crate::credentials::sources::{self, SourceError};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The keychain entry of one server.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Stored {
    /// The canonical server URL this entry is for.
    pub server: String,
    /// Dynamically registered (or metadata-document) clients, by issuer.
    #[serde(default)]
    pub clients: BTreeMap<String, Client>,
    /// The current tokens, if signed in.
    pub tokens: Option<Tokens>,
    /// This server's DPoP private key (base64url PKCS#8, `src/oauth/dpop.rs`), kept with the
    /// tokens bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<String>,
}

/// A client identity at one authorization server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, when the server made this a confidential client.
    pub client_secret: Option<String>,
    /// The redirect URI registered (its port is reused so that exact matching holds).
    pub redirect_uri: Option<String>,
    /// How it was obtained: `dynamic`, `metadata-document` or `pre-registered`.
    pub kind: String,
    /// The `--client-secret` reference of a pre-registered confidential client (the
    /// reference, e.g. `env:VAR`, never the secret), so that `logout` can revoke its tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    /// The `--client-key` reference of a pre-registered `private_key_jwt` client (the
    /// reference, never the key), for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ref: Option<String>,
    /// Registered for the RFC 8628 device grant too (a client registered without it would
    /// be refused there, so the device sign-in registers again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub device_grant: bool,
}

/// Tokens from one authorization server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    /// Who issued them.
    pub issuer: String,
    /// The bearer token.
    pub access_token: String,
    /// For getting the next access token; replaced every time the server rotates it.
    pub refresh_token: Option<String>,
    /// Unix seconds when the access token expires, if the server said.
    pub expires_at: Option<u64>,
    /// The scopes granted (or asked for, when the server did not say).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `token_type` DPoP: sent with the `DPoP` scheme and a proof of the stored key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop: bool,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "(redacted)"),
            )
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Tokens {
    /// Reads a token endpoint's success reply; a reply without a new refresh token keeps
    /// `previous_refresh` (RFC 6749 §6), and one without `scope` keeps `asked`.
    pub fn from_reply(
        reply: &Value,
        issuer: &str,
        asked: &[String],
        previous_refresh: Option<&str>,
    ) -> Result<Tokens, OAuthError> {
        let bad = |why: &str| OAuthError::Token {
            error: "invalid_response".into(),
            description: Some(why.into()),
        };
        let access = reply["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no access_token in the reply"))?;
        let dpop = match reply["token_type"].as_str() {
            Some(kind) if kind.eq_ignore_ascii_case("dpop") => true,
            Some(kind) if !kind.eq_ignore_ascii_case("bearer") => {
                return Err(bad("token_type is neither Bearer nor DPoP"));
            }
            _ => false,
        };
        let scopes = match reply["scope"].as_str() {
            Some(s) => s.split_whitespace().map(str::to_string).collect(),
            None => asked.to_vec(),
        };
        Ok(Tokens {
            issuer: issuer.to_string(),
            access_token: access.to_string(),
            refresh_token: reply["refresh_token"]
                .as_str()
                .or(previous_refresh)
                .map(str::to_string),
            expires_at: reply["expires_in"].as_u64().map(|s| now() + s),
            scopes,
            dpop,
        })
    }

    /// True when the access token expires within `lead_secs`.
    pub fn expires_within(&self, lead_secs: u64) -> bool {
        self.expires_at.is_some_and(|e| e <= now() + lead_secs)
    }

    /// "expires in 53 minutes, scopes: mcp:read" (no token).
    pub fn summary(&self) -> String {
        let exp = match self.expires_at {
            Some(e) => crate::credentials::jwt::describe(
                UNIX_EPOCH + std::time::Duration::from_secs(e),
                SystemTime::now(),
            ),
            None => "no expiry given".into(),
        };
        let scopes = if self.scopes.is_empty() {
            "(none)".into()
        } else {
            self.scopes.join(" ")
        };
        let refresh = if self.refresh_token.is_some() {
            "a refresh token"
        } else {
            "no refresh token (the next expiry needs a sign-in in the browser)"
        };
        format!(
            "issuer {}, access token {exp}, {refresh}, scopes: {scopes}",
            self.issuer
        )
    }
}

/// The keychain account for a server.
pub fn account(server: &str) -> String {
    format!("oauth:{server}")
}

/// The stored entry for `server`, or `None`. An unreadable entry counts as none (it is
/// replaced by the next sign-in).
pub async fn load(server: &str) -> Result<Option<Stored>, SourceError> {
    let secret = match sources::read(&SecretRef::Keychain(account(server))).await {
        Ok(s) => s,
        Err(SourceError::KeychainMissing(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    match serde_json::from_str::<Stored>(secret.expose()) {
        Ok(s) if s.server == server => Ok(Some(s)),
        _ => {
            tracing::warn!("the stored OAuth entry for {server} is unreadable; signing in afresh");
            Ok(None)
        }
    }
}

/// Writes the entry for `stored.server`.
pub async fn save(stored: &Stored) -> Result<(), SourceError> {
    let name = account(&stored.server);
    let json = Secret::new(serde_json::to_string(stored).unwrap_or_default());
    sources::keychain_call(move || sources::keychain_set(&name, &json)).await?
}

/// Removes the entry for `server`; false when there was none.
pub async fn delete(server: &str) -> Result<bool, SourceError> {
    let name = account(server);
    match sources::keychain_call(move || sources::keychain_delete(&name)).await? {
        Ok(()) => Ok(true),
        Err(SourceError::KeychainMissing(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_and_rotation() {
        let asked = vec!["mcp".to_string()];
        let t = Tokens::from_reply(
            &json!({"access_token":"a1","token_type":"bearer","expires_in":60,"refresh_token":"r1"}),
            "https://as",
            &asked,
            None,
        )
        .unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some("r1"));
        assert_eq!(t.scopes, asked);
        assert!(t.expires_within(120) && !t.expires_within(0));
        let kept = Tokens::from_reply(
            &json!({"access_token":"a2","scope":"x y"}),
            "i",
            &asked,
            Some("r1"),
        )
        .unwrap();
        assert_eq!(kept.refresh_token.as_deref(), Some("r1"));
        assert_eq!(kept.scopes, ["x", "y"]);
        assert!(Tokens::from_reply(&json!({"token_type":"bearer"}), "i", &asked, None).is_err());
        assert!(
            Tokens::from_reply(
                &json!({"access_token":"a","token_type":"mac"}),
                "i",
                &asked,
                None
            )
            .is_err()
        );
        let shown = format!("{t:?} {}", t.summary());
        assert!(!shown.contains("a1") && !shown.contains("r1"), "{shown}");
    }
}
