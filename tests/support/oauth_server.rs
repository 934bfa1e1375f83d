//! A strict OAuth 2.1 authorization server and an OAuth-protected MCP resource in one axum
//! app, for the sign-in tests: PKCE S256 verified, codes single-use and bound to client,
//! redirect URI and resource, refresh tokens rotated (the old one dies), dynamic client
//! registration, and knobs for metadata shapes, revocation, missing S256, short-lived
//! tokens and a scope the `whoami` tool requires. It counts registrations, authorize
//! visits and token requests by grant.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod authorize;
mod device;
mod dpop;
mod resource;
mod token;

pub use device::DeviceState;

/// The knobs.
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
    /// A 2025-03-26 server: no resource or authorization-server metadata at all, only the
    /// default `/authorize`, `/token` and `/register` (set `prm_in_challenge` false too).
    pub no_metadata: bool,
    /// Send the issuer with a trailing slash as `iss` (equal as a URL, not as a string).
    pub iss_slash: bool,
    /// Publish the issuer with a trailing slash as the metadata's `issuer`.
    pub metadata_issuer_slash: bool,
    /// List `offline_access` and issue refresh tokens only for it (the usual IdP policy).
    pub offline_access: bool,
    /// Issue refresh tokens only when the authorize request had `prompt=consent` too.
    pub offline_needs_consent: bool,
    /// Refuse a registration that carries `scope` (a strict IdP: resource scopes are not
    /// client metadata).
    pub refuse_registration_scope: bool,
    /// Offer RFC 7009 revocation at `/revoke`.
    pub revocation: bool,
    /// DPoP (RFC 9449): advertise ES256, bind tokens to a token request's proof, challenge
    /// with the `DPoP` scheme and check every proof (`oauth_server/dpop.rs`).
    pub dpop: bool,
    /// With `dpop`: the token endpoint and the resource require their (rotating) nonce.
    pub dpop_nonce: bool,
    /// Offer the RFC 8628 device grant at `/device_authorization`.
    pub device: bool,
    /// The device grant's polling `interval`, in seconds.
    pub device_interval: u64,
    /// Answer the first polls of each device code with `slow_down`.
    pub device_slow_downs: usize,
    /// `authorization_servers` of the resource metadata lists this (unreachable) issuer
    /// first, before the real one.
    pub decoy_issuer: Option<&'static str>,
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
            no_metadata: false,
            iss_slash: false,
            metadata_issuer_slash: false,
            offline_access: false,
            offline_needs_consent: false,
            refuse_registration_scope: false,
            revocation: false,
            dpop: false,
            dpop_nonce: false,
            device: false,
            device_interval: 1,
            device_slow_downs: 0,
            decoy_issuer: None,
        }
    }
}

#[derive(Clone)]
struct Client {
    redirect_uris: Vec<String>,
    secret: Option<String>,
    /// The issuer it registered with (after [`OAuthServer::move_issuer`] the old ones are
    /// unknown to the new issuer).
    issuer: String,
}

struct Code {
    client_id: String,
    challenge: String,
    redirect_uri: String,
    scope: String,
    resource: Option<String>,
    /// The authorize request had `prompt=consent`.
    consent: bool,
}

struct Access {
    expires: Instant,
    scope: String,
    /// DPoP: the thumbprint of the key the token is bound to.
    jkt: Option<String>,
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
    /// `scope` (and `prompt`) of each authorize request, as `"scope|prompt"`.
    authorize_params: Vec<String>,
    /// Tokens revoked at /revoke.
    revoked: Vec<String>,
    /// DPoP: refresh token → the key thumbprint it is bound to.
    refresh_jkt: HashMap<String, String>,
    /// DPoP: every proof's `jti` (a replay is refused).
    dpop_jtis: Vec<String>,
    /// DPoP nonces issued by the token endpoint and by the resource, oldest first.
    as_nonces: Vec<String>,
    rs_nonces: Vec<String>,
    /// Device grants by device code.
    device: HashMap<String, device::DeviceGrant>,
    /// Every registration request body, in order.
    registrations: Vec<Value>,
}

