//! The NATS JetStream queue: API nodes publish jobs, worker nodes run them.
//!
//! ```text
//!  API node A ──publish──▶ stream SANDVM_JOBS (work queue, subject sandvm_jobs.jobs) ──pull──▶ worker 1..N
//!      ▲                                                                                   │
//!      └──────────── request "sandvm_jobs.results.<node>" (the result) ◀─────────────────────┘
//! ```
//!
//! # Semantics
//!
//! - **Stream**: a work-queue stream (retention `WorkQueue`: a message is removed once
//!   acknowledged), file storage (jobs survive a broker restart), at most
//!   `cluster.queue_depth` messages with discard `New`: a job over the depth is refused by
//!   the broker and the client gets **503 `busy`** with `Retry-After`. Each job is published
//!   with its id as `Nats-Msg-Id` (the broker drops a duplicate publish).
//! - **Consumer**: one durable pull consumer shared by every worker, explicit acks,
//!   `max_deliver` = `cluster.max_deliver`, ack wait = `cluster.ack_wait_ms`.
//! - **Leases**: a job's lease is its hard deadline plus grace ([`QueuedJob::lease`]: its
//!   timeout, [`sandvm::grace_for`] it, the pool's hard-deadline margin and one second). The
//!   worker running it renews the consumer's ack wait with in-progress acks every half ack
//!   wait until the lease ends, no further. A worker that dies stops renewing: its job is
//!   redelivered to another worker at most `ack_wait` later.
//! - **Capacity**: a worker pulls at most as many jobs as its pool has free workers (a pull
//!   with batch = free slots, only when a slot is free): no unbounded prefetch.
//! - **Acknowledgement**: a worker acknowledges a job only after its result was delivered:
//!   the result goes to the API node's reply subject as a core NATS request, which the API
//!   node answers once it has the result. If the API node does not answer (broker down,
//!   node restarting), the job is negatively acknowledged and redelivered; if the node is
//!   gone (no responders) after the last delivery, the job is terminated.
//! - **Redelivery limit**: once a job was delivered `max_deliver` times and its last lease
//!   lapsed, the broker gives it up the next time a worker asks for work and publishes a
//!   max-deliveries advisory; the API node waiting for that job answers **500
//!   `worker_lost`** and deletes the message. An API node also stops waiting by itself after
//!   `cluster.queue_timeout_ms` plus `max_deliver` leases (then `worker_lost` too: e.g. when
//!   no worker is left to ask for work).
//! - **Exactly one answer**: the API node keeps one waiting slot per job id and answers the
//!   first result; a second result for the same id (a redelivered job whose first result
//!   raced with the redelivery) is dropped and counted (`sandvm_queue_duplicate_results_total`).
//! - **Broker down**: requests get **503 `queue_unavailable`** with `Retry-After` at once
//!   while the client is disconnected (and when a publish is not acknowledged within
//!   [`PUBLISH_TIMEOUT`]); the clients reconnect by themselves (every 100 ms to 1 s), jobs
//!   already in the stream are not lost, and waiting requests get their results once the
//!   broker is back.
//! - **Draining**: a worker that gets SIGTERM stops pulling, lets its running jobs finish,
//!   delivers their results, acknowledges them and exits.
//!
//! Only API nodes and workers may reach the broker: a job names its tenant and the worker
//! trusts it (the API node authenticated the request).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config as StreamConfig, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, AckKind};
use async_nats::{Client, ConnectOptions};
use futures_util::StreamExt;
use metrics::counter;
use sandvm_pool::{Outcome, Pool, PoolError, TenantConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, Semaphore};

use super::{JobBody, JobQueue, JobResult, QueueFuture, QueuedJob, WireError};
use crate::config::ClusterSettings;
use crate::ServerError;

