//! The `[profiles.NAME.oauth]` table: the OAuth run options of a profile, one key per
//! option (`--client-id` is `client_id`, `--oauth` is `force`). Secrets (`client_secret`,
//! `client_key`, `workload_token`, `id_token`, `idp_client_secret`) are taken only as
//! references (`client_secret = "keychain:NAME"`); a literal is refused, as for `bearer`. The command line wins over every key (a flag given there is always on).
//!
//! ```toml
//! [profiles.corp.oauth]
//! client_id = "mcp-keybridge"
//! client_secret = "keychain:corp-client"
//! scope = "mcp:tools offline_access"
//! callback_port = 8976
//! callback_host = "localhost"
//! authorization_server = "https://login.corp.example"
//! device = true
//!
//! [profiles.ci.oauth]              # a CI job's own OIDC identity, no stored secret
//! workload_token = "env:CI_OIDC_TOKEN"
//! dpop = "always"
//! ```

use super::{HINT, ProfileError, parse_ref};
use crate::cli::DpopMode;
use crate::cli::{CallbackHost, OAuthArgs};
use crate::credentials::reference::{RefError, SecretRef};
use clap::ValueEnum;
use serde::Deserialize;
use toml::Spanned;

/// `[profiles.NAME.oauth]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth {
    force: Option<bool>,
    client_id: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    client_metadata_url: Option<Spanned<String>>,
    client_credentials: Option<Spanned<bool>>,
    scope: Option<Spanned<String>>,
    no_resource_param: Option<bool>,
    auth_timeout: Option<Spanned<f64>>,
    device: Option<bool>,
    callback_port: Option<Spanned<i64>>,
    callback_host: Option<Spanned<String>>,
    authorization_server: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
    workload_token: Option<Spanned<String>>,
    id_token: Option<Spanned<String>>,
    idp_token_endpoint: Option<Spanned<String>>,
    idp_client_id: Option<Spanned<String>>,
    idp_client_secret: Option<Spanned<String>>,
    dpop: Option<Spanned<String>>,
}

