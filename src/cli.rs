//! The command line: the run options every mode shares, and the subcommands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Relay a remote MCP server (Streamable HTTP or HTTP+SSE) to a stdio MCP client, with
/// tokens taken from the OS keychain, the environment, a command or a file.
#[derive(Debug, Parser)]
#[command(name = "mcp-keybridge", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
#[command(after_help = AFTER_HELP)]
pub struct Cli {
    /// Run options (when no subcommand is given, the bridge runs).
    #[command(flatten)]
    pub run: RunArgs,

    /// Logging options.
    #[command(flatten)]
    pub log: LogArgs,

    /// A subcommand; none runs the bridge.
    #[command(subcommand)]
    pub command: Option<Command>,
}

const AFTER_HELP: &str = "\
Credential references (REF): env:VAR, keychain:NAME, cmd:COMMAND, file:PATH.
Header values may embed them: --header 'X-Jira-Token: ${keychain:jira}' (${VAR} means ${env:VAR}).

Secrets: `mcp-keybridge auth set NAME` stores one in the OS keychain; `auth status` checks them.
Profiles: [profiles.NAME] in config.toml (url, transport, bearer, headers, allow_http,
connect_timeout, max_message_mib, request_timeout, strict, ca_cert, proxy); run one with --profile NAME.

Environment: MCP_KEYBRIDGE_URL or SSE_SERVER_URL (the URL), MCP_KEYBRIDGE_TOKEN (a bearer token
when no --bearer is given), JIRA_PERSONAL_TOKEN / CONFLUENCE_PERSONAL_TOKEN (as the seed client),
MCP_KEYBRIDGE_CONFIG (the config file), RUST_LOG (log filter), HTTPS_PROXY / HTTP_PROXY /
NO_PROXY (the proxy, unless --proxy is given).

Exit codes: 0 after stdin closes and every request is answered; 2 usage or configuration error;
1 other fatal error.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store, delete or check the secrets the bridge sends (nothing ever prints one).
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Connect as the bridge would (initialize, tools/list, close) and report what works and
    /// what to fix; --demo runs it all against a built-in loopback server.
    Check(CheckArgs),
    /// Print (or, with --write, install) the entry an MCP client needs to run the bridge.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
    /// Sign in to an OAuth-protected server now, from a terminal: prints the URL to open
    /// (and opens a browser if it can), waits, and stores the tokens in the OS keychain.
    Login {
        /// The server, and the same OAuth options the bridge takes.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Remove the OAuth tokens and client registration stored for a server.
    Logout {
        /// The server, as given to the bridge.
        #[command(flatten)]
        run: RunArgs,
    },
}

/// `mcp-keybridge config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The `mcpServers` entry that runs the bridge with these options, for Claude Desktop's
    /// claude_desktop_config.json. Refuses literal secrets: --bearer and --header values must be
    /// references (keychain:NAME, ${env:VAR}…).
    Claude {
        /// The entry's name under `mcpServers`.
        #[arg(long, value_name = "NAME")]
        name: String,

        /// Merge the entry into Claude Desktop's config file (a timestamped backup is kept).
        #[arg(long)]
        write: bool,

        /// The file to merge into [default: Claude Desktop's claude_desktop_config.json]
        #[arg(long, value_name = "PATH", requires = "write")]
        config_file: Option<PathBuf>,

        /// The options the bridge is to run with.
        #[command(flatten)]
        run: RunArgs,
    },
}

/// `mcp-keybridge check …`
#[derive(Debug, Args)]
#[command(
    after_help = "Each step waits at most --request-timeout seconds (30 unless given).\n\
Exit codes: 0 when every step worked; 1 when a step failed (the report says the likely cause \
and the command to fix it); 2 usage or configuration error."
)]
pub struct CheckArgs {
    /// The same options the bridge takes; the check connects exactly as it would.
    #[command(flatten)]
    pub run: RunArgs,

