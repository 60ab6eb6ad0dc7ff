//! The server configuration: an embedded default (no file needed) and `sandvm.toml`.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! body_limit_bytes = 1048576
//! cors_origins = ["http://localhost:3000"]
//!
//! [pool]
//! workers = 2              # default: the number of cores
//! isolation = "thread"     # or "process" (Linux)
//! queue_capacity = 10000
//! grace_period_ms = 5000   # drain time on SIGTERM
//! max_abandoned_threads = 16
//!
//! [[tenants]]
//! name = "acme"
//! api_keys_sha256 = ["<64 hex digits: sha256 of the key; `sandvm serve --hash-key KEY`>"]
//! capabilities = ["timers", "text", "base64", "url", "structured-clone", "queue-microtask"]
//! max_scripts = 1000
//! limits = { timeout = "1s", memory = "64 MiB" }          # defaults of a request
//! max_limits = { timeout = "10s", memory = "256 MiB" }     # the most a request may ask
//! quotas = { max_concurrency = 4, max_queued = 100, rate_per_second = 50, rate_burst = 100,
//!            cpu_ms_per_window = 60000, cpu_window_ms = 60000, memory_cap_mb = 1024 }
//! modules = { "lib/math.mjs" = "export const add = (a, b) => a + b;" }
//!
//! [cluster]                # several nodes (see `sandvm_server::store`, `sandvm_server::queue::nats`)
//! store = "postgres://sandvm@db.internal/sandvm"   # default: SQLite under the data directory
//! queue = "nats://127.0.0.1:4222"   # default: none, jobs run in this process
//! queue_depth = 10000      # jobs waiting in the stream before requests get 503 busy
//! max_deliver = 3          # deliveries of one job before the client gets worker_lost
//! ack_wait_ms = 5000       # a silent worker's job is redelivered after this
//! worker_metrics_addr = "0.0.0.0:9091"   # sandvm worker: GET /metrics and /healthz; default: none
//! ```
//!
//! Without `[[tenants]]` the server has one anonymous tenant (no API key needed) configured
//! by the optional `[anonymous]` table (same fields, no keys).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sandvm::Limits;
use sandvm_pool::{CpuBudget, Isolation, PoolConfig, RateQuota, TenantConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ServerError;

const MIB: usize = 1024 * 1024;

/// The whole configuration. Every field has a default; see the module documentation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. By default, `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (over it: 413). By default, 1 MiB.
    pub body_limit_bytes: usize,
    /// Origins allowed to call the API from a browser (CORS). By default, none (the
    /// playground is served from the same origin and needs none). `"*"` allows any.
    pub cors_origins: Vec<String>,
    /// The worker pool.
    pub pool: PoolSettings,
    /// Tenants with API keys. By default, none: one anonymous tenant serves every request.
    pub tenants: Vec<TenantEntry>,
    /// The anonymous tenant's settings, used only when `tenants` is empty.
    pub anonymous: TenantEntry,
    /// Distributed mode: the job queue shared by API nodes and worker nodes.
    pub cluster: ClusterSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: MIB,
            cors_origins: Vec::new(),
            pool: PoolSettings::default(),
            tenants: Vec::new(),
            anonymous: TenantEntry::default(),
            cluster: ClusterSettings::default(),
        }
    }
}

/// The `[pool]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSettings {
    /// Workers (threads or processes). By default, `None`: the number of cores.
    pub workers: Option<usize>,
    /// `thread` or `process`. By default, `thread`.
    pub isolation: Isolation,
    /// Jobs queued across tenants before requests get 503. By default, 10,000.
    pub queue_capacity: usize,
    /// How long shutdown lets running jobs finish, in milliseconds. By default, 5,000.
    pub grace_period_ms: u64,
    /// Time past a job's timeout after which its worker is abandoned or killed, in
    /// milliseconds. By default, 500.
    pub hard_deadline_margin_ms: u64,
    /// Worker executable for process isolation. By default, `None`: the running `sandvm`
    /// binary with `worker_args`.
    pub worker_binary: Option<PathBuf>,
    /// Arguments of the worker executable. By default, `["worker"]`.
    pub worker_args: Vec<String>,
    /// Thread mode: guest threads abandoned at their hard deadline (stuck in one long
    /// builtin) that may run at once before new work is refused with 503 `saturated`
    /// (process-wide; see [`sandvm::set_max_abandoned_threads`]). At least 1. By default,
    /// [`sandvm::DEFAULT_MAX_ABANDONED`] (16).
    pub max_abandoned_threads: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        let d = PoolConfig::default();
        PoolSettings {
            workers: None,
            isolation: Isolation::Thread,
            queue_capacity: d.queue_capacity,
            grace_period_ms: d.grace_period.as_millis() as u64,
            hard_deadline_margin_ms: d.hard_deadline_margin.as_millis() as u64,
            worker_binary: None,
            worker_args: d.worker_args,
            max_abandoned_threads: sandvm::DEFAULT_MAX_ABANDONED,
        }
    }
}