/// A profile's OAuth options, checked (`None`: not set in the profile).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileOAuth {
    /// `force` (`--oauth`).
    pub force: Option<bool>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`, always a reference.
    pub client_secret: Option<SecretRef>,
    /// `client_metadata_url`.
    pub client_metadata_url: Option<String>,
    /// `client_credentials`.
    pub client_credentials: Option<bool>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `no_resource_param`.
    pub no_resource_param: Option<bool>,
    /// `auth_timeout` in seconds.
    pub auth_timeout: Option<f64>,
    /// `device`.
    pub device: Option<bool>,
    /// `callback_port`.
    pub callback_port: Option<u16>,
    /// `callback_host`.
    pub callback_host: Option<CallbackHost>,
    /// `authorization_server`.
    pub authorization_server: Option<String>,
    /// `client_key`, a reference to the PEM key (`private_key_jwt`).
    pub client_key: Option<SecretRef>,
    /// `workload_token`, a reference (the jwt-bearer grant).
    pub workload_token: Option<SecretRef>,
    /// `id_token`, a reference (enterprise-managed authorization).
    pub id_token: Option<SecretRef>,
    /// `idp_token_endpoint`.
    pub idp_token_endpoint: Option<String>,
    /// `idp_client_id`.
    pub idp_client_id: Option<String>,
    /// `idp_client_secret`, a reference.
    pub idp_client_secret: Option<SecretRef>,
    /// `dpop`: auto, always or never.
    pub dpop: Option<DpopMode>,
}

impl ProfileOAuth {
    /// The command line's OAuth options over these (checked later, as the command line's,
    /// by `OAuthOptions::from_args`).
    pub fn under(&self, args: &OAuthArgs) -> OAuthArgs {
        let flag = |cli: bool, profile: Option<bool>| cli || profile.unwrap_or(false);
        let text = |r: &Option<SecretRef>| r.as_ref().map(ToString::to_string);
        OAuthArgs {
            oauth: flag(args.oauth, self.force),
            client_id: args.client_id.clone().or_else(|| self.client_id.clone()),
            // A profile's secret belongs to the profile's client only.
            client_secret: match &args.client_id {
                Some(_) => args.client_secret.clone(),
                None => args
                    .client_secret
                    .clone()
                    .or_else(|| self.client_secret.as_ref().map(ToString::to_string)),
            },
            client_metadata_url: args
                .client_metadata_url
                .clone()
                .or_else(|| self.client_metadata_url.clone()),
            client_credentials: flag(args.client_credentials, self.client_credentials),
            scope: args.scope.clone().or_else(|| self.scope.clone()),
            no_resource_param: flag(args.no_resource_param, self.no_resource_param),
            auth_timeout: args.auth_timeout.or(self.auth_timeout),
            device: flag(args.device, self.device),
            callback_port: args.callback_port.or(self.callback_port),
            callback_host: args.callback_host.or(self.callback_host),
            authorization_server: args
                .authorization_server
                .clone()
                .or_else(|| self.authorization_server.clone()),
            // A profile's key is its client's, like its secret.
            client_key: match &args.client_id {
                Some(_) => args.client_key.clone(),
                None => args.client_key.clone().or_else(|| text(&self.client_key)),
            },
            workload_token: args
                .workload_token
                .clone()
                .or_else(|| text(&self.workload_token)),
            id_token: args.id_token.clone().or_else(|| text(&self.id_token)),
            idp_token_endpoint: args
                .idp_token_endpoint
                .clone()
                .or_else(|| self.idp_token_endpoint.clone()),
            idp_client_id: args
                .idp_client_id
                .clone()
                .or_else(|| self.idp_client_id.clone()),
            idp_client_secret: match &args.idp_client_id {
                Some(_) => args.idp_client_secret.clone(),
                None => args
                    .idp_client_secret
                    .clone()
                    .or_else(|| text(&self.idp_client_secret)),
            },
            dpop: args.dpop.or(self.dpop),
        }
    }
}

/// Checks `[profiles.NAME.oauth]`; `key` names a key of the profile, `at` locates a mistake.
pub(super) fn check(
    raw: &RawOAuth,
    key: &dyn Fn(&str) -> String,
    at: &dyn Fn(usize, String) -> ProfileError,
) -> Result<ProfileOAuth, ProfileError> {
    let k = |name: &str| key(&format!("oauth.{name}"));
    let mut out = ProfileOAuth {
        force: raw.force,
        client_credentials: raw.client_credentials.as_ref().map(|b| *b.get_ref()),
        no_resource_param: raw.no_resource_param,
        device: raw.device,
        client_id: raw
            .client_id
            .as_ref()
            .map(|c| c.get_ref().trim().to_string()),
        scope: raw.scope.as_ref().map(|s| s.get_ref().trim().to_string()),
        ..ProfileOAuth::default()
    };
    let reference = |s: &Spanned<String>, name: &str| {
        parse_ref(s.get_ref()).map_err(|e| {
            let e = match e {
                RefError::NoScheme(_) => "this has no scheme; a literal secret is refused".into(),
                other => other.to_string(),
            };
            at(
                s.span().start,
                format!(
                    "{}: must be a reference such as \"keychain:NAME\", \"env:VAR\", \"cmd:COMMAND\" or \"file:PATH\" ({e}). {HINT}",
                    k(name)
                ),
            )
        })
    };
    for (value, name, needs, needed) in [
        (
            &raw.client_secret,
            "client_secret",
            raw.client_id.is_some(),
            "client_id",
        ),
        (
            &raw.client_key,
            "client_key",
            raw.client_id.is_some(),
            "client_id",
        ),
        (
            &raw.idp_client_secret,
            "idp_client_secret",
            raw.idp_client_id.is_some(),
            "idp_client_id",
        ),
    ] {
        if let Some(s) = value
            && !needs
        {
            let why = format!("needs {needed} (the secret is that client's)");
            return Err(at(s.span().start, format!("{}: {why}", k(name))));
        }
    }
    let refs = |v: &Option<Spanned<String>>, name: &str| {
        v.as_ref().map(|s| reference(s, name)).transpose()
    };
    out.client_secret = refs(&raw.client_secret, "client_secret")?;
    out.client_key = refs(&raw.client_key, "client_key")?;
    out.workload_token = refs(&raw.workload_token, "workload_token")?;
    out.id_token = refs(&raw.id_token, "id_token")?;
    out.idp_client_secret = refs(&raw.idp_client_secret, "idp_client_secret")?;
    out.idp_client_id = raw
        .idp_client_id
        .as_ref()
        .map(|c| c.get_ref().trim().to_string());
    if let Some(d) = &raw.dpop {
        let mode = DpopMode::from_str(d.get_ref().trim(), true).map_err(|_| {
            let why = "must be auto, always or never";
            at(d.span().start, format!("{}: {why}", k("dpop")))
        })?;
        out.dpop = Some(mode);
    }
    for (value, name, out_field) in [
        (
            &raw.client_metadata_url,
            "client_metadata_url",
            &mut out.client_metadata_url,
        ),
        (
            &raw.authorization_server,
            "authorization_server",
            &mut out.authorization_server,
        ),
        (
            &raw.idp_token_endpoint,
            "idp_token_endpoint",
            &mut out.idp_token_endpoint,
        ),
    ] {
        if let Some(u) = value {
            let ok = url::Url::parse(u.get_ref().trim())
                .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.password().is_none());
            if !ok {
                let why = "must be an https:// URL";
                return Err(at(u.span().start, format!("{}: {why}", k(name))));
            }
            *out_field = Some(u.get_ref().trim().to_string());
        }
    }
    if let Some(t) = &raw.auth_timeout {
        if !(t.get_ref().is_finite() && *t.get_ref() > 0.0) {
            let why = "must be a positive number of seconds";
            return Err(at(t.span().start, format!("{}: {why}", k("auth_timeout"))));
        }
        out.auth_timeout = Some(*t.get_ref());
    }
    if let Some(p) = &raw.callback_port {
        let port = u16::try_from(*p.get_ref()).ok().filter(|p| *p > 0);
        let why = "must be a port number from 1 to 65535";
        out.callback_port =
            Some(port.ok_or_else(|| at(p.span().start, format!("{}: {why}", k("callback_port"))))?);
    }
    if let Some(h) = &raw.callback_host {
        let host = CallbackHost::from_str(h.get_ref().trim(), true).map_err(|_| {
            let why = "must be 127.0.0.1, localhost or [::1]";
            at(h.span().start, format!("{}: {why}", k("callback_host")))
        })?;
        out.callback_host = Some(host);
    }
    if let Some(cc) = &raw.client_credentials
        && *cc.get_ref()
        && (raw.client_id.is_none() || (raw.client_secret.is_none() && raw.client_key.is_none()))
    {
        let why = "needs client_id and client_secret or client_key";
        return Err(at(
            cc.span().start,
            format!("{}: {why}", k("client_credentials")),
        ));
    }
    Ok(out)
}
