//! `mcp-keybridge man`: the man page (roff), generated from the clap definitions; the
//! packages install it as `mcp-keybridge.1`.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;

/// Writes the man page to `out`.
pub fn write(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Prints the man page to stdout; returns the exit code.
pub fn run() -> i32 {
    let mut stdout = std::io::stdout().lock();
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        // `mcp-keybridge man | head` is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("mcp-keybridge: cannot write the man page: {e}");
            1
        }
    }
}
