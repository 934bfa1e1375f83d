//! Enterprise-managed authorization (MCP extension SEP-990, the IETF Identity Assertion
//! Authorization Grant): the user's ID token from the enterprise identity provider
//! (`--id-token REF`) is exchanged there (RFC 8693 token exchange at `--idp-token-endpoint`)
//! for an ID-JAG naming this MCP server's authorization server as audience and the MCP server
//! as resource; the ID-JAG then goes to that authorization server in the jwt-bearer grant.
//! No browser: the enterprise's single sign-on has already happened.

use super::assertion::{self, AssertionError};
use super::discovery::Discovered;
use super::{OAuthError, endpoints};
use crate::credentials::reference::SecretRef;
use crate::secret::Secret;
use url::Url;

/// RFC 8693's grant type.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an OpenID Connect ID token (RFC 8693 §3).
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The token type of an Identity Assertion JWT Authorization Grant.
pub const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// What `--id-token` and the `--idp-*` options configure.
#[derive(Debug, Clone)]
pub struct Enterprise {
    /// `--idp-token-endpoint`.
    pub token_endpoint: Url,
    /// `--id-token REF`: the user's ID token, read again for every exchange.
    pub id_token: SecretRef,
    /// `--idp-client-id`: this client at the identity provider.
    pub client_id: Option<String>,
    /// `--idp-client-secret REF`.
    pub client_secret: Option<SecretRef>,
}

impl Enterprise {
    /// From the command line; `None` without `--id-token`.
    pub fn from_args(args: &crate::cli::OAuthArgs) -> Result<Option<Self>, OAuthError> {
        let bad = |m: String| OAuthError::Options(m);
        let Some(id_token) = &args.id_token else {
            return Ok(None);
        };
        let id_token = SecretRef::parse(id_token).map_err(|e| bad(format!("--id-token: {e}")))?;
        let endpoint = args
            .idp_token_endpoint
            .as_deref()
            .ok_or_else(|| bad("--id-token needs --idp-token-endpoint URL".into()))?;
        let token_endpoint = Url::parse(endpoint).map_err(|e| {
            bad(format!(
                "--idp-token-endpoint {endpoint:?} is not a URL: {e}"
            ))
        })?;
        endpoints::check_url("--idp-token-endpoint", &token_endpoint)
            .map_err(|e| bad(e.to_string()))?;
        let client_secret = match &args.idp_client_secret {
            Some(r) => {
                Some(SecretRef::parse(r).map_err(|e| bad(format!("--idp-client-secret: {e}")))?)
            }
            None => None,
        };
        Ok(Some(Enterprise {
            token_endpoint,
            id_token,
            client_id: args.idp_client_id.clone().filter(|s| !s.trim().is_empty()),
            client_secret,
        }))
    }

    /// Exchanges the ID token for an ID-JAG for `disc`'s authorization server and resource
    /// (and `scopes`, when there are any).
    pub async fn id_jag(
        &self,
        client: &reqwest::Client,
        disc: &Discovered,
        scopes: &[String],
    ) -> Result<Secret, OAuthError> {
        let id_token = assertion::read_ref("--id-token", &self.id_token, false).await?;
        assertion::check_fresh("--id-token", &self.id_token, &id_token)?;
        let secret = match &self.client_secret {
            Some(r) => Some(assertion::read_ref("--idp-client-secret", r, false).await?),
            None => None,
        };
        let joined = scopes.join(" ");
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG_TYPE),
            // The ID-JAG is for the MCP server's authorization server (its issuer
            // identifier) and for the MCP server itself, as its metadata names it.
            ("audience", disc.issuer()),
            ("resource", disc.resource.as_str()),
            ("subject_token", id_token.expose()),
            ("subject_token_type", ID_TOKEN_TYPE),
        ];
        if !joined.is_empty() {
            form.push(("scope", &joined));
        }
        // RFC 6749 §2.3.1: Basic for a confidential client, else a public client's id.
        let basic = match (&self.client_id, &secret) {
            (Some(id), Some(s)) => Some((id.as_str(), s.expose())),
            (Some(id), None) => {
                form.push(("client_id", id));
                None
            }
            (None, _) => None,
        };
        let endpoint = endpoints::show(&self.token_endpoint);
        let reply = match endpoints::post_form(client, &self.token_endpoint, &form, basic).await {
            Ok(r) => r,
            Err(OAuthError::Token { error, description }) => {
                return Err(AssertionError::Exchange {
                    endpoint,
                    error,
                    description,
                }
                .into());
            }
            Err(e) => return Err(e),
        };
        let not = |why: &str| -> OAuthError {
            AssertionError::NotIdJag {
                endpoint: endpoint.clone(),
                why: why.to_string(),
            }
            .into()
        };
        if let Some(t) = reply["issued_token_type"].as_str()
            && t != ID_JAG_TYPE
        {
            return Err(not(&format!(
                "issued a {t} instead of an ID-JAG ({ID_JAG_TYPE}); ask its administrator to enable ID-JAG token exchange for this client"
            )));
        }
        let jag = reply["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| not("answered the token exchange without an access_token"))?;
        tracing::info!(
            "exchanged the ID token for an ID-JAG for {} at {endpoint}",
            disc.issuer()
        );
        Ok(Secret::new(jag.to_string()))
    }
}
