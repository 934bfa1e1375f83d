//! DPoP (RFC 9449) at the test authorization server and resource, checked independently of
//! the bridge's code: the proof's `typ`, `alg` ES256, public `jwk`, signature, `htm`/`htu`
//! of the request, `iat` within a minute, a `jti` never seen before, `ath` of the token, the
//! key's RFC 7638 thumbprint against the token's binding, and the server's nonce when one is
//! required. The nonces rotate: every reply carries the next one, and only the latest two
//! are accepted, so a client must keep the newest one it was sent.

use super::Shared;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A verified proof.
pub(super) struct Proof {
    /// RFC 7638 thumbprint of its key.
    pub jkt: String,
    /// Its `nonce` claim.
    pub nonce: Option<String>,
}

/// Which server's nonce.
#[derive(Clone, Copy)]
pub(super) enum Side {
    As,
    Rs,
}

fn b64json(part: &str) -> Result<Value, String> {
    let raw = URL_SAFE_NO_PAD.decode(part).map_err(|_| "not base64url")?;
    serde_json::from_slice(&raw).map_err(|_| "not JSON".to_string())
}

/// Checks the `DPoP` header of a `method` request to `url` (with `token`'s `ath` for the
/// resource); records its `jti`.
pub(super) fn verify(
    s: &Shared,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    token: Option<&str>,
) -> Result<Proof, String> {
    let values: Vec<_> = headers.get_all("dpop").iter().collect();
    if values.len() != 1 {
        return Err(format!("{} DPoP headers", values.len()));
    }
    let jwt = values[0].to_str().map_err(|_| "not text")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err("not a compact JWS".into());
    }
    let (header, claims) = (b64json(parts[0])?, b64json(parts[1])?);
    if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" {
        return Err(format!("bad typ/alg: {header}"));
    }
    let jwk = &header["jwk"];
    if jwk.get("d").is_some() || jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err("jwk is not a public P-256 key".into());
    }
    let coord = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap_or_default());
    let mut point = vec![4u8];
    point.extend(coord("x").map_err(|_| "bad x")?);
    point.extend(coord("y").map_err(|_| "bad y")?);
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| "bad signature encoding")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .map_err(|_| "signature does not verify")?;
    if claims["htm"] != method || claims["htu"] != url {
        return Err(format!(
            "htm/htu {} {} for {method} {url}",
            claims["htm"], claims["htu"]
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if claims["iat"]
        .as_u64()
        .is_none_or(|iat| iat.abs_diff(now) > 60)
    {
        return Err("iat missing or off by more than a minute".into());
    }
    let ath = token.map(|t| URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
    if claims["ath"].as_str() != ath.as_deref() {
        return Err("ath does not match the token".into());
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| j.len() >= 16)
        .ok_or("no jti")?;
    let mut store = s.store.lock().unwrap();
    if store.dpop_jtis.iter().any(|j| j == jti) {
        return Err("jti replayed".into());
    }
    store.dpop_jtis.push(jti.to_string());
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap_or_default(),
        jwk["y"].as_str().unwrap_or_default()
    );
    Ok(Proof {
        jkt: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
        nonce: claims["nonce"].as_str().map(str::to_string),
    })
}

/// True when `proof` carries one of the side's latest two nonces (always without
/// `dpop_nonce`).
pub(super) fn nonce_ok(s: &Shared, side: Side, proof: &Proof) -> bool {
    if !s.cfg.dpop_nonce {
        return true;
    }
    let store = s.store.lock().unwrap();
    let issued = match side {
        Side::As => &store.as_nonces,
        Side::Rs => &store.rs_nonces,
    };
    proof
        .nonce
        .as_ref()
        .is_some_and(|n| issued.iter().rev().take(2).any(|i| i == n))
}

/// Issues the side's next nonce into `headers` (with `dpop_nonce`).
pub(super) fn next_nonce(s: &Shared, side: Side, headers: &mut HeaderMap) {
    if !s.cfg.dpop_nonce {
        return;
    }
    let nonce = s.next(match side {
        Side::As => "as-nonce",
        Side::Rs => "rs-nonce",
    });
    headers.insert("dpop-nonce", HeaderValue::from_str(&nonce).unwrap());
    let mut store = s.store.lock().unwrap();
    match side {
        Side::As => store.as_nonces.push(nonce),
        Side::Rs => store.rs_nonces.push(nonce),
    }
}
