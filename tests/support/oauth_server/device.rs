//! The test authorization server's RFC 8628 device authorization grant: the device
//! authorization endpoint (a device code, a user code, the verification URLs, an interval)
//! and the device-code branch of the token endpoint: `authorization_pending` until the test
//! approves or denies the user code (as a person would on another device), `slow_down` for
//! the first polls when so configured, `expired_token` once expired. It records when each
//! poll came, to check the interval.

use super::{Shared, oauth_error};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Where a device sign-in stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    Approved,
    Denied,
    Expired,
}

pub(super) struct DeviceGrant {
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub resource: Option<String>,
    pub state: DeviceState,
    /// When each poll for it came.
    pub polls: Vec<Instant>,
}

/// POST /device_authorization: a public client by `client_id` in the form.
pub(super) async fn authorization(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    if s.client(&client_id, None).is_none() {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    }
    s.bump("device_authorization");
    let device_code = s.next("dc");
    let n = s.serial.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let user_code = format!("CODE-{n:04}");
    s.store
        .lock()
        .unwrap()
        .resources
        .push(form.get("resource").cloned());
    s.store.lock().unwrap().device.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            client_id,
            scope: form.get("scope").cloned().unwrap_or_default(),
            resource: form.get("resource").cloned(),
            state: DeviceState::Pending,
            polls: Vec::new(),
        },
    );
    let verify = format!("{}/device", s.base);
    axum::Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verify,
        "verification_uri_complete": format!("{verify}?user_code={user_code}"),
        "expires_in": 600,
        "interval": s.cfg.device_interval,
    }))
    .into_response()
}

/// The device-code grant at the token endpoint: `Ok((scope, resource))` once approved,
/// else the OAuth error code to answer with.
pub(super) fn token(
    s: &Shared,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Result<(String, Option<String>), &'static str> {
    s.bump("device_poll");
    let code = form.get("device_code").cloned().unwrap_or_default();
    let mut store = s.store.lock().unwrap();
    let slow_downs = s.cfg.device_slow_downs;
    let Some(grant) = store.device.get_mut(&code) else {
        return Err("invalid_grant");
    };
    if grant.client_id != client_id {
        return Err("invalid_grant");
    }
    grant.polls.push(Instant::now());
    let err = Err;
    match grant.state {
        DeviceState::Pending if grant.polls.len() <= slow_downs => err("slow_down"),
        DeviceState::Pending => err("authorization_pending"),
        DeviceState::Denied => err("access_denied"),
        DeviceState::Expired => err("expired_token"),
        DeviceState::Approved => {
            let done = store.device.remove(&code).unwrap();
            if done.resource != form.get("resource").cloned() {
                return err("invalid_target");
            }
            Ok((done.scope, done.resource))
        }
    }
}
