//! Requests to the token endpoint: exchanging an authorization code, refreshing, and the
//! client-credentials grant. Each carries the RFC 8707 `resource` unless
//! `--no-resource-param`, and client authentication as the client was registered. Also
//! RFC 7009 revocation, authenticated the same way.

use super::discovery::Discovered;
use super::registration::ClientAuth;
use super::tokens::Tokens;
use super::{OAuthError, http};
use crate::secret::Secret;
use reqwest::Client;

/// What every token request shares.
pub struct TokenRequest<'a> {
    /// The HTTP client.
    pub http: &'a Client,
    /// The discovered server.
    pub disc: &'a Discovered,
    /// Who asks.
    pub client: &'a ClientAuth,
    /// Whether to send `resource`.
    pub resource: bool,
}

impl TokenRequest<'_> {
    /// `grant_type=authorization_code` with the PKCE verifier.
    pub async fn code(
        &self,
        code: &Secret,
        verifier: &Secret,
        redirect_uri: &str,
        scopes: &[String],
    ) -> Result<Tokens, OAuthError> {
        let form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("code_verifier", verifier.expose()),
            ("redirect_uri", redirect_uri),
        ];
        self.post(form, scopes, None).await
    }

    /// `grant_type=refresh_token`; the reply's new refresh token replaces the old one.
    pub async fn refresh(&self, refresh: &str, scopes: &[String]) -> Result<Tokens, OAuthError> {
        let form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
        self.post(form, scopes, Some(refresh)).await
    }

    /// `grant_type=client_credentials` with the requested scopes.
    pub async fn client_credentials(&self, scopes: &[String]) -> Result<Tokens, OAuthError> {
        let joined = scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !joined.is_empty() {
            form.push(("scope", &joined));
        }
        self.post(form, scopes, None).await
    }

    /// RFC 8628 §3.4: `grant_type=urn:ietf:params:oauth:grant-type:device_code`, one poll.
    pub async fn device_code(
        &self,
        device_code: &Secret,
        scopes: &[String],
    ) -> Result<Tokens, OAuthError> {
        let form = vec![
            ("grant_type", super::registration::DEVICE_GRANT),
            ("device_code", device_code.expose()),
        ];
        self.post(form, scopes, None).await
    }

    /// RFC 8628 §3.1: the device authorization request at `url`, with the scopes, the
    /// `resource` and the client's authentication as at the token endpoint.
    pub async fn device_authorization(
        &self,
        url: &reqwest::Url,
        scopes: &[String],
    ) -> Result<serde_json::Value, OAuthError> {
        let joined = scopes.join(" ");
        let mut form = vec![];
        if !joined.is_empty() {
            form.push(("scope", joined.as_str()));
        }
        if self.resource {
            form.push(("resource", self.disc.resource.as_str()));
        }
        let basic = self.authenticate(&mut form);
        http::post_form(self.http, url, &form, basic).await
    }

    async fn post(
        &self,
        mut form: Vec<(&str, &str)>,
        scopes: &[String],
        previous_refresh: Option<&str>,
    ) -> Result<Tokens, OAuthError> {
        let url = self
            .disc
            .endpoint("token endpoint", Some(&self.disc.meta.token_endpoint))?;
        if self.resource {
            form.push(("resource", &self.disc.resource));
        }
        let basic = self.authenticate(&mut form);
        let reply = http::post_form(self.http, &url, &form, basic).await?;
        Tokens::from_reply(&reply, self.disc.issuer(), scopes, previous_refresh)
    }

    /// RFC 7009: revokes `token` (`hint`: `refresh_token` or `access_token`) at the
    /// authorization server's revocation endpoint.
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), OAuthError> {
        let url = self.disc.endpoint(
            "revocation endpoint",
            self.disc.meta.revocation_endpoint.as_deref(),
        )?;
        let mut form = vec![("token", token), ("token_type_hint", hint)];
        let basic = self.authenticate(&mut form);
        http::post_form_status(self.http, "revocation endpoint", &url, &form, basic).await
    }

    /// Client authentication: Basic for a confidential client that prefers it (returned),
    /// else `client_id` (and `client_secret`) in the form.
    fn authenticate<'a>(
        &'a self,
        form: &mut Vec<(&'a str, &'a str)>,
    ) -> Option<(&'a str, &'a str)> {
        match self.client.secret.as_ref().map(Secret::expose) {
            Some(s) if self.client.basic => Some((self.client.id.as_str(), s)),
            Some(s) => {
                form.push(("client_id", &self.client.id));
                form.push(("client_secret", s));
                None
            }
            None => {
                form.push(("client_id", &self.client.id));
                None
            }
        }
    }
}
