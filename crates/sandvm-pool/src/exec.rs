//! The engine side of a worker (a pool thread, or the main loop of a worker process): one
//! runtime per tenant, pre-warmed contexts per tenant and flavour, persistent contexts,
//! recycling.

use std::collections::HashMap;
use std::sync::Arc;

use sandvm::{
    CacheKey, CancelHandle, Capabilities, Clock, Completion, Context, ContextOptions, Deterministic, Error,
    EvalOptions, Limits, ModuleConfig, Report, Runtime, Script, ScriptOptions, Stats,
};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

#[cfg(feature = "test-faults")]
use crate::job::Fault;
use crate::job::JobOptions;
use crate::wire::{ExecJob, ExecKind, ExecResult};

/// Settings of an executor (sent to worker processes in the hello frame).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecSettings {
    /// Fault jobs may run (always `false` without the `test-faults` feature).
    pub(crate) test_hooks: bool,
    pub(crate) in_process: bool,
    pub(crate) recycle_after_jobs: u64,
    pub(crate) recycle_heap_growth: u64,
    pub(crate) warm_contexts: usize,
    pub(crate) max_tenants: usize,
}

/// The context flavour of a job: warm contexts are kept per flavour. (The pool sorts the
/// capability names, so one set of packs is one flavour.)
type Flavour = JobOptions;

/// The options of a context of flavour `f`.
///
/// # Errors
/// [`Error::Host`] for an unknown capability name (the pool checks them at submission; a
/// worker process checks again).
fn context_options(f: &Flavour) -> Result<ContextOptions, Error> {
    let mut o = ContextOptions::default().strict(f.strict).freeze_intrinsics(f.freeze);
    if let Some(seed) = f.deterministic {
        o = o.deterministic(Some(Deterministic { seed, clock: Clock::Fixed(0.0) }));
    }
    if !f.capabilities.is_empty() {
        let mut caps = Capabilities::none();
        for name in &f.capabilities {
            caps = caps.grant(name)?;
        }
        o = o.capabilities(caps);
    }
    Ok(o)
}

/// The options of a module job's context: its flavour plus a module policy that allows only
/// the tenant's in-memory modules.
fn module_options(f: &Flavour, modules: &std::collections::BTreeMap<String, String>) -> Result<ContextOptions, Error> {
    let mut config = ModuleConfig::new();
    for (name, source) in modules {
        config = config.module(name, source);
    }
    Ok(context_options(f)?.modules(config))
}

/// One tenant's engine on this worker.
struct TenantEngine {
    // Contexts before the runtime they live in.
    warm: HashMap<Flavour, Vec<Context>>,
    persistent: HashMap<String, Context>,
    rt: Runtime,
    jobs: u64,
    base_heap: usize,
    generation: u64,
    last_used: u64,
}

impl TenantEngine {
    fn new(limits: Limits) -> Result<TenantEngine, Error> {
        let rt = Runtime::new(limits)?;
        let base_heap = rt.heap_used();
        Ok(TenantEngine {
            warm: HashMap::new(),
            persistent: HashMap::new(),
            rt,
            jobs: 0,
            base_heap,
            generation: 0,
            last_used: 0,
        })
    }
}

/// Runs jobs on one thread. Never shared between threads (runtimes are `!Send`).
pub(crate) struct Executor {
    settings: ExecSettings,
    cache_key: Option<CacheKey>,
    tenants: HashMap<Arc<str>, TenantEngine>,
    /// Scripts of worker processes, by tenant and id (thread workers get the `Script`).
    scripts: HashMap<(Arc<str>, u64), Script>,
    /// Work left for [`Executor::maintain`]: the tenant and flavour the last job used, and
    /// whether its runtime must be retired.
    pending: Option<(Arc<str>, Flavour, bool)>,
    /// Recycling events not yet reported.
    recycled: Vec<(String, String)>,
    tick: u64,
}

fn host(msg: impl Into<String>) -> Error {
    Error::Host(msg.into())
}

impl Executor {
    pub(crate) fn new(settings: ExecSettings, cache_key: Option<CacheKey>) -> Executor {
        Executor {
            settings,
            cache_key,
            tenants: HashMap::new(),
            scripts: HashMap::new(),
            pending: None,
            recycled: Vec::new(),
            tick: 0,
        }
    }

