//! `sandvm serve`: the multi-tenant HTTP execution service (crate `sandvm-server`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use sandvm_server::telemetry::{init_logging, LogFormat};
use sandvm_server::{AppState, MemoryStore, PostgresOptions, PostgresStore, ScriptStore, ServerConfig, SqliteStore};

/// Arguments of `sandvm serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Configuration file (TOML). Without one: 127.0.0.1:8080, one anonymous tenant, default
    /// limits.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen address, overriding the configuration (port 0 picks a free port; the address
    /// in use is printed on standard output).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Number of workers, overriding the configuration. With `--queue`, 0 makes a stateless
    /// API node that runs nothing itself.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// The job queue, `nats://HOST:PORT` (NATS JetStream), overriding `cluster.queue`: jobs
    /// go to worker nodes (`sandvm worker --queue ...`).
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,
    /// Isolation mode, overriding the configuration.
    #[arg(long, value_parser = ["thread", "process"])]
    pub isolation: Option<String>,
    /// Thread mode: guest threads stuck past their hard deadline (abandoned, still running)
    /// that may exist at once before requests get 503 `saturated`, overriding the
    /// configuration's `pool.max_abandoned_threads` (default 16).
    #[arg(long, value_name = "N")]
    pub max_abandoned_threads: Option<usize>,
    /// Log filter (`RUST_LOG` syntax: `info`, `warn`, `sandvm_server=debug`); logs go to
    /// standard error.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log: String,
    /// Log format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub log_format: String,
    /// Directory of the embedded SQLite database (`sandvm.db`) that keeps stored scripts, rate
    /// buckets and the execution log across restarts; created with mode 0700 when missing.
    /// Default: `$XDG_DATA_HOME/sandvm`, else `~/.local/share/sandvm`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["ephemeral", "store"])]
    pub data_dir: Option<PathBuf>,
    /// Keep stored scripts in memory only (lost on exit); no data directory is used.
    #[arg(long, conflicts_with = "store")]
    pub ephemeral: bool,
    /// A PostgreSQL URL (`postgres://user@host:port/dbname`) shared by several API nodes:
    /// stored scripts, rate buckets and the execution log live there. Overrides the
    /// configuration's `[cluster] store`.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Check the configuration, print the effective tenants and exit.
    #[arg(long)]
    pub check: bool,
    /// Print the SHA-256 digest of an API key (for `api_keys_sha256` in the configuration)
    /// and exit.
    #[arg(long, value_name = "KEY")]
    pub hash_key: Option<String>,
}

/// Runs `sandvm serve` until SIGTERM or Ctrl-C, then drains in-flight requests for the
/// configured grace and exits, abandoning guest threads that are stuck. Returns the exit code
/// (0 after a shutdown, clean or not).
///
/// # Errors
/// An invalid configuration, a listener that cannot bind, a pool that cannot start.
pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    if let Some(key) = &args.hash_key {
        println!("{}", sandvm_server::config::hash_key(key));
        return Ok(0);
    }
    let mut config = match &args.config {
        Some(path) => ServerConfig::load(path)?,
        None => ServerConfig::default(),
    };
    if let Some(addr) = args.listen {
        config.listen = addr;
    }
    if let Some(n) = args.workers {
        config.pool.workers = Some(n);
    }
    if let Some(url) = &args.queue {
        config.cluster.queue = Some(url.clone());
    }
    if let Some(mode) = &args.isolation {
        config.pool.isolation =
            if mode == "process" { sandvm_pool::Isolation::Process } else { sandvm_pool::Isolation::Thread };
    }
    if let Some(n) = args.max_abandoned_threads {
        config.pool.max_abandoned_threads = n;
    }
    if let Some(url) = &args.store {
        config.cluster.store = Some(url.clone());
    }
    config.validate()?;
    if args.check {
        for t in config.resolved_tenants()? {
            println!(
                "tenant {}: timeout {:?} (max {:?}), memory {} MiB (max {} MiB), capabilities {}",
                t.name,
                t.default_limits.timeout,
                t.max_limits.timeout,
                t.default_limits.memory >> 20,
                t.max_limits.memory >> 20,
                t.capabilities.join(", ")
            );
        }
        println!("configuration ok");
        return Ok(0);
    }
    let format = if args.log_format == "json" { LogFormat::Json } else { LogFormat::Text };
    init_logging(&args.log, format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sandvm-http")
        .build()
        .context("cannot start the async runtime")?;
    let code = runtime.block_on(async move {
        let listen = config.listen;
        let store = open_store(&args, &config).await?;
        let state = AppState::connect(config, store).await?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr().context("no local address")?;
        // The one line on standard output: tests and scripts read the port from it.
        println!("sandvm: listening on http://{addr}");
        let _ = std::io::stdout().flush();
        sandvm_server::serve(state, listener, sandvm_server::shutdown_signal()).await?;
        anyhow::Ok(0)
    });
    // `serve` has already bounded the drain; do not wait for stragglers (a blocking task, a
    // connection task) past a short moment.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

/// The store the flags and the configuration ask for: in memory (`--ephemeral`),
/// PostgreSQL (`--store`, `[cluster] store`), or SQLite under the data directory.
async fn open_store(args: &ServeArgs, config: &ServerConfig) -> anyhow::Result<Arc<dyn ScriptStore>> {
    if args.ephemeral {
        tracing::info!("store: in memory (--ephemeral): stored scripts are lost on exit");
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(url) = &config.cluster.store {
        if args.data_dir.is_some() {
            anyhow::bail!(
                "--data-dir is the SQLite store's directory, but the configuration's [cluster] store selects PostgreSQL"
            );
        }
        let store = PostgresStore::connect(url, PostgresOptions::default())
            .await
            .context("cannot open the PostgreSQL store")?;
        tracing::info!(database = store.database(), "store: PostgreSQL");
        return Ok(Arc::new(store));
    }
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => sandvm_server::store::default_data_dir()
            .context("no data directory: pass --data-dir DIR (or set XDG_DATA_HOME or HOME), or --ephemeral")?,
    };
    let store = tokio::task::spawn_blocking(move || SqliteStore::open_dir(&dir))
        .await
        .context("the store task failed")?
        .context("cannot open the SQLite store")?;
    tracing::info!(path = %store.path().display(), "store: SQLite");
    Ok(Arc::new(store))
}
