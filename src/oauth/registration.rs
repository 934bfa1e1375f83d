//! Which client the bridge signs in as, in the order MCP 2025-11-25 gives: a client
//! registered beforehand (`--client-id`, `--client-secret REF` or `--client-key REF`), else a Client ID Metadata
//! Document (`--client-metadata-url`) when the server supports them, else RFC 7591 dynamic
//! registration as a public native client (kept in the keychain, keyed by issuer). A server
//! that refuses the requested `scope` in the registration (strict IdPs accept only their own
//! scopes there, not a resource's) gets the same request once more without it.

use super::assertion;
use super::discovery::Discovered;
use super::jws::SigningKey;
use super::tokens::{Client, Stored};
use super::{OAuthError, OAuthOptions, endpoints};
use crate::credentials::reference::SecretRef;
use crate::credentials::sources;
use crate::secret::Secret;
use serde_json::json;
use std::sync::Arc;

/// A client identity ready for the authorization and token endpoints.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// `client_id`.
    pub id: String,
    /// The secret of a confidential client.
    pub secret: Option<Secret>,
    /// Whether it goes in the Basic header (else in the form).
    pub basic: bool,
    /// The private key of a `private_key_jwt` client, when the server takes that (it is
    /// then used instead of any secret).
    pub key: Option<Arc<SigningKey>>,
}

impl ClientAuth {
    /// From a stored registration.
    pub fn from_stored(client: &Client, disc: &Discovered) -> Self {
        ClientAuth {
            id: client.client_id.clone(),
            secret: client.client_secret.clone().map(Secret::new),
            basic: prefers_basic(disc),
            key: None,
        }
    }

    /// No client authentication at all: the jwt-bearer grant of a workload without
    /// `--client-id` (RFC 7523 §3.1 makes it optional); no `client_id` is sent.
    pub fn anonymous() -> Self {
        ClientAuth {
            id: String::new(),
            secret: None,
            basic: false,
            key: None,
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
    let key = match &opts.client_key {
        Some(r) => key_for(r, disc, secret.is_some()).await?,
        None => None,
    };
    Ok(Some(ClientAuth {
        id: id.clone(),
        secret,
        basic: prefers_basic(disc),
        key,
    }))
}

/// The `--client-key` key, when `disc`'s authorization server takes `private_key_jwt`.
async fn key_for(
    reference: &SecretRef,
    disc: &Discovered,
    has_secret: bool,
) -> Result<Option<Arc<SigningKey>>, OAuthError> {
    let key = assertion::load_key(reference).await?;
    Ok(assertion::use_key(&disc.meta, &key, has_secret)?.then(|| Arc::new(key)))
}

/// Records the `--client-id` client in `stored` (its secret only as the reference given),
/// so that its tokens can be refreshed and revoked later without the options.
pub fn remember_preregistered(opts: &OAuthOptions, disc: &Discovered, stored: &mut Stored) {
    if let Some(id) = &opts.client_id {
        stored.clients.insert(
            disc.issuer().to_string(),
            Client {
                client_id: id.clone(),
                client_secret: None,
                redirect_uri: None,
                kind: PREREGISTERED.into(),
                secret_ref: opts.client_secret.as_ref().map(ToString::to_string),
                key_ref: opts.client_key.as_ref().map(ToString::to_string),
                device_grant: false,
            },
        );
    }
}

/// `Client::kind` of a `--client-id` client.
pub const PREREGISTERED: &str = "pre-registered";

/// A stored client ready for the token endpoint; a pre-registered one's secret is read from
/// its reference.
pub async fn stored_auth(client: &Client, disc: &Discovered) -> Result<ClientAuth, OAuthError> {
    let mut auth = ClientAuth::from_stored(client, disc);
    if let Some(r) = &client.secret_ref {
        let r = SecretRef::parse(r).map_err(|e| OAuthError::Registration {
            issuer: disc.issuer().to_string(),
            why: format!("the stored client secret reference is unusable: {e}"),
        })?;
        auth.secret = Some(sources::read(&r).await?);
    }
    if let Some(r) = &client.key_ref {
        let r = SecretRef::parse(r).map_err(|e| OAuthError::Registration {
            issuer: disc.issuer().to_string(),
            why: format!("the stored client key reference is unusable: {e}"),
        })?;
        auth.key = key_for(&r, disc, auth.secret.is_some()).await?;
    }
    Ok(auth)
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
        secret_ref: None,
        key_ref: None,
        device_grant: false,
    })
}

/// The RFC 8628 grant type.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 7591 dynamic registration of a public native client for `redirect_uri` (and for the
/// device grant too when the server offers it, so that one client serves both sign-ins).
pub async fn register(
    client: &reqwest::Client,
    disc: &Discovered,
    redirect_uri: &str,
    scope: Option<&str>,
) -> Result<Client, OAuthError> {
    let device = disc.meta.device_authorization_endpoint.is_some();
    let mut grants = vec!["authorization_code", "refresh_token"];
    if device {
        grants.push(DEVICE_GRANT);
    }
    let body = json!({
        "client_name": "mcp-keybridge",
        "redirect_uris": [redirect_uri],
        "grant_types": grants,
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        // A desktop/CLI client (SEP-837); loopback redirects are what native clients use.
        "application_type": "native",
    });
    let mut c = register_with(client, disc, body, scope).await?;
    c.redirect_uri = Some(redirect_uri.to_string());
    c.device_grant = device;
    Ok(c)
}

