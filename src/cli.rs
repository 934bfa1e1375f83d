//! The command line: the run options every mode shares, and the subcommands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod clients;
mod oauth;
pub use clients::Client;
pub use oauth::{CallbackHost, DpopMode, OAuthArgs};

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
Profiles: [profiles.NAME] in config.toml (url, transport, protocol, bearer, headers, allow_http,
connect_timeout, max_message_mib, request_timeout, strict, ca_cert, proxy, allow_tools,
deny_tools, and an [profiles.NAME.oauth] table of the OAuth options: force, client_id,
client_secret (a REF), client_metadata_url, client_credentials, scope, no_resource_param,
auth_timeout, device, callback_port, callback_host, authorization_server); run one with
--profile NAME.

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
    /// Print (or, with --write, install) the entry an MCP client (Claude Desktop, Claude Code,
    /// Cursor, VS Code, Windsurf, Codex, Gemini CLI, Zed) needs to run the bridge; --remove
    /// takes one out, --list shows them.
    Config(ConfigArgs),
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout; --dir writes every page (one per subcommand too).
    Man {
        /// Write mcp-keybridge.1 and mcp-keybridge-SUBCOMMAND.1 for every subcommand here.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Sign in to an OAuth-protected server now, from a terminal: prints the URL to open
    /// (and opens a browser if it can), waits, and stores the tokens in the OS keychain.
    Login {
        /// The server, and the same OAuth options the bridge takes.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Revoke the OAuth tokens stored for a server at its authorization server (when it
    /// offers revocation) and remove them; the client registration is kept for the next
    /// sign-in unless --forget-client.
    Logout {
        /// The server, as given to the bridge (or its profile).
        #[command(flatten)]
        server: ServerArgs,
        /// Also remove the client registration (the next sign-in registers again).
        #[arg(long)]
        forget_client: bool,
    },
}

/// `mcp-keybridge config …`
#[derive(Debug, Args)]
#[command(after_help = CONFIG_HELP)]
pub struct ConfigArgs {
    /// The MCP client whose config file to write.
    #[arg(value_enum, required_unless_present = "list")]
    pub client: Option<Client>,

    /// Show, for every client whose config file exists, the entries that run this program.
    #[arg(long, conflicts_with_all = ["client", "name", "remove", "write", "config_file"])]
    pub list: bool,

    /// The entry's name in the client's file (e.g. jira).
    #[arg(long, value_name = "NAME", required_unless_present_any = ["list", "remove"])]
    pub name: Option<String>,

    /// Take the entry NAME out of the client's file (a timestamped backup is kept).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["name", "write"])]
    pub remove: Option<String>,

    /// Merge the entry into the client's config file (a timestamped backup is kept); without
    /// it the entry is only printed.
    #[arg(long)]
    pub write: bool,

    /// The file to write instead of the client's own [default: the client's file for --scope]
    #[arg(long, value_name = "PATH")]
    pub config_file: Option<PathBuf>,

    /// Write the project's file in the current directory (.mcp.json, .cursor/mcp.json,
    /// .vscode/mcp.json, .codex/config.toml, .gemini/settings.json, .zed/settings.json)
    /// instead of this user's. (`--scope` is the OAuth scopes option, passed to the bridge.)
    #[arg(long)]
    pub project: bool,

    /// The options the bridge is to run with.
    #[command(flatten)]
    pub run: RunArgs,
}

const CONFIG_HELP: &str = "\
Refuses literal secrets: --bearer and --header values must be references (keychain:NAME,
${env:VAR}…). Every other entry and key of the file is kept as it was (comments too, in
VS Code's, Zed's, Gemini CLI's and Codex's files).

