//! OAuth 2.1 sign-in for servers that require it, following the MCP authorization rules of
//! 2025-06-18 and 2025-11-25: discovery (RFC 9728, RFC 8414, OpenID discovery), client
//! registration (pre-registered, Client ID Metadata Document, RFC 7591), authorization code
//! with PKCE S256 on a loopback redirect, the device authorization grant (RFC 8628) for
//! machines without a browser, RFC 8707 resource indicators, refresh with rotation, and the
//! client-credentials grant for machines without a person. Extensions: `private_key_jwt`
//! client authentication, the jwt-bearer grant with a workload identity token,
//! enterprise-managed authorization (token exchange for an ID-JAG), and DPoP-bound tokens.
//!
//! Tokens live in the OS keychain only; a cross-process lock makes concurrent instances share
//! one sign-in.

mod advice;
pub mod assertion;
pub mod browser;
pub mod callback;
pub mod device;
pub mod discovery;
pub mod dpop;
mod endpoints;
pub mod exchange;
pub mod flow;
mod grant;
pub mod jws;
pub mod lock;
pub mod logout;
pub mod pkce;
pub mod registration;
mod signin;
pub mod tokens;

use crate::credentials::reference::SecretRef;
pub use advice::Tried;
pub use flow::OAuth;

/// The HTTP client for OAuth endpoints (for commands that call them without a sign-in).
pub fn http_client(
    connect_timeout: Duration,
    network: &crate::network::Network,
) -> Result<reqwest::Client, OAuthError> {
    endpoints::client(connect_timeout, network)
}
use std::time::Duration;
use url::Url;

/// How the user asked the bridge to sign in (the `--oauth`, `--client-*`, `--scope`… options).
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    /// `--oauth`: use OAuth even before a challenge, and even with a static Authorization.
    pub forced: bool,
    /// `--client-id`: a client registered with the authorization server beforehand.
    pub client_id: Option<String>,
    /// `--client-secret REF`: that client's secret, if it is confidential.
    pub client_secret: Option<SecretRef>,
    /// `--client-metadata-url`: an https URL serving this client's metadata document.
    pub client_metadata_url: Option<Url>,
    /// `--client-key REF`: that client's private key (PEM), for `private_key_jwt`.
    pub client_key: Option<SecretRef>,
    /// `--client-credentials`: no person; the client itself is the principal.
    pub client_credentials: bool,
    /// `--workload-token REF`: the jwt-bearer grant with a platform-issued token.
    pub workload_token: Option<SecretRef>,
    /// `--id-token REF` and `--idp-*`: enterprise-managed authorization.
    pub enterprise: Option<exchange::Enterprise>,
    /// `--scope`: scopes to ask for instead of those from the challenge or the metadata.
    pub scope: Option<String>,
    /// `--no-resource-param`: leave out RFC 8707 `resource` (for servers that reject it).
    pub no_resource_param: bool,
    /// `--auth-timeout`: how long to wait for the browser to come back.
    pub auth_timeout: Duration,
    /// Also accept the callback address pasted on stdin (`login` on a terminal only: the
    /// bridge's stdin carries MCP).
    pub paste_callback: bool,
    /// `--dpop`: when to ask for DPoP-bound tokens.
    pub dpop: crate::cli::DpopMode,
    /// `--device`: the RFC 8628 device authorization grant instead of the browser.
    pub device: bool,
    /// `--callback-port`: the loopback redirect's fixed port.
    pub callback_port: Option<u16>,
    /// `--callback-host`: the loopback redirect's host.
    pub callback_host: crate::cli::CallbackHost,
    /// `--authorization-server`: the one to use among those the resource lists.
    pub authorization_server: Option<String>,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        OAuthOptions {
            forced: false,
            client_id: None,
            client_secret: None,
            client_metadata_url: None,
            client_key: None,
            client_credentials: false,
            workload_token: None,
            enterprise: None,
            scope: None,
            no_resource_param: false,
            auth_timeout: Duration::from_secs(300),
            paste_callback: false,
            dpop: crate::cli::DpopMode::Auto,
            device: false,
            callback_port: None,
            callback_host: crate::cli::CallbackHost::default(),
            authorization_server: None,
        }
    }
}

