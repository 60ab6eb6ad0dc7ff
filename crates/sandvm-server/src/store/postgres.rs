//! [`PostgresStore`]: the store shared by every API node of a distributed deployment.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use sandvm_pool::{CpuBudget, RateQuota};
use tokio_postgres::NoTls;

use super::{
    charge_of, cpu_admission, refill_wait, scripts_quota, window_ms, Admission, ExecutionRecord, ScriptRecord,
    ScriptStore, StoreFuture, SCHEMA_VERSION,
};
use crate::ServerError;

/// The advisory lock key that serialises schema migrations across nodes starting together
/// (`pg_advisory_xact_lock`; "sandvm" in ASCII).
const MIGRATION_LOCK: i64 = 0x7361_6e64_766d;

/// How long a migration may wait for another node's migration.
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Schema migrations, in order: migration `i` takes the schema from version `i` to `i + 1`
/// (recorded in `sandvm_schema_version`). Every table is prefixed `sandvm_`, so the database
/// may hold other applications' tables.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE sandvm_scripts (
        tenant text NOT NULL,
        id text NOT NULL,
        code text NOT NULL,
        filename text NOT NULL,
        strict boolean NOT NULL,
        created_ms bigint NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE TABLE sandvm_script_counts (
        tenant text PRIMARY KEY,
        n bigint NOT NULL
    );
    CREATE TABLE sandvm_rate_buckets (
        tenant text PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_ms double precision NOT NULL,
        admitted boolean NOT NULL
    );
    CREATE TABLE sandvm_executions (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        tenant text NOT NULL,
        job_kind text NOT NULL,
        outcome text NOT NULL,
        started_ms bigint NOT NULL,
        wall_ms double precision NOT NULL,
        cpu_ms double precision NOT NULL,
        queue_ms double precision NOT NULL
    );
    CREATE INDEX sandvm_executions_by_tenant ON sandvm_executions (tenant, seq);
",
    "
    CREATE TABLE sandvm_cpu_windows (
        tenant text PRIMARY KEY,
        window_start_ms bigint NOT NULL,
        used_ms double precision NOT NULL,
        updated_ms bigint NOT NULL,
        admitted boolean NOT NULL
    );
",
    "
    ALTER TABLE sandvm_scripts ADD COLUMN language text NOT NULL DEFAULT 'javascript'
        CHECK (language IN ('javascript', 'typescript'));
",
];

/// Connection settings of a [`PostgresStore`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Connections kept open at most. By default, 16.
    pub pool_size: usize,
    /// How long opening a connection may take. By default, 2 s.
    pub connect_timeout: Duration,
    /// How long one statement may run (the server's `statement_timeout`, and the client's
    /// bound on a whole operation with its connect time). By default, 2 s.
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(2),
        }
    }
}

/// The [`ScriptStore`] in a PostgreSQL database (through `tokio-postgres` and a
/// `deadpool-postgres` connection pool), shared by every API node: stored scripts, the
/// tenants' rate buckets and the execution log. Schema migrations run when it connects, under
/// an advisory lock. An unreachable or slow database makes an operation fail with
/// [`ServerError::StoreUnavailable`] within the connect plus statement timeouts, never
/// hang; the pool reconnects by itself when the database is back.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// `host:port/dbname` (never the password), for messages.
    label: String,
    /// The bound of one operation.
    op_timeout: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("database", &self.label).finish_non_exhaustive()
    }
}

/// Classifies a driver error: connection-level failures and timeouts are transient (503);
/// an error the server reports for the statement itself is a `store` error.
fn pg_err(label: &str, e: &tokio_postgres::Error) -> ServerError {
    let Some(db) = e.as_db_error() else {
        return ServerError::StoreUnavailable { message: format!("PostgreSQL at {label}: {e}") };
    };
    let code = db.code().code();
    // 57014 query_canceled (statement_timeout), 57P0x shutdown / cannot connect now,
    // 08xxx connection exceptions, 53xxx insufficient resources, 40001/40P01 serialisation.
    let transient = code == "57014"
        || code.starts_with("57P")
        || code.starts_with("08")
        || code.starts_with("53")
        || code == "40001"
        || code == "40P01";
    if transient {
        ServerError::StoreUnavailable { message: format!("PostgreSQL at {label}: {}", db.message()) }
    } else {
        ServerError::Store { kind: "store", message: format!("PostgreSQL at {label}: {} ({code})", db.message()) }
    }
}

