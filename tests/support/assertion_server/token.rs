//! The assertion server's token, revocation and IdP token-exchange endpoints, and the
//! verification of `private_key_jwt` client assertions.

use super::Shared;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How a request authenticated its client.
#[derive(Debug, PartialEq)]
enum Auth {
    /// A verified `private_key_jwt` assertion of this client.
    Key(String),
    /// Basic with the right secret.
    Secret(String),
    /// Only a `client_id` in the form.
    Public(String),
    /// Nothing at all.
    Anonymous,
}

impl Auth {
    fn confidential(&self) -> Option<&str> {
        match self {
            Auth::Key(id) | Auth::Secret(id) => Some(id),
            _ => None,
        }
    }
}

fn parse(body: &Bytes) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Verifies the client authentication of a request; `Err` is the refusal's reason.
fn authenticate(
    s: &Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Auth, String> {
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err("bad client_assertion_type".into());
        }
        let (id, public) = s.cfg.key_client.clone().ok_or("no key client")?;
        let parts: Vec<&str> = assertion.split('.').collect();
        if parts.len() != 3 {
            return Err("assertion is not a JWS".into());
        }
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(parts[0])
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if header["alg"] != "ES256" {
            return Err(format!("alg {}", header["alg"]));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(parts[2])
            .map_err(|e| e.to_string())?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .map_err(|_| "assertion signature does not verify".to_string())?;
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(parts[1])
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if claims["iss"] != id || claims["sub"] != id {
            return Err(format!("iss/sub {} {}", claims["iss"], claims["sub"]));
        }
        if form.get("client_id").is_some_and(|c| c != id) {
            return Err("client_id differs from the assertion".into());
        }
        if claims["aud"] != s.base {
            return Err(format!("aud {} is not the issuer", claims["aud"]));
        }
        let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
        match (iat, exp) {
            (Some(iat), Some(exp)) if exp > now() && exp >= iat && exp - iat <= 300 => {}
            _ => return Err(format!("iat/exp {iat:?} {exp:?}")),
        }
        let jti = claims["jti"].as_str().ok_or("no jti")?.to_string();
        let mut store = s.store.lock().unwrap();
        if store.jtis.contains(&jti) {
            return Err("jti replayed".into());
        }
        store.jtis.push(jti);
        *store.counts.entry("assertion_ok".into()).or_default() += 1;
        return Ok(Auth::Key(id.to_string()));
    }
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let raw = STANDARD
            .decode(basic.strip_prefix("Basic ").ok_or("not Basic")?)
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8(raw).map_err(|e| e.to_string())?;
        let (id, secret) = text.split_once(':').ok_or("no colon")?;
        return match s.cfg.secret_client {
            Some((i, sec)) if i == id && sec == secret => Ok(Auth::Secret(id.into())),
            _ => Err("bad client secret".into()),
        };
    }
    if form.contains_key("client_secret") {
        return Err("client_secret in the form".into());
    }
    Ok(form
        .get("client_id")
        .map(|id| Auth::Public(id.clone()))
        .unwrap_or(Auth::Anonymous))
}

pub(super) async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse(&body);
    s.store
        .lock()
        .unwrap()
        .forms
        .push(("/token".into(), form.clone()));
    let auth = match authenticate(&s, &headers, &form) {
        Ok(a) => a,
        Err(why) => return s.refuse(StatusCode::UNAUTHORIZED, "invalid_client", &why),
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let grant = get("grant_type");
    s.bump(if grant == JWT_BEARER {
        "jwt-bearer"
    } else {
        &grant
    });
    let mut refresh = false;
    match grant.as_str() {
        "client_credentials" if auth.confidential().is_some() => {}
        "authorization_code" if auth.confidential().is_some() => {
            let challenge = s.store.lock().unwrap().codes.remove(&get("code"));
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if challenge != Some(computed) {
                return s.refuse(StatusCode::BAD_REQUEST, "invalid_grant", "code or PKCE");
            }
            refresh = true;
        }
        "refresh_token" if auth.confidential().is_some() => {
            let owner = s
                .store
                .lock()
                .unwrap()
                .refresh
                .remove(&get("refresh_token"));
            if owner.as_deref() != auth.confidential() {
                return s.refuse(StatusCode::BAD_REQUEST, "invalid_grant", "refresh token");
            }
            refresh = true;
        }
        JWT_BEARER => {
            let assertion = get("assertion");
            let store = s.store.lock().unwrap();
            let workload = store.workload_tokens.contains(&assertion);
            let jag_client = store.jags.get(&assertion).cloned();
            drop(store);
            let ok =
                workload || jag_client.is_some_and(|c| auth.confidential() == Some(c.as_str()));
            if !ok {
                return s.refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown assertion",
                );
            }
        }
        _ => {
            return s.refuse(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                &format!("{grant} as {auth:?}"),
            );
        }
    }
    let access = s.next("at");
    let mut reply = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600});
    let mut store = s.store.lock().unwrap();
    store.access.push(access);
    if refresh {
        let rt = s.next("rt");
        let owner = auth.confidential().unwrap_or_default().to_string();
        store.refresh.insert(rt.clone(), owner);
        reply["refresh_token"] = json!(rt);
    }
    axum::Json(reply).into_response()
}

/// RFC 7009, for confidential clients only.
pub(super) async fn revoke(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse(&body);
    s.store
        .lock()
        .unwrap()
        .forms
        .push(("/revoke".into(), form.clone()));
    match authenticate(&s, &headers, &form) {
        Ok(a) if a.confidential().is_some() => {}
        Ok(a) => {
            return s.refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                &format!("{a:?}"),
            );
        }
        Err(why) => return s.refuse(StatusCode::UNAUTHORIZED, "invalid_client", &why),
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let mut store = s.store.lock().unwrap();
    store.access.retain(|t| *t != token);
    store.refresh.remove(&token);
    store.revoked.push(token);
    StatusCode::OK.into_response()
}

/// The enterprise IdP: RFC 8693 exchange of the expected ID token for an ID-JAG naming the
/// secret client (the MCP client the IdP knows), for this issuer and resource only.
pub(super) async fn idp_token(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = parse(&body);
    s.store
        .lock()
        .unwrap()
        .forms
        .push(("/idp/token".into(), form.clone()));
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let Some((idp_client, id_token)) = s.cfg.idp.clone() else {
        return s.refuse(StatusCode::NOT_FOUND, "invalid_request", "no IdP");
    };
    let expected = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange".to_string(),
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id-jag".into(),
        ),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token".into(),
        ),
        ("subject_token", id_token),
        ("audience", s.base.clone()),
        ("resource", format!("{}/mcp", s.base)),
        ("client_id", idp_client.to_string()),
    ];
    for (k, v) in expected {
        if get(k) != v {
            return s.refuse(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                &format!("{k} is wrong"),
            );
        }
    }
    s.bump("exchange");
    let jag = s.next("jag");
    let client = s.cfg.secret_client.map(|c| c.0).unwrap_or_default();
    s.store
        .lock()
        .unwrap()
        .jags
        .insert(jag.clone(), client.to_string());
    axum::Json(json!({
        "access_token": jag,
        "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "token_type": "N_A",
    }))
    .into_response()
}
