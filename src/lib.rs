//! mcp-keybridge: a stdio MCP server that relays every message to a remote MCP server over
//! HTTP, attaching credentials from the OS keychain, the environment, a command, a file or an
//! OAuth sign-in.
//!
//! The binary (`src/main.rs`) parses the command line and calls [`run`]. Everything else is
//! private to the crate, except [`parsers`], the few readers of untrusted input that the fuzz
//! targets and the property tests drive. A `pub` item inside a module is therefore visible to
//! the crate only; the compiler's dead-code lint sees the whole crate.
//!
//! # The life of a message
//!
//! A client request, from a stdin line to an HTTP request:
//!
//! 1. `stdio.rs`: `LineReader` cuts stdin into lines (bounded by `--max-message-mib`).
//! 2. `relay.rs`: the pump classifies each line (`jsonrpc.rs`: id, method, kind; a batch is
//!    split there too), holds everything until `initialize` is answered, registers each
//!    request with the router and hands it to the upstream (`relay/waits.rs`: what else the
//!    pump waits on, including the signals that end it).
//! 3. `router.rs`: `Router::register` records which request awaits an answer; a `tools/call`
//!    of a hidden tool is answered here (`tool_filter.rs`) and never sent.
//! 4. `transport/mod.rs`: `Upstream::send` picks the transport. A 2026-07-28 request goes to
//!    `transport/modern_client.rs`; the stateful revisions go on the transport the first
//!    `initialize` chose (by `--transport`, or in auto mode by the server's answer).
//! 5. The transports: `transport/streamable.rs` (Streamable HTTP, 2025-03-26 on: a POST per
//!    message, the session id, `streamable/get_stream.rs` for the server's GET stream,
//!    `streamable/stale.rs` to tell a lost session), `transport/legacy_sse.rs` (HTTP+SSE,
//!    2024-11-05: the `endpoint` event, replies on the event stream), and
//!    `transport/stateless.rs` (2026-07-28: each request its own POST, headers mirrored from
//!    the body by `era/headers.rs` and `era/tool_headers.rs`; `transport/listen.rs` holds
//!    `subscriptions/listen`). `transport/backoff.rs` and `transport/resume.rs` reconnect and
//!    resume cut streams.
//! 6. `transport/http.rs`: `Http::send`, the one HTTP client every transport uses. It attaches
//!    the credentials, retries once after a 401 when they changed, follows same-origin
//!    redirects only, and turns reqwest's failures into `UpstreamError` (`error.rs`).
//!    `network.rs` sets up CAs and proxies (for sign-in's HTTP calls too).
//!
//! A reply, from the HTTP response back to a stdout line:
//!
//! 1. The transport reads the body: `Streamable::relay_body` for a JSON reply or a reply
//!    event stream (`sse.rs` decodes events, bounded in size), `legacy_sse.rs`'s reader for
//!    the session stream, `stateless.rs` for a 2026-07-28 exchange.
//! 2. `router.rs`: `Router::deliver_on` matches the reply to its request (each is answered
//!    exactly once; late, unknown or duplicate replies are dropped), applies the compatibility
//!    fixes (`normalize.rs`, rules in `normalize/rules.rs`) and the tool filter, and emulates
//!    listens and input rounds for a 2026-07-28 client (`router/listens.rs`,
//!    `router/redirect.rs`, `router/handle.rs`).
//! 3. `stdio.rs`: `spawn_writer` writes each message as one line on stdout, which carries
//!    nothing else (logs go to stderr or a file: `logging.rs`).
//!
//! A failure on the way becomes a JSON-RPC error reply that names the cause and the fix
//! (`UpstreamError::to_reply` in `error.rs`, sent by `Router::fail`).
//!
//! # Credentials
//!
//! - `config.rs` turns the command line (`cli.rs`), the profile (`profile.rs`, `profile/`) and
//!   the environment into a `RunConfig`, including which headers carry which references.
//! - `credentials/reference.rs` parses the references (`keychain:`, `env:`, `cmd:`, `file:`,
//!   and `${…}` header templates); `credentials/sources.rs` reads one secret;
//!   `credentials/mod.rs` caches the resolved headers and re-reads them on a 401 or, for a
//!   JWT, shortly before it expires (`credentials/refresh.rs`, `credentials/jwt.rs`).
//! - `transport/http.rs` attaches them to every request; with OAuth, `transport/http/signed_in.rs`
//!   adds the signed-in token (and `transport/http/dpop.rs` its DPoP proof) and asks `oauth/`
//!   for a new one after a 401 or a 403 `insufficient_scope`.
//! - `oauth/`: `flow.rs` is the token source `Http` consults (`flow/renew.rs` refreshes under
//!   the cross-process `lock.rs`, `flow/machine.rs` runs the grants without a browser);
//!   `discovery.rs` finds the authorization server, `registration.rs` the client,
//!   `signin.rs` / `callback.rs` / `browser.rs` / `pkce.rs` the browser sign-in, `device.rs`
//!   the device grant, `grant.rs` the token endpoint, `endpoints.rs` every HTTP call sign-in
//!   makes, `tokens.rs` what is kept in the keychain, `dpop.rs`, `jws.rs`, `assertion.rs`
//!   and `exchange.rs` the key-bound extensions.
//! - `secret.rs`: the string type that never prints its value.
//!
//! # Protocol eras
//!
//! `era/` reads which era a request belongs to (`era/params.rs`) and what each era needs
//! (`era/errors.rs`, `era/results.rs`). `translate/` says what a message becomes between a
//! client and a server of different eras, without I/O: `translate/stamp.rs` and
//! `translate/rounds.rs` for a stateful client and a 2026-07-28 server (whose session
//! `transport/upgraded.rs` plays), `translate/downgrade.rs` for a 2026-07-28 client and a
//! stateful server (reached through `transport/modern_client.rs`).
//!
//! # Commands
//!
//! [`run`] dispatches: with no subcommand `bridge.rs` runs the bridge; the subcommands live in
//! `commands/` (`auth.rs`, `check.rs` and `check/`, `config.rs` and `config/`, `oauth.rs` for
//! `login`/`logout`, `completions.rs`, `man.rs`); `demo/` is the loopback server of
//! `check --demo`. The exit codes, and which error means which, are in `exit.rs`.

