//! `mcp-keybridge completions SHELL`: the shell completion script, generated from the same
//! clap definitions as `--help` so that the two never drift apart.

use crate::cli::Cli;
use crate::exit::Exit;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

/// Writes the completion script for `shell` to `out`.
pub fn write(shell: Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Prints the script to stdout; returns the exit code.
pub fn run(shell: Shell) -> Exit {
    // clap_complete panics on a write error; build the script first, then write it.
    let mut script = Vec::new();
    write(shell, &mut script);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("mcp-keybridge: cannot write the completion script: {e}");
            Exit::Failure
        }
    }
}
