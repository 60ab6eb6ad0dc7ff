//! [`SqliteStore`]: the embedded default store, one SQLite file under the data directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use sandvm_pool::{CpuBudget, RateQuota};

use super::{
    charge_of, cpu_admission, now_ms, refill_wait, scripts_quota, window_ms, Admission, ExecutionRecord, ScriptRecord,
    ScriptStore, StoreFuture, SCHEMA_VERSION,
};
use crate::ServerError;

/// The database file's name in the data directory.
pub const DATABASE_FILE: &str = "sandvm.db";

/// The default busy timeout: how long a statement waits for a lock held by another
/// connection or process before it fails.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations, in order: migration `i` takes the schema from version `i` to `i + 1`
/// (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE scripts (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        code TEXT NOT NULL,
        filename TEXT NOT NULL,
        strict INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    CREATE TABLE rate_buckets (
        tenant TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        updated_ms INTEGER NOT NULL,
        admitted INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE executions (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        tenant TEXT NOT NULL,
        job_kind TEXT NOT NULL,
        outcome TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        wall_ms REAL NOT NULL,
        cpu_ms REAL NOT NULL,
        queue_ms REAL NOT NULL
    );
    CREATE INDEX executions_by_tenant ON executions (tenant, seq);
",
    "
    CREATE TABLE cpu_windows (
        tenant TEXT PRIMARY KEY,
        window_start_ms INTEGER NOT NULL,
        used_ms REAL NOT NULL,
        updated_ms INTEGER NOT NULL,
        admitted INTEGER NOT NULL
    ) WITHOUT ROWID;
",
    "
    ALTER TABLE scripts ADD COLUMN language TEXT NOT NULL DEFAULT 'javascript'
        CHECK (language IN ('javascript', 'typescript'));
",
];

/// The [`ScriptStore`] in one SQLite file (WAL mode, a busy timeout), persistent across
/// restarts. Statements run on the blocking thread pool, never on the async runtime's
/// threads. Several processes may open the same file (SQLite locks it); they then share the
/// scripts and the rate buckets.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn store_err(kind: &'static str, message: String) -> ServerError {
    ServerError::Store { kind, message }
}

/// Maps a SQLite error at request time: busy or locked is transient (503), the rest names
/// the file.
fn request_err(path: &Path, e: rusqlite::Error) -> ServerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            ServerError::StoreUnavailable { message: format!("the database {} is busy", path.display()) }
        }
        _ => open_err(path, e),
    }
}

/// Maps a SQLite error while opening: every failure names the file and says what to do.
fn open_err(path: &Path, e: rusqlite::Error) -> ServerError {
    let p = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            store_err("store_corrupt", format!("{p} is not a sandvm database or is corrupt ({e}); move it away"))
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => store_err(
            "store_locked",
            format!("the database {p} is locked by another process (still locked after the busy timeout)"),
        ),
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull,
        ) => store_err("store_io", format!("cannot use the database {p}: {e}")),
        _ => store_err("store", format!("the database {p}: {e}")),
    }
}

impl SqliteStore {
    /// Opens (creating it if missing, with mode 0700) the data directory `dir` and the
    /// database [`DATABASE_FILE`] in it, with [`DEFAULT_BUSY_TIMEOUT`]; see
    /// [`SqliteStore::open`].
    ///
    /// # Errors
    /// [`ServerError::Store`] `store_io` when `dir` is not a directory or cannot be created;
    /// as [`SqliteStore::open`].
    pub fn open_dir(dir: &Path) -> Result<SqliteStore, ServerError> {
        if dir.exists() && !dir.is_dir() {
            return Err(store_err("store_io", format!("the data directory {} is not a directory", dir.display())));
        }
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(|e| {
                store_err("store_io", format!("cannot create the data directory {}: {e}", dir.display()))
            })?;
        }
        SqliteStore::open(&dir.join(DATABASE_FILE), DEFAULT_BUSY_TIMEOUT)
    }

    /// Opens (creating it if missing) the database file `path`: WAL journal, `busy_timeout`
    /// for locks held elsewhere, then the schema migrations up to [`SCHEMA_VERSION`] in one
    /// transaction. Blocking: call it before serving, or on a blocking thread.
    ///
    /// # Errors
    /// [`ServerError::Store`]: `store_io` (the file cannot be opened or written),
    /// `store_corrupt` (not a database, or a damaged one), `store_locked` (another process
    /// holds it locked for longer than `busy_timeout`);
    /// [`ServerError::StoreSchemaTooNew`] when a newer sandvm migrated it.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<SqliteStore, ServerError> {
        if path.is_dir() {
            return Err(store_err("store_io", format!("{} is a directory, not a database file", path.display())));
        }
        let conn = Connection::open(path).map_err(|e| open_err(path, e))?;
        conn.busy_timeout(busy_timeout).map_err(|e| open_err(path, e))?;
        // Reading the journal mode reads the header: a file that is not a database fails here.
        let mode: String =
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| open_err(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "SQLite did not switch to WAL mode");
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(|e| open_err(path, e))?;
        let mut conn = conn;
        migrate(&mut conn).map_err(|e| match e {
            Migrate::Sqlite(e) => open_err(path, e),
            Migrate::TooNew(found) => ServerError::StoreSchemaTooNew { found, supported: SCHEMA_VERSION },
        })?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), path: path.to_path_buf() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking thread pool.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ServerError> + Send + 'static,
    ) -> Result<T, ServerError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| ServerError::internal(format!("the store task failed: {e}")))?
    }
}

