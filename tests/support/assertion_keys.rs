//! Keys, key files and bridge commands for the assertion tests (`tests/oauth_assertions.rs`,
//! `tests/oauth_assertion_failures.rs`), which run against [`super::assertion_server`].

use super::assertion_server::AssertionServer;
use super::bridge::{self, BridgeBuilder};
use super::keyring::PrivateKeyring;

/// A fresh P-256 key: its PKCS#8 PEM and its public point, for the server.
pub fn es256() -> (String, Vec<u8>) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    (pair.serialize_pem(), pair.public_key_raw().to_vec())
}

/// Writes `text` to a private file and returns its path.
pub fn private_file(name: &str, text: &str) -> String {
    let path = bridge::scratch_dir().join(name);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.display().to_string()
}

/// A line of the PEM's base64 body: never to be seen outside the key's own source.
pub fn key_material(pem: &str) -> &str {
    pem.lines().nth(1).unwrap()
}

/// A bridge on `server` or (with no URL) a subcommand, with the private keychain.
pub fn cmd(keyring: &PrivateKeyring, args: &[&str]) -> BridgeBuilder {
    let mut b = BridgeBuilder::new()
        .args(args)
        .env("RUST_LOG", "mcp_keybridge=debug")
        .env("BROWSER", "/nonexistent-browser");
    for (k, v) in keyring.env() {
        b = b.env(k, &v);
    }
    b
}

pub fn account(server: &AssertionServer) -> String {
    format!("oauth:{}", server.url())
}
