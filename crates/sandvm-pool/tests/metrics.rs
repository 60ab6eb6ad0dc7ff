//! The pool's `metrics` output (its own test binary: it installs a global recorder).

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use sandvm_pool::{names, Job, Limits, Pool, PoolConfig, TenantConfig};

#[test]
fn records_executions_waits_and_recycling_per_tenant() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("first recorder");
    let p = Pool::new(PoolConfig { workers: 2, default_tenant: Some(TenantConfig::default()), ..Default::default() })
        .expect("pool");
    for i in 0..5 {
        p.execute_blocking("alpha", Job::source(format!("{i}"))).expect("ok");
    }
    let slow = Limits { timeout: Some(std::time::Duration::from_millis(20)), ..Default::default() };
    p.execute_blocking("beta", Job::source("for (;;) {}").with_limits(slow)).expect("outcome");
    let _ = p.submit("nobody-rate", Job::source("1"));
    let snap = snapshotter.snapshot().into_vec();
    let counter = |name: &str, labels: &[(&str, &str)]| -> u64 {
        snap.iter()
            .filter(|(k, _, _, _)| {
                k.key().name() == name
                    && labels.iter().all(|(l, v)| k.key().labels().any(|x| x.key() == *l && x.value() == *v))
            })
            .map(|(_, _, _, v)| match v {
                DebugValue::Counter(c) => *c,
                _ => 0,
            })
            .sum()
    };
    let histogram_len = |name: &str, tenant: &str| -> usize {
        snap.iter()
            .filter(|(k, _, _, _)| k.key().name() == name && k.key().labels().any(|x| x.value() == tenant))
            .map(|(_, _, _, v)| match v {
                DebugValue::Histogram(h) => h.len(),
                _ => 0,
            })
            .sum()
    };
    assert_eq!(counter(names::EXECUTIONS, &[("tenant", "alpha"), ("outcome", "ok")]), 5);
    assert_eq!(counter(names::EXECUTIONS, &[("tenant", "beta"), ("outcome", "timeout")]), 1);
    assert_eq!(counter(names::RECYCLED, &[("tenant", "beta"), ("reason", "limit")]), 1);
    assert_eq!(histogram_len(names::QUEUE_WAIT, "alpha"), 5);
    assert_eq!(histogram_len(names::RUN_TIME, "alpha"), 5);
    assert_eq!(histogram_len(names::CPU_MS, "alpha"), 5);
    assert_eq!(histogram_len(names::HEAP_PEAK, "alpha"), 5);
    // The snapshot API agrees and serialises.
    let s = p.stats();
    assert_eq!(s.tenants["alpha"].outcomes.get("ok").copied(), Some(5));
    assert!(s.tenants["alpha"].heap_peak_max > 0);
    let json = serde_json::to_value(&s).expect("serialisable");
    assert_eq!(json["tenants"]["beta"]["outcomes"]["timeout"], 1);
}