enum Migrate {
    Sqlite(rusqlite::Error),
    TooNew(i64),
}

impl From<rusqlite::Error> for Migrate {
    fn from(e: rusqlite::Error) -> Self {
        Migrate::Sqlite(e)
    }
}

/// Brings the schema to [`SCHEMA_VERSION`] in one immediate transaction (a second process
/// opening at the same time waits, then finds the work done).
fn migrate(conn: &mut Connection) -> Result<(), Migrate> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Migrate::TooNew(found));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

impl ScriptStore for SqliteStore {
    fn insert(&self, record: ScriptRecord, max: usize) -> StoreFuture<'_, ()> {
        let path = self.path.clone();
        Box::pin(self.call(move |c| {
            // One statement: the count and the insert are atomic (a write statement holds the
            // database's write lock from its start).
            let n = c
                .execute(
                    "INSERT INTO scripts (tenant, id, code, filename, strict, created_ms, language)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?8
                     WHERE (SELECT count(*) FROM scripts WHERE tenant = ?1) < ?7",
                    params![
                        record.tenant,
                        record.id,
                        record.code,
                        record.filename,
                        record.strict,
                        i64::try_from(record.created_ms).unwrap_or(i64::MAX),
                        i64::try_from(max).unwrap_or(i64::MAX),
                        record.language.as_str()
                    ],
                )
                .map_err(|e| request_err(&path, e))?;
            if n == 0 {
                return Err(scripts_quota(max));
            }
            Ok(())
        }))
    }

    fn get<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, Option<ScriptRecord>> {
        let (path, tenant, id) = (self.path.clone(), tenant.to_string(), id.to_string());
        Box::pin(self.call(move |c| {
            c.query_row(
                "SELECT code, filename, strict, created_ms, language FROM scripts WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
                |r| {
                    Ok(ScriptRecord {
                        id: id.clone(),
                        tenant: tenant.clone(),
                        code: r.get(0)?,
                        filename: r.get(1)?,
                        strict: r.get(2)?,
                        created_ms: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        language: r.get::<_, String>(4)?.parse().map_err(|e: sandvm::Error| {
                            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
                        })?,
                    })
                },
            )
            .optional()
            .map_err(|e| request_err(&path, e))
        }))
    }

    fn remove<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        let (path, tenant, id) = (self.path.clone(), tenant.to_string(), id.to_string());
        Box::pin(self.call(move |c| {
            c.execute("DELETE FROM scripts WHERE tenant = ?1 AND id = ?2", params![tenant, id])
                .map(|n| n > 0)
                .map_err(|e| request_err(&path, e))
        }))
    }

    fn count<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, usize> {
        let (path, tenant) = (self.path.clone(), tenant.to_string());
        Box::pin(self.call(move |c| {
            c.query_row("SELECT count(*) FROM scripts WHERE tenant = ?1", params![tenant], |r| r.get::<_, i64>(0))
                .map(|n| usize::try_from(n).unwrap_or(0))
                .map_err(|e| request_err(&path, e))
        }))
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn contains<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        let (path, tenant, id) = (self.path.clone(), tenant.to_string(), id.to_string());
        Box::pin(self.call(move |c| {
            c.query_row("SELECT 1 FROM scripts WHERE tenant = ?1 AND id = ?2", params![tenant, id], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
                .map_err(|e| request_err(&path, e))
        }))
    }

    fn take_rate_token<'a>(&'a self, tenant: &'a str, rate: RateQuota) -> StoreFuture<'a, Admission> {
        let (path, tenant) = (self.path.clone(), tenant.to_string());
        Box::pin(self.call(move |c| {
            let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
            // The refilled level, from the row's old values (SET expressions all see them).
            const REFILLED: &str =
                "min(?2, rate_buckets.tokens + max(0, excluded.updated_ms - rate_buckets.updated_ms) * ?3 / 1000.0)";
            let sql = format!(
                "INSERT INTO rate_buckets (tenant, tokens, updated_ms, admitted) VALUES (?1, ?2 - 1, ?4, 1)
                 ON CONFLICT (tenant) DO UPDATE SET
                   tokens = CASE WHEN {REFILLED} >= 1 THEN {REFILLED} - 1 ELSE {REFILLED} END,
                   admitted = ({REFILLED} >= 1),
                   updated_ms = max(rate_buckets.updated_ms, excluded.updated_ms)
                 RETURNING tokens, admitted"
            );
            let (tokens, admitted): (f64, bool) = c
                .query_row(&sql, params![tenant, f64::from(rate.burst), rate.per_second, now], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(|e| request_err(&path, e))?;
            Ok(if admitted {
                Admission::Admitted
            } else {
                Admission::Refused { retry_after: refill_wait(tokens, rate) }
            })
        }))
    }

    fn charge_cpu<'a>(&'a self, tenant: &'a str, budget: CpuBudget, cpu_ms: f64) -> StoreFuture<'a, Admission> {
        let (path, tenant) = (self.path.clone(), tenant.to_string());
        Box::pin(self.call(move |c| {
            let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
            let (limit, charge, window) = (budget.cpu_ms as f64, charge_of(cpu_ms), window_ms(budget));
            // One statement (SQLite serialises writers): roll the window over when it has
            // passed, say whether it held less than the budget before this charge, add it.
            const ROLL: &str = "excluded.updated_ms - cpu_windows.window_start_ms >= ?4";
            const USED: &str =
                "CASE WHEN excluded.updated_ms - cpu_windows.window_start_ms >= ?4 THEN 0 ELSE cpu_windows.used_ms END";
            let sql = format!(
                "INSERT INTO cpu_windows (tenant, window_start_ms, used_ms, updated_ms, admitted)
                 VALUES (?1, ?5, ?3, ?5, 0 < ?2)
                 ON CONFLICT (tenant) DO UPDATE SET
                   window_start_ms = CASE WHEN {ROLL}
                     THEN excluded.updated_ms - (excluded.updated_ms - cpu_windows.window_start_ms) % ?4
                     ELSE cpu_windows.window_start_ms END,
                   used_ms = {USED} + ?3,
                   admitted = ({USED} < ?2),
                   updated_ms = excluded.updated_ms
                 RETURNING admitted, window_start_ms, updated_ms"
            );
            let (admitted, start, now): (bool, i64, i64) = c
                .query_row(&sql, params![tenant, limit, charge, window, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| request_err(&path, e))?;
            Ok(cpu_admission(admitted, start, now, budget))
        }))
    }

    fn log_execution(&self, record: ExecutionRecord) -> StoreFuture<'_, ()> {
        let path = self.path.clone();
        Box::pin(self.call(move |c| {
            c.execute(
                "INSERT INTO executions (id, tenant, job_kind, outcome, started_ms, wall_ms, cpu_ms, queue_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    record.id,
                    record.tenant,
                    record.job_kind,
                    record.outcome,
                    i64::try_from(record.started_ms).unwrap_or(i64::MAX),
                    record.wall_ms,
                    record.cpu_ms,
                    record.queue_ms
                ],
            )
            .map(|_| ())
            .map_err(|e| request_err(&path, e))
        }))
    }

    fn executions<'a>(&'a self, tenant: &'a str, limit: usize) -> StoreFuture<'a, Vec<ExecutionRecord>> {
        let (path, tenant) = (self.path.clone(), tenant.to_string());
        Box::pin(self.call(move |c| {
            let run = || -> rusqlite::Result<Vec<ExecutionRecord>> {
                let mut st = c.prepare(
                    "SELECT id, tenant, job_kind, outcome, started_ms, wall_ms, cpu_ms, queue_ms
                     FROM executions WHERE tenant = ?1 ORDER BY seq DESC LIMIT ?2",
                )?;
                let rows = st.query_map(params![tenant, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    Ok(ExecutionRecord {
                        id: r.get(0)?,
                        tenant: r.get(1)?,
                        job_kind: r.get(2)?,
                        outcome: r.get(3)?,
                        started_ms: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                        wall_ms: r.get(5)?,
                        cpu_ms: r.get(6)?,
                        queue_ms: r.get(7)?,
                    })
                })?;
                rows.collect()
            };
            run().map_err(|e| request_err(&path, e))
        }))
    }
}