/// How long an API node waits for the broker to acknowledge a publish before answering 503
/// `queue_unavailable`.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a worker's pull request waits for jobs before it is renewed.
const PULL_EXPIRES: Duration = Duration::from_secs(2);
/// How long a worker waits for the API node to take a result.
const RESULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The durable pull consumer shared by the workers (a KEDA `nats-jetstream` scaler watches
/// its pending messages; see `deploy/kubernetes/`).
pub const CONSUMER: &str = "sandvm-workers";
/// Slack added to a job's lease on top of its hard deadline and grace.
const LEASE_SLACK: Duration = Duration::from_secs(1);
/// A job's timeout when it has none (for its lease).
const NO_TIMEOUT_LEASE: Duration = Duration::from_secs(30);

/// Counter of results nobody waits for any more, dropped: a duplicate (the job was already
/// answered) or the result of a request whose client went away.
pub const DUPLICATE_RESULTS: &str = "sandvm_queue_duplicate_results_total";

/// Names of a worker node's job counters (served by `sandvm worker --metrics-addr`).
pub mod worker_names {
    /// Counter of jobs a worker took from the queue (every delivery, first or not).
    pub const TAKEN: &str = "sandvm_worker_jobs_taken_total";
    /// Counter of jobs taken that the broker had delivered before (to a worker that died,
    /// was full, or could not deliver the result).
    pub const REDELIVERED: &str = "sandvm_worker_jobs_redelivered_total";
    /// Counter of jobs whose result was delivered to the API node, then acknowledged.
    pub const ACKED: &str = "sandvm_worker_jobs_acked_total";
    /// Counter of jobs handed back to the queue (negative acknowledgement), label `reason`:
    /// `busy` (the pool could not take it now) or `undelivered` (the API node did not take
    /// the result).
    pub const REQUEUED: &str = "sandvm_worker_jobs_requeued_total";
    /// Counter of jobs given up for good, label `reason`: `malformed` (not a job message) or
    /// `api_node_gone` (no API node waits for it after its last delivery).
    pub const TERMINATED: &str = "sandvm_worker_jobs_terminated_total";
}

/// Checks a queue URL: `nats://HOST:PORT` (the port may be left out: 4222).
///
/// # Errors
/// What is wrong, for a configuration error.
pub fn check_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("nats://") else {
        return Err(format!("expected nats://HOST:PORT, got {url:?}"));
    };
    let hostport = rest.trim_end_matches('/');
    if hostport.is_empty() || hostport.contains(['/', '@', '?', '#', ' ']) {
        return Err(format!("expected nats://HOST:PORT, got {url:?}"));
    }
    if let Some((host, port)) = hostport.rsplit_once(':') {
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("expected nats://HOST:PORT with a port from 1 to 65535, got {url:?}"));
        }
    }
    Ok(())
}

/// The subject jobs are published on.
fn jobs_subject(s: &ClusterSettings) -> String {
    format!("{}.jobs", s.stream.to_ascii_lowercase())
}

/// Connects to the broker (no retry: an unreachable broker at start is an error).
async fn connect(url: &str, name: &str) -> Result<Client, ServerError> {
    check_url(url).map_err(|message| ServerError::Config { path: "cluster.queue".into(), message })?;
    let name_owned = name.to_string();
    ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(3))
        .request_timeout(Some(RESULT_TIMEOUT))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| Duration::from_millis((attempt as u64 * 100).min(1000)))
        .event_callback(move |event| {
            let name = name_owned.clone();
            async move {
                match event {
                    async_nats::Event::Connected => tracing::info!(client = %name, "connected to the NATS broker"),
                    async_nats::Event::Disconnected => {
                        tracing::warn!(client = %name, "disconnected from the NATS broker; reconnecting")
                    }
                    other => tracing::info!(client = %name, event = %other, "NATS event"),
                }
            }
        })
        .connect(url)
        .await
        .map_err(|e| ServerError::QueueUnavailable(format!("cannot reach the NATS broker at {url}: {e}")))
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::QueueUnavailable(format!("{what}: {e}"))
}

/// Creates the stream, or updates its depth when it exists.
async fn ensure_stream(js: &jetstream::Context, s: &ClusterSettings) -> Result<(), ServerError> {
    let config = StreamConfig {
        name: s.stream.clone(),
        subjects: vec![jobs_subject(s)],
        retention: RetentionPolicy::WorkQueue,
        discard: DiscardPolicy::New,
        max_messages: i64::try_from(s.queue_depth).unwrap_or(i64::MAX),
        storage: StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let mut stream =
        js.get_or_create_stream(config.clone()).await.map_err(|e| unavailable("cannot create the job stream", e))?;
    let info = stream.info().await.map_err(|e| unavailable("cannot read the job stream", e))?;
    if info.config.max_messages != config.max_messages {
        let mut updated = info.config.clone();
        updated.max_messages = config.max_messages;
        js.update_stream(updated).await.map_err(|e| unavailable("cannot update the job stream", e))?;
    }
    Ok(())
}

/// What goes on the stream: a job and where its result goes.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The API node's result subject.
    reply: String,
    job: QueuedJob,
}

