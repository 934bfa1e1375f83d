//! `logout`: revoke the stored tokens at the authorization server that issued them (RFC 7009:
//! the refresh token first, since revoking it usually ends its access tokens too, then the
//! access token), then remove them from the keychain. The client registration stays for the
//! next sign-in (one fewer client at the server per logout and login) unless asked to go.

use super::discovery::{self, Discovered};
use super::grant::TokenRequest;
use super::registration;
use super::tokens::{self, Stored, Tokens};
use super::{OAuthError, OAuthOptions};
use reqwest::Client;

/// What logout did, as lines for the user; `clean` is false when revoking failed where it
/// could have worked (a server that offers no revocation is said, not counted).
pub struct Report {
    /// One sentence per step.
    pub lines: Vec<String>,
    /// Nothing valid was left behind.
    pub clean: bool,
}

/// Logs out of `key` (the canonical server URL): revokes, then forgets the tokens (and with
/// `forget_client` the registrations).
pub async fn logout(
    http: &Client,
    key: &str,
    opts: &OAuthOptions,
    forget_client: bool,
) -> Result<Report, OAuthError> {
    let mut report = Report {
        lines: Vec::new(),
        clean: true,
    };
    let Some(mut stored) = tokens::load(key).await? else {
        report.lines.push(format!("Nothing was stored for {key}."));
        return Ok(report);
    };
    if let Some(t) = stored.tokens.take() {
        revoke(http, key, opts, &stored, &t, &mut report).await;
    }
    if forget_client || stored.clients.is_empty() {
        tokens::delete(key).await?;
        let what = if stored.clients.is_empty() {
            "the OAuth tokens"
        } else {
            "the OAuth tokens and the client registration"
        };
        report
            .lines
            .push(format!("Removed {what} for {key} from the keychain."));
    } else {
        tokens::save(&stored).await?;
        let kept: Vec<String> = stored
            .clients
            .iter()
            .map(|(issuer, c)| format!("client id {} at {issuer}", c.client_id))
            .collect();
        report.lines.push(format!(
            "Removed the OAuth tokens for {key} from the keychain; kept the client registration ({}) for the next sign-in (--forget-client removes it too).",
            kept.join(", ")
        ));
    }
    Ok(report)
}

/// Revokes `t` at its issuer when that server offers revocation; says what happened.
async fn revoke(
    http: &Client,
    key: &str,
    opts: &OAuthOptions,
    stored: &Stored,
    t: &Tokens,
    report: &mut Report,
) {
    // A failure that a retry (or the right --client-id) could fix.
    let fail = |report: &mut Report, why: String| {
        report.clean = false;
        report.lines.push(why);
    };
    // The tokens are bound to their issuer: revoke there, whatever the resource names now.
    let meta = match discovery::authorization_server(http, &t.issuer).await {
        Ok(Some(meta)) => meta,
        Ok(None) => {
            return report.lines.push(format!(
                "{} publishes no OAuth metadata, so the tokens could not be revoked there; they stay valid until they expire.",
                t.issuer
            ));
        }
        Err(e) => {
            return fail(
                report,
                format!(
                    "Could not revoke the tokens ({e}); they stay valid at {} until they expire. Run logout again when it can be reached.",
                    t.issuer
                ),
            );
        }
    };
    if meta.revocation_endpoint.is_none() {
        let refresh = if t.refresh_token.is_some() {
            " (the refresh token too: revoke this app's access in your account there to end it now)"
        } else {
            ""
        };
        return report.lines.push(format!(
            "{} offers no token revocation (RFC 7009); the tokens stay valid until they expire{refresh}.",
            t.issuer
        ));
    }
    let disc = Discovered {
        resource: key.to_string(),
        resource_scopes: Vec::new(),
        meta,
        guessed: false,
    };
    let client = match registration::preregistered(opts, &disc).await {
        Ok(Some(c)) => c,
        _ => match registration::metadata_document(opts, &disc)
            .or_else(|| stored.clients.get(&t.issuer).cloned())
        {
            Some(c) => match registration::stored_auth(&c, &disc).await {
                Ok(c) => c,
                Err(e) => {
                    return fail(
                        report,
                        format!("Could not revoke the tokens at {}: {e}.", t.issuer),
                    );
                }
            },
            None => {
                return fail(
                    report,
                    format!(
                        "No client registration with {} is stored, so the tokens could not be revoked there; they stay valid until they expire.",
                        t.issuer
                    ),
                );
            }
        },
    };
    let request = TokenRequest {
        http,
        disc: &disc,
        client: &client,
        resource: false,
        dpop: None,
    };
    let mut done = Vec::new();
    let pairs = [
        (
            t.refresh_token.as_deref(),
            "refresh_token",
            "the refresh token",
        ),
        (
            Some(t.access_token.as_str()),
            "access_token",
            "the access token",
        ),
    ];
    for (token, hint, what) in pairs {
        let Some(token) = token else { continue };
        match request.revoke(token, hint).await {
            Ok(()) => done.push(what),
            Err(e) => fail(
                report,
                format!(
                    "Could not revoke {what} at {} ({e}); it stays valid until it expires.",
                    t.issuer
                ),
            ),
        }
    }
    if !done.is_empty() {
        report.lines.push(format!(
            "Revoked {} at {} (RFC 7009).",
            done.join(" and "),
            t.issuer
        ));
    }
}
