//! A strict OAuth 2.1 authorization server and an OAuth-protected MCP resource in one axum
//! app, for the sign-in tests: PKCE S256 verified, codes single-use and bound to client,
//! redirect URI and resource, refresh tokens rotated (the old one dies), dynamic client
//! registration, and knobs for metadata shapes, revocation, missing S256, short-lived
//! tokens and a scope the `whoami` tool requires. It counts registrations, authorize
//! visits and token requests by grant.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The knobs.
mod resource;
mod token;

#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// List S256 in `code_challenge_methods_supported` (else only `plain`).
    pub s256: bool,
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Put `resource_metadata` in the 401 challenge (else clients must use the well-known URL).
    pub prm_in_challenge: bool,
    /// The issuer's path (`""` or e.g. `"/tenant"`), to exercise path-inserted discovery.
    pub issuer_path: &'static str,
    /// Advertise and send RFC 9207 `iss`.
    pub iss_param: bool,
    /// A confidential client for the client-credentials grant: `(id, secret)`.
    pub service_client: Option<(&'static str, &'static str)>,
    /// The scope `tools/call whoami` requires (else 403 insufficient_scope).
    pub whoami_scope: Option<&'static str>,
    /// `scopes_supported` of the protected resource.
    pub resource_scopes: Vec<&'static str>,
    /// The resource rejects every token (a misconfigured audience): clients must not loop.
    pub reject_tokens: bool,
    /// Advertise Client ID Metadata Documents: an https `client_id` is accepted as a public
    /// client with loopback redirects (the test does not fetch the document).
    pub cimd: bool,
    /// Not OAuth at all: `/mcp` wants this `X-Api-Key` (a 401 without challenge otherwise).
    pub api_key: Option<&'static str>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            s256: true,
            access_ttl: Duration::from_secs(3600),
            prm_in_challenge: true,
            issuer_path: "",
            iss_param: true,
            service_client: None,
            whoami_scope: None,
            resource_scopes: vec!["mcp:read"],
            reject_tokens: false,
            cimd: false,
            api_key: None,
        }
    }
}

#[derive(Clone)]
struct Client {
    redirect_uris: Vec<String>,
    secret: Option<String>,
}

struct Code {
    client_id: String,
    challenge: String,
    redirect_uri: String,
    scope: String,
    resource: Option<String>,
}

struct Access {
    expires: Instant,
    scope: String,
}

#[derive(Default)]
struct Store {
    clients: HashMap<String, Client>,
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    /// refresh token → (client id, scope)
    refresh: HashMap<String, (String, String)>,
    counts: HashMap<&'static str, u64>,
    /// `resource` values seen at /authorize and /token.
    resources: Vec<Option<String>>,
}

struct Shared {
    cfg: OAuthConfig,
    base: String,
    store: Mutex<Store>,
    serial: AtomicU64,
}

/// A running server; stopped when dropped.
pub struct OAuthServer {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OAuthServer {
    pub async fn start(cfg: OAuthConfig) -> OAuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            serial: AtomicU64::new(1),
            base,
            cfg: cfg.clone(),
        });
        if let Some((id, secret)) = cfg.service_client {
            shared.store.lock().unwrap().clients.insert(
                id.into(),
                Client {
                    redirect_uris: vec![],
                    secret: Some(secret.into()),
                },
            );
        }
        let ip = cfg.issuer_path;
        let app = Router::new()
            .route("/.well-known/oauth-protected-resource/mcp", get(prm))
            .route(
                &format!("/.well-known/oauth-authorization-server{ip}"),
                get(as_meta),
            )
            .route("/register", post(register))
            .route(&format!("{ip}/authorize"), get(authorize))
            .route("/token", post(token::token))
            .route("/mcp", post(resource::mcp))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        OAuthServer { shared, task }
    }

    /// The MCP endpoint.
    pub fn url(&self) -> String {
        format!("{}/mcp", self.shared.base)
    }

    /// How many times `what` happened: "register", "authorize", "code", "refresh",
    /// "client_credentials", "mcp_ok", "mcp_401", "mcp_403".
    pub fn count(&self, what: &str) -> u64 {
        let store = self.shared.store.lock().unwrap();
        store.counts.get(what).copied().unwrap_or(0)
    }

    /// Every refresh token dies (as when a user revokes the app).
    pub fn revoke_refresh_tokens(&self) {
        self.shared.store.lock().unwrap().refresh.clear();
    }

    /// Every access token dies (the next request gets a 401).
    pub fn expire_access_tokens(&self) {
        self.shared.store.lock().unwrap().access.clear();
    }

    /// The `resource` values sent at /authorize and /token, in order.
    pub fn resources(&self) -> Vec<Option<String>> {
        self.shared.store.lock().unwrap().resources.clone()
    }
}

impl Shared {
    fn issuer(&self) -> String {
        format!("{}{}", self.base, self.cfg.issuer_path)
    }

    fn next(&self, kind: &str) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let mut noise = [0u8; 12];
        getrandom::fill(&mut noise).unwrap();
        format!("{kind}-{n}-{}", URL_SAFE_NO_PAD.encode(noise))
    }

    /// A registered client, or (with `cimd`) a metadata-document client for an https id.
    fn client(&self, id: &str, redirect: Option<&str>) -> Option<Client> {
        let known = self.store.lock().unwrap().clients.get(id).cloned();
        if known.is_some() {
            return known;
        }
        (self.cfg.cimd && id.starts_with("https://")).then(|| {
            self.bump("cimd");
            Client {
                redirect_uris: redirect.map(String::from).into_iter().collect(),
                secret: None,
            }
        })
    }

    fn bump(&self, what: &'static str) {
        *self.store.lock().unwrap().counts.entry(what).or_default() += 1;
    }
}

async fn prm(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "resource": format!("{}/mcp", s.base),
        "authorization_servers": [s.issuer()],
        "scopes_supported": s.cfg.resource_scopes,
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

async fn as_meta(State(s): State<Arc<Shared>>) -> Response {
    let issuer = s.issuer();
    let methods = if s.cfg.s256 {
        vec!["S256"]
    } else {
        vec!["plain"]
    };
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{}/token", s.base),
        "registration_endpoint": format!("{}/register", s.base),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": methods,
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": s.cfg.iss_param,
        "client_id_metadata_document_supported": s.cfg.cimd,
    }))
    .into_response()
}

pub(super) fn oauth_error(status: StatusCode, error: &str, why: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": why})),
    )
        .into_response()
}

async fn register(State(s): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let ok_uri = |u: &String| u.starts_with("http://127.0.0.1:") && u.ends_with("/callback");
    if uris.is_empty() || !uris.iter().all(ok_uri) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "loopback /callback only",
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

async fn authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    s.bump("authorize");
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
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
        },
    );
    let mut target = url::Url::parse(&redirect).unwrap();
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    if s.cfg.iss_param {
        target.query_pairs_mut().append_pair("iss", &s.issuer());
    }
    let mut resp = StatusCode::FOUND.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(target.as_str()).unwrap(),
    );
    resp
}
