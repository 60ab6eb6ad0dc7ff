//! Contexts: a global object and realm inside a [`Runtime`], where guest code runs.
//!
//! Layers: `build` makes a fresh engine context from the options (intrinsics, packs,
//! lockdown, the host's setup); `host_fn` is what the host puts in (globals, host functions)
//! and how guest calls reach Rust; `eval` holds the entry points that run guest code;
//! `run` is one run under the limits (job queue, timers, copying the result out);
//! `outcome` is what a run reports.

mod build;
mod eval;
mod host_fn;
mod outcome;
mod run;
mod setup;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::fmt::Display;
use std::rc::Rc;

use rquickjs::{Ctx, Object, Persistent, Value};

use crate::console::{ConsoleBuf, ConsoleEntry, SharedConsole};
use crate::raw::RawResult;
use crate::{ContextOptions, Error, Result, Runtime};

pub use eval::{CompiledFunction, EvalOptions};
pub(crate) use host_fn::{call_host, HostFn, HostThrow};
pub use outcome::{run_in_new_context, Completion, Outcome, Stats, Want};
pub(crate) use setup::Native;
use setup::Setup;
pub use setup::SetupStep;

#[derive(Default)]
pub(super) struct Loaded {
    scripts: HashMap<u64, Persistent<Value<'static>>>,
    functions: HashMap<u64, Persistent<Value<'static>>>,
    /// The timers pack's control object (`{ next, fire, clear }`), when granted.
    timers: Option<Persistent<Object<'static>>>,
}

/// The clock of the timers pack: real milliseconds since the context was made, or a virtual
/// clock that jumps to the next timer in deterministic mode.
struct TimerClock {
    start: std::time::Instant,
    virtual_ms: Cell<f64>,
    deterministic: bool,
}

impl TimerClock {
    fn now(&self) -> f64 {
        if self.deterministic {
            self.virtual_ms.get()
        } else {
            self.start.elapsed().as_secs_f64() * 1000.0
        }
    }
}

struct CtxState {
    // Field order matters: persistent values must be freed before the context (and with it,
    // possibly, the runtime) goes away.
    loaded: Loaded,
    _modules: crate::modules::ModGuard,
    ctx: rquickjs::Context,
    generation: u64,
}

/// A context: one global object (realm) in a [`Runtime`], where guest code runs.
///
/// Values never cross between contexts by reference: globals go in as deep copies of JSON
/// values and results come out as copies.
///
/// ```
/// # fn main() -> sandvm::Result<()> {
/// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
/// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
/// ctx.set_global("user", &serde_json::json!({"name": "Ada"}))?;
/// let done = ctx.eval("var greeting = `hi ${user.name}`; greeting")?;
/// assert_eq!(done.value, Some(serde_json::json!("hi Ada")));
/// assert_eq!(ctx.eval("typeof greeting")?.value, Some(serde_json::json!("string")));
/// # Ok(()) }
/// ```
pub struct Context {
    runtime: Runtime,
    options: ContextOptions,
    setup: RefCell<Vec<Setup>>,
    /// True while the recorded setup is being replayed on a rebuilt context.
    replaying: Cell<bool>,
    state: RefCell<Option<CtxState>>,
    console: SharedConsole,
    stats: Cell<Stats>,
    clock: Rc<TimerClock>,
    finisher: RefCell<Option<String>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("options", &self.options).finish_non_exhaustive()
    }
}

fn host(e: impl Display) -> Error {
    Error::Host(e.to_string())
}

/// Turns an rquickjs error into the pending exception (or a host error).
fn caught<'js>(ctx: &Ctx<'js>, e: rquickjs::Error) -> Result<RawResult<'js>> {
    match e {
        rquickjs::Error::Exception => Ok(Err(ctx.catch())),
        other => {
            let _ = ctx.catch();
            Err(host(other))
        }
    }
}

impl Context {
    /// Creates a context in `runtime`.
    ///
    /// # Errors
    /// [`Error::MemoryLimit`] when the runtime's memory limit is too small for a context;
    /// [`Error::EngineInit`] when the engine fails to set it up.
    pub fn new(runtime: &Runtime, options: ContextOptions) -> Result<Context> {
        let deterministic = options.deterministic.is_some();
        let ctx = Context {
            runtime: runtime.clone(),
            options,
            setup: RefCell::new(Vec::new()),
            replaying: Cell::new(false),
            state: RefCell::new(None),
            console: Rc::new(RefCell::new(ConsoleBuf::default())),
            stats: Cell::new(Stats::default()),
            clock: Rc::new(TimerClock { start: std::time::Instant::now(), virtual_ms: Cell::new(0.0), deterministic }),
            finisher: RefCell::new(None),
        };
        drop(ctx.state()?);
        Ok(ctx)
    }

    /// The runtime this context lives in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The options the context was made with.
    pub fn options(&self) -> &ContextOptions {
        &self.options
    }

    /// Measurements of the last run.
    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// Passes every later run's settled completion value through the guest's global function
    /// `name` before it is copied out: [`Completion::value`] is then the function's result,
    /// while [`Completion::display`] still renders the original value. A binding uses it to
    /// encode values JSON cannot carry (`Date`, `Map`, `BigInt`, cycles ...) as tagged JSON
    /// inside the guest, under the run's limits. When the global is not a function the value
    /// is copied out as is; a throwing finisher ends the run with its exception. `None`
    /// (the default) turns it off.
    pub fn set_finisher(&self, name: Option<&str>) {
        *self.finisher.borrow_mut() = name.map(str::to_string);
    }

    /// Takes the console output captured so far.
    pub fn take_console(&self) -> Vec<ConsoleEntry> {
        std::mem::take(&mut self.console.borrow_mut().entries)
    }

    /// The live engine context, rebuilt (and its recorded setup replayed) when the runtime
    /// replaced a spent engine.
    fn state(&self) -> Result<RefMut<'_, CtxState>> {
        self.runtime.refresh()?;
        let generation = self.runtime.generation();
        let reentrant = || Error::Reentrant { what: "the context".into() };
        let stale =
            self.state.try_borrow().map_err(|_| reentrant())?.as_ref().map(|s| s.generation) != Some(generation);
        if stale {
            if self.replaying.get() {
                return Err(Error::Reentrant { what: "the context's setup replay".into() });
            }
            {
                let mut st = self.state.try_borrow_mut().map_err(|_| reentrant())?;
                *st = None;
                *st = Some(self.build(generation)?);
            }
            // What replayed steps print was seen when they first ran: drop it.
            let kept = self.take_console();
            self.replaying.set(true);
            let replayed = self.replay(generation);
            self.replaying.set(false);
            self.console.borrow_mut().entries = kept;
            if let Err(e) = replayed {
                // Rebuilt and replayed again on the next run.
                *self.state.try_borrow_mut().map_err(|_| reentrant())? = None;
                return Err(e);
            }
        }
        let st = self.state.try_borrow_mut().map_err(|_| reentrant())?;
        RefMut::filter_map(st, Option::as_mut).map_err(|_| Error::init("a context", "its state is missing"))
    }
}
