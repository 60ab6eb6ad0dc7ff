//! Guest threads given up on: the one grace policy, the one guest-thread stack size, and the
//! process-wide count and cap of abandoned threads.
//!
//! A guest stuck inside one long builtin (`new Array(2**32-1).join()`) never reaches an
//! interrupt check. Every front end that runs guests on a thread of its own waits for the
//! run's wall-clock deadline plus [`grace_for`], then abandons the thread: it stops waiting,
//! holds an [`AbandonedThread`] token on that thread until the thread ends by itself, and
//! starts a new one. Abandoned threads keep a core busy, so their number is capped process-wide
//! ([`set_max_abandoned_threads`], default [`DEFAULT_MAX_ABANDONED`]); once the cap is reached,
//! [`check_capacity`] refuses further work with [`Error::Saturated`] until some of them end.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use crate::{Error, Result, MAX_STACK};

/// The default process-wide cap on abandoned guest threads: 16.
pub const DEFAULT_MAX_ABANDONED: usize = 16;

/// The native stack of a thread that runs guest code: twice the largest engine stack a guest
/// may be given ([`MAX_STACK`]) plus 8 MiB for the host code around it (value conversion,
/// inspect, template and rule code).
pub const GUEST_THREAD_STACK: usize = MAX_STACK * 2 + 8 * 1024 * 1024;

static ABANDONED: AtomicUsize = AtomicUsize::new(0);
static TOTAL_ABANDONED: AtomicUsize = AtomicUsize::new(0);
static MAX_ABANDONED: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_ABANDONED);

/// How long past a run's wall-clock deadline a front end waits before abandoning its thread:
/// a quarter of the timeout, at least 250 ms and at most 5 s.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(sandvm::grace_for(Duration::from_millis(100)), Duration::from_millis(250));
/// assert_eq!(sandvm::grace_for(Duration::from_secs(4)), Duration::from_secs(1));
/// assert_eq!(sandvm::grace_for(Duration::from_secs(600)), Duration::from_secs(5));
/// ```
pub fn grace_for(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(5))
}

/// Guest threads of this process that were abandoned and have not ended yet.
pub fn abandoned_threads() -> usize {
    ABANDONED.load(SeqCst)
}

/// Guest threads abandoned since the process started, including those that ended since.
pub fn total_abandoned_threads() -> usize {
    TOTAL_ABANDONED.load(SeqCst)
}

/// The process-wide cap on abandoned guest threads (default [`DEFAULT_MAX_ABANDONED`]).
pub fn max_abandoned_threads() -> usize {
    MAX_ABANDONED.load(SeqCst)
}

/// Sets the process-wide cap on abandoned guest threads (at least 1).
pub fn set_max_abandoned_threads(max: usize) {
    MAX_ABANDONED.store(max.max(1), SeqCst);
}

/// Whether new guest work may start: fewer abandoned threads than the cap are alive.
///
/// # Errors
/// [`Error::Saturated`] when the cap is reached.
pub fn check_capacity() -> Result<()> {
    let (abandoned, max) = (abandoned_threads(), max_abandoned_threads());
    if abandoned >= max {
        Err(Error::Saturated { abandoned, max })
    } else {
        Ok(())
    }
}

/// A token held by an abandoned guest thread: counted while it lives, uncounted when the
/// thread finally ends and drops it.
#[derive(Debug)]
#[must_use = "the thread is counted as abandoned only while the token lives"]
pub struct AbandonedThread(());

impl AbandonedThread {
    /// Counts one more abandoned thread. Move the token into (or keep it beside) the thread's
    /// state so that it is dropped when the thread ends.
    pub fn new() -> AbandonedThread {
        ABANDONED.fetch_add(1, SeqCst);
        TOTAL_ABANDONED.fetch_add(1, SeqCst);
        AbandonedThread(())
    }
}

impl Default for AbandonedThread {
    fn default() -> Self {
        AbandonedThread::new()
    }
}

impl Drop for AbandonedThread {
    fn drop(&mut self) {
        ABANDONED.fetch_sub(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_count_and_the_cap_refuses() {
        let before = abandoned_threads();
        set_max_abandoned_threads(before + 1);
        assert!(check_capacity().is_ok());
        let t = AbandonedThread::new();
        assert_eq!(abandoned_threads(), before + 1);
        assert!(matches!(check_capacity(), Err(Error::Saturated { .. })));
        drop(t);
        assert_eq!(abandoned_threads(), before);
        assert!(check_capacity().is_ok());
        set_max_abandoned_threads(DEFAULT_MAX_ABANDONED);
    }
}
