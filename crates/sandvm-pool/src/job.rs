//! Jobs and their outcomes.

use std::sync::Arc;

use sandvm::{Limits, Report, Stats};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::template::TemplateJob;

/// A script registered with [`crate::Pool::register_script`] for one tenant. Ids are only
/// meaningful for the tenant that registered the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScriptId(pub u64);

/// What a job runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum JobKind {
    /// A classic script, compiled in the worker.
    Source {
        /// The source text.
        source: Arc<str>,
        /// The file name shown in stack traces.
        filename: String,
    },
    /// A script registered for the tenant with [`crate::Pool::register_script`] (compiled
    /// once, run in a fresh context each time).
    Script(ScriptId),
    /// An ES module: `source` runs as the entry module `name` (top-level `await` works; the
    /// value is the module's namespace, its exports). It may import only the in-memory modules
    /// of the tenant's [`crate::TenantConfig::modules`] (none by default).
    Module {
        /// The module source text.
        source: Arc<str>,
        /// The entry module's name (relative imports resolve against it). `main.mjs` with
        /// [`Job::module`].
        name: String,
    },
    /// Calls a global function of the job's persistent context (a "plugin" loaded there by
    /// an earlier job) with copies of `args`. Needs [`Job::persistent`].
    Call {
        /// The global function's name.
        function: String,
        /// The arguments, copied in.
        args: Vec<Json>,
    },
    /// A Handlebars template render with partials, JavaScript helpers and data (see
    /// [`Job::template`]). It runs in a template sandbox of its own on the worker, under the
    /// job's limits; the report's value is the output string, and a template error has a
    /// kind of its own (`parse`, `template`, `unknown_partial`, `unknown_helper`,
    /// `invalid_helper`) or the sandbox's (`timeout`, `memory_limit`, ...). The render is
    /// charged its wall-clock time against the tenant's CPU budget.
    Template(Box<TemplateJob>),
    /// Test hooks: crash, hang or attempt a forbidden system call inside the worker. Exists
    /// only with the `test-faults` cargo feature (off by default); refused unless the pool
    /// was built with `test_hooks`.
    #[cfg(feature = "test-faults")]
    #[doc(hidden)]
    Fault(Fault),
}

/// What a `JobKind::Fault` job does inside the worker (tests only: the `test-faults` cargo
/// feature).
#[cfg(feature = "test-faults")]
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// Aborts the worker process (SIGABRT; process mode only).
    Abort,
    /// Exits the worker process (process mode only) with status 3.
    Exit,
    /// Blocks the worker in native code for this many milliseconds, ignoring interrupts.
    Hang(u64),
    /// Opens `/etc/hostname` (`std::fs::File::open`).
    Open,
    /// Connects to 127.0.0.1:9 (`std::net::TcpStream`: `socket` + `connect`).
    Connect,
    /// Starts `/bin/true` as a child (`std::process::Command::spawn`: `clone`/`vfork`);
    /// process mode only.
    Fork,
    /// Replaces the process with `/bin/true` (`CommandExt::exec`: `execve`); process mode only.
    Exec,
}

/// Context flavour of a job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct JobOptions {
    /// Strict mode. By default, `false` (sloppy, like node:vm).
    pub strict: bool,
    /// Freeze the intrinsics before the job runs. By default, `false`.
    pub freeze: bool,
    /// Deterministic mode with this `Math.random` seed (the clock is fixed at 0).
    /// By default, `None`.
    pub deterministic: Option<u64>,
    /// Capability packs granted to the job's context, by name (see [`sandvm::PACK_NAMES`];
    /// `all` grants every pack). Unknown names are refused at submission with
    /// [`crate::PoolError::InvalidJob`]. By default, none.
    pub capabilities: Vec<String>,
    /// The source's language for [`JobKind::Source`] and [`JobKind::Module`] jobs.
    /// [`sandvm::Language::TypeScript`] strips types (not checked) and reports positions in the
    /// TypeScript source; it needs this crate's `typescript` feature (on by default). By
    /// default, JavaScript.
    #[serde(default)]
    pub language: sandvm::Language,
}

/// One unit of work for a tenant: what to run and how.
///
/// ```
/// let job = sandvm_pool::Job::source("x * 2").with_globals(serde_json::json!({"x": 21}));
/// assert!(job.persistent.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Job {
    /// What to run.
    pub kind: JobKind,
    /// Limits, capped by the tenant's maxima. By default, `None`: the tenant's default
    /// limits.
    pub limits: Option<Limits>,
    /// Globals set before the job runs (a JSON object; deep copies). By default, `None`.
    pub globals: Option<Json>,
    /// Context flavour. By default, [`JobOptions::default`].
    pub options: JobOptions,
    /// Run in the tenant's named persistent context instead of a fresh one: its state is
    /// kept between the jobs that name it. Such jobs always run on the same worker; the
    /// context is lost when that worker's runtime for the tenant is recycled (a limit hit,
    /// N jobs, heap growth) or its process is replaced. By default, `None`.
    pub persistent: Option<String>,
}

