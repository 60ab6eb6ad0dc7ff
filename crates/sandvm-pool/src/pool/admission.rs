//! Admission: a submission is checked (tenant, script, capabilities, quotas: queue, rate, CPU
//! budget, memory) and queued, or refused at once; queued jobs can be cancelled.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{counter, gauge};
use sandvm::Script;
use tokio::sync::oneshot;

use super::handle::{Canceller, JobHandle, JobShared};
use super::{Inner, Reply, State};
use crate::config::{Isolation, TenantConfig};
use crate::job::{Job, JobKind, ScriptId};
use crate::stats::{names, TenantStats};
use crate::sync::lock;
use crate::wire::{ExecJob, ExecKind, ScriptDef};
use crate::PoolError;

/// A script registered for a tenant.
pub(crate) struct Registered {
    pub(super) script: Script,
    pub(crate) def: ScriptDef,
}

pub(super) struct Queued {
    pub(super) exec: ExecJob,
    pub(super) registered: Option<Arc<Registered>>,
    pub(super) shared: Arc<JobShared>,
    pub(super) reply: Reply,
    pub(super) enqueued: Instant,
    pub(super) affinity: Option<usize>,
    pub(super) memory: usize,
    pub(super) hard: Option<Duration>,
}

pub(super) struct TenantState {
    pub(super) config: TenantConfig,
    pub(super) queue: VecDeque<Queued>,
    pub(super) running: usize,
    pub(super) mem_running: usize,
    pub(super) running_workers: HashMap<usize, usize>,
    pub(super) idle_heap: HashMap<usize, usize>,
    pub(super) tokens: f64,
    pub(super) last_refill: Instant,
    pub(super) window_start: Instant,
    pub(super) cpu_window: f64,
    pub(super) scripts: HashMap<u64, Arc<Registered>>,
    /// The config's importable modules, shared with module jobs.
    pub(super) modules: Arc<std::collections::BTreeMap<String, String>>,
    pub(super) stats: TenantStats,
}

impl TenantState {
    pub(super) fn new(config: TenantConfig) -> TenantState {
        let now = Instant::now();
        let tokens = config.rate.map(|r| f64::from(r.burst)).unwrap_or(0.0);
        let modules = Arc::new(config.modules.clone());
        TenantState {
            modules,
            config,
            queue: VecDeque::new(),
            running: 0,
            mem_running: 0,
            running_workers: HashMap::new(),
            idle_heap: HashMap::new(),
            tokens,
            last_refill: now,
            window_start: now,
            cpu_window: 0.0,
            scripts: HashMap::new(),
            stats: TenantStats::default(),
        }
    }

    pub(super) fn roll_window(&mut self, now: Instant) {
        if let Some(b) = self.config.cpu_budget {
            if b.window.is_zero() {
                return;
            }
            while now.duration_since(self.window_start) >= b.window {
                self.window_start += b.window;
                self.cpu_window = 0.0;
            }
        }
    }

    pub(super) fn idle_heap_excluding(&self, w: usize) -> usize {
        self.idle_heap.iter().filter(|(k, _)| **k != w && !self.running_workers.contains_key(k)).map(|(_, v)| *v).sum()
    }

    pub(super) fn memory_in_use(&self) -> usize {
        self.mem_running + self.idle_heap_excluding(usize::MAX)
    }
}

fn quota(tenant: &str, reason: &str, retry_after: Option<Duration>) -> PoolError {
    PoolError::QuotaExceeded { tenant: tenant.to_string(), reason: reason.to_string(), retry_after }
}

