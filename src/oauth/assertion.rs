//! `private_key_jwt` client authentication (RFC 7523 §2.2, RFC 7521 §4.2): the client proves
//! who it is with a short-lived JWT signed by its own key (`--client-key REF`) instead of
//! sending a secret. The key is read from a credential reference, never taken literally;
//! whether to use it, and with which algorithm, follows the authorization server's metadata
//! (`token_endpoint_auth_methods_supported`, `token_endpoint_auth_signing_alg_values_supported`).
//!
//! Also the typed errors of the assertion-based flows (this one, the jwt-bearer grant and the
//! enterprise token exchange): each names the option and the reference, never a key or token.

use super::discovery::AsMetadata;
use super::jws::{self, JwsError, SigningKey};
use crate::credentials::reference::SecretRef;
use crate::credentials::sources::{self, SourceError};
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, json};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid: one request's worth, so a leaked one soon dies.
const LIFETIME_SECS: u64 = 60;

/// Why an assertion-based flow could not go ahead; never carries a key, token or secret.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// The reference could not be read.
    #[error("{option} {reference}: {cause}")]
    Unreadable {
        /// The option, e.g. `--client-key`.
        option: &'static str,
        /// The reference as written (names the source only).
        reference: String,
        /// Why.
        cause: SourceError,
    },
    /// The referenced text is not a usable private key.
    #[error("--client-key {reference}: {cause}; give a PEM private key (PKCS#8, SEC1 or PKCS#1)")]
    BadKey {
        /// The reference as written.
        reference: String,
        /// Why (no key material).
        cause: JwsError,
    },
    /// The authorization server does not take `private_key_jwt` and there is no secret.
    #[error(
        "{issuer} does not accept private_key_jwt client authentication (it lists {methods}); pass --client-secret REF instead of --client-key, or ask its operator to enable private_key_jwt"
    )]
    NoKeyAuth {
        /// The issuer.
        issuer: String,
        /// Its `token_endpoint_auth_methods_supported`.
        methods: String,
    },
    /// The key's algorithm is not one the authorization server accepts.
    #[error(
        "the --client-key signs with {alg}, but {issuer} accepts only {supported} for client assertions; use a key of one of those algorithms (ES256 is a P-256 EC key, RS256 an RSA key)"
    )]
    Algorithm {
        /// The key's algorithm.
        alg: &'static str,
        /// The issuer.
        issuer: String,
        /// Its `token_endpoint_auth_signing_alg_values_supported`.
        supported: String,
    },
    /// Signing failed (no randomness).
    #[error("cannot sign the client assertion: {0}")]
    Sign(JwsError),
    /// A workload token or ID token that has already expired.
    #[error(
        "{option} {reference} gives a token that expired {ago}; the platform or identity provider must put a fresh one there"
    )]
    Expired {
        /// The option.
        option: &'static str,
        /// The reference as written.
        reference: String,
        /// "7 minutes ago".
        ago: String,
    },
    /// The identity provider refused the token exchange.
    #[error(
        "the identity provider's token endpoint {endpoint} refused the token exchange: {error}{desc}; {fix}",
        desc = describe(.description),
        fix = exchange_fix(.error)
    )]
    Exchange {
        /// Origin and path of the endpoint.
        endpoint: String,
        /// The OAuth `error` code.
        error: String,
        /// Its `error_description`, if any.
        description: Option<String>,
    },
    /// The identity provider answered the exchange with something that is not an ID-JAG.
    #[error("the identity provider's token endpoint {endpoint} {why}")]
    NotIdJag {
        /// Origin and path of the endpoint.
        endpoint: String,
        /// What was wrong.
        why: String,
    },
}

fn describe(d: &Option<String>) -> String {
    d.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
}

fn exchange_fix(error: &str) -> &'static str {
    match error {
        "invalid_grant" => {
            "check that --id-token gives a current ID token issued to --idp-client-id"
        }
        "invalid_client" | "unauthorized_client" => {
            "check --idp-client-id (and --idp-client-secret) against the client registered at the identity provider"
        }
        "invalid_target" => {
            "ask the identity provider's administrator to allow this MCP server (its authorization server as audience, its URL as resource)"
        }
        _ => "retry; if it fails the same way, tell the identity provider's administrator",
    }
}

/// Reads the PEM private key `reference` gives (all of a `file:`, not just its first line).
pub async fn load_key(reference: &SecretRef) -> Result<SigningKey, AssertionError> {
    let pem = read_ref("--client-key", reference, true).await?;
    let pem = unescape_newlines(pem);
    SigningKey::from_pem(&pem).map_err(|cause| AssertionError::BadKey {
        reference: reference.to_string(),
        cause,
    })
}

/// Reads `reference` for `option`; `document`: the whole of a `file:` (a PEM key).
pub async fn read_ref(
    option: &'static str,
    reference: &SecretRef,
    document: bool,
) -> Result<Secret, AssertionError> {
    let read = if document {
        sources::read_document(reference).await
    } else {
        sources::read(reference).await
    };
    read.map_err(|cause| AssertionError::Unreadable {
        option,
        reference: reference.to_string(),
        cause,
    })
}

/// A PEM key kept in one line with `\n` escapes (as CI secret stores and `.env` files often
/// hold it) gets its line breaks back.
fn unescape_newlines(pem: Secret) -> Secret {
    let text = pem.expose();
    if text.contains('\n') || !text.contains("\\n") {
        return pem;
    }
    Secret::new(text.replace("\\n", "\n"))
}

