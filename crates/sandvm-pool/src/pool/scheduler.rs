//! Scheduling: tenants served round-robin, each tenant's jobs in order, within concurrency and
//! memory quotas; a worker takes its next job here and delivers the result here.

use std::sync::Arc;
use std::time::Instant;

use metrics::{counter, gauge, histogram};
use sandvm::Script;

use super::admission::{Queued, Registered};
use super::handle::JobShared;
use super::{Inner, Reply, State};
use crate::exec::Executor;
use crate::job::Outcome;
use crate::process::KillReason;
use crate::stats::names;
use crate::sync::lock;
use crate::wire::{ExecJob, ExecResult};
use crate::PoolError;

/// A job handed to a worker.
pub(crate) struct Taken {
    pub(crate) exec: ExecJob,
    pub(crate) registered: Option<Arc<Registered>>,
    pub(crate) shared: Arc<JobShared>,
}

impl Taken {
    /// The compiled script of a `Script` job, for thread workers.
    fn local_script(&self) -> Option<Script> {
        self.registered.as_ref().map(|r| r.script.clone())
    }
}

pub(super) struct Running {
    pub(super) shared: Arc<JobShared>,
    pub(super) reply: Reply,
    pub(super) tenant: Arc<str>,
    pub(super) memory: usize,
    pub(super) hard_deadline: Option<Instant>,
    pub(super) started: Instant,
    pub(super) queue_ms: f64,
}

#[derive(Default)]
pub(crate) struct Slot {
    pub(super) epoch: u64,
    pub(super) running: Option<Running>,
    pub(crate) pid: Option<u32>,
    pub(crate) kill: Option<KillReason>,
    pub(crate) spawn_deadline: Option<Instant>,
}

impl State {
    /// Picks the next job for worker `w`: tenants in round-robin order, each tenant's jobs
    /// in FIFO order (skipping jobs pinned to another worker), within concurrency and memory
    /// quotas.
    pub(super) fn pick(&mut self, w: usize) -> Option<Queued> {
        let n = self.ring.len();
        for i in 0..n {
            let idx = (self.cursor + i) % n;
            let name = self.ring[idx].clone();
            let Some(ts) = self.tenants.get_mut(&name) else { continue };
            if ts.queue.is_empty() || ts.running >= ts.config.max_concurrency.max(1) {
                continue;
            }
            let Some(pos) = ts.queue.iter().position(|q| q.affinity.is_none_or(|a| a == w)) else { continue };
            let mem = ts.queue[pos].memory;
            if ts.running > 0 && ts.mem_running + ts.idle_heap_excluding(w) + mem > ts.config.memory_cap {
                continue;
            }
            let Some(q) = ts.queue.remove(pos) else { continue };
            ts.running += 1;
            ts.mem_running += mem;
            *ts.running_workers.entry(w).or_default() += 1;
            ts.stats.queued = ts.queue.len();
            ts.stats.running = ts.running;
            self.queued_total -= 1;
            self.running_total += 1;
            self.cursor = (idx + 1) % n;
            return Some(q);
        }
        None
    }
}