mod bridge;
mod cli;
mod commands;
mod config;
mod credentials;
mod demo;
mod environment;
mod era;
mod error;
mod exit;
mod jsonrpc;
mod logging;
mod network;
mod normalize;
mod oauth;
mod profile;
mod relay;
mod router;
mod secret;
mod sse;
mod stdio;
mod sync;
mod tool_filter;
mod translate;
mod transport;

pub use cli::Cli;
use exit::Exit;

/// The readers of untrusted input, for the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the
/// property tests (`tests/prop_parsers.rs`); nothing else outside the crate uses them.
pub mod parsers {
    pub use crate::credentials::reference::{Part, SecretRef, Template};
    pub use crate::sse::{Decoder, Event};
    pub use crate::stdio::{Frame, LineReader};
    pub use crate::transport::http::challenge_detail;

    /// JSON-RPC framing: the peek at each message, batches, and the bridge's own replies.
    pub mod jsonrpc {
        pub use crate::jsonrpc::{
            INTERNAL_ERROR, Kind, Message, cancelled_request, classify, error_reply, one_line,
            protocol_version, replay_initialize, split_batch,
        };
    }

    /// The `config.toml` reader.
    pub mod profile {
        pub use crate::profile::parse;
    }
}

/// Runs what the command line asks for; returns the process's exit code.
pub fn run(cli: Cli) -> i32 {
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("mcp-keybridge: {e}");
        return Exit::Usage.code();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-keybridge: cannot start the async runtime: {e}");
            return Exit::Failure.code();
        }
    };
    let exit = match cli.command {
        None => match config::resolve(&cli.run, &|k| std::env::var(k).ok()) {
            // stdin's reader thread is blocked in a read when a signal ends the run.
            Ok(cfg) => finish(runtime, bridge::run(cfg)),
            Err(e) => {
                eprintln!("mcp-keybridge: {e}\n\nRun `mcp-keybridge --help` for usage.");
                Exit::Usage
            }
        },
        Some(cli::Command::Login { run }) => finish(runtime, commands::oauth::login(run)),
        Some(cli::Command::Logout {
            server,
            forget_client,
        }) => finish(
            runtime,
            commands::oauth::logout(server.to_run_args(), forget_client),
        ),
        Some(cli::Command::Auth(cmd)) => finish(runtime, commands::auth::run(cmd)),
        Some(cli::Command::Check(args)) => finish(runtime, commands::check::run(args)),
        Some(cli::Command::Config(cmd)) => commands::config::run(cmd, &cli.log),
        Some(cli::Command::Completions { shell }) => commands::completions::run(shell),
        Some(cli::Command::Man { dir }) => commands::man::run(dir.as_deref()),
    };
    exit.code()
}

/// Runs a command to its exit code without waiting for a task that still holds a thread: a
/// keychain call nobody answers (an unlock prompt), a legacy SSE reader, stdin's reader.
fn finish(runtime: tokio::runtime::Runtime, cmd: impl std::future::Future<Output = Exit>) -> Exit {
    let exit = runtime.block_on(cmd);
    runtime.shutdown_background();
    exit
}
