//! The device authorization grant (RFC 8628), for machines without a browser: the
//! authorization server hands out a user code and a verification URL, shown on stderr
//! (stdout is the MCP protocol), which the person opens on any other device; meanwhile the
//! bridge polls the token endpoint with the device code at the server's `interval`
//! (`authorization_pending` goes on, `slow_down` adds five seconds, a network failure
//! doubles it), until a token, a refusal, the code's expiry or `--auth-timeout`. The
//! device code is a credential and never shown; the user code is meant to be.
//!
//! Used with `--device`, and without it when no browser can be opened here and the
//! authorization server offers the grant (not for a `--client-id` client, which its operator
//! may not have allowed the grant: pass `--device` for that).

use super::browser;
use super::discovery::Discovered;
use super::grant::TokenRequest;
use super::registration::{self, ClientAuth};
use super::tokens::{Stored, Tokens};
use super::{OAuthError, OAuthOptions, endpoints};
use crate::secret::Secret;
use reqwest::Client;
use serde_json::Value;
use std::time::{Duration, Instant};
use url::Url;

/// RFC 8628 §3.2: the polling interval when the server names none.
const DEFAULT_INTERVAL: u64 = 5;
/// RFC 8628 §3.5: what `slow_down` adds.
const SLOW_DOWN: u64 = 5;
/// The longest wait between polls after network failures.
const MAX_INTERVAL: u64 = 60;

/// Why a device sign-in failed; each message says what to run next.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// `--device`, but the server has no device authorization endpoint.
    #[error(
        "{issuer} does not offer the device authorization grant (RFC 8628: its metadata has no device_authorization_endpoint); sign in with a browser instead: drop --device (`mcp-keybridge login {server}` prints the URL to open, and accepts the address the browser ends on pasted from another machine)"
    )]
    NotOffered {
        /// The issuer.
        issuer: String,
        /// The MCP server's canonical URL.
        server: String,
    },
    /// `expired_token`, or the code's lifetime is over.
    #[error(
        "the sign-in code expired before anyone confirmed it (expired_token); run `mcp-keybridge login --device {server}` and confirm the new code in time"
    )]
    Expired {
        /// The MCP server's canonical URL.
        server: String,
    },
    /// `access_denied`: the person (or the server's policy) refused.
    #[error(
        "the sign-in was refused at the authorization server (access_denied); run `mcp-keybridge login --device {server}` again and approve it, or ask the server's operator to grant your account access"
    )]
    Denied {
        /// The MCP server's canonical URL.
        server: String,
    },
    /// Nobody confirmed within `--auth-timeout`.
    #[error(
        "nobody confirmed the sign-in code within {secs} seconds; run `mcp-keybridge login --device {server}` and confirm it, or raise --auth-timeout"
    )]
    Timeout {
        /// `--auth-timeout`, in seconds.
        secs: f64,
        /// The MCP server's canonical URL.
        server: String,
    },
    /// The device authorization reply lacks or garbles a field.
    #[error(
        "the device authorization reply of {issuer} is unusable: {why}; tell the server's operator"
    )]
    Unusable {
        /// The issuer.
        issuer: String,
        /// What is wrong (never a code).
        why: String,
    },
}

/// True when this sign-in uses the device grant (see the module documentation).
pub fn chosen(opts: &OAuthOptions, disc: &Discovered) -> bool {
    chosen_with(opts, disc, browser::can_open)
}

fn chosen_with(opts: &OAuthOptions, disc: &Discovered, can_open: fn() -> bool) -> bool {
    if opts.device {
        return true;
    }
    let offered = disc.meta.device_authorization_endpoint.is_some();
    let auto = offered && opts.client_id.is_none() && !opts.client_credentials && !can_open();
    if auto {
        tracing::info!(
            "no browser can be opened here and {} offers the device grant: signing in with a code instead (--device)",
            disc.issuer()
        );
    }
    auto
}

/// What the device authorization endpoint answered (RFC 8628 §3.2).
struct Authorization {
    device_code: Secret,
    user_code: String,
    verification_uri: Url,
    verification_uri_complete: Option<Url>,
    expires_in: u64,
    interval: u64,
}

