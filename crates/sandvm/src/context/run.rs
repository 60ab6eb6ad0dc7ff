//! One run under the runtime's limits: arm the deadline, run the guest, drain the job queue
//! and the timers, settle a promise, copy the result out, charge the output, record stats and
//! decide whether the engine is spent.

use rquickjs::function::Rest;
use rquickjs::{qjs, Ctx, Function, Object, Value};
use serde_json::Value as Json;

use super::{caught, host, Completion, Context, Loaded, Stats, Want};
use crate::error_info::exception_to_error;
use crate::inspect::{self, InspectOptions};
use crate::raw::{self, Job, PromiseState, RawResult};
use crate::runtime::Trip;
use crate::{convert, Error, Limits, Result};

/// What to do with a run's settled value before it is copied out.
#[derive(Clone, Copy)]
pub(super) enum Post<'a> {
    None,
    /// Take its `value` property (an async script's result).
    UnwrapValue,
    /// Replace it with the namespace of the module whose pointer the run itself stores here.
    Namespace(&'a std::cell::Cell<usize>),
}

impl Context {
    /// Runs `f` with the engine's own context handle, under the runtime's limits (an escape
    /// hatch for embedders that need the rquickjs API).
    ///
    /// **Unstable**: only with the `unstable-engine` cargo feature. The engine's API is not
    /// part of sandvm's stable surface and may change in any release; code in `f` can break
    /// every guarantee the sandbox makes. Keep guest values inside `f`: never store them or
    /// hand them to another context. Do not load modules from here with
    /// `rquickjs::Module::import` (the engine's `JS_LoadModule`): sandvm's module hooks rely on
    /// specifiers reaching them from guest code through the engine, which is how they tell a
    /// specifier cut at a NUL; use [`Context::run_module`] or a guest `import()` instead.
    ///
    /// # Errors
    /// [`Error::EngineInit`] when the context cannot be set up, [`Error::Reentrant`] when it
    /// is already running.
    #[cfg(feature = "unstable-engine")]
    pub fn with_engine<R>(&self, f: impl for<'js> FnOnce(&Ctx<'js>) -> R) -> Result<R> {
        self.run_with_engine(f)
    }

    /// Runs `f` with the engine's context handle under the runtime's limits (the crate's own
    /// escape hatch: REPL support, tests).
    pub(crate) fn run_with_engine<R>(&self, f: impl for<'js> FnOnce(&Ctx<'js>) -> R) -> Result<R> {
        let limits = self.runtime.limits();
        let st = self.state()?;
        let guard = self.runtime.begin_run(&limits)?;
        let r = st.ctx.with(|ctx| {
            raw::update_stack_top(&ctx);
            f(&ctx)
        });
        drop(guard);
        Ok(r)
    }

    /// Runs `f` as one run under the runtime's limits.
    pub(super) fn execute<F>(&self, f: F) -> Result<Completion>
    where
        F: for<'js> FnOnce(&Ctx<'js>, &mut Loaded) -> Result<RawResult<'js>>,
    {
        self.execute_with(Post::None, Want::ALL, f)
    }

    /// As `execute`; `unwrap_tla` takes the `value` property of the settled result (what an
    /// async script's promise resolves to).
    pub(super) fn execute_with<F>(&self, post: Post, want: Want, f: F) -> Result<Completion>
    where
        F: for<'js> FnOnce(&Ctx<'js>, &mut Loaded) -> Result<RawResult<'js>>,
    {
        let limits = self.runtime.limits();
        let mut st = self.state()?;
        let heap = self.runtime.engine().heap.clone();
        let watch = self.runtime.watch().clone();
        let guard = self.runtime.begin_run(&limits)?;
        self.console.borrow_mut().begin_run(limits.max_output);
        let mut jobs = 0u64;
        let st = &mut *st;
        let loaded = &mut st.loaded;
        let loaded_timers = loaded.timers.clone();
        let result = st.ctx.with(|ctx| -> Result<Completion> {
            raw::update_stack_top(&ctx);
            let result = (|| -> Result<Completion> {
                let r = f(&ctx, loaded);
                let v = match r {
                    Ok(Ok(v)) => v,
                    Ok(Err(exc)) => return Err(exception_to_error(&ctx, exc, false)),
                    Err(e) => return Err(e),
                };
                let timers = match &loaded_timers {
                    Some(p) => Some(p.clone().restore(&ctx).map_err(host)?),
                    None => None,
                };
                let settled = self.settle(&ctx, v, &limits, &mut jobs, timers.as_ref());
                if let Some(t) = &timers {
                    // Timers never outlive the run.
                    if let Ok(clear) = t.get::<_, Function>("clear") {
                        let _ = clear.call::<_, Value>(());
                    }
                }
                let mut v = settled?;
                match post {
                    Post::None => {}
                    Post::UnwrapValue => {
                        if let Some(o) = v.as_object() {
                            v = o.get::<_, Value>("value").unwrap_or_else(|_| Value::new_undefined(ctx.clone()));
                        }
                    }
                    Post::Namespace(cell) => {
                        let m = cell.get();
                        // SAFETY: `m` is the module this run compiled; it lives in the context's
                        // module table. The namespace is a new reference we take over.
                        v = unsafe {
                            Value::from_raw(
                                ctx.clone(),
                                qjs::JS_GetModuleNamespace(ctx.as_raw().as_ptr(), m as *mut qjs::JSModuleDef),
                            )
                        };
                        if v.is_exception() {
                            return Err(exception_to_error(&ctx, ctx.catch(), false));
                        }
                    }
                }
                // Only what the caller asked for: rendering and copying can cost more than
                // the run itself (and can run guest code: getters, proxies, toJSON).
                let display = if want.display { display_of(&ctx, &v) } else { String::new() };
                let value = if want.value {
                    let finisher = self.finisher.borrow().clone();
                    let finished = match finisher.and_then(|n| ctx.globals().get::<_, Function>(n.as_str()).ok()) {
                        Some(f) => match f.call::<_, Value>((v.clone(),)) {
                            Ok(out) => out,
                            Err(e) => {
                                return match caught(&ctx, e)? {
                                    Err(exc) => Err(exception_to_error(&ctx, exc, false)),
                                    Ok(_) => Err(host("finisher failed")),
                                }
                            }
                        },
                        None => v.clone(),
                    };
                    convert::to_json(&ctx, &finished)
                } else {
                    None
                };
                if let Some(e) = watch.tripped().error() {
                    return Err(e);
                }
                let size = match &value {
                    Some(Json::String(s)) => s.len(),
                    // A number or a boolean is shorter than its display, which is charged too.
                    Some(Json::Number(_) | Json::Bool(_) | Json::Null) if want.display => 0,
                    Some(v) => v.to_string().len(),
                    None => 0,
                }
                .max(display.len());
                if !self.console.borrow_mut().charge(size) {
                    return Err(Error::OutputLimit);
                }
                Ok(Completion { value, display })
            })();
            // Jobs this run queued but did not drain (it threw, or copying its value queued
            // some) run now, under this run's limits: never in a later run.
            if pending(&ctx) {
                self.drain_jobs(&ctx, &limits, &mut jobs)?;
            }
            result
        });
        let result = match result {
            // A host-side failure is what it is, whatever the guest did meanwhile.
            Err(e) if e.is_host() => Err(e),
            Err(e) => Err(watch.tripped().error().or(heap.refused().then_some(Error::MemoryLimit)).unwrap_or(e)),
            Ok(c) => match watch.tripped().error() {
                Some(e) => Err(e),
                None => Ok(c),
            },
        };
        let wall_ns = guard.elapsed_ns();
        let cpu = watch.run_cpu_ns(guard.start_ns);
        drop(guard);
        self.stats.set(Stats {
            wall_ms: wall_ns as f64 / 1e6,
            cpu_ms: cpu as f64 / 1e6,
            heap_bytes: heap.used(),
            heap_peak_bytes: heap.peak(),
            jobs,
            host_bytes: self.options.modules.as_ref().map_or(0, |m| m.host_bytes()),
        });
        let spent = heap.refused()
            || match &result {
                Err(Error::MemoryLimit | Error::StackOverflow | Error::JobLimit | Error::OutputLimit) => true,
                Err(Error::Timeout | Error::Cancelled) => !self.options.keep_after_interrupt,
                _ => false,
            };
        if spent {
            self.runtime.mark_spent();
        }
        result
    }

    /// Runs the job queue and, when the value is a promise and the context awaits promises,
    /// returns its settled value.
    pub(super) fn settle<'js>(
        &self,
        ctx: &Ctx<'js>,
        v: Value<'js>,
        limits: &Limits,
        jobs: &mut u64,
        timers: Option<&Object<'js>>,
    ) -> Result<Value<'js>> {
        self.drain_jobs(ctx, limits, jobs)?;
        if let Some(timers) = timers {
            self.run_timers(ctx, timers, limits, jobs)?;
        }
        if !self.options.await_promise {
            return Ok(v);
        }
        match raw::promise_state(ctx, &v) {
            PromiseState::NotAPromise => Ok(v),
            PromiseState::Fulfilled(x) => Ok(x),
            PromiseState::Rejected(e) => Err(exception_to_error(ctx, e, false)),
            PromiseState::Pending => Err(Error::Unsettled),
        }
    }

    /// The event loop of the timers pack: fire timers in order (waiting for them in real time,
    /// or jumping the virtual clock in deterministic mode), running the job queue after each,
    /// until none is pending. Bounded by the run's limits like everything else.
    pub(super) fn run_timers<'js>(
        &self,
        ctx: &Ctx<'js>,
        timers: &Object<'js>,
        limits: &Limits,
        jobs: &mut u64,
    ) -> Result<()> {
        let watch = self.runtime.watch();
        let js = |r: rquickjs::Result<Value<'js>>| -> Result<Value<'js>> {
            r.or_else(|e| match caught(ctx, e)? {
                Ok(v) => Ok(v),
                Err(exc) => Err(exception_to_error(ctx, exc, false)),
            })
        };
        loop {
            let next_fn: Function = timers.get("next").map_err(host)?;
            let next = js(next_fn.call(()))?.as_number().unwrap_or(-1.0);
            if next < 0.0 {
                return Ok(());
            }
            if self.clock.deterministic {
                self.clock.virtual_ms.set(self.clock.virtual_ms.get().max(next));
            } else {
                loop {
                    let wait = next - self.clock.now();
                    if wait <= 0.0 {
                        break;
                    }
                    if watch.should_interrupt() {
                        return Err(watch.tripped().error().unwrap_or(Error::Timeout));
                    }
                    std::thread::sleep(std::time::Duration::from_secs_f64((wait / 1000.0).min(0.005)));
                }
            }
            let fire: Function = timers.get("fire").map_err(host)?;
            js(fire.call((self.clock.now(),)))?;
            self.drain_jobs(ctx, limits, jobs)?;
        }
    }

    pub(super) fn drain_jobs(&self, ctx: &Ctx<'_>, limits: &Limits, jobs: &mut u64) -> Result<()> {
        let watch = self.runtime.watch();
        loop {
            if let Some(e) = watch.tripped().error() {
                return Err(e);
            }
            if *jobs >= limits.max_jobs && pending(ctx) {
                watch.trip(Trip::Jobs);
                return Err(Error::JobLimit);
            }
            match raw::run_job(ctx) {
                Job::None => return Ok(()),
                Job::Ran | Job::Threw => *jobs += 1,
            }
            if *jobs % 64 == 0 {
                // Checks the deadline even when the jobs themselves never poll the interrupt.
                watch.should_interrupt();
            }
        }
    }
}

