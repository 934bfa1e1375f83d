//! The test authorization server's browser-facing side: dynamic client registration (a
//! public native client with loopback redirects; optionally refusing `scope`, as strict
//! IdPs do) and the authorization endpoint (exact redirect matching, PKCE S256 required,
//! `iss` in the response), which records each request's scope and prompt.

use super::{Client, Code, Shared, oauth_error};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) async fn register(
    State(s): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    s.store.lock().unwrap().registrations.push(body.clone());
    let ok_uri = |u: &String| {
        ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
            .iter()
            .any(|p| u.starts_with(p))
            && u.ends_with("/callback")
    };
    // A device-grant-only client needs no redirect URI (RFC 8628 clients get none back).
    let device_only = uris.is_empty()
        && body["grant_types"].as_array().is_some_and(|g| {
            g.iter()
                .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code")
        })
        && body["grant_types"]
            .as_array()
            .is_some_and(|g| !g.iter().any(|g| g == "authorization_code"));
    if !device_only && (uris.is_empty() || !uris.iter().all(ok_uri)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "loopback /callback only",
        );
    }
    if s.cfg.refuse_registration_scope && body.get("scope").is_some() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "scope must only contain Authorization Server supported scope values",
        );
    }
    if body["token_endpoint_auth_method"] != "none" || body["application_type"] != "native" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "expected a public native client",
        );
    }
    let id = s.next("client");
    s.bump("register");
    s.store.lock().unwrap().clients.insert(
        id.clone(),
        Client {
            redirect_uris: uris.clone(),
            secret: None,
            issuer: s.issuer(),
        },
    );
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"client_id": id, "redirect_uris": uris, "token_endpoint_auth_method": "none"}),
        ),
    )
        .into_response()
}

pub(super) async fn authorize(
    State(s): State<Arc<Shared>>,
    uri: axum::http::Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    s.bump("authorize");
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    s.store
        .lock()
        .unwrap()
        .authorize_params
        .push(format!("{}|{}", get("scope"), get("prompt")));
    // Only the current issuer's endpoint signs in.
    let issuer = s.issuer();
    let issuer_path = issuer.strip_prefix(&s.base).unwrap_or("");
    if uri.path() != format!("{issuer_path}/authorize") {
        return (StatusCode::BAD_REQUEST, "not this issuer's endpoint").into_response();
    }
    let client = s.client(&get("client_id"), Some(&get("redirect_uri")));
    // Unknown client or unregistered redirect URI: a plain 400, never a redirect.
    let Some(client) = client else {
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    };
    let redirect = get("redirect_uri");
    if !client.redirect_uris.contains(&redirect) {
        return (StatusCode::BAD_REQUEST, "redirect_uri not registered").into_response();
    }
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").len() != 43
        || get("state").is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            "PKCE S256, state and response_type=code are required",
        )
            .into_response();
    }
    s.store
        .lock()
        .unwrap()
        .resources
        .push(q.get("resource").cloned());
    let code = s.next("code");
    s.store.lock().unwrap().codes.insert(
        code.clone(),
        Code {
            client_id: get("client_id"),
            challenge: get("code_challenge"),
            redirect_uri: redirect.clone(),
            scope: get("scope"),
            resource: q.get("resource").cloned(),
            consent: get("prompt").split_whitespace().any(|p| p == "consent"),
        },
    );
    let mut target = url::Url::parse(&redirect).unwrap();
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    if s.cfg.iss_param {
        let slash = if s.cfg.iss_slash { "/" } else { "" };
        let iss = format!("{}{slash}", s.issuer());
        target.query_pairs_mut().append_pair("iss", &iss);
    }
    let mut resp = StatusCode::FOUND.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(target.as_str()).unwrap(),
    );
    resp
}
