//! Reading the `exp` claim of a JWT without verifying it, and saying how far away it is.
//!
//! The bridge never trusts a token's claims (the server checks the signature); it only uses
//! `exp` to re-read a source shortly before the token stops working, and `auth status` shows
//! it so that a person can see at a glance that a stored token is stale.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When the JWT in `token` expires, if it is a JWS (three dot-separated base64url parts)
/// whose payload has a numeric `exp`. A leading `Bearer ` (as a `cmd:` may print) is skipped.
pub fn expiry(token: &str) -> Option<SystemTime> {
    let token = token.split_whitespace().last()?;
    let mut parts = token.split('.');
    let (header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        // Five parts is a JWE: its payload is encrypted, so there is nothing to read.
        return None;
    }
    // A header that is not a JSON object means this is not a JWT but some dotted string.
    let header: serde_json::Value = serde_json::from_slice(&decode(header)?).ok()?;
    header.as_object()?;
    let claims: serde_json::Value = serde_json::from_slice(&decode(payload)?).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp
        .as_u64()
        .map(|s| s as f64)
        .or_else(|| exp.as_f64())
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)?;
    Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// base64url, with or without padding (both occur in the wild).
fn decode(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()
}

/// "expires in 53 minutes" or "expired 7 minutes ago", as of `now`.
pub fn describe(exp: SystemTime, now: SystemTime) -> String {
    match exp.duration_since(now) {
        Ok(left) => format!("expires in {}", span(left)),
        Err(e) => format!("expired {} ago", span(e.duration())),
    }
}

/// A duration in the largest unit that keeps it readable; minutes up to two hours, because
/// that is the range where short-lived tokens live and precision matters.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        0..60 => (secs, "second"),
        60..7_200 => (secs / 60, "minute"),
        7_200..172_800 => (secs / 3_600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A token with `claims` as its payload, for tests (the signature is never checked).
#[cfg(test)]
pub(crate) fn test_token(claims: &str) -> String {
    let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2ln",
        enc(r#"{"alg":"HS256","typ":"JWT"}"#),
        enc(claims)
    )
}

#[cfg(test)]
mod tests {
    use super::test_token as token;
    use super::*;

    #[test]
    fn reads_exp() {
        let t = token(r#"{"sub":"u","exp":1700000000}"#);
        assert_eq!(
            expiry(&t),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            expiry(&format!("Bearer {t}")),
            expiry(&t),
            "a cmd: may print the whole header value"
        );
        let float = token(r#"{"exp":1700000000.5}"#);
        assert_eq!(
            expiry(&float),
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500))
        );
        // Padded base64url decodes too.
        let padded = t.replacen('.', "==.", 1);
        assert!(expiry(&padded).is_some());
    }

    #[test]
    fn ignores_what_is_not_a_jwt_with_exp() {
        assert_eq!(expiry(&token(r#"{"sub":"u"}"#)), None, "no exp");
        assert_eq!(
            expiry(&token(r#"{"exp":"soon"}"#)),
            None,
            "exp not a number"
        );
        assert_eq!(expiry(&token(r#"{"exp":-5}"#)), None, "negative exp");
        assert_eq!(expiry(&token("not json")), None);
        assert_eq!(expiry("ghp_abcdef0123456789"), None);
        assert_eq!(expiry("a.b.c"), None, "dotted but not base64 JSON");
        assert_eq!(expiry(""), None);
        let jwe = format!("{}.x.y", token(r#"{"exp":1}"#));
        assert_eq!(expiry(&jwe), None, "five parts is a JWE");
    }

    #[test]
    fn describes_plainly() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |delta: i64| {
            if delta >= 0 {
                now + Duration::from_secs(delta as u64)
            } else {
                now - Duration::from_secs((-delta) as u64)
            }
        };
        assert_eq!(describe(at(53 * 60 + 10), now), "expires in 53 minutes");
        assert_eq!(describe(at(-7 * 60), now), "expired 7 minutes ago");
        assert_eq!(describe(at(-60), now), "expired 1 minute ago");
        assert_eq!(describe(at(30), now), "expires in 30 seconds");
        assert_eq!(describe(at(5 * 3600), now), "expires in 5 hours");
        assert_eq!(describe(at(-40 * 86_400), now), "expired 40 days ago");
    }
}
