//! Proactive re-reading: when a secret is a JWT with `exp`, every source is re-read shortly
//! before it expires, so that a login script (`cmd:`) or a rotated keychain entry supplies
//! the next token before the server starts answering 401. The 401 path stays the safety net.

use super::HeaderCache;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long before `exp` the first re-read happens: clocks drift and requests take time.
pub(super) const LEAD: Duration = Duration::from_secs(60);

/// The least time between two re-reads, so that a source handing out the same token (or
/// tokens that live less than `LEAD`) cannot make this loop spin or hammer a command.
pub(super) const RETRY: Duration = Duration::from_secs(15);

/// Longest single sleep: the monotonic clock may stand still while a laptop sleeps, so the
/// deadline is re-checked against the wall clock at least this often.
const MAX_NAP: Duration = Duration::from_secs(300);

/// Runs until the credentials are dropped (the task is aborted then).
pub(super) async fn run(cache: Arc<HeaderCache>) {
    let mut last_at: Option<SystemTime> = None;
    let mut last_exp: Option<SystemTime> = None;
    loop {
        // Registered before the state is read, so that a change in between is not missed.
        let notified = cache.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let Some(exp) = cache.expires() else {
            notified.await;
            continue;
        };
        let mut due = exp.checked_sub(LEAD).unwrap_or(UNIX_EPOCH);
        if let Some(at) = last_at {
            due = due.max(at + RETRY);
        }
        if last_exp == Some(exp) && due > exp {
            // Tried until the token expired and the source still has the same one: leave it
            // to a change (a 401 re-read) rather than polling the source forever.
            notified.await;
            continue;
        }
        let wait = due
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait.min(MAX_NAP)) => {}
            _ = &mut notified => continue,
        }
        if wait > MAX_NAP {
            continue;
        }
        last_at = Some(SystemTime::now());
        last_exp = Some(exp);
        let _guard = cache.refreshing.lock().await;
        // A 401 may have re-read the sources while this task waited for the lock.
        if cache.expires() == Some(exp) {
            tracing::debug!("a JWT among the credentials expires soon; re-reading the sources");
            cache.reread().await;
        }
    }
}