/// RFC 7591 registration of a public native client for the device grant only: no redirect
/// URI, since no browser comes back to this machine.
pub async fn register_device(
    client: &reqwest::Client,
    disc: &Discovered,
    scope: Option<&str>,
) -> Result<Client, OAuthError> {
    let body = json!({
        "client_name": "mcp-keybridge",
        "grant_types": [DEVICE_GRANT, "refresh_token"],
        "response_types": [],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    });
    let mut c = register_with(client, disc, body, scope).await?;
    c.device_grant = true;
    Ok(c)
}

/// Sends a registration `body` (with `scope`, once more without it if refused).
async fn register_with(
    client: &reqwest::Client,
    disc: &Discovered,
    mut body: serde_json::Value,
    scope: Option<&str>,
) -> Result<Client, OAuthError> {
    let fail = |why: String| OAuthError::Registration {
        issuer: disc.issuer().to_string(),
        why,
    };
    let Some(endpoint) = disc.meta.registration_endpoint.as_deref() else {
        return Err(fail(format!(
            "it offers no dynamic client registration; {PREREGISTER}"
        )));
    };
    let endpoint = endpoints::parse_url("registration endpoint", endpoint)?;
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let mut reply = endpoints::post_json(client, "registration endpoint", &endpoint, &body).await;
    if scope.is_some()
        && let Err(e) = &reply
        && refused_metadata(e)
    {
        tracing::info!(
            "{} refused the registration with a scope ({e}); registering without one (the scopes are asked for at sign-in)",
            disc.issuer()
        );
        body.as_object_mut().map(|b| b.remove("scope"));
        reply = endpoints::post_json(client, "registration endpoint", &endpoint, &body).await;
    }
    let reply = match reply {
        Ok(r) => r,
        // A guessed 2025-03-26 endpoint that does not answer as a registration endpoint
        // (a 404 page, or the resource's own 401): not an OAuth server.
        Err(e)
            if disc.guessed
                && !refused_metadata(&e)
                && !matches!(&e, OAuthError::Token { error, .. } if error == "invalid_redirect_uri") =>
        {
            tracing::info!("no OAuth registration endpoint at the default path either: {e}");
            return Err(OAuthError::NotOAuth);
        }
        Err(e) => return Err(fail(refusal(&e, &body))),
    };
    let id = reply["client_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail("the registration reply has no client_id".into()))?;
    tracing::info!("registered with {} as a new client", disc.issuer());
    Ok(Client {
        client_id: id.to_string(),
        client_secret: reply["client_secret"].as_str().map(str::to_string),
        redirect_uri: None,
        kind: "dynamic".into(),
        secret_ref: None,
        key_ref: None,
        device_grant: false,
    })
}

/// The way out when dynamic registration cannot work.
const PREREGISTER: &str = "register a client with its operator (a public client with redirect URI http://127.0.0.1:PORT/callback; pass --callback-port PORT when it must be one fixed port) and pass --client-id ID (and --client-secret REF if it has one)";

/// RFC 7591 §3.2.2 errors about the metadata sent (not the server being down).
fn refused_metadata(e: &OAuthError) -> bool {
    matches!(e, OAuthError::Token { error, .. }
        if error == "invalid_client_metadata" || error == "invalid_scope")
}

/// Why the registration failed, naming the refused field when the server's description
/// names one of those sent, and the fix.
fn refusal(e: &OAuthError, body: &serde_json::Value) -> String {
    let OAuthError::Token { error, description } = e else {
        return e.to_string();
    };
    let text = description.as_deref().unwrap_or("");
    let field = body
        .as_object()
        .and_then(|b| b.keys().find(|k| text.contains(k.as_str())).cloned());
    let field = match field {
        Some(f) => format!(" The refused field is `{f}`."),
        None => String::new(),
    };
    let desc = if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    };
    format!("it refused the registration: {error}{desc}.{field} To sign in anyway, {PREREGISTER}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_field_and_the_fix() {
        let body = json!({"redirect_uris": ["http://127.0.0.1:1/callback"], "scope": "mcp:tools"});
        let e = OAuthError::Token {
            error: "invalid_client_metadata".into(),
            description: Some(
                "scope must only contain Authorization Server supported scope values".into(),
            ),
        };
        let why = refusal(&e, &body);
        assert!(why.contains("The refused field is `scope`"), "{why}");
        assert!(why.contains("--client-id"), "{why}");
        assert!(!why.contains("login"), "{why}");
        assert!(refused_metadata(&e));
        let e = OAuthError::Token {
            error: "invalid_redirect_uri".into(),
            description: Some("redirect_uris must use https".into()),
        };
        assert!(refusal(&e, &body).contains("`redirect_uris`"));
        assert!(!refused_metadata(&e), "no retry without scope for that");
    }
}
