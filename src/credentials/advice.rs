//! What to tell a person whose credential did not work: the fix that fits each source kind
//! (an `env:` variable cannot change under a running bridge, a keychain entry or a file can),
//! and whether a JWT among them has simply expired.

use super::reference::SecretRef;
use super::{CredentialError, SourceError};
use std::time::SystemTime;

/// How to put a fresh token into `reference`, and when the bridge sees it.
pub fn fresh_token(reference: &SecretRef) -> String {
    match reference {
        SecretRef::Keychain(name) => format!(
            "store a fresh token with `mcp-keybridge auth set {name}`; the next request reads it, no restart needed"
        ),
        SecretRef::Env(var) => format!(
            "set {var} to a fresh token where the client starts the bridge (the \"env\" of this server in the client's config), then restart the client: a running bridge cannot see a new value of an environment variable"
        ),
        SecretRef::File(path) => format!(
            "write a fresh token to the first line of {}; the next request reads it, no restart needed",
            path.display()
        ),
        SecretRef::Cmd(cmd) => format!(
            "make `{cmd}` print a fresh token (run it in a terminal to see what it prints); the next request runs it again"
        ),
    }
}

/// The fix for each source in `refs`, joined.
pub fn fresh_tokens<'a>(refs: impl Iterator<Item = &'a SecretRef>) -> String {
    let fixes: Vec<String> = refs.map(fresh_token).collect();
    if fixes.is_empty() {
        return "The credential is a literal value in the options: replace it with a reference such as --bearer keychain:NAME.".into();
    }
    let mut text = fixes.join("; ");
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text.push('.');
    text
}

/// The fix for a source that cannot be read at all.
pub fn unreadable(err: &CredentialError) -> String {
    match err {
        CredentialError::Source { source, .. } => match source {
            SourceError::EnvMissing(var) => format!(
                "Set {var} where the client starts the bridge (the \"env\" of this server in the client's config, e.g. claude_desktop_config.json), then restart the client: a running bridge cannot see a new environment variable."
            ),
            SourceError::KeychainMissing(name) => format!(
                "Run `mcp-keybridge auth set {name}` in a terminal; the next request reads it, no restart needed."
            ),
            SourceError::Keychain { name, .. } => format!(
                "Run `mcp-keybridge auth set {name}` in a terminal to store it again; the next request reads it."
            ),
            // keyring looks for its store once per process: a keychain that comes up later
            // is seen only by a new bridge.
            SourceError::NoKeychain(_) => {
                "Start the keychain, then restart the client (the bridge looks for it once, when it starts); or use another source: --bearer env:VAR, file:PATH or cmd:COMMAND.".into()
            }
            SourceError::Cmd { cmd, .. } => format!(
                "Run `{cmd}` in a terminal and fix what it says; the next request runs it again."
            ),
            SourceError::File { path, .. } => format!(
                "Put the token on the first line of {} (`chmod 600` it); the next request reads it again.",
                path.display()
            ),
        },
        CredentialError::BadValue { .. } => {
            "Store the token again as one line (no newline inside); the next request reads it again.".into()
        }
    }
}

/// "the token from keychain:jira expired 12 minutes ago (its exp claim)", for the first
/// source whose JWT has expired by `now`.
pub fn expired(expiries: &[(SecretRef, SystemTime)], now: SystemTime) -> Option<String> {
    expiries
        .iter()
        .find(|(_, exp)| *exp <= now)
        .map(|(r, exp)| {
            format!(
                "the token from {r} {} (its exp claim)",
                super::jwt::describe(*exp, now)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fixes_fit_the_source_kind() {
        let env = fresh_token(&SecretRef::Env("T".into()));
        assert!(env.contains("restart the client"), "{env}");
        let kc = fresh_token(&SecretRef::Keychain("jira".into()));
        assert!(
            kc.contains("auth set jira") && kc.contains("no restart"),
            "{kc}"
        );
        let both = fresh_tokens([SecretRef::Keychain("a".into())].iter());
        assert!(both.starts_with("Store a fresh token"), "{both}");
    }

    #[test]
    fn names_the_expired_source() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let list = vec![
            (SecretRef::Env("OK".into()), now + Duration::from_secs(60)),
            (
                SecretRef::Keychain("jira".into()),
                now - Duration::from_secs(12 * 60),
            ),
        ];
        assert_eq!(
            expired(&list, now).as_deref(),
            Some("the token from keychain:jira expired 12 minutes ago (its exp claim)")
        );
        assert_eq!(expired(&list[..1], now), None);
    }
}