    /// Runs one job. `on_start` receives the cancel handle of the runtime that will run it
    /// (before it starts); `local` is the compiled script of a `Script` job in thread mode.
    pub(crate) fn run(
        &mut self,
        job: ExecJob,
        local: Option<Script>,
        on_start: &mut dyn FnMut(Option<CancelHandle>),
    ) -> ExecResult {
        // Anything left over from the previous job first (a cheap no-op normally).
        self.maintain();
        self.tick += 1;
        let limits = job.limits.clone();
        if let ExecKind::Template(t) = &job.kind {
            // A render has a sandbox of its own; the tenant's runtime here keeps its heap.
            let mut r = crate::template::run(job.id, t, &limits, on_start);
            r.heap_after = self.tenants.get(&job.tenant).map_or(0, |te| te.rt.heap_used() as u64);
            r.recycled = std::mem::take(&mut self.recycled);
            return r;
        }
        let tenant = job.tenant.clone();
        let flav = job.options.clone();
        let (result, console, stats, heap_after) = match &job.kind {
            #[cfg(feature = "test-faults")]
            ExecKind::Fault(f) => {
                on_start(None);
                let r = if self.settings.test_hooks {
                    run_fault(*f, self.settings.in_process)
                } else {
                    Err(host("test hooks are disabled"))
                };
                (r, Vec::new(), Stats::default(), 0)
            }
            _ => self.run_engine(&job, local, &limits, &flav, on_start),
        };
        let report = Report::new(&result, console, &stats);
        // Decide about the runtime now; do the work in `maintain`, after the result went out.
        let retire = match self.tenants.get(&tenant) {
            Some(te) => {
                let reason = match &result {
                    // The runtime's own answer: this run spent the engine.
                    _ if te.rt.is_spent() => Some("limit"),
                    _ if te.jobs >= self.settings.recycle_after_jobs => Some("jobs"),
                    _ if te.rt.heap_used().saturating_sub(te.base_heap) as u64 > self.settings.recycle_heap_growth => {
                        Some("heap")
                    }
                    _ => None,
                };
                if let Some(r) = reason {
                    self.recycled.push((tenant.to_string(), r.to_string()));
                }
                reason.is_some()
            }
            None => false,
        };
        if !job.kind.is_fault() {
            self.pending = Some((tenant, flav, retire));
        }
        ExecResult {
            id: job.id,
            report,
            stats,
            heap_after: heap_after as u64,
            recycled: std::mem::take(&mut self.recycled),
        }
    }

    fn run_engine(
        &mut self,
        job: &ExecJob,
        local: Option<Script>,
        limits: &Limits,
        flav: &Flavour,
        on_start: &mut dyn FnMut(Option<CancelHandle>),
    ) -> (Result<Completion, Error>, Vec<sandvm::ConsoleEntry>, Stats, usize) {
        let fail = |e: Error| (Err(e), Vec::new(), Stats::default(), 0);
        // The script first: compiling is not running, and a bad definition fails early.
        let script = match &job.kind {
            ExecKind::Script { id, def } => match self.script(&job.tenant, *id, def.as_ref(), local) {
                Ok(s) => Some(s),
                Err(e) => {
                    on_start(None);
                    return fail(e);
                }
            },
            _ => None,
        };
        if let Err(e) = self.ensure_tenant(&job.tenant, limits) {
            on_start(None);
            return fail(e);
        }
        let tick = self.tick;
        let Some(te) = self.tenants.get_mut(&job.tenant) else {
            on_start(None);
            return fail(host("tenant runtime missing"));
        };
        te.last_used = tick;
        te.jobs += 1;
        te.rt.set_limits(limits.clone());
        let handle = te.rt.cancel_handle();
        if handle.is_cancelled() {
            // A cancellation that arrived after its job ended would cancel this one: start
            // over with a fresh runtime.
            match TenantEngine::new(limits.clone()) {
                Ok(fresh) => *te = fresh,
                Err(e) => {
                    on_start(None);
                    return fail(e);
                }
            }
            te.last_used = tick;
            te.jobs = 1;
            self.recycled.push((job.tenant.to_string(), "stale_cancel".into()));
        }
        on_start(Some(te.rt.cancel_handle()));
        let options = || match &job.kind {
            // Module jobs get a context of their own with the tenant's module policy.
            ExecKind::Module { modules, .. } => module_options(flav, modules),
            _ => context_options(flav),
        };
        let fresh = |rt: &Runtime| options().and_then(|o| Context::new(rt, o));
        let ctx = match &job.persistent {
            Some(name) => match te.persistent.remove(name) {
                Some(c) => Ok(c),
                None => fresh(&te.rt),
            },
            None if matches!(job.kind, ExecKind::Module { .. }) => fresh(&te.rt),
            None => match te.warm.get_mut(flav).and_then(Vec::pop) {
                Some(c) => Ok(c),
                None => fresh(&te.rt),
            },
        };
        let ctx = match ctx {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let result = (|| {
            match &job.globals {
                Some(Json::Object(map)) => {
                    for (k, v) in map {
                        ctx.set_global(k, v)?;
                    }
                }
                Some(Json::Null) | None => {}
                Some(_) => return Err(host("globals must be a JSON object")),
            }
            match &job.kind {
                ExecKind::Source { source, filename } => ctx.eval_with(
                    source,
                    &EvalOptions {
                        filename: Some(filename.clone()),
                        language: job.options.language,
                        ..Default::default()
                    },
                ),
                ExecKind::Script { .. } => match &script {
                    Some(s) => ctx.run(s),
                    None => Err(host("script missing")),
                },
                ExecKind::Module { source, name, .. }
                    if job.options.language == sandvm::Language::TypeScript
                        && sandvm::Language::from_path(name) != sandvm::Language::TypeScript =>
                {
                    ctx.run_module(source, &format!("{name}.ts"))
                }
                ExecKind::Module { source, name, .. } => ctx.run_module(source, name),
                ExecKind::Call { function, args } => ctx.call(function, args),
                ExecKind::Template(_) => Err(host("not an engine job")),
                #[cfg(feature = "test-faults")]
                ExecKind::Fault(_) => Err(host("fault job in the engine path")),
            }
        })();
        let console = ctx.take_console();
        let stats = ctx.stats();
        let heap_after = te.rt.heap_used();
        if let Some(name) = &job.persistent {
            te.persistent.insert(name.clone(), ctx);
        }
        (result, console, stats, heap_after)
    }

    fn script(
        &mut self,
        tenant: &Arc<str>,
        id: u64,
        def: Option<&crate::wire::ScriptDef>,
        local: Option<Script>,
    ) -> Result<Script, Error> {
        if let Some(s) = local {
            return Ok(s);
        }
        let key = (tenant.clone(), id);
        if let Some(s) = self.scripts.get(&key) {
            return Ok(s.clone());
        }
        let Some(def) = def else {
            return Err(host(format!("script {id} is not loaded in this worker")));
        };
        let from_cache =
            self.cache_key.as_ref().and_then(|k| Script::with_cached_data_keyed(&def.source, &def.cached, k).ok());
        let s = match from_cache {
            Some(s) => s,
            None => {
                Script::with_options(&def.source, ScriptOptions { filename: def.filename.clone(), strict: def.strict })?
            }
        };
        self.scripts.insert(key, s.clone());
        Ok(s)
    }

    fn ensure_tenant(&mut self, tenant: &Arc<str>, limits: &Limits) -> Result<(), Error> {
        if self.tenants.contains_key(tenant) {
            return Ok(());
        }
        if self.tenants.len() >= self.settings.max_tenants.max(1) {
            let oldest = self.tenants.iter().min_by_key(|(_, te)| te.last_used).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.tenants.remove(&k);
            }
        }
        let te = TenantEngine::new(limits.clone())?;
        self.tenants.insert(tenant.clone(), te);
        Ok(())
    }

