//! Reading one secret from its source: the environment, the OS keychain, a command or a file.
//!
//! Errors name the source and the fix; they never carry the secret (not even a command's
//! stdout, which is the secret).

use super::reference::SecretRef;
use crate::secret::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The keychain service every entry of this tool is stored under.
pub const KEYCHAIN_SERVICE: &str = "mcp-keybridge";

/// How long a keychain call may take: an unlock prompt can block it indefinitely.
const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// `env:VAR` with the variable unset or empty.
    #[error("environment variable {0} is not set (or is empty)")]
    EnvMissing(String),
    /// `keychain:NAME` with nothing stored.
    #[error("no secret named {0:?} in the keychain; store one with `mcp-keybridge auth set {0}`")]
    KeychainMissing(String),
    /// No usable keychain on this machine.
    #[error(
        "the OS keychain is not available ({0}); on Linux it needs a Secret Service (gnome-keyring or KeePassXC) on the D-Bus session bus. Use env:VAR, file:PATH or cmd:COMMAND instead"
    )]
    NoKeychain(String),
    /// The keychain answered with an error.
    #[error("the keychain failed on entry {name:?}: {cause}")]
    Keychain {
        /// The entry name.
        name: String,
        /// What the platform said (never the secret).
        cause: String,
    },
    /// `cmd:` failed to start, failed, or printed nothing.
    #[error("credential command `{cmd}` {what}")]
    Cmd {
        /// The command as configured.
        cmd: String,
        /// What went wrong, with the command's stderr.
        what: String,
    },
    /// `file:` could not be read or is empty.
    #[error("cannot read secret file {path}: {cause}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
}

/// Reads the current value of one source.
pub async fn read(reference: &SecretRef) -> Result<Secret, SourceError> {
    match reference {
        SecretRef::Env(var) => read_env(var),
        SecretRef::File(path) => read_file(path).await,
        SecretRef::Cmd(cmd) => run_cmd(cmd).await,
        SecretRef::Keychain(name) => {
            let name = name.clone();
            keychain_call(move || keychain_get(&name)).await?
        }
    }
}

/// Reads a secret that spans lines (a PEM private key): like [`read`], except that `file:`
/// gives the whole file instead of its first line.
pub async fn read_document(reference: &SecretRef) -> Result<Secret, SourceError> {
    match reference {
        SecretRef::File(path) => read_whole_file(path).await,
        other => read(other).await,
    }
}

async fn read_whole_file(path: &Path) -> Result<Secret, SourceError> {
    let err = |cause: String| SourceError::File {
        path: path.to_path_buf(),
        cause,
    };
    let text = zeroize::Zeroizing::new(
        tokio::fs::read_to_string(path)
            .await
            .map_err(|e| err(e.to_string()))?,
    );
    warn_if_shared(path);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(err("the file is empty".into()));
    }
    Ok(Secret::new(trimmed.to_string()))
}

fn read_env(var: &str) -> Result<Secret, SourceError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim().to_string())),
        _ => Err(SourceError::EnvMissing(var.to_string())),
    }
}