/// The `util.inspect` rendering of a completion value, with a fast path for the common
/// primitives.
fn display_of<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> String {
    match v.type_of() {
        rquickjs::Type::Int => v.as_int().map(|i| i.to_string()).unwrap_or_default(),
        rquickjs::Type::Bool => v.as_bool().map(|b| b.to_string()).unwrap_or_default(),
        rquickjs::Type::Null => "null".into(),
        rquickjs::Type::Undefined => "undefined".into(),
        rquickjs::Type::Float if v.as_float().is_some_and(|f| f != 0.0) => raw::to_string_lossy(ctx, v),
        _ => inspect::inspect(ctx, v, &InspectOptions::default()),
    }
}

fn pending(ctx: &Ctx<'_>) -> bool {
    // SAFETY: valid runtime pointer from a live context.
    unsafe { qjs::JS_IsJobPending(qjs::JS_GetRuntime(ctx.as_raw().as_ptr())) }
}

pub(super) fn call_value<'js>(ctx: &Ctx<'js>, f: &Value<'js>, args: &[Json], what: &str) -> Result<RawResult<'js>> {
    let Some(func) = f.as_function() else {
        return Err(Error::NotAFunction { what: what.to_string() });
    };
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        match convert::from_json(ctx, a) {
            Ok(v) => vals.push(v),
            Err(e) => return Ok(Err(e)),
        }
    }
    match func.call::<_, Value>((Rest(vals),)) {
        Ok(v) => Ok(Ok(v)),
        Err(e) => caught(ctx, e),
    }
}
