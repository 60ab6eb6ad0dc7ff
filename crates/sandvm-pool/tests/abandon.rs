//! The process-wide cap on abandoned guest threads, in thread mode. One test in its own test
//! binary: the cap and the count are process-wide.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sandvm_pool::{Fault, Job, Pool, PoolConfig, PoolError, TenantConfig};
use sandvm_testkit::wait_until;
use serde_json::json;

#[test]
fn abandoned_threads_are_counted_capped_and_reported_at_shutdown() {
    let p = Pool::new(PoolConfig {
        workers: 1,
        test_hooks: true,
        hard_deadline_margin: ms(100),
        grace_period: ms(100),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    sandvm::set_max_abandoned_threads(1);

    // A guest stuck in native code past its hard deadline: its thread is abandoned.
    let h = p.submit("acme", Job::fault(Fault::Hang(1_500)).with_limits(timeout_limits(20))).expect("submit");
    let id = h.id();
    assert_eq!(kind(&h.wait()), "timeout");
    let s = p.stats();
    assert_eq!((s.abandoned_threads, s.stuck_threads), (1, 1), "{s:?}");
    assert_eq!((s.process_abandoned_threads, s.max_abandoned_threads), (1, 1));
    assert!(s.process_abandoned_total >= 1);
    let stuck = p.abandoned_jobs();
    assert_eq!(stuck.len(), 1);
    assert_eq!((stuck[0].job_id, stuck[0].tenant.as_str()), (id, "acme"));

    // At the cap, new work is refused with a typed error, and counted as a rejection.
    match p.submit("acme", Job::source("1")) {
        Err(e @ PoolError::Saturated { abandoned: 1, max: 1 }) => assert_eq!(e.kind(), "saturated"),
        other => panic!("expected saturated, got {other:?}"),
    }
    assert_eq!(p.stats().tenants["acme"].rejected.get("saturated").copied(), Some(1));

    // When the stuck thread ends by itself, its token goes and work is accepted again.
    wait_until(Duration::from_secs(20), "the stuck thread to end", || sandvm::abandoned_threads() == 0);
    assert_eq!(p.stats().stuck_threads, 0);
    assert!(p.abandoned_jobs().is_empty());
    assert_eq!(value(&p.execute_blocking("acme", Job::source("6 * 7"))), json!(42));

    // Shutdown does not wait for a stuck guest: it abandons it and says which job it was.
    sandvm::set_max_abandoned_threads(sandvm::DEFAULT_MAX_ABANDONED);
    let h = p.submit("beta", Job::fault(Fault::Hang(3_000)).with_limits(timeout_limits(60_000))).expect("submit");
    let id = h.id();
    wait_until(Duration::from_secs(10), "the job to start", || p.stats().running == 1);
    let t0 = Instant::now();
    let report = p.shutdown_blocking();
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(100 + 3 * 100 + 1_000), "shutdown took {took:?}");
    assert_eq!(report.abandoned.len(), 1, "{report:?}");
    assert_eq!((report.abandoned[0].job_id, report.abandoned[0].tenant.as_str()), (id, "beta"));
    assert!(matches!(h.wait(), Err(PoolError::Cancelled | PoolError::ShuttingDown)));
}
