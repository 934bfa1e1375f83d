//! Finding the authorization server: protected-resource metadata (RFC 9728) from the
//! challenge's `resource_metadata`, else the well-known URLs; then authorization-server
//! metadata by RFC 8414 and OpenID discovery in the order MCP 2025-11-25 gives. The
//! metadata's `resource` must name this server, and its `issuer` must be, by exact string
//! (RFC 8414 §3.3, MCP 2026-07-28), the issuer identifier the well-known URL was built from.
//! A 2025-03-26 server with no metadata at all gets that revision's default endpoints.

use super::endpoints::{self, show};
use super::{Challenge, OAuthError, canonical_server_url};
use reqwest::Client;
use serde::Deserialize;
use url::Url;

mod choice;

/// What an authorization server says about itself (RFC 8414 §2), the fields sign-in uses.
#[derive(Debug, Clone, Deserialize)]
pub struct AsMetadata {
    /// Its issuer identifier.
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: Option<String>,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// RFC 7591 dynamic registration, if offered.
    pub registration_endpoint: Option<String>,
    /// Scopes it knows.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// PKCE methods; sign-in requires `S256` here.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// How clients authenticate at the token endpoint.
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms it accepts for `private_key_jwt` client assertions.
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Grant types it offers (RFC 8414's default: code and implicit), if it says.
    pub grant_types_supported: Option<Vec<String>>,
    /// Client ID Metadata Documents accepted as client ids.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: `iss` is always in the authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 7009 token revocation, used by `logout`.
    pub revocation_endpoint: Option<String>,
    /// OpenID discovery's `prompt` values (see [`AsMetadata::is_openid_provider`]).
    #[serde(default)]
    pub prompt_values_supported: Vec<String>,
    /// RFC 9449: the DPoP proof algorithms it accepts (`--dpop auto` uses DPoP with ES256).
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// RFC 8628 device authorization, if offered.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
}

impl AsMetadata {
    /// The 2025-03-26 revision's defaults for a server that publishes no metadata:
    /// `/authorize`, `/token` and `/register` on the MCP server's origin.
    fn defaults(origin: &str) -> AsMetadata {
        AsMetadata {
            issuer: origin.to_string(),
            authorization_endpoint: Some(format!("{origin}/authorize")),
            token_endpoint: format!("{origin}/token"),
            registration_endpoint: Some(format!("{origin}/register")),
            scopes_supported: Vec::new(),
            // That revision makes PKCE S256 mandatory for clients and servers alike.
            code_challenge_methods_supported: vec!["S256".into()],
            token_endpoint_auth_methods_supported: None,
            token_endpoint_auth_signing_alg_values_supported: Vec::new(),
            grant_types_supported: None,
            client_id_metadata_document_supported: false,
            authorization_response_iss_parameter_supported: false,
            revocation_endpoint: None,
            prompt_values_supported: Vec::new(),
            dpop_signing_alg_values_supported: Vec::new(),
            device_authorization_endpoint: None,
        }
    }

    /// True when the server lists `offline_access` (the only case it may be asked for).
    pub fn offers_offline_access(&self) -> bool {
        self.scopes_supported.iter().any(|s| s == "offline_access")
    }

    /// An OpenID provider (it lists the `openid` scope or the `consent` prompt), for which
    /// `offline_access` needs `prompt=consent`.
    pub fn is_openid_provider(&self) -> bool {
        self.scopes_supported.iter().any(|s| s == "openid")
            || self.prompt_values_supported.iter().any(|p| p == "consent")
    }
}

/// Everything discovery found.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The RFC 8707 `resource` value: the metadata's `resource`, else the canonical URL.
    pub resource: String,
    /// `scopes_supported` of the protected resource.
    pub resource_scopes: Vec<String>,
    /// The authorization server.
    pub meta: AsMetadata,
    /// `meta` is the 2025-03-26 default-endpoint guess, not published metadata: a
    /// registration endpoint that is not there means the server is not an OAuth one.
    pub guessed: bool,
}

impl Discovered {
    /// The issuer, as the key of registrations and tokens.
    pub fn issuer(&self) -> &str {
        &self.meta.issuer
    }