/// The `[cluster]` table: the shared store and the job queue of distributed mode (see [`crate::queue::nats`] for
/// the delivery semantics). Flags of `sandvm serve` and `sandvm worker` override it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// A PostgreSQL connection URL (`postgres://user@host:port/dbname`) for stored scripts,
    /// rate buckets and the execution log, shared by every API node; `sandvm serve --store`
    /// overrides it. By default, `None`: an embedded SQLite database under the data directory
    /// (`sandvm serve --data-dir`).
    pub store: Option<String>,
    /// The NATS JetStream broker, `nats://HOST:PORT`. By default, `None`: jobs run in this
    /// process's pool.
    pub queue: Option<String>,
    /// Jobs the queue holds (waiting or running, the stream's maximum number of messages)
    /// before requests get 503 `busy` with `Retry-After`. By default, 10,000.
    pub queue_depth: u64,
    /// Deliveries of one job (the first and the redeliveries after its worker died) before
    /// its client gets 500 `worker_lost`. By default, 3.
    pub max_deliver: u32,
    /// The consumer's ack wait, in milliseconds: a worker renews the lease of a running job
    /// every half of it until the job's hard deadline plus grace, so a worker that dies has
    /// its job redelivered this long after its last renewal. By default, 5,000.
    pub ack_wait_ms: u64,
    /// How long an API node waits for a job to be taken from the queue, in milliseconds, on
    /// top of `max_deliver` leases of the job; past it the client gets 500 `worker_lost` and
    /// the job is removed from the queue. By default, 60,000.
    pub queue_timeout_ms: u64,
    /// Name of the JetStream stream (its subjects are `<lowercase name>.jobs`). By default,
    /// `SANDVM_JOBS`.
    pub stream: String,
    /// Where a worker node (`sandvm worker`) serves `GET /metrics` (Prometheus text: its
    /// pool's metrics and its job counters) and `GET /healthz`; `sandvm worker
    /// --metrics-addr` overrides it. API nodes ignore it (they serve both on `listen`). By
    /// default, `None`: a worker node serves no HTTP.
    pub worker_metrics_addr: Option<SocketAddr>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            store: None,
            queue: None,
            queue_depth: 10_000,
            max_deliver: 3,
            ack_wait_ms: 5_000,
            queue_timeout_ms: 60_000,
            stream: "SANDVM_JOBS".into(),
            worker_metrics_addr: None,
        }
    }
}

impl ClusterSettings {
    /// Checks the table; a bad queue URL names `cluster.queue`.
    ///
    /// # Errors
    /// [`ServerError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), ServerError> {
        if let Some(url) = &self.queue {
            #[cfg(feature = "nats")]
            crate::queue::nats::check_url(url).map_err(|m| err("cluster.queue", m))?;
            #[cfg(not(feature = "nats"))]
            {
                let _ = url;
                return Err(not_built("cluster.queue", "NATS queue", "nats"));
            }
        }
        if self.queue_depth == 0 || self.queue_depth > i64::MAX as u64 {
            return Err(err("cluster.queue_depth", "must be positive"));
        }
        if self.max_deliver == 0 || self.max_deliver > 100 {
            return Err(err("cluster.max_deliver", "must be 1 to 100"));
        }
        if self.ack_wait_ms < 200 {
            return Err(err("cluster.ack_wait_ms", "must be at least 200"));
        }
        if self.queue_timeout_ms == 0 {
            return Err(err("cluster.queue_timeout_ms", "must be positive"));
        }
        if self.stream.is_empty()
            || self.stream.len() > 64
            || !self.stream.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err("cluster.stream", "1 to 64 characters of [A-Za-z0-9_-]"));
        }
        Ok(())
    }
}

