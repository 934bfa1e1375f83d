//! The process's exit codes, and which error ends the process with which: the one place they
//! are defined (README's CLI reference lists them). Scripts and MCP clients read them: `2`
//! says "fix the command line or the profile", `1` "this run could not do its work". clap's
//! own usage errors exit 2 as well, before any of this runs.
//!
//! The errors of the run options and of OAuth map here; each subcommand's own error maps
//! beside it through [`ExitCode`] (`commands/auth.rs`, `commands/config.rs`), so that this
//! module depends on no command.

use crate::config::ConfigError;
use crate::oauth::OAuthError;

/// How a command ended, as the process's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `0`: done (the bridge: stdin closed and every request answered, or a signal).
    Ok,
    /// `1`: the work failed: a check step, an unresolved credential, a refusing keychain or
    /// server, a file that cannot be written.
    Failure,
    /// `2`: a usage or configuration error: options or a profile that cannot work.
    Usage,
}

impl Exit {
    /// The number the process exits with.
    pub const fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
        }
    }

    /// [`Exit::Ok`] when `ok`, else [`Exit::Failure`].
    pub const fn ok_if(ok: bool) -> Exit {
        if ok { Exit::Ok } else { Exit::Failure }
    }
}

/// An error that ends a command: which exit code it means.
pub trait ExitCode {
    /// The exit code of a command that ended with this error.
    fn exit(&self) -> Exit;
}

impl ExitCode for ConfigError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl ExitCode for OAuthError {
    fn exit(&self) -> Exit {
        match self {
            OAuthError::Options(_) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            [Exit::Ok, Exit::Failure, Exit::Usage].map(Exit::code),
            [0, 1, 2]
        );
    }
}
