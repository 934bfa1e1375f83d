//! The HTTP calls sign-in makes to metadata, registration and token endpoints: https only
//! (http only on loopback), no redirects followed (a metadata or token endpoint has no
//! reason to send one elsewhere), bounded bodies, and OAuth error replies turned into
//! [`OAuthError::Token`].

use super::OAuthError;
use crate::config::is_loopback;
use crate::network::Network;
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Largest metadata or token response accepted.
const MAX_BODY: usize = 1 << 20;

/// A client for the OAuth endpoints (no credentials of the MCP server ever go through it),
/// with the same extra CAs and proxy as the bridge's own client: an authorization server
/// behind a corporate TLS-inspecting proxy needs them just as much.
pub fn client(connect_timeout: Duration, network: &Network) -> Result<Client, OAuthError> {
    let builder = Client::builder()
        .user_agent(concat!("mcp-keybridge/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none());
    network
        .apply(builder)
        .and_then(|b| b.build())
        .map_err(|e| OAuthError::Discovery(format!("cannot set up the HTTP client: {e}")))
}

/// Origin and path of `url` (never its query), for messages.
pub fn show(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// Refuses a URL that is not https, or http to a loopback host.
pub fn check_url(what: &str, url: &Url) -> Result<(), OAuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(OAuthError::Insecure {
            what: what.to_string(),
            url: show(url),
        }),
    }
}

/// Parses `text` as a URL and checks it with [`check_url`].
pub fn parse_url(what: &str, text: &str) -> Result<Url, OAuthError> {
    let url = Url::parse(text)
        .map_err(|e| OAuthError::Discovery(format!("{what} {text:?} is not a URL: {e}")))?;
    check_url(what, &url)?;
    Ok(url)
}

/// GETs a JSON document; `Ok(None)` when the server says it has none (404 and friends).
pub async fn get_json(client: &Client, what: &str, url: &Url) -> Result<Option<Value>, OAuthError> {
    check_url(what, url)?;
    let resp = send(
        client.get(url.clone()).header("accept", "application/json"),
        what,
        url,
    )
    .await?;
    let status = resp.status();
    if status.is_client_error() {
        return Ok(None);
    }
    let body = read(resp, what, url).await?;
    if !status.is_success() {
        return Err(OAuthError::Discovery(format!(
            "{what} {} answered HTTP {status}",
            show(url)
        )));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| OAuthError::Discovery(format!("{what} {} is not JSON: {e}", show(url))))
}

/// POSTs a form (token endpoint) and returns the JSON reply; an OAuth error reply becomes
/// [`OAuthError::Token`].
pub async fn post_form(
    client: &Client,
    url: &Url,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<Value, OAuthError> {
    check_url("token endpoint", url)?;
    let req = form_request(client, url, form, basic);
    reply(
        send(req, "token endpoint", url).await?,
        "token endpoint",
        url,
    )
    .await
}

/// [`post_form`] with a DPoP proof in the `DPoP` header; also returns the response's headers
/// (its `DPoP-Nonce`), whatever the reply.
pub async fn post_form_with(
    client: &Client,
    url: &Url,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
    proof: &crate::secret::Secret,
) -> Result<(reqwest::header::HeaderMap, Result<Value, OAuthError>), OAuthError> {
    check_url("token endpoint", url)?;
    let mut value = reqwest::header::HeaderValue::from_str(proof.expose())
        .map_err(|_| OAuthError::Dpop("the proof is not a header value".into()))?;
    value.set_sensitive(true);
    let req = form_request(client, url, form, basic).header("dpop", value);
    let resp = send(req, "token endpoint", url).await?;
    let headers = resp.headers().clone();
    Ok((headers, reply(resp, "token endpoint", url).await))
}

/// POSTs a form to an endpoint that answers with a status only (RFC 7009 revocation: 200
/// and an empty body); an OAuth error reply becomes [`OAuthError::Token`].
pub async fn post_form_status(
    client: &Client,
    what: &str,
    url: &Url,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<(), OAuthError> {
    check_url(what, url)?;
    let resp = send(form_request(client, url, form, basic), what, url).await?;
    if resp.status().is_success() {
        return Ok(());
    }
    reply(resp, what, url).await.map(|_| ())
}

/// POSTs JSON (dynamic registration) and returns the JSON reply.
pub async fn post_json(
    client: &Client,
    what: &str,
    url: &Url,
    body: &Value,
) -> Result<Value, OAuthError> {
    check_url(what, url)?;
    let req = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.to_string());
    reply(send(req, what, url).await?, what, url).await
}

/// A form POST with client authentication in the Basic header when `basic` is given.
fn form_request(
    client: &Client,
    url: &Url,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = client
        .post(url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body);
    if let Some((id, secret)) = basic {
        // RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        req = req.basic_auth(enc(id), Some(enc(secret)));
    }
    req
}

async fn send(req: RequestBuilder, what: &str, url: &Url) -> Result<Response, OAuthError> {
    req.send().await.map_err(|e| {
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        OAuthError::Discovery(format!("cannot reach {what} {}: {cause}", show(url)))
    })
}

async fn read(mut resp: Response, what: &str, url: &Url) -> Result<Vec<u8>, OAuthError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| OAuthError::Discovery(format!("{what} {}: {e}", show(url))))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OAuthError::Discovery(format!(
                "{what} {} sent more than 1 MiB",
                show(url)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A JSON reply; an `{"error": …}` body (any status) becomes [`OAuthError::Token`].
async fn reply(resp: Response, what: &str, url: &Url) -> Result<Value, OAuthError> {
    let status = resp.status();
    let body = read(resp, what, url).await?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    if let Some(error) = json.as_ref().and_then(|j| j["error"].as_str()) {
        return Err(OAuthError::Token {
            error: error.to_string(),
            description: json
                .as_ref()
                .and_then(|j| j["error_description"].as_str())
                .map(|d| d.chars().take(200).collect()),
        });
    }
    match json {
        Some(v) if status.is_success() => Ok(v),
        _ => Err(OAuthError::Discovery(format!(
            "{what} {} answered HTTP {status} without a usable JSON body",
            show(url)
        ))),
    }
}
