//! A cross-process lock around sign-in and refresh, one per server: an advisory lock
//! (`File::try_lock`) on a 0600 file in the user's runtime directory (else the cache
//! directory). A second instance waits for it and then re-reads the keychain, so concurrent
//! instances share one browser visit and never refresh with the same refresh token twice.

use super::OAuthError;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::Duration;

/// How often a waiting instance tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct SignInLock {
    file: File,
}

impl Drop for SignInLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

impl SignInLock {
    /// Takes the lock for `server`, waiting up to `wait` for another holder to finish.
    pub async fn acquire(server: &str, wait: Duration) -> Result<Self, OAuthError> {
        let path = lock_path(server);
        let fail = |cause: String| OAuthError::Lock {
            path: path.display().to_string(),
            cause,
        };
        let file = open(&path).map_err(|e| fail(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(SignInLock { file }),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(fail(e.to_string())),
            }
            if !said {
                tracing::info!("another mcp-keybridge is signing in to {server}; waiting for it");
                said = true;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(fail(format!(
                    "another mcp-keybridge held it for more than {} seconds",
                    wait.as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// `$XDG_RUNTIME_DIR/mcp-keybridge/` (else the cache directory, else the temp directory)
/// `oauth-<sha256 of the server URL>.lock`.
fn lock_path(server: &str) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("mcp-keybridge"))
        .or_else(|| {
            directories::ProjectDirs::from("", "", "mcp-keybridge")
                .map(|d| d.cache_dir().to_path_buf())
        })
        .unwrap_or_else(|| std::env::temp_dir().join("mcp-keybridge"));
    let digest = Sha256::digest(server.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("oauth-{hex}.lock"))
}

fn open(path: &std::path::Path) -> std::io::Result<File> {
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        dir.mode(0o700);
        opts.mode(0o600);
    }
    if let Some(parent) = path.parent() {
        dir.create(parent)?;
    }
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_holder_waits_then_gets_it() {
        let server = format!("https://lock-test.example/{}", std::process::id());
        let first = SignInLock::acquire(&server, Duration::from_secs(1))
            .await
            .unwrap();
        let err = SignInLock::acquire(&server, Duration::from_millis(250))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("held it"), "{err}");
        let waiter = tokio::spawn({
            let server = server.clone();
            async move { SignInLock::acquire(&server, Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(first);
        waiter.await.unwrap().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(lock_path(&server))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "lock file must be private");
        }
    }
}