/// The max-deliveries advisory of the broker (the fields used).
#[derive(Debug, Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    #[serde(default)]
    deliveries: u64,
}

type Waiting = oneshot::Sender<Result<Outcome, ServerError>>;

struct Shared {
    client: Client,
    js: jetstream::Context,
    settings: ClusterSettings,
    /// Lease margin: the pool's hard-deadline margin plus slack.
    margin: Duration,
    reply_subject: String,
    /// Job id → the request waiting for its result.
    waiting: Mutex<HashMap<String, Waiting>>,
    /// Stream sequence → job id, for the max-deliveries advisory.
    seqs: Mutex<HashMap<u64, String>>,
}

impl Shared {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn seqs(&self) -> std::sync::MutexGuard<'_, HashMap<u64, String>> {
        self.seqs.lock().unwrap_or_else(|p| p.into_inner())
    }
    async fn delete(&self, seq: u64) {
        match self.js.get_stream_no_info(&self.settings.stream).await {
            Ok(stream) => {
                if let Err(e) = stream.delete_message(seq).await {
                    tracing::debug!(seq, error = %e, "could not delete a given-up job");
                }
            }
            Err(e) => tracing::debug!(seq, error = %e, "could not delete a given-up job"),
        }
    }
}

/// The API node's side of the NATS JetStream queue (see the module documentation).
pub struct NatsQueue {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for NatsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsQueue").field("stream", &self.shared.settings.stream).finish_non_exhaustive()
    }
}

impl Drop for NatsQueue {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl NatsQueue {
    /// Connects to `settings.queue`, creates the stream when missing, and starts listening
    /// for results and max-deliveries advisories. `hard_deadline_margin` is the pool's (for
    /// the jobs' leases). Must be called inside a Tokio runtime.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a missing or malformed URL; [`ServerError::QueueUnavailable`]
    /// when the broker cannot be reached or refuses the stream.
    pub async fn connect(settings: &ClusterSettings, hard_deadline_margin: Duration) -> Result<NatsQueue, ServerError> {
        let Some(url) = &settings.queue else {
            return Err(ServerError::Config { path: "cluster.queue".into(), message: "no queue URL".into() });
        };
        let client = connect(url, "sandvm-api").await?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(PUBLISH_TIMEOUT);
        ensure_stream(&js, settings).await?;
        let node = super::new_job_id()?.replacen("j_", "", 1);
        let reply_subject = format!("{}.results.{node}", settings.stream.to_ascii_lowercase());
        let mut results =
            client.subscribe(reply_subject.clone()).await.map_err(|e| unavailable("cannot subscribe to results", e))?;
        let advisory = format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{CONSUMER}", settings.stream);
        let mut advisories =
            client.subscribe(advisory).await.map_err(|e| unavailable("cannot subscribe to advisories", e))?;
        let shared = Arc::new(Shared {
            client,
            js,
            settings: settings.clone(),
            margin: hard_deadline_margin + LEASE_SLACK,
            reply_subject,
            waiting: Mutex::new(HashMap::new()),
            seqs: Mutex::new(HashMap::new()),
        });
        let s = shared.clone();
        let results_task = tokio::spawn(async move {
            while let Some(msg) = results.next().await {
                match serde_json::from_slice::<JobResult>(&msg.payload) {
                    Ok(r) => {
                        let waiter = s.waiting().remove(&r.job_id);
                        match waiter {
                            Some(tx) => {
                                let _ = tx.send(r.result.map_err(ServerError::from));
                            }
                            None => counter!(DUPLICATE_RESULTS).increment(1),
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "malformed result message dropped"),
                }
                // Tell the worker the result is here: it acknowledges the job then.
                if let Some(reply) = msg.reply {
                    if let Err(e) = s.client.publish(reply, "ok".into()).await {
                        tracing::debug!(error = %e, "could not confirm a result");
                    }
                }
            }
        });
        let s = shared.clone();
        let advisory_task = tokio::spawn(async move {
            while let Some(msg) = advisories.next().await {
                let Ok(a) = serde_json::from_slice::<MaxDeliveries>(&msg.payload) else {
                    continue;
                };
                let Some(id) = s.seqs().remove(&a.stream_seq) else {
                    continue;
                };
                let waiter = s.waiting().remove(&id);
                if let Some(tx) = waiter {
                    let message = format!(
                        "the job's worker was lost {} time(s) (cluster.max_deliver is {}); it was given up",
                        a.deliveries.max(u64::from(s.settings.max_deliver)),
                        s.settings.max_deliver
                    );
                    let _ = tx.send(Err(ServerError::Internal { kind: "worker_lost", message }));
                }
                s.delete(a.stream_seq).await;
            }
        });
        Ok(NatsQueue { shared, tasks: vec![results_task, advisory_task] })
    }

    async fn run_inner(&self, job: QueuedJob) -> Result<Outcome, ServerError> {
        let s = &self.shared;
        if s.client.connection_state() != async_nats::connection::State::Connected {
            return Err(ServerError::QueueUnavailable("the NATS broker is not reachable".into()));
        }
        let id = job.id.clone();
        let lease = job.lease(s.margin, NO_TIMEOUT_LEASE);
        let payload = serde_json::to_vec(&Envelope { reply: s.reply_subject.clone(), job })
            .map_err(|e| ServerError::internal(format!("cannot encode the job: {e}")))?;
        let max = s.client.server_info().max_payload;
        if max > 0 && payload.len() > max {
            return Err(ServerError::PayloadTooLarge { limit: max });
        }
        let (tx, rx) = oneshot::channel();
        s.waiting().insert(id.clone(), tx);
        // Forget the job however this future ends (answered, timed out, or dropped).
        let mut guard = Forget { shared: s, id: id.clone(), seq: None };
        let publish = PublishMessage::build().payload(payload.into()).message_id(&id);
        let acked = tokio::time::timeout(PUBLISH_TIMEOUT, async {
            let ack = s.js.send_publish(jobs_subject(&s.settings), publish).await?;
            ack.await
        })
        .await;
        let ack = match acked {
            Err(_) => return Err(ServerError::QueueUnavailable("the NATS broker did not acknowledge the job".into())),
            Ok(Err(e)) => {
                let text = format!("{e} {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default());
                if text.contains("maximum messages") {
                    return Err(ServerError::Busy);
                }
                return Err(unavailable("the NATS broker refused the job", text.trim()));
            }
            Ok(Ok(ack)) => ack,
        };
        s.seqs().insert(ack.sequence, id.clone());
        guard.seq = Some(ack.sequence);
        let max_deliver = s.settings.max_deliver;
        let wait = Duration::from_millis(s.settings.queue_timeout_ms) + lease * max_deliver;
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(ServerError::internal("the result listener stopped")),
            Err(_) => {
                s.delete(ack.sequence).await;
                Err(ServerError::Internal {
                    kind: "worker_lost",
                    message: format!("no worker answered within {} ms; the job was given up", wait.as_millis()),
                })
            }
        }
    }
}

/// Drops a job's waiting slot and sequence mapping.
struct Forget<'a> {
    shared: &'a Shared,
    id: String,
    seq: Option<u64>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.shared.waiting().remove(&self.id);
        if let Some(seq) = self.seq {
            self.shared.seqs().remove(&seq);
        }
    }
}