impl Inner {
    /// Blocks until a job for worker `w` is available; `None` when the pool stops.
    pub(crate) fn next_job(&self, w: usize, epoch: u64) -> Option<Taken> {
        let mut st = lock(&self.state);
        loop {
            if st.stopping {
                return None;
            }
            if let Some(q) = st.pick(w) {
                let now = Instant::now();
                let queue_ms = now.duration_since(q.enqueued).as_secs_f64() * 1000.0;
                st.stats.queue_wait_ms_sum += queue_ms;
                gauge!(names::QUEUED).set(st.queued_total as f64);
                let mut slot = lock(&self.slots[w]);
                if slot.epoch != epoch {
                    // This thread was abandoned; it must not take work. Put the job back.
                    drop(slot);
                    if let Some(ts) = st.tenants.get_mut(&q.exec.tenant) {
                        ts.running -= 1;
                        ts.mem_running -= q.memory;
                        if let Some(c) = ts.running_workers.get_mut(&w) {
                            *c -= 1;
                            if *c == 0 {
                                ts.running_workers.remove(&w);
                            }
                        }
                        ts.queue.push_front(q);
                    }
                    st.queued_total += 1;
                    st.running_total -= 1;
                    return None;
                }
                histogram!(names::QUEUE_WAIT, "tenant" => q.exec.tenant.to_string()).record(queue_ms / 1000.0);
                slot.kill = None;
                slot.running = Some(Running {
                    shared: q.shared.clone(),
                    reply: q.reply,
                    tenant: q.exec.tenant.clone(),
                    memory: q.memory,
                    hard_deadline: q.hard.map(|h| now + h),
                    started: now,
                    queue_ms,
                });
                return Some(Taken { exec: q.exec, registered: q.registered, shared: q.shared });
            }
            st = self.work_cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Delivers the result of the job running on worker `w`. False when the worker was
    /// abandoned meanwhile (its job was already answered).
    pub(crate) fn complete(&self, w: usize, epoch: u64, result: Result<ExecResult, PoolError>) -> bool {
        let running = {
            let mut slot = lock(&self.slots[w]);
            if slot.epoch != epoch {
                return false;
            }
            slot.running.take()
        };
        if let Some(r) = running {
            self.finish(w, r, result);
        }
        true
    }

    pub(super) fn finish(&self, w: usize, r: Running, result: Result<ExecResult, PoolError>) {
        let wall = r.started.elapsed();
        let mut recycled = Vec::new();
        let mut heap_after = None;
        let outcome = match result {
            Ok(res) => {
                recycled = res.recycled;
                heap_after = Some(res.heap_after as usize);
                let cancelled = res.report.error.as_ref().is_some_and(|e| e.kind == "cancelled");
                if cancelled {
                    Err(PoolError::Cancelled)
                } else {
                    Ok(Outcome {
                        job_id: res.id,
                        tenant: r.tenant.to_string(),
                        worker: w,
                        report: res.report,
                        stats: res.stats,
                        queue_ms: r.queue_ms,
                    })
                }
            }
            Err(e) => Err(e),
        };
        let kind = outcome_kind(&outcome);
        let tenant = r.tenant.to_string();
        let (cpu_ms, heap_peak) = match &outcome {
            Ok(o) => (o.stats.cpu_ms, o.stats.heap_peak_bytes),
            Err(_) => (0.0, 0),
        };
        {
            let mut st = lock(&self.state);
            st.running_total = st.running_total.saturating_sub(1);
            *st.stats.outcomes.entry(kind.clone()).or_default() += 1;
            st.stats.run_ms_sum += wall.as_secs_f64() * 1000.0;
            st.stats.runs += 1;
            st.stats.recycled_runtimes += recycled.len() as u64;
            let now = Instant::now();
            if let Some(ts) = st.tenants.get_mut(&r.tenant) {
                ts.running = ts.running.saturating_sub(1);
                ts.mem_running = ts.mem_running.saturating_sub(r.memory);
                if let Some(c) = ts.running_workers.get_mut(&w) {
                    *c -= 1;
                    if *c == 0 {
                        ts.running_workers.remove(&w);
                    }
                }
                match heap_after {
                    Some(h) => {
                        ts.idle_heap.insert(w, h);
                    }
                    None => {
                        ts.idle_heap.remove(&w);
                    }
                }
                ts.roll_window(now);
                ts.cpu_window += cpu_ms;
                ts.stats.cpu_ms_total += cpu_ms;
                ts.stats.heap_peak_max = ts.stats.heap_peak_max.max(heap_peak);
                ts.stats.running = ts.running;
                *ts.stats.outcomes.entry(kind.clone()).or_default() += 1;
                for (_, reason) in &recycled {
                    *ts.stats.recycled.entry(reason.clone()).or_default() += 1;
                }
            }
        }
        self.work_cv.notify_all();
        self.idle_cv.notify_all();
        counter!(names::EXECUTIONS, "tenant" => tenant.clone(), "outcome" => kind).increment(1);
        histogram!(names::RUN_TIME, "tenant" => tenant.clone()).record(wall.as_secs_f64());
        if outcome.is_ok() {
            histogram!(names::CPU_MS, "tenant" => tenant.clone()).record(cpu_ms);
            histogram!(names::HEAP_PEAK, "tenant" => tenant.clone()).record(heap_peak as f64);
        }
        for (t, reason) in recycled {
            counter!(names::RECYCLED, "tenant" => t, "reason" => reason).increment(1);
        }
        let _ = r.reply.send(outcome);
    }

    pub(crate) fn count_worker_event(&self, killed: Option<KillReason>) {
        let mut st = lock(&self.state);
        match killed {
            Some(reason) => {
                st.stats.killed_workers += 1;
                let label = if reason == KillReason::Deadline { "deadline" } else { "cancel" };
                counter!(names::KILLED, "reason" => label).increment(1);
            }
            None => {
                st.stats.crashed_workers += 1;
                counter!(names::CRASHED).increment(1);
            }
        }
    }

    pub(crate) fn count_worker_start(&self) {
        lock(&self.state).stats.worker_starts += 1;
    }

    pub(crate) fn stopping(&self) -> bool {
        lock(&self.state).stopping
    }

    /// The body of a thread worker.
    pub(super) fn thread_worker(self: Arc<Self>, w: usize, epoch: u64) {
        let mut exec = Executor::new(self.exec_settings(), None);
        while let Some(t) = self.next_job(w, epoch) {
            let job_id = t.exec.id;
            let shared = t.shared.clone();
            let local = t.local_script();
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                exec.run(t.exec, local, &mut |h| {
                    if let Some(h) = h {
                        shared.set_hook(Box::new(move || h.cancel()));
                    }
                })
            }));
            shared.clear_hook();
            let result = match run {
                Ok(r) => Ok(r),
                Err(_) => {
                    exec = Executor::new(self.exec_settings(), None);
                    Err(PoolError::Worker("the worker panicked".into()))
                }
            };
            if !self.complete(w, epoch, result) {
                // Abandoned by the watchdog; a replacement has taken the slot. Ending now:
                // drop this thread's abandoned-thread token.
                lock(&self.stuck).remove(&job_id);
                return;
            }
            exec.maintain();
        }
    }
}

fn outcome_kind(r: &Result<Outcome, PoolError>) -> String {
    match r {
        Ok(o) => o.error_kind().unwrap_or("ok").to_string(),
        Err(e) => e.kind().to_string(),
    }
}
