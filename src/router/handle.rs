//! The `requestState` the bridge mints when a stateful server's request becomes an input
//! round for a 2026-07-28 client. The revision treats it as attacker-controlled input and
//! asks for integrity, a short expiry and a binding to the originating request: the handle
//! is 16 random bytes and its expiry, authenticated with HMAC-SHA256 under a key made for
//! this process, over the call's method and a digest of its salient parameters (the params
//! without `_meta`, `inputResponses` and `requestState`). A retry for another tool, with
//! other arguments, after the expiry or with an altered handle is refused.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a retry's `requestState` is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// Not a handle this process minted, or altered.
    #[error("the requestState was not issued by this bridge or was altered")]
    Forged,
    /// Its time limit passed.
    #[error("the requestState expired; call again without it")]
    Expired,
    /// Presented on another method or with other parameters than its call's.
    #[error("the requestState belongs to another request (method or parameters differ)")]
    OtherRequest,
}

/// Mints and checks handles under one per-process key.
pub struct Handles {
    key: hmac::Key,
}

impl Default for Handles {
    fn default() -> Self {
        // The OS's randomness, not aws-lc's generator: seeding that one runs its jitter
        // entropy collector, tens of milliseconds at every start of a bridge that may never
        // mint a handle.
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        if getrandom::fill(&mut bytes[..]).is_err() {
            bytes[..16].copy_from_slice(&clock_bytes());
        }
        Handles {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes[..]),
        }
    }
}

impl Handles {
    /// A new handle for the call `method` with request `params`, valid for `ttl`.
    pub fn mint(&self, method: &str, params: Option<&Value>, ttl: Duration) -> String {
        let mut payload = [0u8; 24];
        if getrandom::fill(&mut payload[..16]).is_err() {
            payload[..16].copy_from_slice(&clock_bytes());
        }
        let expires = now_secs().saturating_add(ttl.as_secs().max(1));
        payload[16..].copy_from_slice(&expires.to_be_bytes());
        let tag = self.tag(&payload, method, params);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Checks that `handle` is this process's, unexpired, and minted for this very request.
    pub fn check(
        &self,
        handle: &str,
        method: &str,
        params: Option<&Value>,
    ) -> Result<(), HandleError> {
        let (payload, tag) = handle.split_once('.').ok_or(HandleError::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| HandleError::Forged)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| HandleError::Forged)?;
        let Ok(fixed) = <[u8; 24]>::try_from(payload.as_slice()) else {
            return Err(HandleError::Forged);
        };
        if hmac::verify(&self.key, &message(&fixed, method, params), &tag).is_err() {
            // Tell an altered handle from one presented on another request: the latter
            // verifies under the method and parameters it was minted for, which the bridge
            // does not know here, so both read as "another request" unless malformed.
            return Err(HandleError::OtherRequest);
        }
        let expires = u64::from_be_bytes(fixed[16..].try_into().unwrap_or_default());
        if now_secs() >= expires {
            return Err(HandleError::Expired);
        }
        Ok(())
    }

    fn tag(&self, payload: &[u8; 24], method: &str, params: Option<&Value>) -> hmac::Tag {
        hmac::sign(&self.key, &message(payload, method, params))
    }
}

/// What the tag covers: the payload, the method, and the parameters' digest.
fn message(payload: &[u8; 24], method: &str, params: Option<&Value>) -> Vec<u8> {
    let mut m = Vec::with_capacity(24 + method.len() + 33);
    m.extend_from_slice(payload);
    m.extend_from_slice(method.as_bytes());
    m.push(0);
    m.extend_from_slice(&salient_digest(params));
    m
}

/// SHA-256 of the params' canonical form (keys sorted), without the members a retry adds
/// or may change (`_meta`, `inputResponses`, `requestState`).
pub fn salient_digest(params: Option<&Value>) -> [u8; 32] {
    let mut text = String::new();
    if let Some(Value::Object(map)) = params {
        let mut keys: Vec<&String> = map
            .keys()
            .filter(|k| !matches!(k.as_str(), "_meta" | "inputResponses" | "requestState"))
            .collect();
        keys.sort();
        for k in keys {
            text.push_str(&Value::from(k.as_str()).to_string());
            text.push(':');
            canonical(&map[k], &mut text);
            text.push(',');
        }
    }
    Sha256::digest(text.as_bytes()).into()
}

/// JSON with every object's keys sorted, so that key order does not change the digest.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The clock as 16 bytes: unique in this process when the OS has no randomness.
fn clock_bytes() -> [u8; 16] {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_handle_is_bound_to_its_request() {
        let h = Handles::default();
        let params = json!({"name": "deploy", "arguments": {"env": "prod", "n": 1}});
        let handle = h.mint("tools/call", Some(&params), Duration::from_secs(60));
        // The retry adds _meta, inputResponses and the state itself, and may order keys
        // differently: still the same request.
        let retry = json!({"arguments": {"n": 1, "env": "prod"}, "name": "deploy",
            "_meta": {"x": 1}, "inputResponses": {"a": {}}, "requestState": handle});
        assert_eq!(h.check(&handle, "tools/call", Some(&retry)), Ok(()));
        let other = json!({"name": "deploy", "arguments": {"env": "dev", "n": 1}});
        assert_eq!(
            h.check(&handle, "tools/call", Some(&other)),
            Err(HandleError::OtherRequest)
        );
        assert_eq!(
            h.check(&handle, "prompts/get", Some(&params)),
            Err(HandleError::OtherRequest)
        );
        assert_eq!(
            Handles::default().check(&handle, "tools/call", Some(&params)),
            Err(HandleError::OtherRequest),
            "another process's key"
        );
        assert_eq!(
            h.check("not-a-handle", "tools/call", Some(&params)),
            Err(HandleError::Forged)
        );
    }

    #[test]
    fn an_altered_expiry_does_not_verify() {
        let h = Handles::default();
        let handle = h.mint("tools/call", None, Duration::from_secs(1));
        let (payload, tag) = handle.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[23] ^= 0xff;
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(bytes));
        assert!(h.check(&forged, "tools/call", None).is_err());
        assert_eq!(h.check(&handle, "tools/call", None), Ok(()));
    }
}
