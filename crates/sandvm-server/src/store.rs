//! Stored scripts and tenants' usage, behind one trait with three implementations:
//!
//! | store | what | for |
//! | --- | --- | --- |
//! | [`MemoryStore`] | in memory, lost on restart | `sandvm serve --ephemeral`, tests |
//! | [`SqliteStore`] | an embedded SQLite file under the data directory | `sandvm serve` (the default) |
//! | [`PostgresStore`] | a PostgreSQL database shared by every API node | `sandvm serve --store postgres://...` |
//!
//! The store keeps the durable part of a stored script (the source, per tenant); each server
//! compiles a stored script into its own pool the first time it runs it there. It also keeps
//! the tenants' usage: the **rate quota** (a token bucket per tenant, taken atomically before a
//! job is admitted, so that every API node on one database draws from one budget; SQLite keeps
//! it across restarts), the **CPU budget** (CPU milliseconds per window per tenant, checked
//! before a job is admitted and charged with the job's CPU time after it ran, each in one
//! atomic statement, so that a budget spent through one API node is spent for all) and the
//! **execution log** (one row per run: id, tenant, job kind,
//! outcome, timings; never code, input or results).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sandvm_pool::{CpuBudget, RateQuota};
use serde::Serialize;

use crate::ServerError;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::{check_url as check_postgres_url, PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, DATABASE_FILE, DEFAULT_BUSY_TIMEOUT};

/// The newest schema version of the SQLite and PostgreSQL stores (both migrate to it when they
/// open, and refuse a database whose version is newer).
pub const SCHEMA_VERSION: i64 = 3;

/// A boxed future returned by [`ScriptStore`] methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServerError>> + Send + 'a>>;

/// A stored script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptRecord {
    /// The public id (`s_` and 24 hex digits), unique per store.
    pub id: String,
    /// The owning tenant. A record is only ever returned to its tenant.
    pub tenant: String,
    /// The source text.
    pub code: String,
    /// The file name shown in stack traces.
    pub filename: String,
    /// Compiled in strict mode.
    pub strict: bool,
    /// The source's language (schema version 3; scripts stored before it are JavaScript).
    pub language: sandvm::Language,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// One run in the execution log. Never the code, the input or the result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionRecord {
    /// A fresh id (`x_` and 24 hex digits).
    pub id: String,
    /// The tenant that ran it.
    pub tenant: String,
    /// `execute`, `script` or `template` (the route that ran it).
    pub job_kind: String,
    /// `ok`, the guest error kind (`timeout`, `memory_limit`, `exception`, ...) or the kind of
    /// the server error that ended it after admission (`busy`, `worker_crashed`, ...).
    pub outcome: String,
    /// When the request was admitted, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Wall-clock milliseconds of the run (0 when it did not run).
    pub wall_ms: f64,
    /// CPU milliseconds of the run (0 when it did not run).
    pub cpu_ms: f64,
    /// Milliseconds the job waited for a worker.
    pub queue_ms: f64,
}

/// The answer of [`ScriptStore::take_rate_token`] and [`ScriptStore::charge_cpu`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// A token was taken: the job may run.
    Admitted,
    /// The bucket is empty; a token will be there after `retry_after`.
    Refused {
        /// When to try again.
        retry_after: Duration,
    },
}