/// Reads `max_limits` over the pool's default maxima ([`TenantConfig::default`]): a key
/// left out keeps its default maximum.
fn max_limits_over_pool_defaults<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Limits, D::Error> {
    serde::de::DeserializeSeed::deserialize(sandvm::LimitsSeed(&TenantConfig::default().max_limits), d)
}

/// A tenant's quotas (see [`sandvm_pool::TenantConfig`]).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    /// Jobs running at once. By default, `None` (bounded by the workers).
    pub max_concurrency: Option<usize>,
    /// Jobs waiting; one more gets 429. By default, 1,000.
    pub max_queued: usize,
    /// Average requests per second (token bucket). By default, `None`.
    pub rate_per_second: Option<f64>,
    /// Burst size of the token bucket. By default, `rate_per_second` rounded up (at least 1).
    pub rate_burst: Option<u32>,
    /// CPU milliseconds per window. By default, `None`.
    pub cpu_ms_per_window: Option<u64>,
    /// The CPU window in milliseconds. By default, 60,000.
    pub cpu_window_ms: u64,
    /// MiB of engine heap across the tenant's running jobs. By default, 1,024.
    pub memory_cap_mb: u64,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            max_concurrency: None,
            max_queued: 1_000,
            rate_per_second: None,
            rate_burst: None,
            cpu_ms_per_window: None,
            cpu_window_ms: 60_000,
            memory_cap_mb: 1024,
        }
    }
}

/// One `[[tenants]]` entry (or the `[anonymous]` table).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantEntry {
    /// The tenant's name (in logs and metrics). By default, `anonymous`.
    pub name: String,
    /// SHA-256 digests (64 hex digits) of the tenant's API keys; the keys themselves are
    /// never stored.
    pub api_keys_sha256: Vec<String>,
    /// Defaults of a request that gives no limits, as a table of `sandvm::Limits` keys with
    /// units (`{ timeout = "1s", memory = "64 MiB" }`; the older `timeout_ms`, `memory_mb`,
    /// `stack_kb`, `cpu_time_ms` and `max_output_bytes` keys still work). Unset fields:
    /// [`Limits::default`].
    pub limits: Limits,
    /// The most a request may ask for; more is refused with 422 `limit_exceeded` naming the
    /// field ([`Limits::within`]). Same keys. Unset fields: the pool's default maxima
    /// (timeout 30 s, memory 256 MiB, stack 1 MiB, output 16 MiB, 10,000,000 jobs).
    #[serde(deserialize_with = "max_limits_over_pool_defaults")]
    pub max_limits: Limits,
    /// Quotas.
    pub quotas: QuotaSettings,
    /// Capability packs requests may ask for. By default, every pack of
    /// [`sandvm::PACK_NAMES`].
    pub capabilities: Option<Vec<String>>,
    /// Stored scripts the tenant may keep. By default, 1,000.
    pub max_scripts: usize,
    /// In-memory ES modules the tenant's module requests may import. By default, none.
    pub modules: BTreeMap<String, String>,
}

impl Default for TenantEntry {
    fn default() -> Self {
        TenantEntry {
            name: "anonymous".into(),
            api_keys_sha256: Vec::new(),
            limits: Limits::default(),
            max_limits: TenantConfig::default().max_limits,
            quotas: QuotaSettings::default(),
            capabilities: None,
            max_scripts: 1_000,
            modules: BTreeMap::new(),
        }
    }
}

/// A tenant as the server uses it: resolved limits, allowed packs, pool configuration.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The name.
    pub name: String,
    /// Limits of a request that gives none.
    pub default_limits: Limits,
    /// The most a request may ask for.
    pub max_limits: Limits,
    /// Canonical names of the packs requests may ask for.
    pub capabilities: Vec<&'static str>,
    /// Stored scripts the tenant may keep.
    pub max_scripts: usize,
    /// The quotas as configured.
    pub quotas: QuotaSettings,
    /// The pool's view of the tenant.
    pub pool: TenantConfig,
}

