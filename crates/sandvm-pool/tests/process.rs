//! Process-mode pool tests (Linux). The worker executable is this crate's
//! `sandvm-pool-worker` binary, which only calls `sandvm_pool::worker_main()` (the same as
//! the `sandvm worker` subcommand).
#![cfg(target_os = "linux")]
#![forbid(unsafe_code)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sandvm_pool::{Fault, Isolation, Job, Limits, Pool, PoolConfig, PoolError, ScriptOptions, TenantConfig};
use serde_json::json;

fn pool(workers: usize) -> Pool {
    Pool::new(PoolConfig {
        workers,
        isolation: Isolation::Process,
        worker_binary: Some(env!("CARGO_BIN_EXE_sandvm-pool-worker").into()),
        worker_args: Vec::new(),
        process_address_space: 2 * 1024 * 1024 * 1024,
        test_hooks: true,
        hard_deadline_margin: ms(200),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool")
}

fn crashed_with(r: &Result<sandvm_pool::Outcome, PoolError>, what: &str) {
    match r {
        Err(PoolError::WorkerCrashed(m)) => assert!(m.contains(what), "expected {what}, got {m}"),
        other => panic!("expected a crashed worker ({what}), got {other:?}"),
    }
}

#[test]
fn runs_jobs_in_worker_processes() {
    let p = pool(2);
    let r =
        p.execute_blocking("a", Job::source("console.log('hi'); [1, 2].map(x => x * n)").with_globals(json!({"n": 3})));
    let o = r.expect("ok");
    assert_eq!(o.report.value, json!([3, 6]));
    assert_eq!(o.report.console[0].text, "hi");
    // Isolation between tenants and between jobs.
    p.execute_blocking("a", Job::source("Object.prototype.polluted = 1; globalThis.leak = 1")).expect("ok");
    for t in ["a", "b", "a", "b"] {
        assert_eq!(
            value(&p.execute_blocking(t, Job::source("[typeof leak, typeof ({}).polluted]"))),
            json!(["undefined", "undefined"])
        );
    }
    // Registered scripts travel to the worker once, as authenticated cached data.
    let id = p.register_script("a", "n * 2", ScriptOptions::default()).expect("compiles");
    for n in 0..4 {
        assert_eq!(value(&p.execute_blocking("a", Job::script(id).with_globals(json!({"n": n})))), json!(n * 2));
    }
    // Persistent contexts are pinned to one worker.
    p.execute_blocking("a", Job::source("var total = 0; function add(x) { return total += x; }").in_context("p"))
        .expect("ok");
    for i in 1..=4 {
        assert_eq!(value(&p.execute_blocking("a", Job::call("p", "add", vec![json!(1)]))), json!(i));
    }
    let s = p.stats();
    assert_eq!(s.worker_pids.iter().filter(|p| p.is_some()).count(), 2);
    assert_eq!(s.crashed_workers, 0);
}

#[test]
fn a_crash_fails_only_its_job() {
    let p = pool(1);
    let before = p.submit("a", Job::source("'before'")).expect("submit");
    let crash = p.submit("a", Job::fault(Fault::Abort)).expect("submit");
    let after = p.submit("a", Job::source("'after'")).expect("submit");
    assert_eq!(value(&before.wait()), json!("before"));
    crashed_with(&crash.wait(), "SIGABRT");
    assert_eq!(value(&after.wait()), json!("after"));
    let s = p.stats();
    assert_eq!(s.crashed_workers, 1);
    assert_eq!(s.worker_starts, 2);
    let exit = p.execute_blocking("a", Job::fault(Fault::Exit));
    crashed_with(&exit, "status 3");
}

#[test]
fn a_worker_killed_from_outside_fails_only_its_job() {
    let p = pool(1);
    let long = Limits { timeout: Some(Duration::from_secs(20)), ..Default::default() };
    let victim = p.submit("a", Job::source(LOOP).with_limits(long)).expect("submit");
    let next = p.submit("a", Job::source("'next'")).expect("submit");
    let pid = sandvm_testkit::wait_for(Duration::from_secs(10), "the job to run on a worker with a pid", || {
        let s = p.stats();
        match s.worker_pids.first() {
            Some(Some(pid)) if s.running == 1 => Some(*pid),
            _ => None,
        }
    });
    let pid = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill the worker");
    crashed_with(&victim.wait(), "signal 9");
    assert_eq!(value(&next.wait()), json!("next"));
}

#[test]
fn a_worker_whose_pool_is_gone_refuses_to_start() {
    // The worker asks for SIGKILL on its parent's death and then checks that its parent is
    // the pool named in SANDVM_POOL_PARENT; a mismatch (a reparented orphan) stops it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sandvm-pool-worker"))
        .env("SANDVM_POOL_WORKER", "1")
        .env("SANDVM_POOL_PARENT", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the worker");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the pool (pid 1) is gone"), "{err}");
}

#[test]
fn hard_deadline_kills_a_stuck_worker() {
    let p = pool(1);
    let t = Instant::now();
    let r = p.execute_blocking("a", Job::fault(Fault::Hang(10_000)).with_limits(timeout_limits(50)));
    assert_eq!(kind(&r), "timeout");
    assert!(t.elapsed() < Duration::from_secs(8), "the stuck worker was not killed");
    assert_eq!(value(&p.execute_blocking("a", Job::source("'alive'"))), json!("alive"));
    assert_eq!(p.stats().killed_workers, 1);
}

#[test]
fn seccomp_blocks_files_network_fork_exec() {
    let p = pool(1);
    // Opening a file is refused (EPERM): the job fails, the worker lives on.
    let r = p.execute_blocking("a", Job::fault(Fault::Open)).expect("outcome");
    assert_eq!(r.error_kind(), Some("host"));
    assert!(r.report.error.as_ref().is_some_and(|e| e.message.contains("open failed")), "{r:?}");
    assert_eq!(p.stats().crashed_workers, 0);
    // Network, fork and exec kill the worker with SIGSYS; only that job fails.
    for f in [Fault::Connect, Fault::Fork, Fault::Exec] {
        let r = p.execute_blocking("a", Job::fault(f));
        crashed_with(&r, "SIGSYS");
        assert_eq!(value(&p.execute_blocking("a", Job::source("'healthy'"))), json!("healthy"), "after {f:?}");
    }
    assert_eq!(p.stats().crashed_workers, 3);
}

#[test]
fn the_hooks_do_work_without_seccomp() {
    // The counter-test of `seccomp_blocks_files_network_fork_exec`: in thread mode (no
    // filter) the same hooks succeed, so a missing filter would fail that test.
    let p = Pool::new(PoolConfig {
        workers: 1,
        test_hooks: true,
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    assert_eq!(value(&p.execute_blocking("a", Job::fault(Fault::Open))), json!("opened"));
    let c = value(&p.execute_blocking("a", Job::fault(Fault::Connect)));
    assert!(c.as_str().is_some_and(|s| s == "connect: connection refused" || s == "connected"), "{c}");
    // Fork and exec need a worker process; in a pool thread they are refused, not run.
    for f in [Fault::Fork, Fault::Exec, Fault::Abort, Fault::Exit] {
        let r = p.execute_blocking("a", Job::fault(f)).expect("outcome");
        assert!(r.report.error.as_ref().is_some_and(|e| e.message.contains("needs a worker process")), "{f:?}: {r:?}");
    }
}

#[test]
fn output_limit_and_cancellation() {
    let p = pool(1);
    let limits = Limits { memory: 256 * 1024 * 1024, timeout: Some(Duration::from_secs(10)), ..Default::default() };
    let r = p.execute_blocking("a", Job::source("'x'.repeat(100 * 1024 * 1024)").with_limits(limits));
    assert_eq!(kind(&r), "output_limit");
    // Cancel a running job: the worker interrupts the guest and lives on.
    let long = Limits { timeout: Some(Duration::from_secs(20)), ..Default::default() };
    let running = p.submit("a", Job::source(LOOP).with_limits(long)).expect("submit");
    let queued = p.submit("a", Job::source("'never'")).expect("submit");
    sandvm_testkit::wait_until(Duration::from_secs(10), "the job to start", || p.stats().running > 0);
    queued.cancel();
    running.cancel();
    assert!(matches!(running.wait(), Err(PoolError::Cancelled)));
    assert!(matches!(queued.wait(), Err(PoolError::Cancelled)));
    assert_eq!(value(&p.execute_blocking("a", Job::source("'still here'"))), json!("still here"));
    let s = p.stats();
    assert_eq!(s.killed_workers + s.crashed_workers, 0, "{s:?}");
}

#[test]
fn thousand_mixed_jobs_with_crashes() {
    let p = pool(2);
    let mut hs = Vec::new();
    for i in 0..1000 {
        let (job, expected) = mixed_job(i, true);
        hs.push((i, expected, p.submit(&format!("t{}", i % 3), job).expect("submit")));
    }
    for (i, expected, h) in hs {
        check_mixed(i, expected, &h.wait());
    }
    let s = p.stats();
    assert_eq!(s.outcomes.get("ok").copied(), Some(750));
    assert_eq!(s.outcomes.get("worker_crashed").copied(), Some(50));
    assert_eq!(s.crashed_workers, 50);
}

#[test]
fn a_bad_worker_binary_fails_jobs_cleanly() {
    let p = Pool::new(PoolConfig {
        workers: 1,
        isolation: Isolation::Process,
        worker_binary: Some("/bin/false".into()),
        default_tenant: Some(TenantConfig::default()),
        ..Default::default()
    })
    .expect("pool");
    match p.execute_blocking("a", Job::source("1")) {
        Err(PoolError::Worker(m)) => assert!(m.contains("/bin/false"), "{m}"),
        other => panic!("expected a worker error, got {other:?}"),
    }
}

#[test]
fn module_jobs_and_capabilities_cross_the_wire() {
    let p = pool(1);
    p.add_tenant(
        "lib",
        TenantConfig {
            modules: [("lib.mjs".to_string(), "export const x = 7;".to_string())].into(),
            ..Default::default()
        },
    );
    let src = "import { x } from 'lib.mjs'; export const y = x * n, b = typeof btoa;";
    let o = p.execute_blocking("lib", Job::module(src).with_globals(json!({"n": 6})).with_capabilities(["base64"]));
    assert_eq!(value(&o), json!({"y": 42, "b": "function"}));
    let o = p.execute_blocking("a", Job::module(src).with_globals(json!({"n": 6}))).expect("outcome");
    assert!(o.error_kind().is_some_and(|k| k.starts_with("module_not")), "{o:?}");
    assert_eq!(value(&p.execute_blocking("a", Job::source("typeof btoa"))), json!("undefined"));
    assert!(matches!(p.submit("a", Job::source("1").with_capabilities(["net"])), Err(PoolError::InvalidJob(_))));
}