    /// A validated endpoint URL.
    pub fn endpoint(&self, what: &str, value: Option<&str>) -> Result<Url, OAuthError> {
        let value = value.ok_or_else(|| {
            OAuthError::Discovery(format!("{} does not advertise a {what}", self.meta.issuer))
        })?;
        endpoints::parse_url(what, value)
    }
}

/// Runs discovery for `server` after it answered with `challenge`. `known` is an earlier
/// result: its authorization-server metadata is reused while the resource still names the
/// same issuer (a new issuer is discovered afresh, SEP-2352). `choice` is
/// `--authorization-server`.
pub async fn discover(
    client: &Client,
    server: &Url,
    challenge: &Challenge,
    known: Option<&Discovered>,
    choice: Option<&str>,
) -> Result<Discovered, OAuthError> {
    let canonical = canonical_server_url(server);
    let prm = protected_resource(client, server, challenge, choice).await?;
    let found_prm = prm.is_some();
    let (resource, resource_scopes, issuer) = match prm {
        Some(prm) => prm,
        None => {
            // Servers of the 2025-03-26 revision have no resource metadata: the
            // authorization server is the MCP server's origin (no trailing slash).
            tracing::info!(
                "no protected-resource metadata; trying the server's origin as the authorization server"
            );
            (
                canonical.clone(),
                Vec::new(),
                choice
                    .map(str::to_string)
                    .unwrap_or_else(|| server.origin().ascii_serialization()),
            )
        }
    };
    if let Some(known) = known.filter(|k| k.meta.issuer == issuer && !k.guessed) {
        return Ok(Discovered {
            resource,
            resource_scopes,
            meta: known.meta.clone(),
            guessed: false,
        });
    }
    let (meta, guessed) = match authorization_server(client, &issuer).await? {
        Some(meta) => (meta, false),
        // No PRM and no metadata: a 2025-03-26 server expects the default endpoints.
        None if !found_prm && choice.is_none() => {
            tracing::info!(
                "no OAuth metadata either; trying the 2025-03-26 default endpoints /authorize, /token and /register at {issuer}"
            );
            (AsMetadata::defaults(&issuer), true)
        }
        // No authorization server to sign in with: the server wants a token from elsewhere
        // (an RS-only SDK server names an issuer that serves no metadata, for one).
        None => {
            tracing::warn!(
                "the server's resource metadata names {issuer}, which publishes no OAuth metadata; OAuth sign-in is not possible"
            );
            return Err(OAuthError::NotOAuth);
        }
    };
    for (what, value) in [
        (
            "authorization endpoint",
            meta.authorization_endpoint.as_deref(),
        ),
        ("token endpoint", Some(meta.token_endpoint.as_str())),
        (
            "registration endpoint",
            meta.registration_endpoint.as_deref(),
        ),
        ("revocation endpoint", meta.revocation_endpoint.as_deref()),
        (
            "device authorization endpoint",
            meta.device_authorization_endpoint.as_deref(),
        ),
    ] {
        if let Some(v) = value {
            endpoints::parse_url(what, v)?;
        }
    }
    Ok(Discovered {
        resource,
        resource_scopes,
        meta,
        guessed,
    })
}

/// The server's challenge to a request without credentials (for `login`, which runs before
/// any bridge request); an empty one when it sends none.
pub async fn probe(client: &Client, server: &Url) -> Challenge {
    let resp = client
        .get(server.clone())
        .header("accept", "application/json, text/event-stream")
        .send()
        .await;
    resp.ok()
        .and_then(|r| {
            r.headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse)
        })
        .unwrap_or_default()
}