async fn read_file(path: &Path) -> Result<Secret, SourceError> {
    let err = |cause: String| SourceError::File {
        path: path.to_path_buf(),
        cause,
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| err(e.to_string()))?;
    warn_if_shared(path);
    let first = text.lines().next().unwrap_or("").trim().to_string();
    drop(zeroize::Zeroizing::new(text));
    if first.is_empty() {
        return Err(err("the first line is empty".into()));
    }
    Ok(Secret::new(first))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o044 != 0
    {
        tracing::warn!(
            "secret file {} is readable by other users; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

async fn run_cmd(cmd: &str) -> Result<Secret, SourceError> {
    let fail = |what: String| SourceError::Cmd {
        cmd: cmd.to_string(),
        what,
    };
    let output = shell_command(cmd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| fail(format!("could not start: {e}")))?;
    let stdout = zeroize::Zeroizing::new(output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    let said = if stderr.is_empty() {
        String::new()
    } else {
        format!("; it said: {stderr}")
    };
    if !output.status.success() {
        return Err(fail(format!("failed ({}){said}", output.status)));
    }
    let text = std::str::from_utf8(&stdout)
        .map_err(|_| fail("printed something that is not UTF-8".into()))?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(fail(format!("printed nothing{said}")));
    }
    Ok(Secret::new(secret.to_string()))
}

/// The user's command runs through their shell so that `op read …` or pipes work as typed.
/// Nothing a server sent ever reaches it.
fn shell_command(cmd: &str) -> tokio::process::Command {
    #[cfg(windows)]
    {
        let mut c = tokio::process::Command::new("cmd");
        c.arg("/C").arg(cmd);
        c
    }
    #[cfg(not(windows))]
    {
        let mut c = tokio::process::Command::new("sh");
        c.arg("-c").arg(cmd);
        c
    }
}

/// Runs a blocking keychain call off the async runtime, with a timeout.
pub async fn keychain_call<T, F>(f: F) -> Result<T, SourceError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::time::timeout(KEYCHAIN_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(SourceError::NoKeychain(format!(
            "keychain task failed: {e}"
        ))),
        Err(_) => Err(SourceError::NoKeychain(format!(
            "no answer within {}s; is it locked and waiting for an unlock prompt?",
            KEYCHAIN_TIMEOUT.as_secs()
        ))),
    }
}

/// Opens the keychain entry for `name`.
pub fn keychain_entry(name: &str) -> Result<keyring::Entry, SourceError> {
    keyring::Entry::new(KEYCHAIN_SERVICE, name).map_err(|e| keychain_error(name, e))
}

fn keychain_get(name: &str) -> Result<Secret, SourceError> {
    let password = keychain_entry(name)?
        .get_password()
        .map_err(|e| keychain_error(name, e))?;
    Ok(Secret::new(password))
}

/// Stores `secret` as entry `name` (blocking: call through [`keychain_call`]).
pub fn keychain_set(name: &str, secret: &Secret) -> Result<(), SourceError> {
    keychain_entry(name)?
        .set_password(secret.expose())
        .map_err(|e| keychain_error(name, e))
}

/// Deletes entry `name`; [`SourceError::KeychainMissing`] when there is none (blocking).
pub fn keychain_delete(name: &str) -> Result<(), SourceError> {
    keychain_entry(name)?
        .delete_credential()
        .map_err(|e| keychain_error(name, e))
}

/// Maps a keyring error to ours without ever formatting a variant that carries secret bytes.
pub fn keychain_error(name: &str, e: keyring::Error) -> SourceError {
    use keyring::Error as K;
    match e {
        K::NoEntry => SourceError::KeychainMissing(name.to_string()),
        // keyring reports only "no default store" once its one-time set-up failed; the set-up
        // error it kept says why (no D-Bus session bus, no Secret Service…).
        K::NoDefaultStore => SourceError::NoKeychain(match keyring::Entry::store_status() {
            Err(cause) => format!("no credential store: {cause}"),
            Ok(()) => "no default credential store".into(),
        }),
        K::NoStorageAccess(cause) | K::PlatformFailure(cause) => {
            SourceError::NoKeychain(cause.to_string())
        }
        K::BadEncoding(_) | K::BadDataFormat(..) => SourceError::Keychain {
            name: name.to_string(),
            cause:
                "the stored value is not valid text; store it again with `mcp-keybridge auth set`"
                    .into(),
        },
        other @ (K::BadStoreFormat(_) | K::TooLong(..) | K::Invalid(..) | K::Ambiguous(_)) => {
            SourceError::Keychain {
                name: name.to_string(),
                cause: other.to_string(),
            }
        }
        _ => SourceError::Keychain {
            name: name.to_string(),
            cause: "unexpected keychain error".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cmd_output_is_trimmed_and_failures_show_stderr_only() {
        let ok = run_cmd("printf '  tok-123 \\n'").await.unwrap();
        assert_eq!(ok.expose(), "tok-123");
        let err = run_cmd("echo $((6*7))leak; echo oops >&2; exit 3")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("oops") && !err.contains("42leak"), "{err}");
        assert!(
            run_cmd("true")
                .await
                .unwrap_err()
                .to_string()
                .contains("printed nothing")
        );
    }

    #[tokio::test]
    async fn file_takes_the_first_line() {
        let dir = std::env::temp_dir().join(format!("mkb-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tok");
        std::fs::write(&path, "first-line\nsecond\n").unwrap();
        assert_eq!(read_file(&path).await.unwrap().expose(), "first-line");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_file(&path).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
