//! Which client the bridge signs in as, in the order MCP 2025-11-25 gives: a client
//! registered beforehand (`--client-id`, `--client-secret REF`), else a Client ID Metadata
//! Document (`--client-metadata-url`) when the server supports them, else RFC 7591 dynamic
//! registration as a public native client (kept in the keychain, keyed by issuer).

use super::discovery::Discovered;
use super::tokens::Client;
use super::{OAuthError, OAuthOptions, http};
use crate::credentials::sources;
use crate::secret::Secret;
use serde_json::json;

/// A client identity ready for the authorization and token endpoints.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// `client_id`.
    pub id: String,
    /// The secret of a confidential client.
    pub secret: Option<Secret>,
    /// Whether it goes in the Basic header (else in the form).
    pub basic: bool,
}

impl ClientAuth {
    /// From a stored registration.
    pub fn from_stored(client: &Client, disc: &Discovered) -> Self {
        ClientAuth {
            id: client.client_id.clone(),
            secret: client.client_secret.clone().map(Secret::new),
            basic: prefers_basic(disc),
        }
    }
}

/// The pre-registered client of `--client-id` (with its `--client-secret`), if given.
pub async fn preregistered(
    opts: &OAuthOptions,
    disc: &Discovered,
) -> Result<Option<ClientAuth>, OAuthError> {
    let Some(id) = &opts.client_id else {
        return Ok(None);
    };
    let secret = match &opts.client_secret {
        Some(r) => Some(sources::read(r).await?),
        None => None,
    };
    Ok(Some(ClientAuth {
        id: id.clone(),
        secret,
        basic: prefers_basic(disc),
    }))
}

/// The Client ID Metadata Document URL as the client id, when the server accepts those.
pub fn metadata_document(opts: &OAuthOptions, disc: &Discovered) -> Option<Client> {
    let url = opts.client_metadata_url.as_ref()?;
    if !disc.meta.client_id_metadata_document_supported {
        tracing::warn!(
            "{} does not accept Client ID Metadata Documents; registering dynamically instead",
            disc.issuer()
        );
        return None;
    }
    Some(Client {
        client_id: url.to_string(),
        client_secret: None,
        redirect_uri: None,
        kind: "metadata-document".into(),
    })
}

/// RFC 7591 dynamic registration of a public native client for `redirect_uri`.
pub async fn register(
    client: &reqwest::Client,
    disc: &Discovered,
    redirect_uri: &str,
    scope: Option<&str>,
) -> Result<Client, OAuthError> {
    let fail = |why: String| OAuthError::Registration {
        issuer: disc.issuer().to_string(),
        why,
    };
    let Some(endpoint) = disc.meta.registration_endpoint.as_deref() else {
        return Err(fail(
            "it offers no dynamic client registration; register a client with its operator and pass --client-id (and --client-secret REF if it has one)".into(),
        ));
    };
    let endpoint = http::parse_url("registration endpoint", endpoint)?;
    let mut body = json!({
        "client_name": "mcp-keybridge",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let reply = http::post_json(client, "registration endpoint", &endpoint, &body)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let id = reply["client_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail("the registration reply has no client_id".into()))?;
    tracing::info!("registered with {} as a new client", disc.issuer());
    Ok(Client {
        client_id: id.to_string(),
        client_secret: reply["client_secret"].as_str().map(str::to_string),
        redirect_uri: Some(redirect_uri.to_string()),
        kind: "dynamic".into(),
    })
}

/// `client_secret_basic` unless the server lists only `client_secret_post` (RFC 8414's
/// default is basic).
fn prefers_basic(disc: &Discovered) -> bool {
    match &disc.meta.token_endpoint_auth_methods_supported {
        Some(methods) => {
            methods.iter().any(|m| m == "client_secret_basic")
                || !methods.iter().any(|m| m == "client_secret_post")
        }
        None => true,
    }
}