fn pool_err(label: &str, e: deadpool_postgres::PoolError) -> ServerError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_err(label, &e),
        other => ServerError::StoreUnavailable { message: format!("PostgreSQL at {label}: {other}") },
    }
}

/// Checks a store URL without connecting: `postgres://` or `postgresql://`, and a connection
/// string the PostgreSQL driver parses (as [`PostgresStore::connect`] will).
///
/// # Errors
/// What is wrong, for a configuration error.
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("expected a postgres:// or postgresql:// URL".into());
    }
    url.parse::<tokio_postgres::Config>().map(drop).map_err(|e| format!("not a PostgreSQL connection string: {e}"))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/dbname?...`, or the key-value
    /// form of libpq) and runs the schema migrations up to [`SCHEMA_VERSION`], in one
    /// transaction under an advisory lock: nodes starting together migrate once.
    ///
    /// # Errors
    /// [`ServerError::Config`] (`store`) for a URL that does not parse;
    /// [`ServerError::StoreUnavailable`] when the database cannot be reached in time;
    /// [`ServerError::StoreSchemaTooNew`] when a newer sandvm migrated it;
    /// [`ServerError::Store`] when a migration fails.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<PostgresStore, ServerError> {
        let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| ServerError::Config {
            path: "store".into(),
            message: format!("not a PostgreSQL connection string: {e}"),
        })?;
        let label = label_of(&cfg);
        cfg.connect_timeout(options.connect_timeout);
        cfg.application_name("sandvm");
        let mut opts = cfg.get_options().map(str::to_string).unwrap_or_default();
        if !opts.is_empty() {
            opts.push(' ');
        }
        opts.push_str(&format!("-c statement_timeout={}", options.statement_timeout.as_millis().max(1)));
        cfg.options(opts);
        let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let op_timeout = options.connect_timeout + options.statement_timeout;
        let pool = Pool::builder(mgr)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(op_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| ServerError::internal(format!("cannot build the PostgreSQL pool: {e}")))?;
        let store = PostgresStore { pool, label, op_timeout };
        let timeout = MIGRATION_TIMEOUT + op_timeout;
        match tokio::time::timeout(timeout, store.migrate()).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(ServerError::StoreUnavailable {
                    message: format!("PostgreSQL at {}: the migrations did not finish in {timeout:?}", store.label),
                })
            }
        }
        Ok(store)
    }

    /// `host:port/dbname` of the database.
    pub fn database(&self) -> &str {
        &self.label
    }

    async fn migrate(&self) -> Result<(), ServerError> {
        let l = &self.label;
        let mut c = self.pool.get().await.map_err(|e| pool_err(l, e))?;
        let tx = c.transaction().await.map_err(|e| pg_err(l, &e))?;
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {};
             SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
             CREATE TABLE IF NOT EXISTS sandvm_schema_version (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());",
            MIGRATION_TIMEOUT.as_millis()
        ))
        .await
        .map_err(|e| pg_err(l, &e))?;
        let found: i64 = tx
            .query_one("SELECT coalesce(max(version), 0)::bigint FROM sandvm_schema_version", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_err(l, &e))?;
        if found > SCHEMA_VERSION {
            return Err(ServerError::StoreSchemaTooNew { found, supported: SCHEMA_VERSION });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
            tx.batch_execute(sql).await.map_err(|e| pg_err(l, &e))?;
            let v = i as i64 + 1;
            tx.execute("INSERT INTO sandvm_schema_version (version) VALUES ($1)", &[&v])
                .await
                .map_err(|e| pg_err(l, &e))?;
            tracing::info!(database = %l, version = v, "PostgreSQL store migrated");
        }
        tx.commit().await.map_err(|e| pg_err(l, &e))
    }

    /// Runs `f` with a pooled connection, within the operation bound.
    async fn with<T>(
        &self,
        f: impl AsyncFnOnce(&deadpool_postgres::Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, ServerError> {
        let l = &self.label;
        let work = async {
            let c = self.pool.get().await.map_err(|e| pool_err(l, e))?;
            f(&c).await.map_err(|e| pg_err(l, &e))
        };
        match tokio::time::timeout(self.op_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(ServerError::StoreUnavailable {
                message: format!("PostgreSQL at {l}: no answer within {:?}", self.op_timeout),
            }),
        }
    }
}

/// `host:port/dbname` of a connection configuration (no user, no password).
fn label_of(cfg: &tokio_postgres::Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", cfg.get_dbname().unwrap_or("(default)"))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ScriptStore for PostgresStore {
    fn insert(&self, record: ScriptRecord, max: usize) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if max == 0 {
                return Err(scripts_quota(max));
            }
            let max_n = to_i64(max as u64);
            let created = to_i64(record.created_ms);
            // One statement: the tenant's counter row is locked by the upsert, and its
            // condition is re-checked on the latest row, so concurrent inserts on any node
            // never go past `max`.
            let n = self
                .with(async |c| {
                    let st = c
                        .prepare_cached(
                            "WITH c AS (
                               INSERT INTO sandvm_script_counts AS sc (tenant, n) VALUES ($1, 1)
                               ON CONFLICT (tenant) DO UPDATE SET n = sc.n + 1 WHERE sc.n < $7
                               RETURNING n)
                             INSERT INTO sandvm_scripts (tenant, id, code, filename, strict, created_ms, language)
                             SELECT $1, $2, $3, $4, $5, $6, $8 FROM c",
                        )
                        .await?;
                    c.execute(
                        &st,
                        &[
                            &record.tenant,
                            &record.id,
                            &record.code,
                            &record.filename,
                            &record.strict,
                            &created,
                            &max_n,
                            &record.language.as_str(),
                        ],
                    )
                    .await
                })
                .await?;
            if n == 0 {
                return Err(scripts_quota(max));
            }
            Ok(())
        })
    }

    fn get<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, Option<ScriptRecord>> {
        Box::pin(async move {
            let row = self
                .with(async |c| {
                    let st = c
                        .prepare_cached(
                            "SELECT code, filename, strict, created_ms, language FROM sandvm_scripts WHERE tenant = $1 AND id = $2",
                        )
                        .await?;
                    let Some(r) = c.query_opt(&st, &[&tenant, &id]).await? else { return Ok(None) };
                    let language: String = r.try_get(4)?;
                    Ok(Some((language, ScriptRecord {
                        id: id.to_string(),
                        tenant: tenant.to_string(),
                        code: r.try_get(0)?,
                        filename: r.try_get(1)?,
                        strict: r.try_get(2)?,
                        created_ms: u64::try_from(r.try_get::<_, i64>(3)?).unwrap_or(0),
                        language: sandvm::Language::JavaScript,
                    })))
                })
                .await?;
            let Some((language, mut record)) = row else { return Ok(None) };
            // The column's CHECK keeps it to the two names; anything else is a broken database.
            record.language = language.parse().map_err(|e: sandvm::Error| ServerError::Store {
                kind: "store_corrupt",
                message: format!("PostgreSQL at {}: script {id}: {e}", self.label),
            })?;
            Ok(Some(record))
        })
    }

    fn remove<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let n = self
                .with(async |c| {
                    let st = c
                        .prepare_cached(
                            "WITH d AS (DELETE FROM sandvm_scripts WHERE tenant = $1 AND id = $2 RETURNING tenant)
                             UPDATE sandvm_script_counts SET n = n - 1
                             WHERE tenant = $1 AND EXISTS (SELECT 1 FROM d)",
                        )
                        .await?;
                    c.execute(&st, &[&tenant, &id]).await
                })
                .await?;
            Ok(n > 0)
        })
    }

    fn count<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let n: i64 = self
                .with(async |c| {
                    let st = c
                        .prepare_cached(
                            "SELECT coalesce((SELECT n FROM sandvm_script_counts WHERE tenant = $1), 0)::bigint",
                        )
                        .await?;
                    c.query_one(&st, &[&tenant]).await?.try_get(0)
                })
                .await?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn contains<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.with(async |c| {
                let st = c.prepare_cached("SELECT 1 FROM sandvm_scripts WHERE tenant = $1 AND id = $2").await?;
                Ok(c.query_opt(&st, &[&tenant, &id]).await?.is_some())
            })
            .await
        })
    }

    fn take_rate_token<'a>(&'a self, tenant: &'a str, rate: RateQuota) -> StoreFuture<'a, Admission> {
        Box::pin(async move {
            let burst = f64::from(rate.burst);
            let per_second = rate.per_second;
            // The database's clock, so that nodes with skewed clocks share one bucket. The
            // upsert locks the tenant's row: concurrent takers on any node serialise on it.
            const R: &str =
                "least($2::float8, b.tokens + greatest(0, excluded.updated_ms - b.updated_ms) * $3::float8 / 1000.0)";
            let sql = format!(
                "INSERT INTO sandvm_rate_buckets AS b (tenant, tokens, updated_ms, admitted)
                 VALUES ($1, $2::float8 - 1, (extract(epoch FROM clock_timestamp()) * 1000)::float8, true)
                 ON CONFLICT (tenant) DO UPDATE SET
                   tokens = CASE WHEN {R} >= 1 THEN {R} - 1 ELSE {R} END,
                   admitted = ({R} >= 1),
                   updated_ms = greatest(b.updated_ms, excluded.updated_ms)
                 RETURNING tokens, admitted"
            );
            let (tokens, admitted): (f64, bool) = self
                .with(async |c| {
                    let st = c.prepare_cached(&sql).await?;
                    let row = c.query_one(&st, &[&tenant, &burst, &per_second]).await?;
                    Ok((row.try_get(0)?, row.try_get(1)?))
                })
                .await?;
            Ok(if admitted {
                Admission::Admitted
            } else {
                Admission::Refused { retry_after: refill_wait(tokens, rate) }
            })
        })
    }

    fn charge_cpu<'a>(&'a self, tenant: &'a str, budget: CpuBudget, cpu_ms: f64) -> StoreFuture<'a, Admission> {
        Box::pin(async move {
            let (limit, charge, window) = (budget.cpu_ms as f64, charge_of(cpu_ms), window_ms(budget));
            // One statement on the database's clock: the upsert locks the tenant's row, rolls
            // the window over when it has passed (keeping windows aligned to the first), says
            // whether the window held less than the budget before this charge, and adds it.
            const ROLL: &str = "excluded.updated_ms - w.window_start_ms >= $4::bigint";
            let sql = format!(
                "INSERT INTO sandvm_cpu_windows AS w (tenant, window_start_ms, used_ms, updated_ms, admitted)
                 VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, $3::float8,
                         (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 0 < $2::float8)
                 ON CONFLICT (tenant) DO UPDATE SET
                   window_start_ms = CASE WHEN {ROLL}
                     THEN excluded.updated_ms - mod(excluded.updated_ms - w.window_start_ms, $4::bigint)
                     ELSE w.window_start_ms END,
                   used_ms = CASE WHEN {ROLL} THEN 0 ELSE w.used_ms END + $3::float8,
                   admitted = CASE WHEN {ROLL} THEN 0 ELSE w.used_ms END < $2::float8,
                   updated_ms = excluded.updated_ms
                 RETURNING admitted, window_start_ms, updated_ms"
            );
            let (admitted, start, now): (bool, i64, i64) = self
                .with(async |c| {
                    let st = c.prepare_cached(&sql).await?;
                    let row = c.query_one(&st, &[&tenant, &limit, &charge, &window]).await?;
                    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
                })
                .await?;
            Ok(cpu_admission(admitted, start, now, budget))
        })
    }

    fn log_execution(&self, record: ExecutionRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let started = to_i64(record.started_ms);
            self.with(async |c| {
                let st = c
                    .prepare_cached(
                        "INSERT INTO sandvm_executions (id, tenant, job_kind, outcome, started_ms, wall_ms, cpu_ms, queue_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .await?;
                c.execute(
                    &st,
                    &[
                        &record.id,
                        &record.tenant,
                        &record.job_kind,
                        &record.outcome,
                        &started,
                        &record.wall_ms,
                        &record.cpu_ms,
                        &record.queue_ms,
                    ],
                )
                .await
            })
            .await
            .map(|_| ())
        })
    }

    fn executions<'a>(&'a self, tenant: &'a str, limit: usize) -> StoreFuture<'a, Vec<ExecutionRecord>> {
        Box::pin(async move {
            let limit = to_i64(limit as u64);
            let rows = self
                .with(async |c| {
                    let st = c
                        .prepare_cached(
                            "SELECT id, tenant, job_kind, outcome, started_ms, wall_ms, cpu_ms, queue_ms
                             FROM sandvm_executions WHERE tenant = $1 ORDER BY seq DESC LIMIT $2",
                        )
                        .await?;
                    let rows = c.query(&st, &[&tenant, &limit]).await?;
                    rows.iter()
                        .map(|r| {
                            Ok(ExecutionRecord {
                                id: r.try_get(0)?,
                                tenant: r.try_get(1)?,
                                job_kind: r.try_get(2)?,
                                outcome: r.try_get(3)?,
                                started_ms: u64::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
                                wall_ms: r.try_get(5)?,
                                cpu_ms: r.try_get(6)?,
                                queue_ms: r.try_get(7)?,
                            })
                        })
                        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                })
                .await?;
            Ok(rows)
        })
    }
}
