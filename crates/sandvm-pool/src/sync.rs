//! Locking that survives a poisoned mutex.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, going on with the data if a panicking thread poisoned it (every critical
/// section here leaves the state consistent between statements that can panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
