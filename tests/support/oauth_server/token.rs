//! The test authorization server's token endpoint: client authentication, single-use codes
//! bound to client, redirect URI, PKCE verifier and resource, refresh-token rotation (only
//! for `offline_access`, and `prompt=consent`, when so configured), the client-credentials
//! grant for the configured service client, and RFC 7009 revocation. With `dpop`, a valid
//! proof (and nonce) binds the tokens to its key, and a bound refresh token needs that key.

use super::dpop::{self, Side};
use super::{Access, Shared, oauth_error};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The client a token request authenticates as: Basic, or `client_id` (+ secret) in the form.
fn authenticate(s: &Shared, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<String> {
    let (id, secret) = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(basic) => {
            let raw = STANDARD.decode(basic.strip_prefix("Basic ")?).ok()?;
            let text = String::from_utf8(raw).ok()?;
            let (id, secret) = text.split_once(':')?;
            (id.to_string(), Some(secret.to_string()))
        }
        None => (
            form.get("client_id")?.clone(),
            form.get("client_secret").cloned(),
        ),
    };
    let client = s.client(&id, None)?;
    (client.secret == secret).then_some(id)
}

pub(super) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let Some(client_id) = authenticate(&s, &headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or bad secret",
        );
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    // DPoP before the grant, so that a nonce round does not use up the code.
    let mut jkt = None;
    if s.cfg.dpop && headers.contains_key("dpop") {
        let url = s.token_url();
        let proof = match dpop::verify(&s, &headers, "POST", &url, None) {
            Ok(p) => p,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", &e),
        };
        if !dpop::nonce_ok(&s, Side::As, &proof) {
            s.bump("dpop_as_nonce");
            let mut resp = oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce", "nonce");
            dpop::next_nonce(&s, Side::As, resp.headers_mut());
            return resp;
        }
        jkt = Some(proof.jkt);
    }
    s.store
        .lock()
        .unwrap()
        .resources
        .push(form.get("resource").cloned());
    let mut issue_refresh = true;
    let scope = match get("grant_type").as_str() {
        "authorization_code" => {
            s.bump("code");
            // Single use: the code is gone whatever happens next.
            let Some(code) = s.store.lock().unwrap().codes.remove(&get("code")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            let verifier_ok = URL_SAFE_NO_PAD
                .encode(Sha256::digest(get("code_verifier").as_bytes()))
                == code.challenge;
            if code.client_id != client_id
                || code.redirect_uri != get("redirect_uri")
                || !verifier_ok
                || code.resource != form.get("resource").cloned()
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code binding or PKCE check failed",
                );
            }
            let offline = code.scope.split_whitespace().any(|x| x == "offline_access");
            issue_refresh = (!s.cfg.offline_access || offline)
                && (!s.cfg.offline_needs_consent || code.consent);
            code.scope
        }
        "refresh_token" => {
            s.bump("refresh");
            // A DPoP-bound refresh token is only good with a proof of its key.
            let bound = s
                .store
                .lock()
                .unwrap()
                .refresh_jkt
                .remove(&get("refresh_token"));
            if bound.is_some() && bound != jkt {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "DPoP-bound refresh token without a proof of its key",
                );
            }
            // Rotation: the presented refresh token dies now.
            match s
                .store
                .lock()
                .unwrap()
                .refresh
                .remove(&get("refresh_token"))
            {
                Some((owner, scope)) if owner == client_id => scope,
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "refresh token unknown, used or revoked",
                    );
                }
            }
        }
        "client_credentials" => {
            s.bump("client_credentials");
            if s.cfg.service_client.map(|c| c.0) != Some(client_id.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "not a service client",
                );
            }
            issue_refresh = false;
            get("scope")
        }
        "urn:ietf:params:oauth:grant-type:device_code" if s.cfg.device => {
            match super::device::token(&s, &client_id, &form) {
                Ok((scope, _)) => {
                    let offline = scope.split_whitespace().any(|x| x == "offline_access");
                    issue_refresh = !s.cfg.offline_access || offline;
                    scope
                }
                Err(error) => return oauth_error(StatusCode::BAD_REQUEST, error, "device grant"),
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "no"),
    };
    let access = s.next("at");
    let mut reply = json!({
        "access_token": access,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": s.cfg.access_ttl.as_secs(),
        "scope": scope,
    });
    let mut store = s.store.lock().unwrap();
    store.access.insert(
        access,
        Access {
            expires: Instant::now() + s.cfg.access_ttl,
            scope: scope.clone(),
            jkt: jkt.clone(),
        },
    );
    if issue_refresh {
        let refresh = s.next("rt");
        store.refresh.insert(refresh.clone(), (client_id, scope));
        if let Some(jkt) = &jkt {
            store.refresh_jkt.insert(refresh.clone(), jkt.clone());
        }
        reply["refresh_token"] = json!(refresh);
    }
    drop(store);
    if jkt.is_some() {
        s.bump("dpop_bound");
    }
    let mut resp = axum::Json(reply).into_response();
    if s.cfg.dpop {
        dpop::next_nonce(&s, Side::As, resp.headers_mut());
    }
    resp
}

/// RFC 7009: the client's own token dies, whichever kind it is; unknown tokens are fine.
pub(super) async fn revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if !s.cfg.revocation {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(client_id) = authenticate(&s, &headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    };
    let token = form.get("token").cloned().unwrap_or_default();
    let mut store = s.store.lock().unwrap();
    let owned = store
        .refresh
        .get(&token)
        .is_none_or(|(owner, _)| *owner == client_id);
    if owned {
        store.refresh.remove(&token);
        store.access.remove(&token);
        store.revoked.push(token);
    }
    StatusCode::OK.into_response()
}
