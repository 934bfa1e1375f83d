//! A string that must never be shown: its `Debug` and `Display` print "(redacted)", and its
//! memory is wiped when it is dropped.

use std::fmt;
use zeroize::Zeroizing;

/// A secret value (a token or a header value built from one).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value read from a credential source.
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The value itself: only for building a request header or storing it in the keychain.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in characters: safe to show, and enough to spot a truncated paste.
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }

    /// The first 8 hex digits of its SHA-256: enough to tell two secrets apart (compare with
    /// `printf %s "$TOKEN" | sha256sum | cut -c1-8`) without revealing either.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.0.as_bytes());
        digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-token".into());
        assert_eq!(format!("{s:?}"), "(redacted)");
        assert_eq!(format!("{s}"), "(redacted)");
        assert_eq!(format!("{:?}", Some(&s)), "Some((redacted))");
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn fingerprint_is_a_sha256_prefix() {
        // printf %s abc | sha256sum → ba7816bf8f01cfea…
        assert_eq!(Secret::new("abc".into()).fingerprint(), "ba7816bf");
        assert_eq!(Secret::new("héllo".into()).char_len(), 5);
    }
}