/// Where stored scripts and tenants' usage live. Every method is scoped by tenant: a store
/// never returns one tenant's record to another (the server answers 404, which hides that it
/// exists).
pub trait ScriptStore: Send + Sync + 'static {
    /// Stores a record (its `id` and `tenant` are set by the caller) unless the tenant
    /// already has `max` scripts.
    ///
    /// # Errors
    /// [`ServerError::QuotaExceeded`] (`max_scripts`) when the tenant is full; a backend
    /// error otherwise.
    fn insert(&self, record: ScriptRecord, max: usize) -> StoreFuture<'_, ()>;
    /// The tenant's record with this id, if any.
    ///
    /// # Errors
    /// A backend error.
    fn get<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, Option<ScriptRecord>>;
    /// Removes the tenant's record; true when it existed.
    ///
    /// # Errors
    /// A backend error.
    fn remove<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool>;
    /// How many scripts the tenant has.
    ///
    /// # Errors
    /// A backend error.
    fn count<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, usize>;
    /// True when other processes may use the same store (a SQLite file, a PostgreSQL
    /// database). The server then takes every job's rate token from the store
    /// ([`ScriptStore::take_rate_token`]) with the pool's per-process token bucket off, and
    /// checks that a script it compiled earlier still exists ([`ScriptStore::contains`])
    /// before running it, since another node may have deleted it. False for [`MemoryStore`]:
    /// the pool's bucket applies and the server's own bookkeeping is enough.
    fn is_shared(&self) -> bool;
    /// True when the tenant has a script with this id (cheaper than [`ScriptStore::get`]).
    ///
    /// # Errors
    /// A backend error.
    fn contains<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool>;
    /// Takes one token from the tenant's bucket (`rate.burst` tokens, refilled at
    /// `rate.per_second`), atomically: concurrent callers on any node sharing the store never
    /// take more tokens than the bucket holds.
    ///
    /// # Errors
    /// A backend error ([`ServerError::StoreUnavailable`] when the database is unreachable).
    fn take_rate_token<'a>(&'a self, tenant: &'a str, rate: RateQuota) -> StoreFuture<'a, Admission>;
    /// Charges `cpu_ms` CPU milliseconds to the tenant's CPU budget window and says whether
    /// the window had budget left *before* this charge, atomically (one statement in the SQL
    /// stores): concurrent callers on any node sharing the store see one window. The window
    /// starts at the tenant's first charge and rolls over every `budget.window` (the store's
    /// clock: the database's for PostgreSQL), emptying it. The server calls it with
    /// `cpu_ms = 0` to admit a job ([`Admission::Refused`] once the window holds
    /// `budget.cpu_ms` or more, with the time left until the window rolls over), and with the
    /// job's CPU time once it ran, as the pool does for its per-process budget.
    ///
    /// # Errors
    /// A backend error ([`ServerError::StoreUnavailable`] when the database is unreachable).
    fn charge_cpu<'a>(&'a self, tenant: &'a str, budget: CpuBudget, cpu_ms: f64) -> StoreFuture<'a, Admission>;
    /// Appends a run to the execution log.
    ///
    /// # Errors
    /// A backend error.
    fn log_execution(&self, record: ExecutionRecord) -> StoreFuture<'_, ()>;
    /// The tenant's most recent runs in the execution log, newest first, at most `limit`.
    ///
    /// # Errors
    /// A backend error.
    fn executions<'a>(&'a self, tenant: &'a str, limit: usize) -> StoreFuture<'a, Vec<ExecutionRecord>>;
}

/// The error of a full tenant (`max_scripts`).
pub(crate) fn scripts_quota(max: usize) -> ServerError {
    ServerError::QuotaExceeded {
        reason: "max_scripts".into(),
        message: format!("the tenant already stores {max} scripts"),
        retry_after: None,
    }
}

/// The error of an empty rate bucket.
pub(crate) fn rate_quota(retry_after: Duration) -> ServerError {
    ServerError::QuotaExceeded {
        reason: "rate".into(),
        message: "the tenant is over its rate quota".into(),
        retry_after: Some(retry_after),
    }
}

/// The error of a spent CPU budget window.
pub(crate) fn cpu_quota(retry_after: Duration) -> ServerError {
    ServerError::QuotaExceeded {
        reason: "cpu_budget".into(),
        message: "the tenant is over its cpu_budget quota".into(),
        retry_after: Some(retry_after),
    }
}

/// The answer of a CPU budget charge: admitted when the window held less than the budget
/// before the charge; otherwise refused until the window (which started at `window_start_ms`)
/// rolls over, as seen at `now_ms`.
pub(crate) fn cpu_admission(admitted: bool, window_start_ms: i64, now_ms: i64, budget: CpuBudget) -> Admission {
    if admitted {
        return Admission::Admitted;
    }
    let window = i64::try_from(budget.window.as_millis()).unwrap_or(i64::MAX);
    let left = window_start_ms.saturating_add(window).saturating_sub(now_ms).max(1);
    Admission::Refused { retry_after: Duration::from_millis(u64::try_from(left).unwrap_or(1)) }
}

