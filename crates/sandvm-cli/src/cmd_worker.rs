//! `sandvm worker --queue nats://HOST:PORT`: a worker node of a cluster. It pulls jobs from
//! the NATS JetStream queue and runs them in its local pool (see
//! `sandvm_server::queue::nats`). Without `--queue` (and without a `--config` that names
//! one) `sandvm worker` is the pool's internal worker process (frames on standard
//! input/output), as process isolation starts it.
//!
//! `--metrics-addr HOST:PORT` (or `[cluster] worker_metrics_addr`; default off) serves
//! `GET /metrics` and `GET /healthz` (`sandvm_server::telemetry::worker_metrics_router`).
//! `--store URL` (or `[cluster] store`) is checked and otherwise unused: the API nodes own
//! the execution log and the tenants' CPU charges.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use sandvm_server::telemetry::{init_logging, LogFormat};
use sandvm_server::{ServerConfig, ServerError};

/// Arguments of `sandvm worker`.
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// The job queue, `nats://HOST:PORT` (NATS JetStream), overriding `cluster.queue`.
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,
    /// Configuration file (TOML, as for `sandvm serve`): `[cluster]`, `[pool]` and the
    /// tenants' quotas and maxima (a job of a tenant it does not name runs under the pool's
    /// default tenant settings).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A PostgreSQL URL (`postgres://user@host:port/dbname`), overriding `cluster.store`.
    /// Accepted so that API and worker nodes can share one command line and one
    /// configuration; it is checked (a malformed URL is refused) but a worker node does not
    /// connect to it: the API node that enqueued a job writes its execution-log row and
    /// charges the tenant's CPU budget when the result comes back.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Serve `GET /metrics` (Prometheus: the pool's metrics and the worker's job counters)
    /// and `GET /healthz` on this address (`HOST:PORT`; port 0 picks a free one, printed on
    /// the ready line), overriding `cluster.worker_metrics_addr`. By default, none: the
    /// worker node serves no HTTP.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Number of pool workers (jobs run at once), overriding the configuration.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Isolation mode, overriding the configuration.
    #[arg(long, value_parser = ["thread", "process"])]
    pub isolation: Option<String>,
    /// Log filter (`RUST_LOG` syntax); logs go to standard error.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log: String,
    /// Log format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub log_format: String,
    /// Check the configuration and the flags, print what the worker node would do and exit
    /// (without connecting to the broker or starting the pool).
    #[arg(long)]
    pub check: bool,
}

impl WorkerArgs {
    /// True when this is the pool's internal worker process (no option given).
    pub fn is_pool_worker(&self) -> bool {
        self.queue.is_none()
            && self.config.is_none()
            && self.store.is_none()
            && self.metrics_addr.is_none()
            && self.workers.is_none()
            && self.isolation.is_none()
            && !self.check
    }
}

/// Runs a worker node until SIGTERM or Ctrl-C: then it stops pulling, lets running jobs
/// finish and deliver their results, shuts its pool down and exits with 0.
///
/// # Errors
/// An invalid configuration, no queue URL, an unreachable broker, a pool that cannot start.
pub fn run(args: WorkerArgs) -> anyhow::Result<u8> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::load(path)?,
        None => ServerConfig::default(),
    };
    if let Some(url) = args.queue {
        config.cluster.queue = Some(url);
    }
    if config.cluster.queue.is_none() {
        anyhow::bail!("sandvm worker needs --queue nats://HOST:PORT (or cluster.queue in --config)");
    }
    if let Some(url) = args.store {
        sandvm_server::store::check_postgres_url(&url)
            .map_err(|message| ServerError::Config { path: "--store".into(), message })?;
        config.cluster.store = Some(url);
    }
    if let Some(addr) = args.metrics_addr {
        config.cluster.worker_metrics_addr = Some(addr);
    }
    if let Some(n) = args.workers {
        config.pool.workers = Some(n);
    }
    if let Some(mode) = &args.isolation {
        config.pool.isolation =
            if mode == "process" { sandvm_pool::Isolation::Process } else { sandvm_pool::Isolation::Thread };
    }
    if config.pool.workers == Some(0) {
        anyhow::bail!("--workers must be positive for a worker node");
    }
    config.validate()?;
    if args.check {
        let pool = config.pool_config();
        let cluster = &config.cluster;
        println!(
            "worker node: queue {}, stream {}, consumer {}, {} pool workers, {} isolation",
            cluster.queue.as_deref().unwrap_or_default(),
            cluster.stream,
            sandvm_server::queue::nats::CONSUMER,
            pool.workers,
            format!("{:?}", pool.isolation).to_lowercase()
        );
        match cluster.worker_metrics_addr {
            Some(addr) => println!("metrics: http://{addr}/metrics and /healthz"),
            None => println!("metrics: off"),
        }
        if let Some(url) = &cluster.store {
            println!("store: {} (checked, not used by worker nodes)", redact(url));
        }
        for t in config.resolved_tenants()? {
            println!(
                "tenant {}: max timeout {:?}, max memory {} MiB",
                t.name,
                t.max_limits.timeout,
                t.max_limits.memory >> 20
            );
        }
        println!("configuration ok");
        return Ok(0);
    }
    let format = if args.log_format == "json" { LogFormat::Json } else { LogFormat::Text };
    init_logging(&args.log, format);
    let tenants: HashMap<String, sandvm_pool::TenantConfig> =
        config.resolved_tenants()?.into_iter().map(|t| (t.name, t.pool)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sandvm-worker")
        .build()
        .context("cannot start the async runtime")?;
    let code = runtime.block_on(async move {
        sandvm::set_max_abandoned_threads(config.pool.max_abandoned_threads);
        if config.cluster.worker_metrics_addr.is_some() {
            // The recorder first, so that the pool's first samples are kept.
            let _ = sandvm_server::telemetry::prometheus();
        }
        let pool = sandvm_pool::Pool::new(config.pool_config()).context("cannot start the pool")?;
        let pool = Arc::new(pool);
        let metrics = match config.cluster.worker_metrics_addr {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("--metrics-addr: cannot listen on {addr}"))?;
                let bound = listener.local_addr().context("--metrics-addr")?;
                let served = tokio::spawn(sandvm_server::telemetry::serve_worker_metrics(listener, pool.clone()));
                Some((bound, served))
            }
            None => None,
        };
        let node = sandvm_server::queue::nats::WorkerNode::connect(&config.cluster).await?;
        // The one line on standard output: tests and scripts wait for it.
        match &metrics {
            Some((addr, _)) => {
                println!("sandvm: worker ready ({} pool workers; metrics on http://{addr})", pool.config().workers)
            }
            None => println!("sandvm: worker ready ({} pool workers)", pool.config().workers),
        }
        let _ = std::io::stdout().flush();
        let report = node.run(pool.clone(), tenants, sandvm_server::shutdown_signal()).await;
        if let Some((_, served)) = metrics {
            served.abort();
        }
        let stopped = pool.shutdown_within(pool.config().grace_period).await;
        eprintln!(
            "sandvm: worker stopped: {} job(s) completed, {} handed back, {} stuck guest thread(s) abandoned",
            report.completed,
            report.requeued,
            stopped.abandoned.len()
        );
        anyhow::Ok(0)
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

/// A store URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}
