//! The grants that need no person and no browser, run whenever new tokens are needed:
//! client credentials (`--client-credentials`), the jwt-bearer grant with a workload identity
//! token (`--workload-token REF`, SEP-1933), and enterprise-managed authorization (`--id-token
//! REF`: a token exchange at the identity provider, then the jwt-bearer grant, SEP-990).
//!
//! Each run reads its references again, so that a platform's rotated token is the one sent.
//! A refused grant is reported, never retried with another grant or the same assertion: the
//! next try is the next request's.

use super::super::assertion;
use super::super::discovery::Discovered;
use super::super::grant::{JWT_BEARER, TokenRequest};
use super::super::jws::SigningKey;
use super::super::registration::{self, ClientAuth};
use super::super::tokens::Tokens;
use super::super::{OAuthError, exchange::Enterprise};
use super::OAuth;
use crate::credentials::reference::SecretRef;
use std::sync::Arc;

impl OAuth {
    /// New tokens from the grant the options choose (see [`super::super::OAuthOptions::without_browser`]).
    pub(super) async fn machine_grant(
        &self,
        disc: &Discovered,
        scopes: &[String],
        key: &Option<Arc<SigningKey>>,
    ) -> Result<Tokens, OAuthError> {
        if let Some(reference) = &self.opts.workload_token {
            return self.workload(disc, reference, scopes, key).await;
        }
        if let Some(enterprise) = &self.opts.enterprise {
            return self.enterprise(disc, enterprise, scopes, key).await;
        }
        self.client_credentials(disc, scopes, key).await
    }

    /// The jwt-bearer grant with the token `reference` gives (RFC 7523 §2.1), as the
    /// `--client-id` client if there is one (authenticated as it is configured), else with no
    /// client authentication.
    async fn workload(
        &self,
        disc: &Discovered,
        reference: &SecretRef,
        scopes: &[String],
        key: &Option<Arc<SigningKey>>,
    ) -> Result<Tokens, OAuthError> {
        let token = assertion::read_ref("--workload-token", reference, false).await?;
        assertion::check_fresh("--workload-token", reference, &token)?;
        warn_unless_offered(disc);
        let client = registration::preregistered(&self.opts, disc)
            .await?
            .unwrap_or_else(ClientAuth::anonymous);
        let t = self
            .token_request(disc, &client, key)
            .jwt_bearer(&token, scopes)
            .await?;
        tracing::info!(
            "got tokens from {} with the workload token {reference}",
            disc.issuer()
        );
        Ok(t)
    }

    /// The ID token exchanged for an ID-JAG at the identity provider, then the jwt-bearer
    /// grant with it as the `--client-id` client.
    async fn enterprise(
        &self,
        disc: &Discovered,
        enterprise: &Enterprise,
        scopes: &[String],
        key: &Option<Arc<SigningKey>>,
    ) -> Result<Tokens, OAuthError> {
        warn_unless_offered(disc);
        let client = registration::preregistered(&self.opts, disc)
            .await?
            .ok_or_else(|| OAuthError::Options("--id-token needs --client-id".into()))?;
        let jag = enterprise.id_jag(&self.http, disc, scopes).await?;
        let t = self
            .token_request(disc, &client, key)
            .jwt_bearer(&jag, scopes)
            .await?;
        tracing::info!(
            "got tokens from {} with an ID-JAG from the identity provider",
            disc.issuer()
        );
        Ok(t)
    }

    /// A token request as this client, with the DPoP proof `key` asks for.
    pub(super) fn token_request<'a>(
        &'a self,
        disc: &'a Discovered,
        client: &'a ClientAuth,
        key: &'a Option<Arc<SigningKey>>,
    ) -> TokenRequest<'a> {
        TokenRequest {
            http: &self.http,
            disc,
            client,
            resource: !self.opts.no_resource_param,
            dpop: self.prover(key),
        }
    }
}

/// An authorization server that lists its grants without jwt-bearer is probably going to
/// refuse it; said once in the log, and tried all the same (metadata is often incomplete).
fn warn_unless_offered(disc: &Discovered) {
    if let Some(grants) = &disc.meta.grant_types_supported
        && !grants.iter().any(|g| g == JWT_BEARER)
    {
        tracing::warn!(
            "{} does not list the jwt-bearer grant in grant_types_supported; trying it anyway",
            disc.issuer()
        );
    }
}