impl JobQueue for NatsQueue {
    fn run(&self, job: QueuedJob) -> QueueFuture<'_, Outcome> {
        Box::pin(self.run_inner(job))
    }

    fn check_script<'a>(&'a self, _tenant: &'a str, _script_id: &'a str, body: &'a JobBody) -> QueueFuture<'a, ()> {
        Box::pin(async move {
            let JobBody::Stored { code, filename, strict, language, .. } = body else {
                return Err(ServerError::internal("check_script needs a stored script"));
            };
            super::check_syntax(code, filename, *strict, *language).await
        })
    }

    fn forget_script(&self, _tenant: &str, _script_id: &str) {}

    fn kind(&self) -> &'static str {
        "nats"
    }

    fn unavailable(&self) -> Option<String> {
        match self.shared.client.connection_state() {
            async_nats::connection::State::Connected => None,
            _ => Some("the NATS broker is not reachable".into()),
        }
    }

    fn pending(&self) -> usize {
        // Accepted by the broker (a stream sequence is known) and not answered yet.
        self.shared.seqs().len()
    }
}

/// What a worker node did, when it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs whose result was delivered and acknowledged.
    pub completed: u64,
    /// Jobs handed back to the queue (the pool was full or shutting down, or the result
    /// could not be delivered).
    pub requeued: u64,
}

/// A worker node's connection: the broker, the stream and the workers' durable consumer.
/// [`WorkerNode::run`] pulls and runs jobs.
pub struct WorkerNode {
    client: Client,
    consumer: Consumer<pull::Config>,
    settings: ClusterSettings,
}