/// A charge as stored: finite and not negative (anything else charges nothing).
pub(crate) fn charge_of(cpu_ms: f64) -> f64 {
    if cpu_ms.is_finite() {
        cpu_ms.max(0.0)
    } else {
        0.0
    }
}

/// A CPU budget window's length in milliseconds, at least 1, for the SQL stores.
pub(crate) fn window_ms(budget: CpuBudget) -> i64 {
    i64::try_from(budget.window.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// How long until an empty bucket holding `tokens` (< 1) has one token again (the SQL stores'
/// buckets).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn refill_wait(tokens: f64, rate: RateQuota) -> Duration {
    let secs = ((1.0 - tokens).max(0.0) / rate.per_second).clamp(0.001, 86_400.0 * 365.0);
    Duration::from_secs_f64(secs)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The default data directory of `sandvm serve`: `$XDG_DATA_HOME/sandvm`, else
/// `$HOME/.local/share/sandvm`; `None` when neither variable is set (or they are not
/// absolute paths).
pub fn default_data_dir() -> Option<std::path::PathBuf> {
    let abs = |v: std::ffi::OsString| Some(std::path::PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").and_then(abs) {
        return Some(x.join("sandvm"));
    }
    std::env::var_os("HOME").and_then(abs).map(|h| h.join(".local/share/sandvm"))
}

/// Runs kept by [`MemoryStore`]'s execution log (the oldest are dropped past it).
pub const MEMORY_LOG_CAPACITY: usize = 10_000;

/// The in-memory [`ScriptStore`] (lost on restart; one server only). Its execution log keeps
/// the last [`MEMORY_LOG_CAPACITY`] runs; it does not keep the rate quota (the pool's
/// per-process token bucket does). Its CPU budget windows ([`ScriptStore::charge_cpu`])
/// work as the SQL stores' do, but the server does not use them (the pool's per-process
/// budget applies, see [`ScriptStore::is_shared`]).
#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: RwLock<HashMap<String, HashMap<String, Arc<ScriptRecord>>>>,
    log: Mutex<VecDeque<ExecutionRecord>>,
    /// Tenant → (window start, CPU milliseconds used in it).
    cpu: Mutex<HashMap<String, (i64, f64)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl ScriptStore for MemoryStore {
    fn insert(&self, record: ScriptRecord, max: usize) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut m = self.tenants.write().unwrap_or_else(|p| p.into_inner());
            let scripts = m.entry(record.tenant.clone()).or_default();
            if scripts.len() >= max {
                return Err(scripts_quota(max));
            }
            scripts.insert(record.id.clone(), Arc::new(record));
            Ok(())
        })
    }

    fn get<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, Option<ScriptRecord>> {
        Box::pin(async move {
            let m = self.tenants.read().unwrap_or_else(|p| p.into_inner());
            Ok(m.get(tenant).and_then(|s| s.get(id)).map(|r| ScriptRecord::clone(r)))
        })
    }

    fn remove<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut m = self.tenants.write().unwrap_or_else(|p| p.into_inner());
            Ok(m.get_mut(tenant).is_some_and(|s| s.remove(id).is_some()))
        })
    }

    fn count<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let m = self.tenants.read().unwrap_or_else(|p| p.into_inner());
            Ok(m.get(tenant).map_or(0, HashMap::len))
        })
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn contains<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let m = self.tenants.read().unwrap_or_else(|p| p.into_inner());
            Ok(m.get(tenant).is_some_and(|s| s.contains_key(id)))
        })
    }

    fn take_rate_token<'a>(&'a self, _tenant: &'a str, _rate: RateQuota) -> StoreFuture<'a, Admission> {
        // Not asked (see `is_shared`): the pool's bucket applies.
        Box::pin(async { Ok(Admission::Admitted) })
    }

    fn charge_cpu<'a>(&'a self, tenant: &'a str, budget: CpuBudget, cpu_ms: f64) -> StoreFuture<'a, Admission> {
        Box::pin(async move {
            let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
            let window = window_ms(budget);
            let mut m = self.cpu.lock().unwrap_or_else(|p| p.into_inner());
            let (start, used) = m.entry(tenant.to_string()).or_insert((now, 0.0));
            if now - *start >= window {
                *start = now - (now - *start) % window;
                *used = 0.0;
            }
            let admitted = *used < budget.cpu_ms as f64;
            *used += charge_of(cpu_ms);
            Ok(cpu_admission(admitted, *start, now, budget))
        })
    }

    fn log_execution(&self, record: ExecutionRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            if log.len() >= MEMORY_LOG_CAPACITY {
                log.pop_front();
            }
            log.push_back(record);
            Ok(())
        })
    }

    fn executions<'a>(&'a self, tenant: &'a str, limit: usize) -> StoreFuture<'a, Vec<ExecutionRecord>> {
        Box::pin(async move {
            let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            Ok(log.iter().rev().filter(|r| r.tenant == tenant).take(limit).cloned().collect())
        })
    }
}

