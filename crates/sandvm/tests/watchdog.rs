//! The process-wide watchdog, alone in its own test binary: no other test's runs can trip it.

mod common;

use std::time::Duration;

use common::*;
use sandvm::{ContextOptions, Error, Limits};

#[test]
fn the_watchdog_reports_a_run_stuck_past_its_deadline() {
    let (tx, rx) = std::sync::mpsc::channel();
    sandvm::spawn_watchdog(Duration::from_millis(50), move || {
        let _ = tx.send(());
    })
    .unwrap();
    // Ordinary runs, finished or interrupted in time, never trigger it.
    let c = ctx_with(limits_ms(100), ContextOptions::default());
    assert_eq!(c.eval("while (true) {}"), Err(Error::Timeout));
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    // A run stuck in a builtin that cannot be interrupted does.
    std::thread::spawn(|| {
        let c = ctx_with(
            Limits { timeout: Some(Duration::from_millis(50)), memory: 1 << 30, ..Default::default() },
            ContextOptions::default(),
        );
        let _ = c.eval("new Array(2 ** 32 - 1).join().length");
    });
    assert!(rx.recv_timeout(Duration::from_secs(20)).is_ok());
}
