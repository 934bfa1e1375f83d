//! Requests to the token endpoint: exchanging an authorization code, refreshing, the
//! client-credentials grant and the jwt-bearer grant (RFC 7523 §2.1). Each carries the
//! RFC 8707 `resource` unless `--no-resource-param`, and client authentication as the client
//! was registered (a secret, or a `private_key_jwt` assertion). Also RFC 7009 revocation,
//! authenticated the same way.

use super::assertion::{self, CLIENT_ASSERTION_TYPE};
use super::discovery::Discovered;
use super::registration::ClientAuth;
use super::tokens::Tokens;
use super::{OAuthError, endpoints};
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
    /// DPoP: a proof with each request, for a token bound to this key.
    pub dpop: Option<super::dpop::Prover<'a>>,
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

    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with `assertion` (a workload
    /// identity token, or an ID-JAG) and the requested scopes.
    pub async fn jwt_bearer(
        &self,
        assertion: &Secret,
        scopes: &[String],
    ) -> Result<Tokens, OAuthError> {
        let joined = scopes.join(" ");
        let mut form = vec![
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.expose()),
        ];
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
        let client_assertion = self.client_assertion()?;
        let basic = self.authenticate(&mut form, client_assertion.as_ref());
        match &self.dpop {
            Some(prover) => prover.post_form(self.http, url, &form, basic).await,
            None => endpoints::post_form(self.http, url, &form, basic).await,
        }
    }

    async fn post(
        &self,
        form: Vec<(&str, &str)>,
        scopes: &[String],
        previous_refresh: Option<&str>,
    ) -> Result<Tokens, OAuthError> {
        let url = self
            .disc
            .endpoint("token endpoint", Some(&self.disc.meta.token_endpoint))?;
        let client_assertion = self.client_assertion()?;
        let mut form = form;
        if self.resource {
            form.push(("resource", &self.disc.resource));
        }
        let basic = self.authenticate(&mut form, client_assertion.as_ref());
        let reply = match &self.dpop {
            Some(prover) => prover.post_form(self.http, &url, &form, basic).await?,
            None => endpoints::post_form(self.http, &url, &form, basic).await?,
        };
        let t = Tokens::from_reply(&reply, self.disc.issuer(), scopes, previous_refresh)?;
        if t.dpop && self.dpop.is_none() {
            // A DPoP token is useless without the key it is bound to.
            return Err(OAuthError::Dpop(format!(
                "{} issued a DPoP token to a request without a proof; use --dpop always",
                self.disc.issuer()
            )));
        }
        Ok(t)
    }

    /// RFC 7009: revokes `token` (`hint`: `refresh_token` or `access_token`) at the
    /// authorization server's revocation endpoint.
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), OAuthError> {
        let url = self.disc.endpoint(
            "revocation endpoint",
            self.disc.meta.revocation_endpoint.as_deref(),
        )?;
        let client_assertion = self.client_assertion()?;
        let mut form = vec![("token", token), ("token_type_hint", hint)];
        let basic = self.authenticate(&mut form, client_assertion.as_ref());
        endpoints::post_form_status(self.http, "revocation endpoint", &url, &form, basic).await
    }

    /// A fresh `private_key_jwt` assertion for this request, when the client has a key.
    fn client_assertion(&self) -> Result<Option<Secret>, OAuthError> {
        match &self.client.key {
            Some(key) => Ok(Some(assertion::client_assertion(
                key,
                &self.client.id,
                self.disc.issuer(),
            )?)),
            None => Ok(None),
        }
    }

    /// Client authentication: a `private_key_jwt` assertion when there is one, Basic for a
    /// confidential client that prefers it (returned), else `client_id` (and
    /// `client_secret`) in the form; nothing for [`ClientAuth::anonymous`].
    fn authenticate<'a>(
        &'a self,
        form: &mut Vec<(&'a str, &'a str)>,
        client_assertion: Option<&'a Secret>,
    ) -> Option<(&'a str, &'a str)> {
        if let Some(signed) = client_assertion {
            form.push(("client_id", &self.client.id));
            form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
            form.push(("client_assertion", signed.expose()));
            return None;
        }
        if self.client.id.is_empty() {
            return None;
        }
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

/// RFC 7523 §2.1's grant type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