/// `(resource, scopes_supported, authorization server)` from the protected-resource
/// metadata (the first server listed, or `choice`), or `None` when the server publishes none. The issuer is kept as written: it is
/// compared by exact string with the metadata's and the response's (a parsed URL would
/// gain a trailing slash).
async fn protected_resource(
    client: &Client,
    server: &Url,
    challenge: &Challenge,
    choice: Option<&str>,
) -> Result<Option<(String, Vec<String>, String)>, OAuthError> {
    let candidates = match &challenge.resource_metadata {
        Some(u) => vec![endpoints::parse_url("resource metadata URL", u)?],
        None => well_known(server, "oauth-protected-resource", false),
    };
    for url in candidates {
        let Some(doc) = endpoints::get_json(client, "protected-resource metadata", &url).await?
        else {
            continue;
        };
        let resource = doc["resource"]
            .as_str()
            .ok_or_else(|| OAuthError::Discovery(format!("{} has no \"resource\"", show(&url))))?;
        if !names_server(resource, server) {
            return Err(OAuthError::Discovery(format!(
                "the protected-resource metadata at {} is for {resource:?}, not for {}; refusing to use it",
                show(&url),
                canonical_server_url(server)
            )));
        }
        let listed = strings(&doc["authorization_servers"]);
        let issuer = &choice::choose(&listed, choice, &show(&url))?;
        endpoints::parse_url("authorization server", issuer)?;
        let scopes = strings(&doc["scopes_supported"]);
        return Ok(Some((resource.to_string(), scopes, issuer.to_string())));
    }
    Ok(None)
}

/// True when `resource` is this server's canonical URL, or a path prefix of it on the same
/// origin (a resource may cover several endpoints).
fn names_server(resource: &str, server: &Url) -> bool {
    let Ok(r) = Url::parse(resource) else {
        return false;
    };
    if r.origin() != server.origin() {
        return false;
    }
    let rp = r.path().trim_end_matches('/');
    let sp = server.path().trim_end_matches('/');
    sp == rp || sp.starts_with(&format!("{rp}/"))
}

/// The authorization-server metadata for `issuer`, in the spec's order (`None` when there is
/// none); its `issuer` must be the one asked for, character for character.
pub async fn authorization_server(
    client: &Client,
    issuer: &str,
) -> Result<Option<AsMetadata>, OAuthError> {
    let base = endpoints::parse_url("authorization server", issuer)?;
    for url in as_metadata_urls(&base) {
        let Some(doc) = endpoints::get_json(client, "authorization-server metadata", &url).await?
        else {
            continue;
        };
        let meta: AsMetadata = serde_json::from_value(doc).map_err(|e| {
            OAuthError::Discovery(format!("{} is not usable metadata: {e}", show(&url)))
        })?;
        // No normalisation at all (trailing slash, case, default port): a look-alike issuer
        // is how a mix-up attack starts.
        if meta.issuer != issuer {
            return Err(OAuthError::Discovery(format!(
                "{} names issuer {:?}, not {issuer:?}; refusing it (RFC 8414 §3.3: the issuer must match exactly). Ask the server's operator to make the protected-resource metadata and the authorization server agree",
                show(&url),
                meta.issuer,
            )));
        }
        return Ok(Some(meta));
    }
    Ok(None)
}

/// RFC 8414 with path insertion, then OpenID discovery with path insertion, then OpenID
/// discovery with path appending (MCP 2025-11-25 "Authorization Server Metadata Discovery").
fn as_metadata_urls(issuer: &Url) -> Vec<Url> {
    let mut urls = well_known(issuer, "oauth-authorization-server", true);
    urls.extend(well_known(issuer, "openid-configuration", true));
    let path = issuer.path().trim_end_matches('/');
    if !path.is_empty() {
        let mut u = issuer.clone();
        u.set_path(&format!("{path}/.well-known/openid-configuration"));
        u.set_query(None);
        urls.push(u);
    }
    urls
}

/// `/.well-known/NAME/<path>`, then (for resource metadata, or when there is no path)
/// `/.well-known/NAME` at the root.
fn well_known(base: &Url, name: &str, path_only: bool) -> Vec<Url> {
    let path = base.path().trim_end_matches('/');
    let at = |p: &str| {
        let mut u = base.clone();
        u.set_path(p);
        u.set_query(None);
        u.set_fragment(None);
        u
    };
    let mut urls = Vec::new();
    if !path.is_empty() {
        urls.push(at(&format!("/.well-known/{name}{path}")));
    }
    if path.is_empty() || !path_only {
        urls.push(at(&format!("/.well-known/{name}")));
    }
    urls
}

/// A JSON array of strings (anything else is ignored).
pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