/// Whether to authenticate with `key` at this authorization server: yes when it lists
/// `private_key_jwt` (or lists no methods, so the user's choice stands), and its accepted
/// algorithms, if listed, include the key's; no when it lists other methods and the client
/// has a secret to use instead (logged); an error otherwise.
pub fn use_key(
    meta: &AsMetadata,
    key: &SigningKey,
    has_secret: bool,
) -> Result<bool, AssertionError> {
    if let Some(methods) = &meta.token_endpoint_auth_methods_supported
        && !methods.iter().any(|m| m == "private_key_jwt")
    {
        if has_secret {
            tracing::info!(
                "{} does not list private_key_jwt; authenticating with the client secret",
                meta.issuer
            );
            return Ok(false);
        }
        return Err(AssertionError::NoKeyAuth {
            issuer: meta.issuer.clone(),
            methods: methods.join(", "),
        });
    }
    let algs = &meta.token_endpoint_auth_signing_alg_values_supported;
    if !algs.is_empty() && !algs.iter().any(|a| a == key.alg()) {
        return Err(AssertionError::Algorithm {
            alg: key.alg(),
            issuer: meta.issuer.clone(),
            supported: algs.join(", "),
        });
    }
    Ok(true)
}

/// A client assertion for `client_id` at the authorization server `issuer`: `iss` = `sub` =
/// the client id, `aud` = the issuer identifier (RFC 7523bis: not the token endpoint, which
/// some servers reject), a random `jti`, and a lifetime of a minute.
pub fn client_assertion(
    key: &SigningKey,
    client_id: &str,
    issuer: &str,
) -> Result<Secret, AssertionError> {
    let now = jws::now_secs();
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": issuer,
        "jti": jti()?,
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    key.sign("JWT", Map::new(), &claims)
        .map(Secret::new)
        .map_err(AssertionError::Sign)
}

/// 128 random bits, base64url: unique per assertion so that the server can refuse a replay.
fn jti() -> Result<String, AssertionError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|_| AssertionError::Sign(JwsError::Crypto("the OS gave no randomness")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Refuses a token (workload token, ID token) that is a JWT whose `exp` has passed: the
/// server would refuse it too, and this says where a fresh one must come from.
pub fn check_fresh(
    option: &'static str,
    reference: &SecretRef,
    token: &Secret,
) -> Result<(), AssertionError> {
    let now = std::time::SystemTime::now();
    match crate::credentials::jwt::expiry(token.expose()) {
        Some(exp) if exp <= now => Err(AssertionError::Expired {
            option,
            reference: reference.to_string(),
            ago: crate::credentials::jwt::describe(exp, now)
                .trim_start_matches("expired ")
                .to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    use serde_json::Value;

    fn meta(methods: Option<&[&str]>, algs: &[&str]) -> AsMetadata {
        serde_json::from_value(json!({
            "issuer": "https://as.example",
            "token_endpoint": "https://as.example/token",
            "token_endpoint_auth_methods_supported": methods,
            "token_endpoint_auth_signing_alg_values_supported": algs,
        }))
        .unwrap()
    }

    fn es256() -> (SigningKey, Vec<u8>) {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let key = SigningKey::from_pem(&Secret::new(pair.serialize_pem())).unwrap();
        (key, pair.public_key_raw().to_vec())
    }

    #[test]
    fn the_assertion_is_signed_and_names_client_and_issuer() {
        let (key, public) = es256();
        let jwt = client_assertion(&key, "svc", "https://as.example").unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "svc");
        assert_eq!(claims["sub"], "svc");
        assert_eq!(claims["aud"], "https://as.example");
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 300, "short-lived: {claims}");
        let again = client_assertion(&key, "svc", "https://as.example").unwrap();
        assert_ne!(claims["jti"], {
            let p: Vec<&str> = again.expose().split('.').collect();
            let c: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p[1]).unwrap()).unwrap();
            c["jti"].clone()
        });
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn the_method_follows_the_metadata() {
        let (key, _) = es256();
        assert!(use_key(&meta(Some(&["private_key_jwt"]), &["ES256"]), &key, false).unwrap());
        assert!(
            use_key(&meta(None, &[]), &key, false).unwrap(),
            "unlisted: the user's choice"
        );
        assert!(!use_key(&meta(Some(&["client_secret_basic"]), &[]), &key, true).unwrap());
        let e = use_key(&meta(Some(&["client_secret_basic"]), &[]), &key, false).unwrap_err();
        assert!(e.to_string().contains("--client-secret"), "{e}");
        let e = use_key(&meta(Some(&["private_key_jwt"]), &["RS256"]), &key, false).unwrap_err();
        assert!(
            e.to_string().contains("ES256") && e.to_string().contains("RS256"),
            "{e}"
        );
    }

    #[test]
    fn a_one_line_pem_gets_its_line_breaks_back() {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let one_line = pair.serialize_pem().trim().replace('\n', "\\n");
        let pem = unescape_newlines(Secret::new(one_line));
        assert!(SigningKey::from_pem(&pem).is_ok());
    }

    #[test]
    fn an_expired_token_is_refused_naming_the_reference_only() {
        let r = SecretRef::parse("env:CI_TOKEN").unwrap();
        let body = URL_SAFE_NO_PAD.encode(r#"{"exp":1000}"#);
        let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#);
        let token = Secret::new(format!("{head}.{body}.c2ln"));
        let e = check_fresh("--workload-token", &r, &token).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("--workload-token env:CI_TOKEN"), "{text}");
        assert!(!text.contains(&body), "{text}");
        let body = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, jws::now_secs() + 600));
        let fresh = Secret::new(format!("{head}.{body}.c2ln"));
        assert!(check_fresh("--workload-token", &r, &fresh).is_ok());
        assert!(check_fresh("--workload-token", &r, &Secret::new("opaque".into())).is_ok());
    }
}