/// A fresh script id: `s_` and 24 random hex digits.
pub(crate) fn new_id() -> Result<String, ServerError> {
    new_id_with("s_")
}

/// A fresh id: `prefix` and 24 random hex digits.
pub(crate) fn new_id_with(prefix: &str) -> Result<String, ServerError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| ServerError::internal(format!("no random source: {e}")))?;
    let mut s = String::from(prefix);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tenant: &str, id: &str) -> ScriptRecord {
        ScriptRecord {
            id: id.into(),
            tenant: tenant.into(),
            code: "1".into(),
            filename: "s.js".into(),
            strict: false,
            language: sandvm::Language::TypeScript,
            created_ms: 0,
        }
    }

    #[tokio::test]
    async fn records_are_scoped_by_tenant_and_bounded() {
        let s = MemoryStore::new();
        s.insert(rec("a", "s_1"), 2).await.expect("insert");
        s.insert(rec("a", "s_2"), 2).await.expect("insert");
        assert!(matches!(s.insert(rec("a", "s_3"), 2).await, Err(ServerError::QuotaExceeded { .. })));
        let got = s.get("a", "s_1").await.expect("get").expect("stored");
        assert_eq!(got.language, sandvm::Language::TypeScript);
        assert!(s.get("b", "s_1").await.expect("get").is_none());
        assert!(!s.remove("b", "s_1").await.expect("remove"));
        assert!(s.remove("a", "s_1").await.expect("remove"));
        assert_eq!(s.count("a").await.expect("count"), 1);
        let id = new_id().expect("id");
        assert_eq!(id.len(), 26);
        assert_ne!(id, new_id().expect("id"));
    }

    #[tokio::test]
    async fn the_cpu_budget_window_is_checked_before_and_charged_after() {
        let s = MemoryStore::new();
        let budget = CpuBudget { cpu_ms: 100, window: Duration::from_secs(3600) };
        assert_eq!(s.charge_cpu("a", budget, 0.0).await.expect("check"), Admission::Admitted);
        // Admitted while below the budget before the charge, even if the charge goes over.
        assert_eq!(s.charge_cpu("a", budget, 60.0).await.expect("charge"), Admission::Admitted);
        assert_eq!(s.charge_cpu("a", budget, 60.0).await.expect("charge"), Admission::Admitted);
        // A charge that is not a number charges nothing (and the window is spent).
        assert!(matches!(s.charge_cpu("a", budget, f64::NAN).await, Ok(Admission::Refused { .. })));
        match s.charge_cpu("a", budget, 0.0).await.expect("check") {
            Admission::Refused { retry_after } => {
                assert!(retry_after > Duration::from_secs(3500) && retry_after <= Duration::from_secs(3600))
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Another tenant has its own window.
        assert_eq!(s.charge_cpu("b", budget, 0.0).await.expect("check"), Admission::Admitted);
        // A window that has passed is empty again.
        let short = CpuBudget { cpu_ms: 1, window: Duration::from_secs(1) };
        s.charge_cpu("c", short, 5.0).await.expect("charge");
        assert!(matches!(s.charge_cpu("c", short, 0.0).await, Ok(Admission::Refused { .. })));
        sandvm_testkit::wait_until_async_with(Duration::from_secs(10), "the window rolls over", || async {
            s.charge_cpu("c", short, 0.0).await.expect("check") == Admission::Admitted
        })
        .await;
    }
}
