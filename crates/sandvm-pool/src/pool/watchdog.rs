//! The watchdog: a thread that ends jobs past their hard deadline (or a cancellation past its
//! margin) by abandoning their thread or killing their process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::counter;
use sandvm::{AbandonedThread, Report, Stats};

use super::Inner;
use crate::config::Isolation;
use crate::process::KillReason;
use crate::stats::names;
use crate::sync::lock;
use crate::wire::ExecResult;
use crate::PoolError;

/// How often the watchdog looks at running jobs.
const WATCHDOG_TICK: Duration = Duration::from_millis(5);

/// A thread abandoned at a hard deadline (thread mode) that has not ended yet.
pub(super) struct Stuck {
    pub(super) tenant: Arc<str>,
    pub(super) since: Instant,
    pub(super) _token: AbandonedThread,
}

/// The result of a job ended at its hard deadline. Its thread was busy in the guest all along,
/// so the job is charged its wall-clock time as CPU time (against the tenant's CPU budget).
fn timeout_result(id: u64, wall: Duration) -> ExecResult {
    let ms = wall.as_secs_f64() * 1000.0;
    let stats = Stats { wall_ms: ms, cpu_ms: ms, ..Default::default() };
    ExecResult {
        id,
        report: Report::new(&Err(sandvm::Error::Timeout), Vec::new(), &stats),
        stats,
        heap_after: 0,
        recycled: Vec::new(),
    }
}

impl Inner {
    pub(super) fn watchdog(self: Arc<Self>) {
        loop {
            {
                let st = lock(&self.state);
                if st.stopping && st.running_total == 0 {
                    return;
                }
            }
            std::thread::sleep(WATCHDOG_TICK);
            let now = Instant::now();
            for w in 0..self.slots.len() {
                let mut slot = lock(&self.slots[w]);
                if let (Some(d), Some(pid)) = (slot.spawn_deadline, slot.pid) {
                    if now >= d {
                        slot.spawn_deadline = None;
                        crate::process::kill(pid);
                    }
                }
                let Some(r) = slot.running.as_ref() else { continue };
                let cancel_deadline = lock(&r.shared.cancel_at).map(|t| t + self.config.hard_deadline_margin);
                let reason = match (r.hard_deadline, cancel_deadline) {
                    (_, Some(c)) if c <= now => KillReason::Cancel,
                    (Some(h), _) if h <= now => KillReason::Deadline,
                    _ => continue,
                };
                match self.config.isolation {
                    Isolation::Thread => {
                        let Some(r) = slot.running.take() else { continue };
                        slot.epoch += 1;
                        let epoch = slot.epoch;
                        // Counted before the slot is released, so that a thread ending right
                        // now finds its entry to remove.
                        let stuck = Stuck { tenant: r.tenant.clone(), since: now, _token: AbandonedThread::new() };
                        lock(&self.stuck).insert(r.shared.id, stuck);
                        drop(slot);
                        lock(&self.state).stats.abandoned_threads += 1;
                        counter!(names::ABANDONED).increment(1);
                        let id = r.shared.id;
                        let wall = r.started.elapsed();
                        let result = match reason {
                            KillReason::Deadline => Ok(timeout_result(id, wall)),
                            KillReason::Cancel => Err(PoolError::Cancelled),
                        };
                        self.finish(w, r, result);
                        if let Err(e) = self.start_worker(w, epoch) {
                            eprintln!("sandvm-pool: cannot replace worker {w}: {e}");
                        }
                    }
                    Isolation::Process => {
                        if slot.kill.is_none() {
                            slot.kill = Some(reason);
                            if let Some(pid) = slot.pid {
                                crate::process::kill(pid);
                            }
                        }
                    }
                }
            }
        }
    }
}
