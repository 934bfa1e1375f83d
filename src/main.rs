//! mcp-keybridge: a stdio MCP server that relays every message to a remote MCP server over
//! Streamable HTTP or legacy HTTP+SSE, with credentials from the OS keychain, the environment,
//! a command or a file.

use clap::Parser;
use mcp_keybridge::{bridge, cli, commands, config, logging};

fn main() {
    let cli = cli::Cli::parse();
    // stdin may still be blocked in a read on a runtime thread: exit without waiting for it.
    std::process::exit(run(cli));
}

fn run(cli: cli::Cli) -> i32 {
    if let Err(e) = logging::init(&cli.log) {
        eprintln!("mcp-keybridge: {e}");
        return 2;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-keybridge: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match cli.command {
        None => match config::resolve(&cli.run, &|k| std::env::var(k).ok()) {
            Ok(cfg) => {
                let code = runtime.block_on(bridge::run(cfg));
                // stdin's reader thread is blocked in a read when a signal ends the run.
                runtime.shutdown_background();
                code
            }
            Err(e) => {
                eprintln!("mcp-keybridge: {e}\n\nRun `mcp-keybridge --help` for usage.");
                2
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
        Some(cli::Command::Auth(cmd)) => {
            let code = runtime.block_on(commands::auth::run(cmd));
            // A keychain call that timed out may still hold a blocking thread (an unlock
            // prompt nobody answers); do not wait for it on the way out.
            runtime.shutdown_background();
            code
        }
        Some(cli::Command::Check(args)) => {
            let code = runtime.block_on(commands::check::run(args));
            // A legacy SSE reader or a keychain call may still hold a task; do not wait.
            runtime.shutdown_background();
            code
        }
        Some(cli::Command::Config(cmd)) => commands::config::run(cmd, &cli.log),
        Some(cli::Command::Completions { shell }) => commands::completions::run(shell),
        Some(cli::Command::Man { dir }) => commands::man::run(dir.as_deref()),
    }
}

/// Runs a subcommand to its exit code without waiting for a stuck keychain thread.
fn finish(runtime: tokio::runtime::Runtime, cmd: impl std::future::Future<Output = i32>) -> i32 {
    let code = runtime.block_on(cmd);
    runtime.shutdown_background();
    code
}
