//! An authorization server for the assertion-based OAuth flows, with an OAuth-protected MCP
//! resource and an enterprise identity provider in the same axum app: `private_key_jwt`
//! client assertions verified with aws-lc-rs (ES256 signature, `iss`/`sub`/`aud`/`exp`, no
//! `jti` twice), the jwt-bearer grant (a workload token it was told to expect, or an ID-JAG
//! its IdP issued), RFC 8693 token exchange at `/idp/token`, a browser sign-in that
//! redirects at once, refresh and RFC 7009 revocation. It records what each request sent.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod token;

/// The knobs.
#[derive(Clone, Debug)]
pub struct AssertionConfig {
    /// `token_endpoint_auth_methods_supported`.
    pub auth_methods: Vec<&'static str>,
    /// `token_endpoint_auth_signing_alg_values_supported`.
    pub signing_algs: Vec<&'static str>,
    /// The client that authenticates with a key: its id and its public key (uncompressed
    /// P-256 point).
    pub key_client: Option<(&'static str, Vec<u8>)>,
    /// A confidential client: id and secret (Basic).
    pub secret_client: Option<(&'static str, &'static str)>,
    /// The enterprise IdP's client id, and the ID token it accepts as subject token.
    pub idp: Option<(&'static str, String)>,
}

impl Default for AssertionConfig {
    fn default() -> Self {
        AssertionConfig {
            auth_methods: vec!["private_key_jwt"],
            signing_algs: vec!["ES256"],
            key_client: None,
            secret_client: None,
            idp: None,
        }
    }
}

#[derive(Default)]
struct Store {
    /// Workload tokens the jwt-bearer grant accepts.
    workload_tokens: Vec<String>,
    /// ID-JAGs the IdP issued, with the client they name.
    jags: HashMap<String, String>,
    /// Access tokens issued.
    access: Vec<String>,
    /// refresh token -> client id.
    refresh: HashMap<String, String>,
    /// authorization code -> PKCE challenge.
    codes: HashMap<String, String>,
    /// `jti` of every client assertion accepted.
    jtis: Vec<String>,
    /// Every form posted to /token, /revoke and /idp/token, with the path first.
    forms: Vec<(String, HashMap<String, String>)>,
    counts: HashMap<String, u64>,
    revoked: Vec<String>,
    /// Why the last refused request was refused.
    refusals: Vec<String>,
}

struct Shared {
    cfg: AssertionConfig,
    base: String,
    store: Mutex<Store>,
    serial: AtomicU64,
}

/// A running server; stopped when dropped.
pub struct AssertionServer {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AssertionServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AssertionServer {
    pub async fn start(cfg: AssertionConfig) -> AssertionServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Arc::new(Shared {
            cfg,
            base,
            store: Mutex::new(Store::default()),
            serial: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/.well-known/oauth-protected-resource/mcp", get(prm))
            .route("/.well-known/oauth-authorization-server", get(as_meta))
            .route("/authorize", get(authorize))
            .route("/token", post(token::token))
            .route("/revoke", post(token::revoke))
            .route("/idp/token", post(token::idp_token))
            .route("/mcp", post(mcp))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        AssertionServer { shared, task }
    }

    /// The MCP endpoint.
    pub fn url(&self) -> String {
        format!("{}/mcp", self.shared.base)
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> String {
        self.shared.base.clone()
    }

    /// The IdP's token endpoint.
    pub fn idp_token_endpoint(&self) -> String {
        format!("{}/idp/token", self.shared.base)
    }

    /// The jwt-bearer grant accepts `token` as a workload token from now on.
    pub fn accept_workload_token(&self, token: &str) {
        self.shared
            .store
            .lock()
            .unwrap()
            .workload_tokens
            .push(token.into());
    }

    /// How many times `what` happened: "client_credentials", "jwt-bearer", "code",
    /// "refresh", "exchange", "assertion_ok", "mcp_ok", "mcp_401".
    pub fn count(&self, what: &str) -> u64 {
        let store = self.shared.store.lock().unwrap();
        store.counts.get(what).copied().unwrap_or(0)
    }

    /// The forms posted to `path` (`/token`, `/revoke`, `/idp/token`), in order.
    pub fn forms(&self, path: &str) -> Vec<HashMap<String, String>> {
        let store = self.shared.store.lock().unwrap();
        store
            .forms
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// Why requests were refused, in order.
    pub fn refusals(&self) -> Vec<String> {
        self.shared.store.lock().unwrap().refusals.clone()
    }

    /// The `jti` of every accepted client assertion.
    pub fn jtis(&self) -> Vec<String> {
        self.shared.store.lock().unwrap().jtis.clone()
    }

    /// Tokens revoked at /revoke.
    pub fn revoked(&self) -> Vec<String> {
        self.shared.store.lock().unwrap().revoked.clone()
    }

    /// Every access token dies (the next request gets a 401).
    pub fn expire_access_tokens(&self) {
        self.shared.store.lock().unwrap().access.clear();
    }
}

impl Shared {
    fn next(&self, kind: &str) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let mut noise = [0u8; 12];
        getrandom::fill(&mut noise).unwrap();
        let hex: String = noise.iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}-{n}-{hex}")
    }

    fn bump(&self, what: &str) {
        *self
            .store
            .lock()
            .unwrap()
            .counts
            .entry(what.to_string())
            .or_default() += 1;
    }

    fn refuse(&self, status: StatusCode, error: &str, why: &str) -> Response {
        self.store.lock().unwrap().refusals.push(why.to_string());
        (
            status,
            axum::Json(json!({"error": error, "error_description": why})),
        )
            .into_response()
    }
}

async fn prm(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "resource": format!("{}/mcp", s.base),
        "authorization_servers": [s.base],
    }))
    .into_response()
}

async fn as_meta(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "issuer": s.base,
        "authorization_endpoint": format!("{}/authorize", s.base),
        "token_endpoint": format!("{}/token", s.base),
        "revocation_endpoint": format!("{}/revoke", s.base),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": s.cfg.auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": s.cfg.signing_algs,
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

/// Redirects at once, as after a click on "Allow".
async fn authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let code = s.next("code");
    s.store
        .lock()
        .unwrap()
        .codes
        .insert(code.clone(), get("code_challenge"));
    let mut to = url::Url::parse(&get("redirect_uri")).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"))
        .append_pair("iss", &s.base);
    Redirect::to(to.as_str()).into_response()
}

async fn mcp(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !s.store.lock().unwrap().access.iter().any(|t| t == token) {
        s.bump("mcp_401");
        let mut resp = (StatusCode::UNAUTHORIZED, "token needed").into_response();
        let challenge = format!(
            r#"Bearer error="invalid_token", resource_metadata="{}/.well-known/oauth-protected-resource/mcp""#,
            s.base
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge).unwrap(),
        );
        return resp;
    }
    let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match msg["method"].as_str().unwrap_or("") {
        "initialize" => json!({
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "assertion-test", "version": "0"},
        }),
        "tools/list" => json!({"tools": [{"name": "whoami", "inputSchema": {"type": "object"}}]}),
        _ => json!({}),
    };
    s.bump("mcp_ok");
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}
