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

    /// Seconds to wait for the sign-in (browser or device code) to finish [default: 300]
    #[arg(long, help_heading = OAUTH, value_name = "SECS")]
    pub auth_timeout: Option<f64>,

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