impl OAuthOptions {
    /// Checks the command line's OAuth options.
    pub fn from_args(args: &crate::cli::OAuthArgs) -> Result<Self, OAuthError> {
        let bad = |m: String| OAuthError::Options(m);
        let client_secret = match &args.client_secret {
            Some(r) => Some(SecretRef::parse(r).map_err(|e| bad(format!("--client-secret: {e}")))?),
            None => None,
        };
        let reference = |option: &str, r: &Option<String>| match r {
            Some(r) => SecretRef::parse(r)
                .map(Some)
                .map_err(|e| bad(format!("{option}: {e}"))),
            None => Ok(None),
        };
        let client_key = reference("--client-key", &args.client_key)?;
        let workload_token = reference("--workload-token", &args.workload_token)?;
        let enterprise = exchange::Enterprise::from_args(args)?;
        let client_metadata_url = match &args.client_metadata_url {
            Some(u) => {
                let url = Url::parse(u).map_err(|e| bad(format!("--client-metadata-url: {e}")))?;
                if url.scheme() != "https" || url.path().len() < 2 {
                    return Err(bad(
                        "--client-metadata-url must be an https URL with a path (MCP Client ID Metadata Documents)".into(),
                    ));
                }
                Some(url)
            }
            None => None,
        };
        let auth_timeout = args.auth_timeout.unwrap_or(300.0);
        if !(auth_timeout.is_finite() && auth_timeout > 0.0) {
            return Err(bad(
                "--auth-timeout must be a positive number of seconds".into()
            ));
        }
        if args.client_credentials
            && (args.client_id.is_none() || (client_secret.is_none() && client_key.is_none()))
        {
            return Err(bad(
                "--client-credentials needs --client-id and --client-secret REF or --client-key REF".into(),
            ));
        }
        if enterprise.is_some() && args.client_id.is_none() {
            return Err(bad(
                "--id-token needs --client-id: the client registered with the MCP server's authorization server, which the identity provider names in the ID-JAG".into(),
            ));
        }
        if args.client_secret.is_some() && args.client_id.is_none() {
            return Err(bad("--client-secret needs --client-id".into()));
        }
        if args.device && args.client_credentials {
            return Err(bad(
                "--device and --client-credentials exclude each other: the device grant signs a person in, client credentials sign in the client itself".into(),
            ));
        }
        let authorization_server = match &args.authorization_server {
            Some(u) => {
                let url = Url::parse(u.trim())
                    .map_err(|e| bad(format!("--authorization-server: {e}")))?;
                if !matches!(url.scheme(), "https" | "http") {
                    return Err(bad(
                        "--authorization-server must be an https:// URL (the issuer identifier)"
                            .into(),
                    ));
                }
                Some(u.trim().to_string())
            }
            None => None,
        };
        Ok(OAuthOptions {
            forced: args.oauth,
            client_id: args.client_id.clone().filter(|s| !s.trim().is_empty()),
            client_secret,
            client_metadata_url,
            client_key,
            client_credentials: args.client_credentials,
            workload_token,
            enterprise,
            scope: args.scope.clone().filter(|s| !s.trim().is_empty()),
            no_resource_param: args.no_resource_param,
            auth_timeout: Duration::from_secs_f64(auth_timeout),
            paste_callback: false,
            dpop: args.dpop.unwrap_or_default(),
            device: args.device,
            callback_port: args.callback_port,
            callback_host: args.callback_host.unwrap_or_default(),
            authorization_server,
        })
    }
}

impl OAuthOptions {
    /// True when tokens come from a grant without a person or a browser: client
    /// credentials, a workload token, or enterprise-managed authorization.
    pub fn without_browser(&self) -> bool {
        self.client_credentials || self.workload_token.is_some() || self.enterprise.is_some()
    }
}