impl Inner {
    pub(super) fn tenant_mut<'a>(&self, st: &'a mut State, tenant: &str) -> Result<&'a mut TenantState, PoolError> {
        if !st.tenants.contains_key(tenant) {
            let Some(cfg) = self.config.default_tenant.clone() else {
                return Err(PoolError::UnknownTenant(tenant.to_string()));
            };
            let key: Arc<str> = tenant.into();
            st.tenants.insert(key.clone(), TenantState::new(cfg));
            st.ring.push(key);
        }
        st.tenants.get_mut(tenant).ok_or_else(|| PoolError::UnknownTenant(tenant.to_string()))
    }

    pub(super) fn submit(self: &Arc<Self>, tenant: &str, job: Job) -> Result<JobHandle, PoolError> {
        let Job { kind, limits, globals, mut options, persistent } = job;
        if let Some(g) = &globals {
            if !g.is_object() && !g.is_null() {
                return Err(PoolError::InvalidJob("globals must be a JSON object".into()));
            }
        }
        for name in &options.capabilities {
            sandvm::Capabilities::none().grant(name).map_err(|e| PoolError::InvalidJob(e.to_string()))?;
        }
        // One order for one set, so equal sets share warm contexts.
        options.capabilities.sort();
        options.capabilities.dedup();
        let mut st = lock(&self.state);
        if !st.accepting {
            return Err(PoolError::ShuttingDown);
        }
        if self.config.isolation == Isolation::Thread {
            if let Err(sandvm::Error::Saturated { abandoned, max }) = sandvm::check_capacity() {
                return Err(PoolError::Saturated { abandoned, max });
            }
        }
        let queued_total = st.queued_total;
        let ts = self.tenant_mut(&mut st, tenant)?;
        let mut registered = None;
        let exec_kind = match kind {
            JobKind::Source { source, filename } => ExecKind::Source { source, filename },
            JobKind::Script(ScriptId(id)) => {
                let reg = ts
                    .scripts
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| PoolError::UnknownScript { tenant: tenant.to_string(), id })?;
                registered = Some(reg);
                ExecKind::Script { id, def: None }
            }
            JobKind::Module { source, name } => ExecKind::Module { source, name, modules: ts.modules.clone() },
            JobKind::Call { function, args } => {
                if persistent.is_none() {
                    return Err(PoolError::InvalidJob("a call job needs a persistent context".into()));
                }
                ExecKind::Call { function, args }
            }
            JobKind::Template(t) => ExecKind::Template(t),
            #[cfg(feature = "test-faults")]
            JobKind::Fault(f) => {
                if !self.config.test_hooks {
                    return Err(PoolError::InvalidJob("test hooks are disabled".into()));
                }
                ExecKind::Fault(f)
            }
        };
        let limits = ts.config.effective_limits(limits.as_ref());
        if limits.memory > ts.config.memory_cap {
            return Err(quota(tenant, "memory_cap", None));
        }
        if queued_total >= self.config.queue_capacity {
            return Err(PoolError::Busy);
        }
        if ts.queue.len() >= ts.config.max_queued {
            return Err(quota(tenant, "max_queued", None));
        }
        let now = Instant::now();
        ts.roll_window(now);
        if let Some(b) = ts.config.cpu_budget {
            if ts.cpu_window >= b.cpu_ms as f64 {
                let end = ts.window_start + b.window;
                return Err(quota(tenant, "cpu_budget", Some(end.saturating_duration_since(now))));
            }
        }
        if let Some(r) = ts.config.rate {
            let elapsed = now.duration_since(ts.last_refill).as_secs_f64();
            ts.tokens = (ts.tokens + elapsed * r.per_second).min(f64::from(r.burst));
            ts.last_refill = now;
            if ts.tokens < 1.0 {
                let wait = if r.per_second > 0.0 {
                    Some(Duration::from_secs_f64((1.0 - ts.tokens) / r.per_second))
                } else {
                    None
                };
                return Err(quota(tenant, "rate", wait));
            }
            ts.tokens -= 1.0;
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        let tenant_key: Arc<str> = tenant.into();
        let affinity = persistent.as_ref().map(|name| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tenant.hash(&mut h);
            name.hash(&mut h);
            (h.finish() % self.config.workers as u64) as usize
        });
        let shared = Arc::new(JobShared {
            id,
            tenant: tenant_key.clone(),
            cancelled: AtomicBool::new(false),
            cancel_at: Mutex::new(None),
            hook: Mutex::new(None),
            pool: Arc::downgrade(self),
        });
        let (tx, rx) = oneshot::channel();
        let hard = limits.timeout.map(|t| t.saturating_add(self.config.hard_deadline_margin));
        let memory = limits.memory;
        let exec = ExecJob { id, tenant: tenant_key, kind: exec_kind, limits, globals, options, persistent };
        ts.queue.push_back(Queued {
            exec,
            registered,
            shared: shared.clone(),
            reply: tx,
            enqueued: now,
            affinity,
            memory,
            hard,
        });
        ts.stats.submitted += 1;
        ts.stats.queued = ts.queue.len();
        st.queued_total += 1;
        gauge!(names::QUEUED).set(st.queued_total as f64);
        drop(st);
        self.work_cv.notify_all();
        Ok(JobHandle { id, rx: Some(rx), canceller: Canceller(shared) })
    }

    pub(super) fn cancel_queued(&self, tenant: &str, id: u64) {
        let mut st = lock(&self.state);
        let Some(ts) = st.tenants.get_mut(tenant) else { return };
        let Some(pos) = ts.queue.iter().position(|q| q.exec.id == id) else { return };
        let Some(q) = ts.queue.remove(pos) else { return };
        ts.stats.queued = ts.queue.len();
        *ts.stats.outcomes.entry("cancelled".into()).or_default() += 1;
        st.queued_total -= 1;
        *st.stats.outcomes.entry("cancelled".into()).or_default() += 1;
        drop(st);
        self.idle_cv.notify_all();
        counter!(names::EXECUTIONS, "tenant" => tenant.to_string(), "outcome" => "cancelled").increment(1);
        let _ = q.reply.send(Err(PoolError::Cancelled));
    }
}
