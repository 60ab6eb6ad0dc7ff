//! Test helpers shared by sandvm's test suites (a dev-dependency only, never published).
//!
//! Tests wait for *conditions*, never for a fixed time: every wait here is bounded by a
//! timeout and fails naming what it waited for, so a slow machine makes a test slower, not
//! flaky, and a broken one fails instead of hanging.
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! let done = Arc::new(AtomicBool::new(false));
//! let d = done.clone();
//! let t = std::thread::spawn(move || d.store(true, Ordering::SeqCst));
//! sandvm_testkit::wait_until(Duration::from_secs(5), "the thread to finish", || done.load(Ordering::SeqCst));
//! t.join().unwrap();
//! ```

#![forbid(unsafe_code)]

use std::fmt;
use std::time::{Duration, Instant};

/// The first pause between two polls; it doubles up to [`MAX_POLL_INTERVAL`].
pub const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// The longest pause between two polls.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A bounded wait ran out of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    /// What was waited for.
    pub what: String,
    /// How long.
    pub waited: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?} waiting for {}", self.waited, self.what)
    }
}

impl std::error::Error for TimedOut {}

/// The pauses between polls: 1 ms, 2 ms, 4 ms, ... up to [`MAX_POLL_INTERVAL`].
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(FIRST_POLL_INTERVAL)
    }

    /// The next pause, never past `end`.
    fn next(&mut self, end: Instant) -> Duration {
        let pause = self.0.min(end.saturating_duration_since(Instant::now()));
        self.0 = (self.0 * 2).min(MAX_POLL_INTERVAL);
        pause
    }
}

/// Polls `f` until it returns `Some`, for at most `timeout`; returns the value.
///
/// # Errors
/// [`TimedOut`] naming `what` when `f` still returns `None` at the deadline (it is polled
/// once more at the deadline).
pub fn try_wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> Result<T, TimedOut> {
    let start = Instant::now();
    let end = start + timeout;
    let mut backoff = Backoff::new();
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() >= end {
            return Err(TimedOut { what: what.to_string(), waited: start.elapsed() });
        }
        std::thread::sleep(backoff.next(end));
    }
}

/// Polls `f` until it returns `Some`, for at most `timeout`; returns the value.
///
/// # Panics
/// With "timed out after ... waiting for `what`" when the deadline passes.
#[track_caller]
pub fn wait_for<T>(timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    match try_wait_for(timeout, what, f) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// Polls `cond` until it holds, for at most `timeout`.
///
/// # Errors
/// [`TimedOut`] naming `what` when it still does not hold at the deadline.
pub fn try_wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Result<(), TimedOut> {
    try_wait_for(timeout, what, || cond().then_some(()))
}

/// Polls `cond` until it holds, for at most `timeout`.
///
/// # Panics
/// With "timed out after ... waiting for `what`" when the deadline passes.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, cond: impl FnMut() -> bool) {
    if let Err(e) = try_wait_until(timeout, what, cond) {
        panic!("{e}");
    }
}

/// Waits for a child process to exit, for at most `timeout`; returns its status.
///
/// # Panics
/// When it is still running at the deadline (it is left running: the caller's guard kills
/// it), or when its status cannot be read.
#[track_caller]
pub fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let id = child.id();
    wait_for(timeout, &format!("process {id} to exit"), || match child.try_wait() {
        Ok(st) => st,
        Err(e) => panic!("cannot wait for process {id}: {e}"),
    })
}

/// [`wait_until`] for async tests: polls `cond` with `tokio::time::sleep` between polls.
///
/// # Panics
/// With "timed out after ... waiting for `what`" when the deadline passes.
#[cfg(feature = "tokio")]
pub async fn wait_until_async(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    let end = start + timeout;
    let mut backoff = Backoff::new();
    while !cond() {
        if Instant::now() >= end {
            panic!("{}", TimedOut { what: what.to_string(), waited: start.elapsed() });
        }
        tokio::time::sleep(backoff.next(end)).await;
    }
}

/// [`wait_until_async`] with an async condition (an HTTP request, say).
///
/// # Panics
/// With "timed out after ... waiting for `what`" when the deadline passes.
#[cfg(feature = "tokio")]
pub async fn wait_until_async_with<F, Fut>(timeout: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    let end = start + timeout;
    let mut backoff = Backoff::new();
    while !cond().await {
        if Instant::now() >= end {
            panic!("{}", TimedOut { what: what.to_string(), waited: start.elapsed() });
        }
        tokio::time::sleep(backoff.next(end)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn returns_as_soon_as_the_condition_holds() {
        let calls = Cell::new(0);
        let start = Instant::now();
        wait_until(Duration::from_secs(30), "the third poll", || {
            calls.set(calls.get() + 1);
            calls.get() == 3
        });
        assert_eq!(calls.get(), 3);
        assert!(start.elapsed() < Duration::from_secs(30));
        assert_eq!(wait_for(Duration::ZERO, "a value", || Some(7)), 7);
    }

    #[test]
    fn times_out_naming_what_it_waited_for() {
        let calls = Cell::new(0);
        let e = try_wait_until(Duration::from_millis(30), "the impossible", || {
            calls.set(calls.get() + 1);
            false
        })
        .unwrap_err();
        assert_eq!(e.what, "the impossible");
        assert!(e.waited >= Duration::from_millis(30));
        assert!(e.to_string().ends_with("waiting for the impossible"), "{e}");
        assert!(calls.get() >= 2, "polled at the start and at the deadline");
    }

    #[test]
    #[should_panic(expected = "waiting for nothing at all")]
    fn the_panicking_form_panics_with_the_message() {
        wait_until(Duration::from_millis(1), "nothing at all", || false);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_never_passes_the_deadline() {
        let mut b = Backoff::new();
        let far = Instant::now() + Duration::from_secs(60);
        let pauses: Vec<_> = (0..7).map(|_| b.next(far).as_millis()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 20, 20]);
        assert_eq!(b.next(Instant::now()), Duration::ZERO);
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn the_async_form_waits_and_times_out() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        wait_until_async(Duration::from_secs(30), "two polls", || {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1
        })
        .await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        let n = std::sync::atomic::AtomicUsize::new(0);
        wait_until_async_with(Duration::from_secs(30), "an async condition", || {
            let v = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { v == 2 }
        })
        .await;
    }
}