/// The canonical pack name of a capability name or alias (`text-encoding` → `text`), or
/// `None` for an unknown name. `all` is not a pack name.
pub fn canonical_pack(name: &str) -> Option<&'static str> {
    let alias = match name {
        "text-encoding" => "text",
        "structuredClone" => "structured-clone",
        "queueMicrotask" => "queue-microtask",
        other => other,
    };
    sandvm::PACK_NAMES.iter().copied().find(|p| *p == alias)
}

/// The SHA-256 of an API key as 64 lowercase hex digits (what `api_keys_sha256` holds).
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ServerError {
    ServerError::Config { path: path.into(), message: message.into() }
}

/// The error of a configuration field naming a back end this build left out (`what`, behind
/// the cargo `feature` of sandvm-server).
#[cfg(any(not(feature = "nats"), not(feature = "postgres")))]
pub(crate) fn not_built(path: &str, what: &str, feature: &str) -> ServerError {
    err(path, format!("this build has no {what} (the `{feature}` cargo feature of sandvm-server is off)"))
}

impl ServerConfig {
    /// Parses TOML text. Errors name the offending field (`tenants[0].quotas.max_queued`).
    ///
    /// # Errors
    /// [`ServerError::Config`] for a syntax error, an unknown field, a wrong type or an
    /// invalid value (see [`ServerConfig::validate`]).
    pub fn from_toml(text: &str) -> Result<ServerConfig, ServerError> {
        let de = toml::Deserializer::new(text);
        let config: ServerConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = inner.span().map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                format!(" (line {line})")
            });
            err(path, format!("{}{}", inner.message().trim(), at.unwrap_or_default()))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file.
    ///
    /// # Errors
    /// [`ServerError::Io`] when the file cannot be read; as [`ServerConfig::from_toml`].
    pub fn load(path: &Path) -> Result<ServerConfig, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ServerError::Io { context: format!("cannot read {}", path.display()), source })?;
        ServerConfig::from_toml(&text)
    }

    /// Checks values serde cannot: key digests, duplicate names and keys, capability names,
    /// default limits within the maxima, sizes that must be positive.
    ///
    /// # Errors
    /// [`ServerError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), ServerError> {
        if self.body_limit_bytes == 0 {
            return Err(err("body_limit_bytes", "must be positive"));
        }
        self.cluster.validate()?;
        if self.pool.workers == Some(0) && self.cluster.queue.is_none() {
            return Err(err("pool.workers", "must be positive (0 is only for an API node with cluster.queue)"));
        }
        if self.pool.queue_capacity == 0 {
            return Err(err("pool.queue_capacity", "must be positive"));
        }
        if self.pool.max_abandoned_threads == 0 {
            return Err(err("pool.max_abandoned_threads", "must be positive"));
        }
        if self.pool.isolation == Isolation::Process && !cfg!(target_os = "linux") {
            return Err(err("pool.isolation", "process isolation needs Linux"));
        }
        if let Some(url) = &self.cluster.store {
            #[cfg(feature = "postgres")]
            crate::store::check_postgres_url(url).map_err(|m| err("cluster.store", m))?;
            #[cfg(not(feature = "postgres"))]
            {
                let _ = url;
                return Err(not_built("cluster.store", "PostgreSQL store", "postgres"));
            }
        }
        for (i, o) in self.cors_origins.iter().enumerate() {
            if o != "*" && axum::http::HeaderValue::from_str(o).is_err() {
                return Err(err(format!("cors_origins[{i}]"), "not a valid origin"));
            }
        }
        if self.tenants.is_empty() {
            if !self.anonymous.api_keys_sha256.is_empty() {
                return Err(err("anonymous.api_keys_sha256", "the anonymous tenant has no keys"));
            }
            self.anonymous.resolve("anonymous")?;
        }
        let mut names = HashSet::new();
        let mut keys = HashSet::new();
        for (i, t) in self.tenants.iter().enumerate() {
            let at = format!("tenants[{i}]");
            if t.name.is_empty()
                || t.name.len() > 64
                || !t.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(err(format!("{at}.name"), "1 to 64 characters of [A-Za-z0-9-_.]"));
            }
            if !names.insert(t.name.as_str()) {
                return Err(err(format!("{at}.name"), format!("duplicate tenant name {:?}", t.name)));
            }
            if t.api_keys_sha256.is_empty() {
                return Err(err(format!("{at}.api_keys_sha256"), "a tenant needs at least one key digest"));
            }
            for (j, k) in t.api_keys_sha256.iter().enumerate() {
                if k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(format!("{at}.api_keys_sha256[{j}]"), "not a SHA-256 digest (64 hex digits)"));
                }
                if !keys.insert(k.to_ascii_lowercase()) {
                    return Err(err(format!("{at}.api_keys_sha256[{j}]"), "the same key digest is given twice"));
                }
            }
            t.resolve(&at)?;
        }
        Ok(())
    }

    /// The tenants the server serves (the anonymous one when none is configured), by name.
    ///
    /// # Errors
    /// As [`ServerConfig::validate`].
    pub fn resolved_tenants(&self) -> Result<Vec<Tenant>, ServerError> {
        if self.tenants.is_empty() {
            return Ok(vec![self.anonymous.resolve("anonymous")?]);
        }
        self.tenants.iter().enumerate().map(|(i, t)| t.resolve(&format!("tenants[{i}]"))).collect()
    }

    /// Key digest → tenant name (empty when there are no configured tenants).
    pub fn key_index(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        for t in &self.tenants {
            for k in &t.api_keys_sha256 {
                m.insert(k.to_ascii_lowercase(), t.name.clone());
            }
        }
        m
    }

    /// The pool configuration.
    pub fn pool_config(&self) -> PoolConfig {
        let d = PoolConfig::default();
        PoolConfig {
            workers: self.pool.workers.unwrap_or(d.workers),
            isolation: self.pool.isolation,
            queue_capacity: self.pool.queue_capacity,
            grace_period: Duration::from_millis(self.pool.grace_period_ms),
            hard_deadline_margin: Duration::from_millis(self.pool.hard_deadline_margin_ms),
            worker_binary: self.pool.worker_binary.clone(),
            worker_args: self.pool.worker_args.clone(),
            ..d
        }
    }
}