impl Authorization {
    fn from_reply(reply: &Value, issuer: &str) -> Result<Self, DeviceError> {
        let bad = |why: &str| DeviceError::Unusable {
            issuer: issuer.to_string(),
            why: why.into(),
        };
        let device_code = reply["device_code"]
            .as_str()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad("no device_code"))?;
        // Shown on the terminal: printable ASCII only, so a server cannot send escapes.
        let user_code = reply["user_code"]
            .as_str()
            .filter(|c| !c.is_empty() && c.len() <= 64 && c.chars().all(|c| c.is_ascii_graphic()))
            .ok_or_else(|| bad("no user_code of printable characters"))?;
        let url = |key: &str| -> Result<Option<Url>, DeviceError> {
            match reply[key].as_str() {
                None => Ok(None),
                Some(u) => match Url::parse(u) {
                    Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(Some(u)),
                    _ => Err(bad(&format!("{key} is not an http(s) URL"))),
                },
            }
        };
        // `verification_url` is the name of the drafts, still sent by some servers.
        let verification_uri = url("verification_uri")?
            .or(url("verification_url")?)
            .ok_or_else(|| bad("no verification_uri"))?;
        Ok(Authorization {
            device_code: Secret::new(device_code.to_string()),
            user_code: user_code.to_string(),
            verification_uri,
            verification_uri_complete: url("verification_uri_complete")?,
            expires_in: reply["expires_in"].as_u64().unwrap_or(600),
            interval: reply["interval"]
                .as_u64()
                .unwrap_or(DEFAULT_INTERVAL)
                .clamp(1, MAX_INTERVAL),
        })
    }

    /// The lines for the person, on stderr.
    fn instructions(&self, issuer: &str) -> String {
        let minutes = self.expires_in.div_ceil(60);
        match &self.verification_uri_complete {
            Some(complete) => format!(
                "mcp-keybridge: to sign in to {issuer}, open this URL on any device (a phone will do):\n\n    {complete}\n\nand check that it shows the code  {code}  (valid for {minutes} min; without the link, open {uri} and enter the code).\n",
                code = self.user_code,
                uri = self.verification_uri,
            ),
            None => format!(
                "mcp-keybridge: to sign in to {issuer}, open this URL on any device (a phone will do):\n\n    {uri}\n\nand enter the code  {code}  (valid for {minutes} min).\n",
                uri = self.verification_uri,
                code = self.user_code,
            ),
        }
    }
}

/// Signs in with the device grant; registers a client for it first when needed (recorded
/// in `stored.clients`, which the caller saves with the tokens).
pub async fn sign_in(
    http: &Client,
    disc: &Discovered,
    opts: &OAuthOptions,
    stored: &mut Stored,
    scopes: &[String],
    server: &str,
    dpop: Option<super::dpop::Prover<'_>>,
) -> Result<Tokens, OAuthError> {
    let Some(endpoint) = disc.meta.device_authorization_endpoint.as_deref() else {
        return Err(DeviceError::NotOffered {
            issuer: disc.issuer().to_string(),
            server: server.to_string(),
        }
        .into());
    };
    let endpoint = endpoints::parse_url("device authorization endpoint", endpoint)?;
    let client = device_client(http, disc, opts, stored, scopes).await?;
    let request = TokenRequest {
        http,
        disc,
        client: &client,
        resource: !opts.no_resource_param,
        dpop,
    };
    let reply = request.device_authorization(&endpoint, scopes).await?;
    let auth = Authorization::from_reply(&reply, disc.issuer())?;
    eprintln!("{}", auth.instructions(disc.issuer()));
    let tokens = poll(&request, &auth, opts.auth_timeout, scopes, server).await?;
    eprintln!("mcp-keybridge: signed in to {}", disc.issuer());
    Ok(tokens)
}

/// Polls the token endpoint until the person has confirmed (or refused, or time is up).
async fn poll(
    request: &TokenRequest<'_>,
    auth: &Authorization,
    timeout: Duration,
    scopes: &[String],
    server: &str,
) -> Result<Tokens, OAuthError> {
    let start = Instant::now();
    let expires = start + Duration::from_secs(auth.expires_in);
    let gave_up = start + timeout;
    let deadline = expires.min(gave_up);
    let mut interval = auth.interval;
    let over = || -> OAuthError {
        if gave_up <= expires {
            DeviceError::Timeout {
                secs: timeout.as_secs_f64(),
                server: server.to_string(),
            }
        } else {
            DeviceError::Expired {
                server: server.to_string(),
            }
        }
        .into()
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(over());
        }
        tokio::time::sleep(Duration::from_secs(interval).min(deadline - now)).await;
        if Instant::now() >= deadline {
            return Err(over());
        }
        match request.device_code(&auth.device_code, scopes).await {
            Ok(tokens) => return Ok(tokens),
            Err(OAuthError::Token { error, .. }) if error == "authorization_pending" => {}
            Err(OAuthError::Token { error, .. }) if error == "slow_down" => {
                interval += SLOW_DOWN;
                tracing::debug!("the authorization server asks to poll every {interval} s");
            }
            Err(OAuthError::Token { error, .. }) if error == "expired_token" => {
                return Err(DeviceError::Expired {
                    server: server.to_string(),
                }
                .into());
            }
            Err(OAuthError::Token { error, .. }) if error == "access_denied" => {
                return Err(DeviceError::Denied {
                    server: server.to_string(),
                }
                .into());
            }
            // The token endpoint is unreachable or garbled: back off and retry (§3.5).
            Err(OAuthError::Discovery(why)) => {
                interval = (interval * 2).min(MAX_INTERVAL);
                tracing::info!(
                    "polling for the device sign-in failed ({why}); retrying in {interval} s"
                );
            }
            Err(e) => return Err(e),
        }
    }
}