Files (this user's; --project writes the second, in the current directory):
  claude       Claude Desktop's claude_desktop_config.json   (no project file)
  claude-code  ~/.claude.json                                 .mcp.json
  cursor       ~/.cursor/mcp.json                             .cursor/mcp.json
  vscode       Code/User/mcp.json in the config directory     .vscode/mcp.json
  windsurf     ~/.codeium/windsurf/mcp_config.json            (no project file)
  codex        $CODEX_HOME/config.toml (~/.codex/config.toml) .codex/config.toml
  gemini       ~/.gemini/settings.json                        .gemini/settings.json
  zed          ~/.config/zed/settings.json                    .zed/settings.json";

/// `mcp-keybridge check …`
#[derive(Debug, Args)]
#[command(mut_arg("request_timeout", |a| a.help(
    "Give up on a step (connect, initialize, tools/list) after this many seconds [default: 30]"
)))]
#[command(
    after_help = "Exit codes: 0 when every step worked; 1 when a step failed (the report says the likely cause \
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
        /// The options that say which credentials the bridge sends.
        #[command(flatten)]
        creds: CredentialArgs,
    },
}

/// Which server: for `logout`, which needs nothing else.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Remote MCP server URL [default: $MCP_KEYBRIDGE_URL, then $SSE_SERVER_URL]
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Use the settings of [profiles.NAME] in the config file; options given here win.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// The config file holding the profiles [default: $MCP_KEYBRIDGE_CONFIG, then
    /// config.toml in the platform config directory]
    #[arg(long, value_name = "PATH", requires = "profile")]
    pub config: Option<PathBuf>,
}

/// Which credentials: for `auth status`, which checks only those.
#[derive(Debug, Clone, Args)]
pub struct CredentialArgs {
    /// The server and its profile.
    #[command(flatten)]
    pub server: ServerArgs,

    /// The `Authorization: Bearer` secret's reference (e.g. keychain:jira).
    #[arg(long, value_name = "REF")]
    pub bearer: Option<String>,

    /// A header with its references, e.g. 'X-Jira-Token: ${keychain:jira}' (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Also show the OAuth sign-in state for the server when nothing is stored.
    #[arg(long)]
    pub oauth: bool,
}

impl ServerArgs {
    /// As run options (every other option at its default).
    pub fn to_run_args(&self) -> RunArgs {
        RunArgs {
            url: self.url.clone(),
            profile: self.profile.clone(),
            config: self.config.clone(),
            ..RunArgs::default()
        }
    }
}

impl CredentialArgs {
    /// As run options (every other option at its default).
    pub fn to_run_args(&self) -> RunArgs {
        let mut run = self.server.to_run_args();
        run.bearer = self.bearer.clone();
        run.headers = self.headers.clone();
        run.oauth.oauth = self.oauth;
        run
    }
}

/// How to reach the server and what to send it.
#[derive(Debug, Clone, Default, Args)]
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

    /// Protocol era of the server: auto speaks to each client in its own era and translates
    /// when the server speaks only the other one [default: auto]
    #[arg(long, value_enum)]
    pub protocol: Option<ProtocolArg>,

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

    /// Seconds a 2026-07-28 client has to answer a stateful server's question (an
    /// elicitation, a sampling or roots request turned into an input round) before the call
    /// is cancelled upstream [default: 600]
    #[arg(long, value_name = "SECS")]
    pub input_timeout: Option<f64>,

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

    /// Show the client only the tools whose name matches GLOB (`*` any run of characters,
    /// `?` one); repeatable. Others are left out of tools/list and their calls refused.
    #[arg(long = "allow-tool", value_name = "GLOB")]
    pub allow_tools: Vec<String>,

    /// Hide the tools whose name matches GLOB from the client (tools/list) and refuse their
    /// calls before they reach the server; repeatable, and wins over --allow-tool.
    #[arg(long = "deny-tool", value_name = "GLOB")]
    pub deny_tools: Vec<String>,
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

/// `--protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// Find out from the server's answers (no extra request for a stateful server).
    Auto,
    /// The server speaks the stateful revisions (2024-11-05 … 2025-11-25): a dual-era
    /// client's server/discover probe is refused, so it falls back to initialize.
    Legacy,
    /// The server speaks 2026-07-28: a stateful client's messages are always translated.
    Modern,
}
