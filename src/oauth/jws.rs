//! Signed JWTs (RFC 7515 compact form) for the OAuth flows that prove a key instead of
//! sending a secret: `private_key_jwt` client assertions (RFC 7523), DPoP proofs (RFC 9449)
//! and the assertions of the jwt-bearer grant. ES256 and RS256 only, signed with aws-lc-rs,
//! which rustls already builds for reqwest (no second crypto library in the binary).
//!
//! A private key comes in as PEM (PKCS#8, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)
//! from a credential reference; a key the bridge makes itself (DPoP) is a fresh P-256 pair,
//! kept as PKCS#8 DER in base64url so that it can live in the keychain as a string.

use crate::secret::Secret;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::fmt;

/// Why a key could not be read or used; never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    /// The text is not a PEM private key of a supported kind.
    #[error(
        "the private key is not a PEM private key (PKCS#8 \"PRIVATE KEY\", \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\")"
    )]
    NotPem,
    /// A PEM key of another algorithm or curve.
    #[error("the private key is not a P-256 EC key (ES256) or an RSA key (RS256): {0}")]
    Unsupported(String),
    /// The algorithm asked for does not match the key.
    #[cfg(test)]
    #[error("the private key signs with {have}, but {want} was asked for")]
    WrongAlgorithm {
        /// The key's algorithm.
        have: &'static str,
        /// The one requested.
        want: String,
    },
    /// The OS gave no randomness, or signing failed.
    #[error("signing failed: {0}")]
    Crypto(&'static str),
}

/// A private key that signs JWTs. `Debug` shows only the algorithm.
pub struct SigningKey {
    inner: PrivateKey,
}

/// The key itself, by algorithm.
enum PrivateKey {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, (redacted))", self.alg())
    }
}

impl SigningKey {
    /// Reads a PEM private key (the text a `file:`/`keychain:`/`env:`/`cmd:` reference gave).
    pub fn from_pem(pem: &Secret) -> Result<Self, JwsError> {
        let der =
            PrivateKeyDer::from_pem_slice(pem.expose().as_bytes()).map_err(|_| JwsError::NotPem)?;
        let inner = match &der {
            PrivateKeyDer::Pkcs8(k) => {
                let bytes = k.secret_pkcs8_der();
                match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, bytes) {
                    Ok(ec) => PrivateKey::Es256(ec),
                    Err(ec_err) => PrivateKey::Rs256(
                        RsaKeyPair::from_pkcs8(bytes)
                            .map_err(|_| JwsError::Unsupported(ec_err.to_string()))?,
                    ),
                }
            }
            PrivateKeyDer::Sec1(k) => PrivateKey::Es256(
                EcdsaKeyPair::from_private_key_der(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    k.secret_sec1_der(),
                )
                .map_err(|e| JwsError::Unsupported(e.to_string()))?,
            ),
            PrivateKeyDer::Pkcs1(k) => PrivateKey::Rs256(
                RsaKeyPair::from_der(k.secret_pkcs1_der())
                    .map_err(|e| JwsError::Unsupported(e.to_string()))?,
            ),
            _ => return Err(JwsError::NotPem),
        };
        Ok(Self::new(inner))
    }

    /// A fresh P-256 key (DPoP: one per server, made on first use).
    pub fn generate_es256() -> Result<Self, JwsError> {
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| JwsError::Crypto("could not generate a P-256 key"))?;
        Ok(Self::new(PrivateKey::Es256(ec)))
    }

    /// Reads back a key saved with [`SigningKey::to_stored`].
    pub fn from_stored(stored: &Secret) -> Result<Self, JwsError> {
        let der = zeroize::Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(stored.expose())
                .map_err(|_| JwsError::NotPem)?,
        );
        match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
            Ok(ec) => Ok(Self::new(PrivateKey::Es256(ec))),
            Err(_) => Ok(Self::new(PrivateKey::Rs256(
                RsaKeyPair::from_pkcs8(&der).map_err(|e| JwsError::Unsupported(e.to_string()))?,
            ))),
        }
    }

    /// The key as base64url PKCS#8 DER, for the keychain (EC keys only: an RSA key always
    /// comes from the user's own reference and is never stored by the bridge).
    pub fn to_stored(&self) -> Result<Secret, JwsError> {
        match &self.inner {
            PrivateKey::Es256(ec) => {
                let doc = ec
                    .to_pkcs8v1()
                    .map_err(|_| JwsError::Crypto("could not export the key"))?;
                Ok(Secret::new(URL_SAFE_NO_PAD.encode(doc.as_ref())))
            }
            PrivateKey::Rs256(_) => Err(JwsError::Crypto("an RSA key is not stored by the bridge")),
        }
    }

    fn new(inner: PrivateKey) -> Self {
        SigningKey { inner }
    }

    /// The JWS `alg` this key signs with.
    pub fn alg(&self) -> &'static str {
        match self.inner {
            PrivateKey::Es256(_) => "ES256",
            PrivateKey::Rs256(_) => "RS256",
        }
    }

    /// Fails unless `wanted` (e.g. a `signing_algorithm` the server requires) is this key's.
    #[cfg(test)]
    pub fn require_alg(&self, wanted: &str) -> Result<(), JwsError> {
        if wanted == self.alg() {
            Ok(())
        } else {
            Err(JwsError::WrongAlgorithm {
                have: self.alg(),
                want: wanted.to_string(),
            })
        }
    }

    /// The public key as a JWK (EC keys: `kty`, `crv`, `x`, `y`), for a DPoP proof's header.
    pub fn public_jwk(&self) -> Option<Value> {
        match &self.inner {
            PrivateKey::Es256(ec) => Some(ec_jwk(ec)),
            PrivateKey::Rs256(_) => None,
        }
    }

    /// RFC 7638 JWK SHA-256 thumbprint of the public key (DPoP's `jkt`), EC keys only; only
    /// the tests need it, to tell one key from another.
    #[cfg(test)]
    pub fn thumbprint(&self) -> Option<String> {
        self.public_jwk().map(|jwk| thumbprint_of(&jwk))
    }

    /// A compact JWS of `claims`, with `typ` and any `extra` header members (`jwk`, `kid`).
    pub fn sign(
        &self,
        typ: &str,
        extra: Map<String, Value>,
        claims: &Value,
    ) -> Result<String, JwsError> {
        let mut header = Map::new();
        header.insert("typ".into(), Value::from(typ));
        header.insert("alg".into(), Value::from(self.alg()));
        header.extend(extra);
        let mut input = URL_SAFE_NO_PAD.encode(Value::Object(header).to_string());
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let rng = SystemRandom::new();
        let signature = match &self.inner {
            PrivateKey::Es256(ec) => ec
                .sign(&rng, input.as_bytes())
                .map_err(|_| JwsError::Crypto("ES256 signing failed"))?
                .as_ref()
                .to_vec(),
            PrivateKey::Rs256(rsa) => {
                let mut sig = vec![0u8; rsa.public_modulus_len()];
                rsa.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                    .map_err(|_| JwsError::Crypto("RS256 signing failed"))?;
                sig
            }
        };
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(input)
    }
}

