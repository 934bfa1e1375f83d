//! The interactive sign-in: pick or register the client, listen on the loopback callback,
//! send the browser to the authorization endpoint with PKCE S256, `state` and `resource`,
//! wait for the code, and exchange it. `offline_access` is added to the scopes only when the
//! authorization server lists it (SEP-2207): many providers issue refresh tokens for it
//! alone, and asking a server that does not know it is an error.

use super::OAuthError;
use super::OAuthOptions;
use super::browser;
use super::callback::{self, Callback, Expect};
use super::discovery::Discovered;
use super::grant::TokenRequest;
use super::pkce::{self, Pkce};
use super::registration::{self, ClientAuth};
use super::tokens::{Stored, Tokens};
use reqwest::Client;
use url::Url;

/// Signs a person in: with the device grant when `--device` asks for it, or when no browser
/// can be opened here and the authorization server offers it; else through the browser.
/// `server` is the MCP server's canonical URL, for the advice of a failed device sign-in.
pub async fn interactive(
    http: &Client,
    disc: &Discovered,
    opts: &OAuthOptions,
    stored: &mut Stored,
    scopes: &[String],
    server: &str,
    dpop: Option<super::dpop::Prover<'_>>,
) -> Result<Tokens, OAuthError> {
    if super::device::chosen(opts, disc) {
        let scopes = &with_offline_access(disc, scopes)[..];
        super::device::sign_in(http, disc, opts, stored, scopes, server, dpop).await
    } else {
        authorization_code(http, disc, opts, stored, scopes, dpop).await
    }
}

/// `scopes`, plus `offline_access` when the server lists it.
fn with_offline_access(disc: &Discovered, scopes: &[String]) -> Vec<String> {
    let mut scopes = scopes.to_vec();
    if disc.meta.offers_offline_access() && !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".into());
    }
    scopes
}

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
    let scopes = &with_offline_access(disc, scopes)[..];
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
/// A dynamically registered client keeps its redirect URI: servers match it exactly, port
/// included, so its port is reused. It is registered again when `--callback-port` or
/// `--callback-host` asks for another redirect URI, or (without `--callback-port`) when its
/// port is taken; a fixed port that is taken is an error, since no other port would do.
async fn client_and_callback(
    http: &Client,
    disc: &Discovered,
    opts: &OAuthOptions,
    stored: &mut Stored,
    scopes: &[String],
) -> Result<(ClientAuth, Callback), OAuthError> {
    let host = opts.callback_host;
    let bind = |port: u16| async move {
        Callback::bind_on(host, port).await.map_err(|e| {
            let fixed = match opts.callback_port {
                Some(p) => format!(
                    " (--callback-port {p}); stop what listens there or pass another --callback-port (a pre-registered client needs that redirect URI registered too)"
                ),
                None => String::new(),
            };
            OAuthError::Authorize(format!(
                "cannot listen on {}:{port} for the callback: {e}{fixed}",
                host.uri_host()
            ))
        })
    };
    let wanted_port = opts.callback_port.unwrap_or(0);
    if let Some(client) = registration::preregistered(opts, disc).await? {
        registration::remember_preregistered(opts, disc, stored);
        return Ok((client, bind(wanted_port).await?));
    }
    if let Some(client) = registration::metadata_document(opts, disc) {
        return Ok((
            ClientAuth::from_stored(&client, disc),
            bind(wanted_port).await?,
        ));
    }
    // A pre-registered client is used only when --client-id names it again.
    if let Some(client) = stored
        .clients
        .get(disc.issuer())
        .filter(|c| c.kind != registration::PREREGISTERED)
    {
        let registered = client.redirect_uri.as_deref().unwrap_or("");
        let port = Url::parse(registered).ok().and_then(|u| u.port());
        match (opts.callback_port, port) {
            (Some(p), _) if registered == callback::redirect_uri(host, p) => {
                return Ok((ClientAuth::from_stored(client, disc), bind(p).await?));
            }
            (None, Some(p)) if registered == callback::redirect_uri(host, p) => {
                if let Ok(cb) = Callback::bind_on(host, p).await {
                    return Ok((ClientAuth::from_stored(client, disc), cb));
                }
                tracing::info!("the registered callback port {p} is taken; registering again");
            }
            _ if registered.is_empty() => {
                tracing::info!("the registered client has no redirect URI; registering again")
            }
            _ => tracing::info!(
                "the client is registered for {registered}, not for the requested callback; registering again"
            ),
        }
    }
    let cb = bind(wanted_port).await?;
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