impl Job {
    fn new(kind: JobKind) -> Job {
        Job { kind, limits: None, globals: None, options: JobOptions::default(), persistent: None }
    }
    /// A job that evaluates `source` as a classic script (file name `<job>`).
    pub fn source(source: impl Into<Arc<str>>) -> Job {
        Job::new(JobKind::Source { source: source.into(), filename: "<job>".into() })
    }
    /// A job that runs a registered script.
    pub fn script(id: ScriptId) -> Job {
        Job::new(JobKind::Script(id))
    }
    /// A job that calls `function` in the persistent context `context`.
    pub fn call(context: impl Into<String>, function: impl Into<String>, args: Vec<Json>) -> Job {
        let mut j = Job::new(JobKind::Call { function: function.into(), args });
        j.persistent = Some(context.into());
        j
    }
    /// A job that evaluates TypeScript `source` as a classic script (file name `<job>.ts`):
    /// types are stripped (not checked), errors point into the TypeScript source.
    ///
    /// ```
    /// let job = sandvm_pool::Job::typescript("const n: number = 21; n * 2");
    /// assert_eq!(job.options.language, sandvm::Language::TypeScript);
    /// ```
    pub fn typescript(source: impl Into<Arc<str>>) -> Job {
        let mut job = Job::new(JobKind::Source { source: source.into(), filename: "<job>.ts".into() });
        job.options.language = sandvm::Language::TypeScript;
        job
    }

    /// Sets the source's language (see [`JobOptions::language`]).
    pub fn with_language(mut self, language: sandvm::Language) -> Job {
        self.options.language = language;
        self
    }

    /// A job that runs `source` as an ES module named `main.mjs` (see [`JobKind::Module`]).
    pub fn module(source: impl Into<Arc<str>>) -> Job {
        Job::new(JobKind::Module { source: source.into(), name: "main.mjs".into() })
    }
    /// A job that renders a template (see [`JobKind::Template`]).
    ///
    /// ```
    /// use sandvm_pool::{Job, Pool, PoolConfig, TemplateJob, TenantConfig};
    /// # fn main() -> Result<(), sandvm_pool::PoolError> {
    /// let pool = Pool::new(PoolConfig { workers: 1, ..Default::default() })?;
    /// pool.add_tenant("acme", TenantConfig::default());
    /// let job = Job::template(TemplateJob::new("Hi {{name}}!", serde_json::json!({"name": "<ada>"})));
    /// let out = pool.execute_blocking("acme", job)?;
    /// assert_eq!(out.report.value, "Hi &lt;ada&gt;!");
    /// # Ok(()) }
    /// ```
    pub fn template(job: TemplateJob) -> Job {
        Job::new(JobKind::Template(Box::new(job)))
    }
    /// A test fault job (the `test-faults` feature).
    #[cfg(feature = "test-faults")]
    #[doc(hidden)]
    pub fn fault(f: Fault) -> Job {
        Job::new(JobKind::Fault(f))
    }
    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Job {
        self.limits = Some(limits);
        self
    }
    /// Sets the globals (a JSON object).
    pub fn with_globals(mut self, globals: Json) -> Job {
        self.globals = Some(globals);
        self
    }
    /// Sets the context flavour.
    pub fn with_options(mut self, options: JobOptions) -> Job {
        self.options = options;
        self
    }
    /// Grants capability packs by name (see [`JobOptions::capabilities`]).
    pub fn with_capabilities<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Job {
        self.options.capabilities = names.into_iter().map(Into::into).collect();
        self
    }
    /// Runs in the named persistent context.
    pub fn in_context(mut self, name: impl Into<String>) -> Job {
        self.persistent = Some(name.into());
        self
    }
}

/// The result of a job that ran: the public JSON report plus pool details. Serialisable,
/// so a service can return it as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The job's id (as in [`crate::JobHandle::id`]).
    pub job_id: u64,
    /// The tenant.
    pub tenant: String,
    /// Index of the worker that ran it.
    pub worker: usize,
    /// The run's report (status, value, display, error, console, stats), the contract of
    /// `sandvm run --json`.
    pub report: Report,
    /// Full measurements of the run (heap peak, promise jobs).
    pub stats: Stats,
    /// Milliseconds the job waited in the queue.
    pub queue_ms: f64,
}

impl Outcome {
    /// True when the run completed without error.
    pub fn is_ok(&self) -> bool {
        self.report.error.is_none()
    }
    /// The error kind of the run (`timeout`, `memory_limit`, ...), or `None` when it
    /// succeeded.
    pub fn error_kind(&self) -> Option<&str> {
        self.report.error.as_ref().map(|e| e.kind.as_str())
    }
}
