//! `mcp-keybridge man`: the man page (roff), generated from the clap definitions; `man --dir
//! DIR` writes it with one page per subcommand (`mcp-keybridge-auth-status.1`…), which the
//! main page's SUBCOMMANDS section refers to. The packages install them all.

use crate::cli::Cli;
use crate::exit::Exit;
use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the man page to `out`.
pub fn write(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Writes every page into `dir` (created if missing); returns their paths.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    Ok(pages)
}

/// Prints the man page to stdout, or writes every page into `dir`; returns the exit code.
pub fn run(dir: Option<&Path>) -> Exit {
    if let Some(dir) = dir {
        return match write_all(dir) {
            Ok(pages) => {
                eprintln!("Wrote {} man pages into {}", pages.len(), dir.display());
                Exit::Ok
            }
            Err(e) => {
                eprintln!(
                    "mcp-keybridge: cannot write the man pages into {}: {e}",
                    dir.display()
                );
                Exit::Failure
            }
        };
    }
    let mut stdout = std::io::stdout().lock();
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Ok,
        // `mcp-keybridge man | head` is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("mcp-keybridge: cannot write the man page: {e}");
            Exit::Failure
        }
    }
}
