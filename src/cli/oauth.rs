//! The OAuth options of a run (`--oauth`, the client to sign in as, scopes), apart from the
//! other run options because each sign-in flow brings its own.

use clap::{Args, ValueEnum};

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

    /// That client's private key (PEM, ES256 or RS256), read from REF (e.g. file:PATH or
    /// keychain:NAME): the client authenticates with a signed JWT (private_key_jwt) where the
    /// authorization server accepts it.
    #[arg(long, help_heading = OAUTH, value_name = "REF", requires = "client_id")]
    pub client_key: Option<String>,

    /// No browser: get tokens with the client-credentials grant (CI). Needs --client-id and
    /// --client-secret or --client-key.
    #[arg(long, help_heading = OAUTH, requires = "client_id")]
    pub client_credentials: bool,

    /// No browser, no stored secret: get tokens with the JWT-bearer grant (RFC 7523),
    /// presenting the workload identity token REF gives (e.g. env:VAR or file:PATH with a CI
    /// job's OIDC token), read again for every grant.
    #[arg(long, help_heading = OAUTH, value_name = "REF", conflicts_with_all = ["client_credentials", "id_token"])]
    pub workload_token: Option<String>,

    /// Enterprise-managed authorization: your ID token from the enterprise identity provider,
    /// read from REF, exchanged there (RFC 8693) for an ID-JAG that gets tokens from the
    /// server's authorization server. Needs --idp-token-endpoint and --client-id.
    #[arg(long, help_heading = OAUTH, value_name = "REF", requires_all = ["idp_token_endpoint", "client_id"], conflicts_with = "client_credentials")]
    pub id_token: Option<String>,

    /// The enterprise identity provider's token endpoint, where --id-token is exchanged.
    #[arg(long, help_heading = OAUTH, value_name = "URL", requires = "id_token")]
    pub idp_token_endpoint: Option<String>,

    /// This client's id at the enterprise identity provider (for --id-token).
    #[arg(long, help_heading = OAUTH, value_name = "ID", requires = "id_token")]
    pub idp_client_id: Option<String>,

    /// That client's secret at the identity provider, read from REF (e.g. keychain:NAME).
    #[arg(long, help_heading = OAUTH, value_name = "REF", requires = "idp_client_id")]
    pub idp_client_secret: Option<String>,

    /// Scopes to ask for, space-separated [default: the server's challenge, else its
    /// metadata]
    #[arg(long, help_heading = OAUTH, value_name = "SCOPES")]
    pub scope: Option<String>,

    /// Leave the RFC 8707 `resource` parameter out (for servers that reject it).
    #[arg(long, help_heading = OAUTH)]
    pub no_resource_param: bool,

    /// Seconds to wait for the sign-in (browser or device code) to finish [default: 300]
    #[arg(long, help_heading = OAUTH, value_name = "SECS")]
    pub auth_timeout: Option<f64>,

    /// DPoP-bound tokens (RFC 9449), the key kept in the keychain: auto = when the
    /// authorization server offers ES256 or the server challenges with DPoP [default: auto]
    #[arg(long, help_heading = OAUTH, value_name = "WHEN", value_enum)]
    pub dpop: Option<DpopMode>,
    /// Sign in with a code shown here and confirmed on any other device (RFC 8628 device
    /// authorization), for machines without a browser [default: only when no browser can be
    /// opened here and the authorization server offers it]
    #[arg(long, help_heading = OAUTH, conflicts_with = "client_credentials")]
    pub device: bool,

    /// Listen for the browser's redirect on this port (for a firewall, or an authorization
    /// server that matches redirect URIs exactly) [default: the port registered last time,
    /// else any free one]
    #[arg(long, help_heading = OAUTH, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub callback_port: Option<u16>,

    /// The host of the redirect URI: 127.0.0.1, localhost or [::1] [default: 127.0.0.1]
    #[arg(long, help_heading = OAUTH, value_name = "HOST", value_enum)]
    pub callback_host: Option<CallbackHost>,

    /// Sign in at this authorization server when the server's metadata lists several
    /// [default: the first one listed]
    #[arg(long, help_heading = OAUTH, value_name = "URL")]
    pub authorization_server: Option<String>,
}

/// The host of the loopback redirect URI (RFC 8252 §7.3 advises the IP literal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum CallbackHost {
    /// `http://127.0.0.1:PORT/callback`
    #[default]
    #[value(name = "127.0.0.1")]
    Ipv4,
    /// `http://localhost:PORT/callback` (listening on 127.0.0.1 and ::1)
    #[value(name = "localhost")]
    Localhost,
    /// `http://[::1]:PORT/callback`
    #[value(name = "[::1]", alias = "::1")]
    Ipv6,
}

impl CallbackHost {
    /// The host as written in the redirect URI.
    pub fn uri_host(self) -> &'static str {
        match self {
            CallbackHost::Ipv4 => "127.0.0.1",
            CallbackHost::Localhost => "localhost",
            CallbackHost::Ipv6 => "[::1]",
        }
    }
}

/// The `--help` heading of the OAuth options.
const OAUTH: &str = "OAuth sign-in";

/// When to ask for DPoP-bound tokens (`--dpop`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DpopMode {
    /// When the authorization server lists ES256 in `dpop_signing_alg_values_supported`,
    /// or the resource challenges with the `DPoP` scheme.
    #[default]
    Auto,
    /// On every token request, advertised or not.
    Always,
    /// Never: plain Bearer tokens.
    Never,
}