impl std::fmt::Debug for WorkerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerNode").field("stream", &self.settings.stream).finish_non_exhaustive()
    }
}

impl WorkerNode {
    /// Connects to `settings.queue` and creates the stream and the workers' durable consumer
    /// when missing (explicit acks, `ack_wait_ms`, `max_deliver`). Must be called inside a
    /// Tokio runtime.
    ///
    /// # Errors
    /// [`ServerError::Config`] for a missing or malformed URL; [`ServerError::QueueUnavailable`]
    /// when the broker cannot be reached or refuses the stream or the consumer.
    pub async fn connect(settings: &ClusterSettings) -> Result<WorkerNode, ServerError> {
        let Some(url) = &settings.queue else {
            return Err(ServerError::Config { path: "cluster.queue".into(), message: "no queue URL".into() });
        };
        let client = connect(url, "sandvm-worker").await?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(PUBLISH_TIMEOUT);
        ensure_stream(&js, settings).await?;
        let consumer_config = pull::Config {
            durable_name: Some(CONSUMER.into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_millis(settings.ack_wait_ms),
            max_deliver: i64::from(settings.max_deliver),
            max_ack_pending: i64::try_from(settings.queue_depth).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let stream = js.get_stream(&settings.stream).await.map_err(|e| unavailable("cannot open the job stream", e))?;
        let consumer: Consumer<pull::Config> = stream
            .get_or_create_consumer(CONSUMER, consumer_config)
            .await
            .map_err(|e| unavailable("cannot create the workers' consumer", e))?;
        Ok(WorkerNode { client, consumer, settings: settings.clone() })
    }

    /// Runs until `shutdown` completes: pulls jobs into `pool` (at most its free workers at a
    /// time), runs them, delivers each result to the API node waiting for it, then
    /// acknowledges the job. `tenants` gives the pool configuration of known tenants (quotas,
    /// maxima, modules); a job of another tenant runs under [`TenantConfig::default`]. On
    /// `shutdown` it stops pulling, lets running jobs finish and deliver their results, and
    /// returns what it did; the caller then shuts the pool down.
    pub async fn run(
        self,
        pool: Arc<Pool>,
        tenants: HashMap<String, TenantConfig>,
        shutdown: impl Future<Output = ()>,
    ) -> WorkerReport {
        let WorkerNode { client, consumer, settings } = self;
        let ack_wait = Duration::from_millis(settings.ack_wait_ms);
        let capacity = pool.config().workers.max(1);
        tracing::info!(capacity, "worker pulling jobs");
        let ctx = Arc::new(WorkerCtx {
            pool,
            client,
            tenants,
            known: Mutex::new(HashSet::new()),
            ack_wait,
            margin: LEASE_SLACK,
            max_deliver: i64::from(settings.max_deliver),
            report: Mutex::new(WorkerReport::default()),
        });
        let slots = Arc::new(Semaphore::new(capacity));
        let mut tasks = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        'pull: loop {
            while tasks.try_join_next().is_some() {}
            let first = tokio::select! {
                () = &mut shutdown => break 'pull,
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break 'pull },
            };
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let pulled = tokio::select! {
                () = &mut shutdown => break 'pull,
                b = consumer.batch().max_messages(permits.len()).expires(PULL_EXPIRES).messages() => b,
            };
            let mut batch = match pulled {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot pull jobs; retrying");
                    drop(permits);
                    tokio::select! {
                        () = &mut shutdown => break 'pull,
                        () = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                    continue;
                }
            };
            loop {
                let next = tokio::select! {
                    () = &mut shutdown => break 'pull,
                    m = batch.next() => m,
                };
                match next {
                    None => break,
                    Some(Ok(msg)) => {
                        let Some(permit) = permits.pop() else {
                            // More messages than asked for: hand this one back.
                            let _ = msg.ack_with(AckKind::Nak(None)).await;
                            continue;
                        };
                        let ctx = ctx.clone();
                        tasks.spawn(async move {
                            ctx.handle(msg).await;
                            drop(permit);
                        });
                    }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "pull ended");
                        break;
                    }
                }
            }
        }
        let running = tasks.len();
        if running > 0 {
            tracing::info!(running, "draining: finishing running jobs");
        }
        while tasks.join_next().await.is_some() {}
        if let Err(e) = ctx.client.flush().await {
            tracing::debug!(error = %e, "final flush failed");
        }
        let report = ctx.report.lock().unwrap_or_else(|p| p.into_inner()).clone();
        tracing::info!(completed = report.completed, requeued = report.requeued, "worker stopped pulling");
        report
    }
}

