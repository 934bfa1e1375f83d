//! The interactive sign-in: pick or register the client, listen on the loopback callback,
//! send the browser to the authorization endpoint with PKCE S256, `state` and `resource`,
//! wait for the code, and exchange it. `offline_access` is added to the scopes only when the
//! authorization server lists it (SEP-2207): many providers issue refresh tokens for it
//! alone, and asking a server that does not know it is an error.

use super::OAuthError;
use super::OAuthOptions;
use super::browser;
use super::callback::{Callback, Expect};
use super::discovery::Discovered;
use super::grant::TokenRequest;
use super::pkce::{self, Pkce};
use super::registration::{self, ClientAuth};
use super::tokens::{Stored, Tokens};
use reqwest::Client;
use url::Url;

/// Signs in through the browser; registers a client first when needed (recorded in
/// `stored.clients`, which the caller saves with the tokens).
pub async fn authorization_code(
    http: &Client,
    disc: &Discovered,
    opts: &OAuthOptions,
    stored: &mut Stored,
    scopes: &[String],
    dpop: Option<super::dpop::Prover<'_>>,
) -> Result<Tokens, OAuthError> {
    pkce::require_s256(&disc.meta)?;
    let endpoint = disc.endpoint(
        "authorization endpoint",
        disc.meta.authorization_endpoint.as_deref(),
    )?;
    let mut scopes = scopes.to_vec();
    if disc.meta.offers_offline_access() && !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".into());
    }
    let scopes = &scopes[..];
    let (client, callback) = client_and_callback(http, disc, opts, stored, scopes).await?;
    let redirect_uri = callback.redirect_uri();
    let pkce = Pkce::new()?;
    let state = pkce::random_urlsafe(24)?;
    let url = authorize_url(
        endpoint,
        disc,
        opts,
        &client,
        &redirect_uri,
        &pkce,
        state.expose(),
        scopes,
    );
    browser::open(&url);
    let expect = Expect {
        state,
        issuer: disc.issuer().to_string(),
        iss_required: disc.meta.authorization_response_iss_parameter_supported,
    };
    let code = callback
        .wait(expect, opts.auth_timeout, opts.paste_callback)
        .await?;
    let request = TokenRequest {
        http,
        disc,
        client: &client,
        resource: !opts.no_resource_param,
        dpop,
    };
    let tokens = request
        .code(&code, &pkce.verifier, &redirect_uri, scopes)
        .await?;
    eprintln!("mcp-keybridge: signed in to {}", disc.issuer());
    if tokens.refresh_token.is_none() {
        tracing::info!(
            "{} issued no refresh token{}, so the next expiry{} needs the browser again",
            disc.issuer(),
            if disc.meta.offers_offline_access() {
                " although offline_access was asked for"
            } else {
                " (it does not list offline_access)"
            },
            tokens
                .expires_at
                .map(|e| format!(
                    " (in {} minutes)",
                    e.saturating_sub(super::tokens::now()) / 60
                ))
                .unwrap_or_default()
        );
    }
    Ok(tokens)
}

/// The client to sign in as, and a callback listener whose redirect URI that client may use.
async fn client_and_callback(
    http: &Client,
    disc: &Discovered,
    opts: &OAuthOptions,
    stored: &mut Stored,
    scopes: &[String],
) -> Result<(ClientAuth, Callback), OAuthError> {
    let bind = |port: u16| async move {
        Callback::bind(port).await.map_err(|e| {
            OAuthError::Authorize(format!("cannot listen on 127.0.0.1 for the callback: {e}"))
        })
    };
    if let Some(client) = registration::preregistered(opts, disc).await? {
        registration::remember_preregistered(opts, disc, stored);
        return Ok((client, bind(0).await?));
    }
    if let Some(client) = registration::metadata_document(opts, disc) {
        return Ok((ClientAuth::from_stored(&client, disc), bind(0).await?));
    }
    // Servers match redirect URIs exactly, port included: reuse the registered port, and
    // register again only when it is taken.
    // A pre-registered client is used only when --client-id names it again.
    if let Some(client) = stored
        .clients
        .get(disc.issuer())
        .filter(|c| c.kind != registration::PREREGISTERED)
    {
        let port = client
            .redirect_uri
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .and_then(|u| u.port());
        if let Some(port) = port
            && let Ok(cb) = Callback::bind(port).await
        {
            return Ok((ClientAuth::from_stored(client, disc), cb));
        }
        tracing::info!("the registered callback port is taken; registering again");
    }
    let cb = bind(0).await?;
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let client = registration::register(http, disc, &cb.redirect_uri(), scope.as_deref()).await?;
    let auth = ClientAuth::from_stored(&client, disc);
    stored.clients.insert(disc.issuer().to_string(), client);
    Ok((auth, cb))
}

/// The authorization request URL (the endpoint's own query parameters are kept).
#[allow(clippy::too_many_arguments)]
fn authorize_url(
    mut url: Url,
    disc: &Discovered,
    opts: &OAuthOptions,
    client: &ClientAuth,
    redirect_uri: &str,
    pkce: &Pkce,
    state: &str,
    scopes: &[String],
) -> Url {
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(" "));
        }
        // OpenID providers honour offline_access only with prompt=consent (OpenID Connect
        // Core §11: oidc-provider drops it otherwise, and so issues no refresh token).
        if scopes.iter().any(|s| s == "offline_access") && disc.meta.is_openid_provider() {
            q.append_pair("prompt", "consent");
        }
        if !opts.no_resource_param {
            q.append_pair("resource", &disc.resource);
        }
    }
    url
}
