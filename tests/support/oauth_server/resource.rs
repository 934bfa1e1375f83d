//! The protected MCP resource: a 401 Bearer challenge (with `resource_metadata` unless
//! configured otherwise) for a missing, expired or rejected token; JSON replies to
//! initialize, tools/list and tools/call; a 403 `insufficient_scope` when `whoami` needs a
//! scope the token lacks. A DPoP-bound token must come with the `DPoP` scheme and a valid
//! proof of its key (and, with `dpop_nonce`, the resource's latest nonce).

use super::dpop::{self, Side};
use super::{Shared, oauth_error};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// The protected MCP endpoint: JSON replies to initialize, tools/list and tools/call.
pub(super) async fn mcp(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    // An API-key server instead: `X-Api-Key` must match, and a miss is a 401 with no
    // Bearer challenge (nothing for OAuth to act on).
    if let Some(key) = s.cfg.api_key {
        if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(key) {
            s.bump("mcp_401");
            return (StatusCode::UNAUTHORIZED, "bad api key").into_response();
        }
        return answer(&s, &body, "");
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, token) = auth.split_once(' ').unwrap_or(("", ""));
    let found = {
        let store = s.store.lock().unwrap();
        store
            .access
            .get(token)
            .filter(|a| a.expires > Instant::now() && !s.cfg.reject_tokens)
            .map(|a| (a.scope.clone(), a.jkt.clone()))
    };
    let scope = match found {
        Some((scope, None)) if scheme == "Bearer" => Some(scope),
        Some((scope, Some(jkt))) if scheme == "DPoP" => {
            let url = format!("{}/mcp", s.base);
            match dpop::verify(&s, &headers, "POST", &url, Some(token)) {
                Ok(proof) if proof.jkt == jkt && !dpop::nonce_ok(&s, Side::Rs, &proof) => {
                    s.bump("dpop_rs_nonce");
                    let mut resp = oauth_error(StatusCode::UNAUTHORIZED, "use_dpop_nonce", "nonce");
                    let challenge = r#"DPoP error="use_dpop_nonce", algs="ES256""#;
                    resp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                    dpop::next_nonce(&s, Side::Rs, resp.headers_mut());
                    return resp;
                }
                Ok(proof) if proof.jkt == jkt => Some(scope),
                Ok(_) => None,
                Err(e) => {
                    eprintln!("test resource: bad DPoP proof: {e}");
                    None
                }
            }
        }
        _ => None,
    };
    let Some(scope) = scope else {
        s.bump("mcp_401");
        let scheme = if s.cfg.dpop { "DPoP" } else { "Bearer" };
        let mut challenge = format!(
            r#"{scheme} error="invalid_token", error_description="Authentication required""#
        );
        if s.cfg.prm_in_challenge {
            challenge.push_str(&format!(
                r#", resource_metadata="{}/.well-known/oauth-protected-resource/mcp""#,
                s.base
            ));
        }
        let mut resp = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Authentication required",
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge).unwrap(),
        );
        return resp;
    };
    let mut resp = answer(&s, &body, &scope);
    if s.cfg.dpop {
        dpop::next_nonce(&s, Side::Rs, resp.headers_mut());
    }
    resp
}

/// The JSON-RPC reply for a request the token (with `scope`) may make.
fn answer(s: &Shared, body: &[u8], scope: &str) -> Response {
    let msg: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str().unwrap_or("") {
        "initialize" => json!({
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "oauth-test", "version": "0"},
        }),
        "tools/list" => json!({"tools": [{"name": "whoami", "inputSchema": {"type": "object"}}]}),
        "tools/call" => {
            if let Some(needed) = s.cfg.whoami_scope
                && !scope.split_whitespace().any(|x| x == needed)
            {
                s.bump("mcp_403");
                let mut resp = oauth_error(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "more scope needed",
                );
                let challenge =
                    format!(r#"Bearer error="insufficient_scope", scope="{scope} {needed}""#);
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_str(challenge.trim()).unwrap(),
                );
                return resp;
            }
            json!({"content": [{"type": "text", "text": format!("scopes: {scope}")}]})
        }
        _ => json!({}),
    };
    s.bump("mcp_ok");
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}