/// `{"crv","kty","x","y"}` of a P-256 public key (uncompressed point 0x04 ‖ x ‖ y).
fn ec_jwk(ec: &EcdsaKeyPair) -> Value {
    let point = ec.public_key().as_ref();
    let (x, y) = point[1..].split_at(32);
    json!({"crv": "P-256", "kty": "EC", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)})
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
#[cfg(test)]
fn thumbprint_of(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap_or_default(),
        jwk["kty"].as_str().unwrap_or_default(),
        jwk["x"].as_str().unwrap_or_default(),
        jwk["y"].as_str().unwrap_or_default()
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// `BASE64URL(SHA-256(value))`: DPoP's `ath` of an access token.
pub fn sha256_b64(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Seconds since the Unix epoch, for `iat`/`exp`.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn es256_round_trip_and_stored_form() {
        let key = SigningKey::generate_es256().unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(ES256, (redacted))");
        let jws = key
            .sign("dpop+jwt", Map::new(), &json!({"htm": "POST"}))
            .unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "dpop+jwt");
        let PrivateKey::Es256(ec) = &key.inner else {
            panic!("EC key expected")
        };
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, ec.public_key().as_ref());
        let signed = format!("{}.{}", parts[0], parts[1]);
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public.verify(signed.as_bytes(), &sig).unwrap();

        let again = SigningKey::from_stored(&key.to_stored().unwrap()).unwrap();
        assert_eq!(again.thumbprint(), key.thumbprint());
        assert_eq!(again.public_jwk(), key.public_jwk());
    }

    #[test]
    fn rfc7638_thumbprint_shape() {
        let key = SigningKey::generate_es256().unwrap();
        let t = key.thumbprint().unwrap();
        assert_eq!(t.len(), 43);
        assert_eq!(t, thumbprint_of(&key.public_jwk().unwrap()));
    }

    #[test]
    fn pkcs8_pem_keys_of_both_algorithms_sign() {
        for (alg, want) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, "ES256"),
            (&rcgen::PKCS_RSA_SHA256, "RS256"),
        ] {
            let pem = rcgen::KeyPair::generate_for(alg).unwrap().serialize_pem();
            let key = SigningKey::from_pem(&Secret::new(pem)).unwrap();
            assert_eq!(key.alg(), want);
            let jws = key.sign("JWT", Map::new(), &json!({"iss": "c"})).unwrap();
            assert_eq!(jws.split('.').count(), 3);
        }
    }

    #[test]
    fn pem_of_another_kind_is_refused_without_echoing_it() {
        let err = SigningKey::from_pem(&Secret::new("not a key at all".into())).unwrap_err();
        assert!(matches!(err, JwsError::NotPem));
        assert!(!err.to_string().contains("not a key at all"));
        let key = SigningKey::generate_es256().unwrap();
        assert!(key.require_alg("ES256").is_ok());
        assert!(key.require_alg("RS256").is_err());
    }
}