    /// Between jobs: retires a runtime marked for it, refills the warm contexts of the last
    /// job's tenant and flavour.
    pub(crate) fn maintain(&mut self) {
        let Some((tenant, flav, retire)) = self.pending.take() else {
            return;
        };
        let Some(te) = self.tenants.get_mut(&tenant) else {
            return;
        };
        if retire {
            let limits = te.rt.limits();
            let last_used = te.last_used;
            match TenantEngine::new(limits) {
                Ok(mut fresh) => {
                    fresh.last_used = last_used;
                    *te = fresh;
                }
                Err(_) => {
                    self.tenants.remove(&tenant);
                    return;
                }
            }
        }
        let want = self.settings.warm_contexts;
        let Ok(opts) = context_options(&flav) else {
            return;
        };
        let pool = te.warm.entry(flav).or_default();
        while pool.len() < want {
            match Context::new(&te.rt, opts.clone()) {
                Ok(c) => pool.push(c),
                Err(_) => break,
            }
        }
        if te.rt.generation() != te.generation {
            // The engine replaced itself after a spent run we could not see (say, an out of
            // memory the guest caught): count it.
            te.generation = te.rt.generation();
            self.recycled.push((tenant.to_string(), "spent".into()));
        }
        if retire || te.jobs == 0 {
            te.base_heap = te.rt.heap_used();
        }
    }
}

/// Runs a test fault. Everything here is safe std code: the crash is an `abort()`, the
/// forbidden system calls are what `std::fs`, `std::net` and `std::process` do.
#[cfg(feature = "test-faults")]
fn run_fault(f: Fault, in_process: bool) -> Result<Completion, Error> {
    let done = |s: String| Ok(Completion { value: Some(Json::String(s.clone())), display: s });
    match f {
        Fault::Hang(ms) => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            done("woke".into())
        }
        Fault::Abort | Fault::Exit | Fault::Fork | Fault::Exec if !in_process => {
            Err(host("this fault needs a worker process"))
        }
        Fault::Abort => std::process::abort(),
        Fault::Exit => std::process::exit(3),
        Fault::Open => match std::fs::File::open("/etc/hostname") {
            Ok(_) => done("opened".into()),
            Err(e) => Err(host(format!("open failed: {e}"))),
        },
        Fault::Connect => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
            match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
                Ok(_) => done("connected".into()),
                Err(e) => done(format!("connect: {}", e.kind())),
            }
        }
        Fault::Fork => match std::process::Command::new("/bin/true").spawn().and_then(|mut c| c.wait()) {
            Ok(_) => done("forked".into()),
            Err(e) => Err(host(format!("spawn failed: {e}"))),
        },
        Fault::Exec => {
            use std::os::unix::process::CommandExt;
            // Replaces the process image on success (the pool then sees a dead worker).
            let e = std::process::Command::new("/bin/true").exec();
            Err(host(format!("exec failed: {e}")))
        }
    }
}
