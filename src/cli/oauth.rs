//! The OAuth options of a run (`--oauth`, the client to sign in as, scopes), apart from the
//! other run options because each sign-in flow brings its own.

use clap::Args;

/// OAuth 2.1 sign-in, used when the server answers 401 with a Bearer challenge and no
/// Authorization credential is configured (or always with --oauth).
#[derive(Debug, Clone, Default, Args)]
pub struct OAuthArgs {
    /// Use OAuth sign-in from the first request, in place of any configured Authorization.
    #[arg(long, help_heading = OAUTH)]
    pub oauth: bool,

    /// A client id registered with the authorization server beforehand (else one is
    /// registered dynamically).
    #[arg(long, help_heading = OAUTH, value_name = "ID")]
    pub client_id: Option<String>,

    /// That client's secret, read from REF (e.g. keychain:NAME), for a confidential client.
    #[arg(long, help_heading = OAUTH, value_name = "REF", requires = "client_id")]
    pub client_secret: Option<String>,

    /// An https URL serving this client's Client ID Metadata Document, used as the client
    /// id when the authorization server accepts those.
    #[arg(long, help_heading = OAUTH, value_name = "URL")]
    pub client_metadata_url: Option<String>,

    /// No browser: get tokens with the client-credentials grant (CI). Needs --client-id and
    /// --client-secret.
    #[arg(long, help_heading = OAUTH, requires = "client_secret")]
    pub client_credentials: bool,

    /// Scopes to ask for, space-separated [default: the server's challenge, else its
    /// metadata]
    #[arg(long, help_heading = OAUTH, value_name = "SCOPES")]
    pub scope: Option<String>,

    /// Leave the RFC 8707 `resource` parameter out (for servers that reject it).
    #[arg(long, help_heading = OAUTH)]
    pub no_resource_param: bool,

    /// Seconds to wait for the browser sign-in to finish [default: 300]
    #[arg(long, help_heading = OAUTH, value_name = "SECS")]
    pub auth_timeout: Option<f64>,

    /// DPoP-bound tokens (RFC 9449), the key kept in the keychain: auto = when the
    /// authorization server offers ES256 or the server challenges with DPoP.
    #[arg(long, help_heading = OAUTH, value_name = "WHEN", value_enum, default_value_t)]
    pub dpop: crate::oauth::dpop::DpopMode,
}

/// The `--help` heading of the OAuth options.
const OAUTH: &str = "OAuth sign-in";