struct Shared {
    cfg: OAuthConfig,
    base: String,
    store: Mutex<Store>,
    serial: AtomicU64,
    /// The resource now names the second issuer, `<base>/v2`.
    moved: std::sync::atomic::AtomicBool,
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
            moved: Default::default(),
            base,
            cfg: cfg.clone(),
        });
        if let Some((id, secret)) = cfg.service_client {
            shared.store.lock().unwrap().clients.insert(
                id.into(),
                Client {
                    redirect_uris: vec![],
                    secret: Some(secret.into()),
                    issuer: shared.issuer(),
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
            .route("/.well-known/oauth-authorization-server/v2", get(as_meta))
            .route("/register", post(authorize::register))
            .route(&format!("{ip}/authorize"), get(authorize::authorize))
            .route("/v2/authorize", get(authorize::authorize))
            .route("/token", post(token::token))
            .route("/revoke", post(token::revoke))
            .route("/device_authorization", post(device::authorization))
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
    /// "client_credentials", "mcp_ok", "mcp_401", "mcp_403", "dpop_bound" (DPoP tokens
    /// issued), "dpop_as_nonce", "dpop_rs_nonce" (nonce challenges).
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

    /// `"scope|prompt"` of each authorize request, in order.
    pub fn authorize_params(&self) -> Vec<String> {
        self.shared.store.lock().unwrap().authorize_params.clone()
    }

    /// How many DPoP proofs were accepted (each `jti` once).
    pub fn dpop_proofs(&self) -> usize {
        self.shared.store.lock().unwrap().dpop_jtis.len()
    }

    /// The tokens revoked at /revoke, in order.
    pub fn revoked(&self) -> Vec<String> {
        self.shared.store.lock().unwrap().revoked.clone()
    }

    /// The user codes handed out, in order.
    pub fn user_codes(&self) -> Vec<String> {
        let store = self.shared.store.lock().unwrap();
        let mut grants: Vec<_> = store.device.values().collect();
        grants.sort_by_key(|g| g.user_code.clone());
        grants.iter().map(|g| g.user_code.clone()).collect()
    }

    /// The device codes outstanding (to check that none is ever shown).
    pub fn device_codes(&self) -> Vec<String> {
        self.shared
            .store
            .lock()
            .unwrap()
            .device
            .keys()
            .cloned()
            .collect()
    }

    /// The person at the other device confirms (`Approved`) or refuses (`Denied`) the user
    /// code, or it expires.
    pub fn settle(&self, user_code: &str, state: DeviceState) {
        let mut store = self.shared.store.lock().unwrap();
        let grant = store
            .device
            .values_mut()
            .find(|g| g.user_code == user_code)
            .expect("no such user code");
        grant.state = state;
    }

    /// When each poll for the device code of `user_code` came.
    pub fn polls(&self, user_code: &str) -> Vec<Instant> {
        let store = self.shared.store.lock().unwrap();
        store
            .device
            .values()
            .find(|g| g.user_code == user_code)
            .map(|g| g.polls.clone())
            .unwrap_or_default()
    }

    /// Every registration request, in order.
    pub fn registrations(&self) -> Vec<Value> {
        self.shared.store.lock().unwrap().registrations.clone()
    }

    /// The resource moves to a second authorization server (`<base>/v2`, SEP-2352): every
    /// token dies, and clients registered with the first one are unknown there.
    pub fn move_issuer(&self) {
        self.shared.moved.store(true, Ordering::Relaxed);
        let mut store = self.shared.store.lock().unwrap();
        store.access.clear();
        store.refresh.clear();
    }
}

impl Shared {
    fn issuer(&self) -> String {
        if self.moved.load(Ordering::Relaxed) {
            return format!("{}/v2", self.base);
        }
        format!("{}{}", self.base, self.cfg.issuer_path)
    }

    /// With `dpop`, the token endpoint is on another origin than the resource (`localhost`
    /// for `127.0.0.1`), as an authorization server usually is: each has its own nonces.
    fn token_url(&self) -> String {
        match self.cfg.dpop {
            true => format!("{}/token", self.base.replace("127.0.0.1", "localhost")),
            false => format!("{}/token", self.base),
        }
    }

    fn next(&self, kind: &str) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let mut noise = [0u8; 12];
        getrandom::fill(&mut noise).unwrap();
        format!("{kind}-{n}-{}", URL_SAFE_NO_PAD.encode(noise))
    }

    /// A client registered with the current issuer, or (with `cimd`) a metadata-document
    /// client for an https id.
    fn client(&self, id: &str, redirect: Option<&str>) -> Option<Client> {
        let known = self.store.lock().unwrap().clients.get(id).cloned();
        if known.is_some() {
            return known.filter(|c| c.issuer == self.issuer());
        }
        (self.cfg.cimd && id.starts_with("https://")).then(|| {
            self.bump("cimd");
            Client {
                redirect_uris: redirect.map(String::from).into_iter().collect(),
                secret: None,
                issuer: self.issuer(),
            }
        })
    }

    fn bump(&self, what: &'static str) {
        *self.store.lock().unwrap().counts.entry(what).or_default() += 1;
    }
}

async fn prm(State(s): State<Arc<Shared>>) -> Response {
    if s.cfg.no_metadata {
        return StatusCode::NOT_FOUND.into_response();
    }
    axum::Json(json!({
        "resource": format!("{}/mcp", s.base),
        "authorization_servers": s.cfg.decoy_issuer.map(String::from).into_iter().chain([s.issuer()]).collect::<Vec<_>>(),
        "scopes_supported": s.cfg.resource_scopes,
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

async fn as_meta(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    let issuer = s.issuer();
    // Each issuer's metadata at its own well-known URL only.
    let path = issuer.strip_prefix(&s.base).unwrap_or("");
    if s.cfg.no_metadata || uri.path() != format!("/.well-known/oauth-authorization-server{path}") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let methods = if s.cfg.s256 {
        vec!["S256"]
    } else {
        vec!["plain"]
    };
    let mut scopes = s.cfg.resource_scopes.clone();
    if s.cfg.offline_access {
        scopes.push("offline_access");
    }
    let mut meta = json!({
        "issuer": if s.cfg.metadata_issuer_slash { format!("{issuer}/") } else { issuer.clone() },
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": s.token_url(),
        "registration_endpoint": format!("{}/register", s.base),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": methods,
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": s.cfg.iss_param,
        "client_id_metadata_document_supported": s.cfg.cimd,
        "scopes_supported": scopes,
    });
    if s.cfg.dpop {
        meta["dpop_signing_alg_values_supported"] = json!(["RS256", "ES256"]);
    }
    if s.cfg.revocation {
        meta["revocation_endpoint"] = json!(format!("{}/revoke", s.base));
    }
    if s.cfg.device {
        meta["device_authorization_endpoint"] = json!(format!("{}/device_authorization", s.base));
    }
    if s.cfg.offline_needs_consent {
        meta["prompt_values_supported"] = json!(["none", "login", "consent"]);
    }
    axum::Json(meta).into_response()
}

pub(super) fn oauth_error(status: StatusCode, error: &str, why: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": why})),
    )
        .into_response()
}