/// The client for the device grant: `--client-id`, a metadata document, a stored
/// registration made for the grant, else a new registration for it.
async fn device_client(
    http: &Client,
    disc: &Discovered,
    opts: &OAuthOptions,
    stored: &mut Stored,
    scopes: &[String],
) -> Result<ClientAuth, OAuthError> {
    if let Some(client) = registration::preregistered(opts, disc).await? {
        registration::remember_preregistered(opts, disc, stored);
        return Ok(client);
    }
    if let Some(client) = registration::metadata_document(opts, disc) {
        return Ok(ClientAuth::from_stored(&client, disc));
    }
    if let Some(client) = stored
        .clients
        .get(disc.issuer())
        .filter(|c| c.kind != registration::PREREGISTERED && c.device_grant)
    {
        return Ok(ClientAuth::from_stored(client, disc));
    }
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let client = registration::register_device(http, disc, scope.as_deref()).await?;
    let auth = ClientAuth::from_stored(&client, disc);
    stored.clients.insert(disc.issuer().to_string(), client);
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn disc(device: bool) -> Discovered {
        let mut meta =
            json!({"issuer": "https://as.example", "token_endpoint": "https://as.example/t"});
        if device {
            meta["device_authorization_endpoint"] = json!("https://as.example/device");
        }
        Discovered {
            resource: "https://h.example/mcp".into(),
            resource_scopes: vec![],
            meta: serde_json::from_value(meta).unwrap(),
            guessed: false,
        }
    }

    #[test]
    fn chosen_when_asked_or_when_no_browser_opens() {
        let opts = OAuthOptions::default();
        let (yes, no) = (|| true, || false);
        assert!(!chosen_with(&opts, &disc(true), yes));
        assert!(chosen_with(&opts, &disc(true), no));
        assert!(!chosen_with(&opts, &disc(false), no), "not offered");
        let asked = OAuthOptions {
            device: true,
            ..OAuthOptions::default()
        };
        assert!(chosen_with(&asked, &disc(false), yes));
        let preregistered = OAuthOptions {
            client_id: Some("c".into()),
            ..OAuthOptions::default()
        };
        assert!(!chosen_with(&preregistered, &disc(true), no));
    }

    #[test]
    fn reads_the_reply_and_shows_no_device_code() {
        let reply = json!({
            "device_code": "dc-secret", "user_code": "WDJB-MJHT",
            "verification_uri": "https://as.example/device",
            "verification_uri_complete": "https://as.example/device?user_code=WDJB-MJHT",
            "expires_in": 900,
        });
        let a = Authorization::from_reply(&reply, "https://as.example").unwrap();
        assert_eq!(a.interval, DEFAULT_INTERVAL);
        let text = a.instructions("https://as.example");
        assert!(
            text.contains("https://as.example/device?user_code=WDJB-MJHT"),
            "{text}"
        );
        assert!(
            text.contains("WDJB-MJHT") && text.contains("15 min"),
            "{text}"
        );
        assert!(!text.contains("dc-secret"), "{text}");

        let escape = json!({"device_code": "d", "user_code": "\u{1b}[2J", "verification_uri": "https://as.example/d"});
        assert!(Authorization::from_reply(&escape, "i").is_err());
        let no_uri =
            json!({"device_code": "d", "user_code": "A", "verification_uri": "javascript:x"});
        let err = Authorization::from_reply(&no_uri, "i")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("verification_uri"), "{err}");
        let draft = json!({"device_code": "d", "user_code": "A", "verification_url": "https://a/d", "interval": 0});
        let a = Authorization::from_reply(&draft, "i").unwrap();
        assert_eq!(a.interval, 1, "never a busy loop");
        assert!(a.instructions("i").contains("enter the code  A"));
    }
}
