//! What a person can do about each OAuth failure, given the options already in use: the
//! advice names the cause's own fix and never repeats what was just tried (no
//! `--no-resource-param` when it is given, no `login` after a failure `login` would repeat).

use super::OAuthError;

/// The options that decide which advice can still help.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tried {
    /// `--no-resource-param` was given.
    pub no_resource_param: bool,
    /// `--client-id` was given (a pre-registered client).
    pub client_id: bool,
}

impl OAuthError {
    /// One or two sentences on what to do next; empty when the message already says it.
    pub fn advice(&self, tried: Tried) -> String {
        match self {
            // These messages carry their own fix.
            OAuthError::Options(_)
            | OAuthError::NotOAuth
            | OAuthError::NoS256 { .. }
            | OAuthError::Registration { .. }
            | OAuthError::Timeout(..)
            | OAuthError::GaveUp(_)
            | OAuthError::Keychain(_)
            | OAuthError::Device(_)
            | OAuthError::Assertion(_) => String::new(),
            OAuthError::Insecure { .. } => {
                "Use the server's https:// URL; plain http:// is accepted only on this machine (loopback).".into()
            }
            OAuthError::Discovery(_) => {
                "Check the server URL; if it is right, the server's OAuth metadata is broken or unreachable: tell its operator.".into()
            }
            OAuthError::Lock { .. } => {
                "Another mcp-keybridge is signing in to this server: finish or close that sign-in, then retry.".into()
            }
            OAuthError::Authorize(why) if why.contains("RFC 9207") => {
                "Possibly a mix-up attack, or a misconfigured server: do not sign in again until its operator confirms which authorization server it uses.".into()
            }
            OAuthError::Authorize(_) => "Retry the request to sign in again.".into(),
            OAuthError::Dpop(_) => {
                "If the server accepts Bearer tokens, run with --dpop never.".into()
            }
            OAuthError::Refused { error, .. } | OAuthError::Token { error, .. } => {
                refused(error, tried)
            }
        }
    }
}

/// Advice for an OAuth `error` code from the authorization or token endpoint.
fn refused(error: &str, tried: Tried) -> String {
    match error {
        "access_denied" => {
            "Access was not granted: retry and allow access, or ask the server's operator to grant your account access.".into()
        }
        "invalid_target" if tried.no_resource_param => {
            "The authorization server does not know this MCP server as a resource (RFC 8707): ask its operator to register the server's URL as a resource or audience.".into()
        }
        "invalid_target" => {
            "The authorization server does not accept this MCP server as an RFC 8707 resource: ask its operator to register the server's URL as a resource, or pass --no-resource-param if the server accepts tokens without one.".into()
        }
        "invalid_scope" => {
            "Pass --scope with scopes that authorization server grants (see its scopes_supported), or ask its operator for them.".into()
        }
        "invalid_client" | "unauthorized_client" if tried.client_id => {
            "Check --client-id (and --client-secret or --client-key) against the client registered with the authorization server.".into()
        }
        "invalid_client" | "unauthorized_client" => {
            "The authorization server no longer knows this client: run `mcp-keybridge logout URL --forget-client`, then retry to register again.".into()
        }
        "invalid_grant" => "Retry the request to sign in again.".into(),
        "invalid_dpop_proof" | "use_dpop_nonce" => {
            "The authorization server refused the DPoP proof: check this machine's clock, or pass --dpop never if it accepts Bearer tokens.".into()
        }
        "temporarily_unavailable" | "server_error" => {
            "The authorization server failed; try again later.".into()
        }
        _ => "Retry the request; if it fails the same way, tell the server's operator.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(error: &str) -> OAuthError {
        OAuthError::Token {
            error: error.into(),
            description: None,
        }
    }

    #[test]
    fn advice_never_repeats_what_was_tried() {
        let plain = Tried::default();
        let with = Tried {
            no_resource_param: true,
            ..Tried::default()
        };
        assert!(
            token("invalid_target")
                .advice(plain)
                .contains("--no-resource-param")
        );
        assert!(
            !token("invalid_target")
                .advice(with)
                .contains("--no-resource-param")
        );
        let registration = OAuthError::Registration {
            issuer: "https://as".into(),
            why: "refused".into(),
        };
        assert!(
            registration.advice(plain).is_empty(),
            "its message has the fix"
        );
        let pre = Tried {
            client_id: true,
            ..Tried::default()
        };
        assert!(token("invalid_client").advice(pre).contains("--client-id"));
        assert!(
            token("invalid_client")
                .advice(plain)
                .contains("--forget-client")
        );
        for e in [
            token("invalid_target"),
            registration,
            token("invalid_scope"),
        ] {
            assert!(!e.advice(plain).contains("login"), "{e}");
        }
    }
}