impl TenantEntry {
    fn resolve(&self, at: &str) -> Result<Tenant, ServerError> {
        let default_limits = self.limits.clone();
        let max_limits = self.max_limits.clone();
        if let Err(e) = default_limits.within(&max_limits) {
            return Err(err(
                format!("{at}.limits.{}", e.field),
                format!("{} is above max_limits.{} ({})", e.requested, e.field, e.max),
            ));
        }
        let capabilities = match &self.capabilities {
            None => sandvm::PACK_NAMES.to_vec(),
            Some(list) => {
                let mut v = Vec::new();
                for (i, name) in list.iter().enumerate() {
                    let Some(c) = canonical_pack(name) else {
                        return Err(err(
                            format!("{at}.capabilities[{i}]"),
                            format!("unknown capability {name:?} (known: {})", sandvm::PACK_NAMES.join(", ")),
                        ));
                    };
                    if !v.contains(&c) {
                        v.push(c);
                    }
                }
                v
            }
        };
        let q = &self.quotas;
        if q.max_concurrency == Some(0) {
            return Err(err(format!("{at}.quotas.max_concurrency"), "must be positive"));
        }
        if q.memory_cap_mb == 0 {
            return Err(err(format!("{at}.quotas.memory_cap_mb"), "must be positive"));
        }
        let rate = match q.rate_per_second {
            None => None,
            Some(r) if !(r.is_finite() && r > 0.0) => {
                return Err(err(format!("{at}.quotas.rate_per_second"), "must be a positive number"))
            }
            Some(r) => {
                let burst = q.rate_burst.unwrap_or(r.ceil().min(f64::from(u32::MAX)) as u32).max(1);
                Some(RateQuota { per_second: r, burst })
            }
        };
        let cpu_budget = match q.cpu_ms_per_window {
            None => None,
            Some(_) if q.cpu_window_ms == 0 => {
                return Err(err(format!("{at}.quotas.cpu_window_ms"), "must be positive"))
            }
            Some(ms) => Some(CpuBudget { cpu_ms: ms, window: Duration::from_millis(q.cpu_window_ms) }),
        };
        let memory_cap = usize::try_from(q.memory_cap_mb).unwrap_or(usize::MAX / MIB).saturating_mul(MIB);
        let pool = TenantConfig {
            max_concurrency: q.max_concurrency.unwrap_or(usize::MAX),
            max_queued: q.max_queued,
            rate,
            cpu_budget,
            memory_cap,
            default_limits: default_limits.clone(),
            max_limits: max_limits.clone(),
            modules: self.modules.clone(),
        };
        Ok(Tenant {
            name: self.name.clone(),
            default_limits,
            max_limits,
            capabilities,
            max_scripts: self.max_scripts,
            quotas: q.clone(),
            pool,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_err(text: &str) -> (String, String) {
        match ServerConfig::from_toml(text) {
            Err(ServerError::Config { path, message }) => (path, message),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_is_one_anonymous_tenant_on_loopback() {
        let c = ServerConfig::from_toml("").expect("empty config");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        let t = c.resolved_tenants().expect("tenants");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, "anonymous");
        assert_eq!(t[0].default_limits, Limits::default());
        assert!(c.key_index().is_empty());
    }

    #[test]
    fn a_full_config_parses() {
        let key = hash_key("secret");
        let text = format!(
            r#"
listen = "127.0.0.1:0"
body_limit_bytes = 2048
cors_origins = ["http://localhost:3000"]
[pool]
workers = 3
isolation = "process"
[[tenants]]
name = "acme"
api_keys_sha256 = ["{key}"]
capabilities = ["timers", "text-encoding"]
limits = {{ timeout_ms = 500, memory = "16 MiB" }}
max_limits = {{ timeout = "2s", memory_mb = 32 }}
quotas = {{ max_concurrency = 2, rate_per_second = 5.5, cpu_ms_per_window = 100 }}
modules = {{ "lib.mjs" = "export const x = 1;" }}
"#
        );
        let c = ServerConfig::from_toml(&text).expect("parses");
        assert_eq!(c.pool_config().workers, 3);
        assert_eq!(c.pool_config().isolation, Isolation::Process);
        let t = &c.resolved_tenants().expect("tenants")[0];
        assert_eq!(t.capabilities, ["timers", "text"]);
        assert_eq!(t.default_limits.timeout, Some(Duration::from_millis(500)));
        assert_eq!(t.max_limits.memory, 32 * MIB);
        assert_eq!(t.default_limits.memory, 16 * MIB);
        assert_eq!(t.max_limits.timeout, Some(Duration::from_secs(2)));
        // Keys left out of max_limits keep the pool's default maxima.
        assert_eq!(t.max_limits.stack, TenantConfig::default().max_limits.stack);
        assert_eq!(t.pool.rate, Some(RateQuota { per_second: 5.5, burst: 6 }));
        assert_eq!(t.pool.max_concurrency, 2);
        assert!(t.pool.modules.contains_key("lib.mjs"));
        assert_eq!(c.key_index().get(&key).map(String::as_str), Some("acme"));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(config_err("listen = 5").0, "listen");
        assert_eq!(config_err("listen = \"nowhere\"").0, "listen");
        assert_eq!(config_err("[pool]\nworkers = \"two\"").0, "pool.workers");
        assert_eq!(config_err("[pool]\nisolation = \"vm\"").0, "pool.isolation");
        let (path, msg) = config_err("bogus = 1");
        assert!(msg.contains("bogus"), "{path}: {msg}");
        let (path, msg) = config_err("[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"abc\"]");
        assert_eq!(path, "tenants[0].api_keys_sha256[0]", "{msg}");
        let k = hash_key("k");
        let (path, _) = config_err(&format!(
            "[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"{k}\"]\n[tenants.quotas]\nmax_queued = -1"
        ));
        assert_eq!(path, "tenants[0].quotas.max_queued");
        let (path, _) = config_err(&format!(
            "[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"{k}\"]\ncapabilities = [\"timers\", \"fs\"]"
        ));
        assert_eq!(path, "tenants[0].capabilities[1]");
        let (path, _) = config_err(&format!(
            "[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"{k}\"]\n[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"{}\"]",
            hash_key("other")
        ));
        assert_eq!(path, "tenants[1].name");
        let (path, _) = config_err(&format!(
            "[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"{k}\"]\nlimits = {{ timeout_ms = 5000 }}\nmax_limits = {{ timeout_ms = 100 }}"
        ));
        assert_eq!(path, "tenants[0].limits.timeout");
        let (path, msg) = config_err(&format!(
            "[[tenants]]\nname = \"a\"\napi_keys_sha256 = [\"{k}\"]\nlimits = {{ memory = \"1e999 GiB\" }}"
        ));
        assert_eq!(path, "tenants[0].limits.memory", "{msg}");
        assert!(msg.contains("too large"), "{msg}");
        let (path, msg) = config_err("[anonymous]\nmax_limits = { memory_mb = 0 }");
        assert_eq!(path, "anonymous.max_limits.memory_mb", "{msg}");
        let (path, msg) = config_err("[anonymous]\nlimits = { memroy = 1 }");
        assert!(path.starts_with("anonymous.limits") && msg.contains("memroy"), "{path}: {msg}");
    }

    #[test]
    fn the_cluster_table_parses_and_is_checked() {
        // The guide's [cluster] block, as it is written there.
        let guide = include_str!("../../../docs/guide/level-3.md");
        let block = guide
            .split("```toml\n[cluster]")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the guide has a [cluster] block");
        let c = ServerConfig::from_toml(&format!("[cluster]{block}")).expect("the guide's block parses");
        assert_eq!(c.cluster.queue.as_deref(), Some("nats://127.0.0.1:4222"));
        assert_eq!((c.cluster.queue_depth, c.cluster.max_deliver, c.cluster.ack_wait_ms), (10_000, 3, 5_000));
        assert_eq!(ServerConfig::default().cluster.queue, None);
        // pool.workers = 0 is only for an API node of a cluster.
        let c = ServerConfig::from_toml("[pool]\nworkers = 0\n[cluster]\nqueue = \"nats://h:4222\"").expect("ok");
        assert_eq!(c.pool.workers, Some(0));
        assert_eq!(config_err("[pool]\nworkers = 0").0, "pool.workers");
        for bad in ["http://h:4222", "nats://", "nats://h:0", "nats://h:99999", "nats://u@h:1", "nats:// h:1"] {
            let (path, msg) = config_err(&format!("[cluster]\nqueue = \"{bad}\""));
            assert_eq!(path, "cluster.queue", "{bad}: {msg}");
            assert!(msg.contains("nats://HOST:PORT"), "{msg}");
        }
        assert!(ServerConfig::from_toml("[cluster]\nqueue = \"nats://broker\"").is_ok());
        assert_eq!(config_err("[cluster]\nmax_deliver = 0").0, "cluster.max_deliver");
        assert_eq!(config_err("[cluster]\nqueue_depth = 0").0, "cluster.queue_depth");
        assert_eq!(config_err("[cluster]\nack_wait_ms = 10").0, "cluster.ack_wait_ms");
        assert_eq!(config_err("[cluster]\nstream = \"a.b\"").0, "cluster.stream");
        assert!(config_err("[cluster]\nqueu = \"x\"").1.contains("queu"));
        // The guide's block names a worker metrics address; the default is none.
        let c = ServerConfig::from_toml(&format!("[cluster]{block}")).expect("the guide's block parses");
        assert_eq!(c.cluster.worker_metrics_addr, Some(SocketAddr::from(([127, 0, 0, 1], 9091))));
        assert_eq!(ClusterSettings::default().worker_metrics_addr, None);
        assert_eq!(config_err("[cluster]\nworker_metrics_addr = \"nowhere\"").0, "cluster.worker_metrics_addr");
        // A store URL must be one the PostgreSQL driver parses.
        for bad in ["mysql://db/x", "postgres://db:notaport/x", "postgresql://h/d?sslmode=sometimes"] {
            assert_eq!(config_err(&format!("[cluster]\nstore = \"{bad}\"")).0, "cluster.store", "{bad}");
        }
        assert!(ServerConfig::from_toml("[cluster]\nstore = \"postgres://u:p@db:5432/sandvm\"").is_ok());
    }

    #[test]
    fn key_hashes_are_sha256_hex() {
        assert_eq!(hash_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