struct WorkerCtx {
    pool: Arc<Pool>,
    client: Client,
    tenants: HashMap<String, TenantConfig>,
    /// Tenants already added to the pool.
    known: Mutex<HashSet<String>>,
    ack_wait: Duration,
    margin: Duration,
    max_deliver: i64,
    report: Mutex<WorkerReport>,
}

impl WorkerCtx {
    fn count(&self, completed: bool) {
        let mut r = self.report.lock().unwrap_or_else(|p| p.into_inner());
        if completed {
            r.completed += 1;
        } else {
            r.requeued += 1;
        }
    }

    fn ensure_tenant(&self, tenant: &str) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.insert(tenant.to_string()) {
            let config = self.tenants.get(tenant).cloned().unwrap_or_default();
            self.pool.add_tenant(tenant, config);
        }
    }

    async fn handle(&self, msg: jetstream::Message) {
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        counter!(worker_names::TAKEN).increment(1);
        if delivered > 1 {
            counter!(worker_names::REDELIVERED).increment(1);
        }
        let envelope: Envelope = match serde_json::from_slice(&msg.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "malformed job message terminated");
                counter!(worker_names::TERMINATED, "reason" => "malformed").increment(1);
                let _ = msg.ack_with(AckKind::Term).await;
                return;
            }
        };
        let Envelope { reply, job } = envelope;
        tracing::info!(job = %job.id, tenant = %job.tenant, delivered, "running a queued job");
        self.ensure_tenant(&job.tenant);
        let lease = job.lease(self.pool.config().hard_deadline_margin + self.margin, NO_TIMEOUT_LEASE);
        let started = Instant::now();
        let run = self.pool.execute(&job.tenant, job.to_pool_job());
        let mut run = std::pin::pin!(run);
        let beat = (self.ack_wait / 2).max(Duration::from_millis(100));
        let out = loop {
            tokio::select! {
                r = &mut run => break r,
                () = tokio::time::sleep(beat) => {
                    // Renew the lease until the job's hard deadline plus grace, no further.
                    if started.elapsed() < lease {
                        let _ = msg.ack_with(AckKind::Progress).await;
                    }
                }
            }
        };
        if let Err(PoolError::Busy | PoolError::ShuttingDown | PoolError::Cancelled | PoolError::Saturated { .. }) =
            &out
        {
            // This worker cannot run it now: another one will.
            let _ = msg.ack_with(AckKind::Nak(Some(Duration::from_millis(100)))).await;
            counter!(worker_names::REQUEUED, "reason" => "busy").increment(1);
            self.count(false);
            return;
        }
        let result =
            JobResult { job_id: job.id.clone(), result: out.map_err(|e| WireError::from(&ServerError::from(e))) };
        let mut payload = serde_json::to_vec(&result).unwrap_or_default();
        let max = self.client.server_info().max_payload;
        if payload.is_empty() || (max > 0 && payload.len() > max) {
            let e =
                ServerError::internal(format!("the job's result is over the broker's message limit of {max} bytes"));
            let small = JobResult { job_id: job.id.clone(), result: Err(WireError::from(&e)) };
            payload = serde_json::to_vec(&small).unwrap_or_default();
        }
        match self.client.request(reply, payload.into()).await {
            Ok(_) => {
                if let Err(e) = msg.double_ack().await {
                    // The result is delivered; a redelivery's result will be dropped as a duplicate.
                    tracing::debug!(job = %job.id, error = %e, "ack failed");
                }
                counter!(worker_names::ACKED).increment(1);
                self.count(true);
            }
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders && delivered >= self.max_deliver => {
                tracing::info!(job = %job.id, "the API node of a job is gone; the job is terminated");
                let _ = msg.ack_with(AckKind::Term).await;
                counter!(worker_names::TERMINATED, "reason" => "api_node_gone").increment(1);
                self.count(false);
            }
            Err(e) => {
                tracing::info!(job = %job.id, error = %e, "result not delivered; the job goes back to the queue");
                let _ = msg.ack_with(AckKind::Nak(Some(Duration::from_millis(500)))).await;
                counter!(worker_names::REQUEUED, "reason" => "undelivered").increment(1);
                self.count(false);
            }
        }
    }
}