    /// Start a loopback demo server that requires a one-time bearer token and check it over
    /// both transports; needs no remote server and stores nothing.
    #[arg(long, conflicts_with_all = ["url", "profile", "bearer", "headers", "transport"])]
    pub demo: bool,

    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,

    /// Also list the tools by name.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `mcp-keybridge auth …`
// Parsed once at start-up: the size of the larger variants costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Store a secret in the OS keychain as keychain:NAME (read from stdin when it is not a
    /// terminal, else prompted for without echo).
    Set {
        /// The entry name, used as `keychain:NAME` (service "mcp-keybridge", account NAME).
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Delete keychain:NAME from the OS keychain.
    Delete {
        /// The entry name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// For each credential the bridge would send with these options (or --profile): its
    /// header, its source, whether it resolves, its length, a sha256 fingerprint and a JWT's
    /// expiry. Exit code 1 when one does not resolve.
    Status {
        /// The same options the bridge takes; only the credentials are checked.
        #[command(flatten)]
        run: RunArgs,
    },
}

/// How to reach the server and what to send it.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Remote MCP server URL [default: $MCP_KEYBRIDGE_URL, then $SSE_SERVER_URL]
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Use the settings of [profiles.NAME] in the config file; options given here win.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// The config file holding the profiles [default: $MCP_KEYBRIDGE_CONFIG, then
    /// config.toml in the platform config directory, e.g. ~/.config/mcp-keybridge/]
    #[arg(long, value_name = "PATH", requires = "profile")]
    pub config: Option<PathBuf>,

    /// Transport to the server; auto tries Streamable HTTP, then legacy HTTP+SSE
    /// [default: auto]
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,

    /// Send `Authorization: Bearer <secret>`, the secret read from REF (e.g. keychain:jira).
    #[arg(long, value_name = "REF")]
    pub bearer: Option<String>,

    /// Send a header, e.g. 'X-Jira-Token: ${env:JIRA_PERSONAL_TOKEN}' (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Allow credentials over plain http:// to a host that is not loopback.
    #[arg(long)]
    pub allow_http: bool,

    /// Seconds to wait for a connection, for the legacy SSE `endpoint` event, or for a lost
    /// legacy SSE stream to come back before a request gets an error [default: 10]
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<f64>,

    /// Largest message accepted from either side, in MiB [default: 64]
    #[arg(long, value_name = "MIB")]
    pub max_message_mib: Option<usize>,

    /// Give up on a request after this many seconds: the client gets an error and the
    /// server a cancellation [default: no limit; tool calls can be long]
    #[arg(long, value_name = "SECS")]
    pub request_timeout: Option<f64>,

    /// Relay server responses exactly as sent: no compatibility fixes (by default a `null`
    /// the TypeScript SDK rejects in an optional field of a result is dropped; see README).
    #[arg(long)]
    pub strict: bool,
    /// Also trust the CA certificates in this PEM file, on top of the OS trust store
    /// (repeatable).
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub ca_certs: Vec<PathBuf>,

    /// Send every request through this HTTP proxy (http://[user:pass@]host:port), instead of
    /// what HTTPS_PROXY / HTTP_PROXY / NO_PROXY say.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// OAuth sign-in options.
    #[command(flatten)]
    pub oauth: Box<OAuthArgs>,
}

/// Where log lines go and how many.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log level for the bridge: error, warn, info, debug or trace (RUST_LOG overrides).
    #[arg(long, value_name = "LEVEL", default_value = "warn", global = true)]
    pub log_level: String,

    /// Write logs to this file instead of stderr.
    #[arg(long, value_name = "PATH", global = true)]
    pub log_file: Option<PathBuf>,
}

/// `--transport` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// POST initialize; on 400/404/405 fall back to legacy SSE.
    Auto,
    /// MCP Streamable HTTP (2025-03-26 and later).
    StreamableHttp,
    /// Legacy HTTP+SSE (2024-11-05).
    Sse,
}

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
}

/// The `--help` heading of the OAuth options.
const OAUTH: &str = "OAuth sign-in";
