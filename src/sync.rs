//! Lock helpers shared by the relay's parts.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, going on past a poisoned lock: the guarded state (pending ids, a session id) is
/// always left consistent, and a panic elsewhere must not stop every later message.
pub fn lock_ignoring_poison<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
