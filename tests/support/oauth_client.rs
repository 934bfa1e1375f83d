//! The client side of the OAuth tests: a scripted browser and a bridge wired to a private
//! keychain and that browser.

use super::BridgeBuilder;
use super::keyring::PrivateKeyring;
use super::oauth_server::OAuthServer;

/// A `BROWSER` program: records each URL it is given, GETs it (the authorization server
/// redirects at once, as after a click on "Allow"), then GETs the redirect target (the
/// bridge's loopback callback).
pub fn browser_script() -> String {
    let dir = super::bridge::scratch_dir();
    let path = dir.join("browser.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         set -e\n\
         loc=$(curl -sS -o /dev/null -w '%{redirect_url}' \"$1\")\n\
         [ -n \"$loc\" ] || exit 1\n\
         curl -sS -o /dev/null \"$loc\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.display().to_string()
}

/// A bridge for `server` using `keyring` and the scripted browser.
pub fn bridge(server: &OAuthServer, keyring: &PrivateKeyring, browser: &str) -> BridgeBuilder {
    let mut b = BridgeBuilder::url(&server.url())
        .env("BROWSER", browser)
        .env("RUST_LOG", "mcp_keybridge=info");
    for (k, v) in keyring.env() {
        b = b.env(k, &v);
    }
    b
}

pub fn account(server: &OAuthServer) -> String {
    format!("oauth:{}", server.url())
}
