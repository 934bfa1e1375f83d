//! mcp-keybridge: a stdio MCP server that relays every message to a remote MCP server over
//! Streamable HTTP or legacy HTTP+SSE, with credentials from the OS keychain, the environment,
//! a command or a file. Everything but parsing the command line is in the library.

use clap::Parser;

fn main() {
    let cli = mcp_keybridge::Cli::parse();
    // stdin may still be blocked in a read on a runtime thread: exit without waiting for it.
    std::process::exit(mcp_keybridge::run(cli));
}