/// Why signing in (or refreshing) failed. Messages name the server and what to do; they
/// never carry a token, a code or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// An OAuth option is wrong (exit code 2).
    #[error("{0}")]
    Options(String),
    /// The server asks for a Bearer token but no OAuth authorization server can be found.
    #[error(
        "the server asks for a Bearer token but no OAuth authorization server can be found; pass --bearer REF (e.g. --bearer keychain:NAME)"
    )]
    NotOAuth,
    /// A metadata document or endpoint could not be fetched or read.
    #[error("OAuth discovery failed: {0}")]
    Discovery(String),
    /// A URL that must be https (or loopback http) is not.
    #[error("refusing {what} {url}: OAuth endpoints must use https:// (http:// only on loopback)")]
    Insecure {
        /// Which URL.
        what: String,
        /// Its origin and path.
        url: String,
    },
    /// The authorization server does not offer PKCE with S256.
    #[error(
        "the authorization server {issuer} does not list S256 in code_challenge_methods_supported, so a sign-in would not be protected by PKCE; refusing. Ask its operator to enable PKCE S256"
    )]
    NoS256 {
        /// The issuer.
        issuer: String,
    },
    /// No way to get a client id.
    #[error("cannot register with {issuer}: {why}")]
    Registration {
        /// The issuer.
        issuer: String,
        /// Why.
        why: String,
    },
    /// The browser round trip failed (bad iss, no code, no listener…).
    #[error("sign-in failed: {0}")]
    Authorize(String),
    /// The authorization server sent the browser back with an error (RFC 6749 §4.1.2.1).
    #[error("sign-in failed: the authorization server answered {error}{}", describe(.description))]
    Refused {
        /// The OAuth `error` code, e.g. `access_denied` or `invalid_target`.
        error: String,
        /// Its `error_description`, if any (at most 200 characters).
        description: Option<String>,
    },
    /// Nobody finished signing in within `--auth-timeout` (seconds; true in `login`, where
    /// suggesting `login` would repeat what was just tried).
    #[error("nobody finished signing in within {secs} seconds; {hint}", secs = .0, hint = timeout_hint(*.1))]
    Timeout(u64, bool),
    /// The token endpoint refused; `invalid_grant` is told apart because it means "sign in again".
    #[error("the authorization server refused: {error}{}", describe(.description))]
    Token {
        /// The OAuth `error` code.
        error: String,
        /// Its `error_description`, if any.
        description: Option<String>,
    },
    /// The keychain could not be used.
    #[error(transparent)]
    Keychain(#[from] crate::credentials::SourceError),
    /// The lock file could not be created or locked.
    #[error("cannot take the sign-in lock {path}: {cause}")]
    Lock {
        /// The lock file.
        path: String,
        /// Why.
        cause: String,
    },
    /// A client key, workload token or ID token could not be used, or the identity provider
    /// refused the token exchange.
    #[error(transparent)]
    Assertion(#[from] assertion::AssertionError),
    /// A second sign-in or step-up in a row was refused, to avoid a loop of browser tabs.
    #[error("{0}")]
    GaveUp(String),
    /// A DPoP key could not be made, read or used (never shows the key).
    #[error("DPoP: {0}")]
    Dpop(String),
    /// The device authorization grant (RFC 8628) failed.
    #[error(transparent)]
    Device(#[from] device::DeviceError),
}

fn timeout_hint(in_login: bool) -> &'static str {
    if in_login {
        "open the printed URL in a browser (or paste the address it ends on here), or raise --auth-timeout"
    } else {
        "run `mcp-keybridge login URL` from a terminal (`login --device URL` on a machine without a browser), or raise --auth-timeout"
    }
}

fn describe(d: &Option<String>) -> String {
    d.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
}

impl OAuthError {
    /// True for `invalid_grant`: the refresh token is dead and only a new sign-in helps.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OAuthError::Token { error, .. } if error == "invalid_grant")
    }

    /// True for `use_dpop_nonce` (RFC 9449 §8): retry with the server's new nonce.
    pub fn is_use_dpop_nonce(&self) -> bool {
        matches!(self, OAuthError::Token { error, .. } if error == "use_dpop_nonce")
    }
}

/// The parameters of a `WWW-Authenticate: Bearer …` (or `DPoP …`) challenge this module uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `error`, e.g. `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
    /// `scope`: what the server wants the token to carry.
    pub scope: Option<String>,
    /// `resource_metadata`: where the protected-resource metadata is (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// The scheme is `DPoP` (RFC 9449 §7.1): the resource wants DPoP-bound tokens.
    pub dpop: bool,
}

impl Challenge {
    /// Parses a Bearer or DPoP challenge tolerantly (quoted or bare values, any order);
    /// `None` when the header is neither.
    pub fn parse(header: &str) -> Option<Challenge> {
        let trimmed = header.trim_start();
        let (scheme, rest) = trimmed.split_at(trimmed.find(' ').unwrap_or(trimmed.len()));
        let dpop = scheme.eq_ignore_ascii_case("dpop");
        if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut out = Challenge {
            dpop,
            ..Challenge::default()
        };
        let mut rest = rest.trim_start();
        while !rest.is_empty() {
            let Some(eq) = rest.find('=') else { break };
            let key = rest[..eq].trim().trim_start_matches(',').trim();
            rest = rest[eq + 1..].trim_start();
            let value;
            if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                value = quoted[..end].to_string();
                rest = quoted.get(end + 1..).unwrap_or("");
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                value = rest[..end].trim().to_string();
                rest = &rest[end..];
            }
            rest = rest.trim_start().trim_start_matches(',').trim_start();
            match key.to_ascii_lowercase().as_str() {
                "error" => out.error = Some(value),
                "scope" => out.scope = Some(value),
                "resource_metadata" => out.resource_metadata = Some(value),
                _ => {}
            }
        }
        Some(out)
    }
}

/// The server URL as the key of its keychain entry and the default RFC 8707 resource:
/// lower-case scheme and host (the url crate does that), no query, no fragment, no trailing
/// slash.
pub fn canonical_server_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let text = u.to_string();
    text.strip_suffix('/').map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests;
