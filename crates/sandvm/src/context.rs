//! Contexts: a global object and realm inside a [`Runtime`], where guest code runs.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::fmt::Display;
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::function::Rest;
use rquickjs::{qjs, Ctx, Function, Object, Persistent, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;

use crate::console::{self, ConsoleBuf, ConsoleEntry, SharedConsole};
use crate::error_info::exception_to_error;
use crate::inspect::{self, InspectOptions};
use crate::options::Clock;
use crate::raw::{self, Job, PromiseState, RawResult};
use crate::runtime::Trip;
use crate::script::{compile, SourceKind};
use crate::{convert, lockdown, ContextOptions, Error, Limits, Result, Runtime, Script};

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The completion value as JSON, when it has a JSON form (`None` for `undefined`,
    /// functions, symbols, bigints, cycles, non-finite numbers).
    pub value: Option<Json>,
    /// The completion value rendered like Node's `util.inspect` (always present:
    /// `undefined`, `[Function: f]`, `Map(1) { 'a' => 1 }`, `<ref *1> { self: [Circular *1] }` ...).
    pub display: String,
}

/// Measurements of the last run of a context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Stats {
    /// Wall-clock milliseconds, compile to last job.
    pub wall_ms: f64,
    /// CPU milliseconds spent by the running thread.
    pub cpu_ms: f64,
    /// Engine heap bytes in use at the end of the run (the whole runtime).
    pub heap_bytes: usize,
    /// Most engine heap bytes in use at any time during the run.
    pub heap_peak_bytes: usize,
    /// Promise jobs executed.
    pub jobs: u64,
    /// Bytes held at the end of the run by host-side stores the guest can fill (the
    /// [`crate::KvStore`]s behind this context's `sandvm:kv` modules); outside the memory
    /// limit, bounded by each store's own caps.
    #[serde(default)]
    pub host_bytes: usize,
}

pub(crate) type HostFn = Rc<dyn Fn(Json) -> std::result::Result<Json, HostThrow>>;

/// What a host function throws into the guest when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostThrow {
    /// A plain `Error` with this message.
    Error(String),
    /// A `TypeError`; the message is prefixed with the function's name.
    TypeError(String),
    /// A `RangeError` (a host-side store is full); the message is prefixed with the function's name.
    RangeError(String),
}

impl From<String> for HostThrow {
    fn from(message: String) -> HostThrow {
        HostThrow::Error(message)
    }
}

#[derive(Clone)]
enum Setup {
    Global(String, Json),
    HostFn(String, HostFn),
}

#[derive(Default)]
struct Loaded {
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

/// What to do with a run's settled value before it is copied out.
#[derive(Clone, Copy)]
enum Post<'a> {
    None,
    /// Take its `value` property (an async script's result).
    UnwrapValue,
    /// Replace it with the namespace of the module whose pointer the run itself stores here.
    Namespace(&'a std::cell::Cell<usize>),
}

/// Per-call options of [`Context::eval_with`].
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// File name for stack traces. By default, the context's file name.
    pub filename: Option<String>,
    /// Allow top-level `await` (the script runs as an async script and its completion value is
    /// awaited). Needs the `eval` intrinsic. By default, `false`.
    pub top_level_await: bool,
    /// The source's language. By default, [`crate::Language::JavaScript`];
    /// [`crate::Language::TypeScript`]
    /// strips types first (the `typescript` cargo feature) and maps error positions back.
    pub language: crate::Language,
}

/// A function compiled with [`Context::compile_function`] (like node's `vm.compileFunction`).
#[derive(Debug, Clone)]
pub struct CompiledFunction {
    id: u64,
    bytecode: Arc<Vec<u8>>,
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
    state: RefCell<Option<CtxState>>,
    console: SharedConsole,
    stats: Cell<Stats>,
    clock: Rc<TimerClock>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("options", &self.options).finish_non_exhaustive()
    }
}

static NEXT_FN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

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
    /// [`Error::Host`] when the engine fails to set it up.
    pub fn new(runtime: &Runtime, options: ContextOptions) -> Result<Context> {
        let deterministic = options.deterministic.is_some();
        let ctx = Context {
            runtime: runtime.clone(),
            options,
            setup: RefCell::new(Vec::new()),
            state: RefCell::new(None),
            console: Rc::new(RefCell::new(ConsoleBuf::default())),
            stats: Cell::new(Stats::default()),
            clock: Rc::new(TimerClock { start: std::time::Instant::now(), virtual_ms: Cell::new(0.0), deterministic }),
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

    /// Takes the console output captured so far.
    pub fn take_console(&self) -> Vec<ConsoleEntry> {
        std::mem::take(&mut self.console.borrow_mut().entries)
    }

    fn state(&self) -> Result<RefMut<'_, CtxState>> {
        self.runtime.refresh()?;
        let generation = self.runtime.generation();
        let mut st = self
            .state
            .try_borrow_mut()
            .map_err(|_| Error::Host("the context is already running (re-entrant call from a host function)".into()))?;
        if st.as_ref().map(|s| s.generation) != Some(generation) {
            *st = None;
            *st = Some(self.build(generation)?);
        }
        RefMut::filter_map(st, Option::as_mut).map_err(|_| Error::Host("context state missing".into()))
    }

    fn build(&self, generation: u64) -> Result<CtxState> {
        let engine = self.runtime.engine();
        let heap = engine.heap.clone();
        let qctx = rquickjs::Context::base(&engine.rt).map_err(|_| {
            if heap.refused() {
                Error::MemoryLimit
            } else {
                Error::Host("cannot create a context".into())
            }
        })?;
        drop(engine);
        let i = self.options.intrinsics;
        let p = qctx.as_raw().as_ptr();
        // SAFETY: `p` is a live context that no guest code has touched yet; these calls only
        // add built-in objects to its global object.
        let failed = unsafe {
            let mut rc = 0;
            if i.date {
                rc |= qjs::JS_AddIntrinsicDate(p);
            }
            if i.eval {
                rc |= qjs::JS_AddIntrinsicEval(p);
            }
            if i.regexp {
                qjs::JS_AddIntrinsicRegExpCompiler(p);
                rc |= qjs::JS_AddIntrinsicRegExp(p);
            }
            rc |= qjs::JS_AddIntrinsicJSON(p);
            if i.proxy {
                rc |= qjs::JS_AddIntrinsicProxy(p);
            }
            if i.map_set {
                rc |= qjs::JS_AddIntrinsicMapSet(p);
            }
            if i.typed_arrays {
                rc |= qjs::JS_AddIntrinsicTypedArrays(p);
            }
            if i.promise {
                rc |= qjs::JS_AddIntrinsicPromise(p);
            }
            if i.weak_ref {
                rc |= qjs::JS_AddIntrinsicWeakRef(p);
            }
            if i.performance {
                rc |= qjs::JS_AddPerformance(p);
            }
            if i.dom_exception {
                rc |= qjs::JS_AddIntrinsicDOMException(p);
            }
            if self.options.capabilities.base64 {
                rc |= qjs::JS_AddIntrinsicAToB(p);
            }
            rc != 0
        };
        if failed {
            return Err(if heap.refused() { Error::MemoryLimit } else { Error::Host("cannot add intrinsics".into()) });
        }
        let setup = self.setup.borrow().clone();
        let watch = self.runtime.watch().clone();
        let mut loaded = Loaded::default();
        let mut guard = None;
        qctx.with(|ctx| -> Result<()> {
            raw::update_stack_top(&ctx);
            guard = Some(crate::modules::register(&ctx, self.options.modules.clone()));
            let r = (|| -> Result<()> {
                self.prepare(&ctx, &watch, &mut loaded)?;
                for s in &setup {
                    self.apply(&ctx, s)?;
                }
                Ok(())
            })();
            r.map_err(|e| if heap.refused() { Error::MemoryLimit } else { e })
        })?;
        let _modules = guard.ok_or_else(|| Error::Host("module state missing".into()))?;
        Ok(CtxState { loaded, _modules, ctx: qctx, generation })
    }

    /// Built-in setup of a fresh context, before any guest code.
    fn prepare<'js>(&self, ctx: &Ctx<'js>, watch: &Arc<crate::runtime::Watch>, loaded: &mut Loaded) -> Result<()> {
        let g = ctx.globals();
        // Error.stackTraceLimit's engine setter leaks the value it replaces, which makes the
        // engine abort when the runtime is freed: make it a plain data property.
        if let Ok(err) = g.get::<_, Object>("Error") {
            // SAFETY: live object of `ctx`; an int carries no reference, so passing it by value
            // (the call takes ownership) is sound.
            unsafe {
                qjs::JS_DefinePropertyValueStr(
                    ctx.as_raw().as_ptr(),
                    err.as_raw(),
                    c"stackTraceLimit".as_ptr(),
                    Value::new_int(ctx.clone(), 10).as_raw(),
                    (qjs::JS_PROP_WRITABLE | qjs::JS_PROP_CONFIGURABLE) as i32,
                );
            }
        }
        inspect::install(ctx).map_err(host)?;
        if self.options.console {
            console::install(ctx, &self.console, watch).map_err(host)?;
        }
        self.grant_packs(ctx, loaded)?;
        if self.options.modules.as_ref().is_some_and(|m| m.has_commonjs()) {
            crate::modules::install_require(ctx).map_err(host)?;
        }
        if !self.options.intrinsics.eval {
            // Without the intrinsic the global `eval` only throws; remove it altogether.
            g.remove("eval").map_err(host)?;
        }
        if !self.options.intrinsics.math_random {
            if let Ok(math) = g.get::<_, Object>("Math") {
                math.remove("random").map_err(host)?;
            }
        }
        if let Some(det) = &self.options.deterministic {
            let f = self.prelude(ctx, lockdown::DETERMINISTIC, "<deterministic>")?;
            let now = match &det.clock {
                Clock::Fixed(ms) => {
                    let ms = *ms;
                    Function::new(ctx.clone(), move || ms).map_err(host)?
                }
                Clock::Host(clock) => {
                    let clock = clock.clone();
                    Function::new(ctx.clone(), move || clock()).map_err(host)?
                }
            };
            let lo = (det.seed & 0xffff_ffff) as f64;
            let hi = (det.seed >> 32) as f64;
            f.call::<_, Value>((lo, hi, now)).map_err(|e| self.setup_error(ctx, e))?;
        }
        if self.options.freeze {
            let f = self.prelude(ctx, lockdown::FREEZE, "<lockdown>")?;
            let trusted: Vec<Value> = f.call(()).map_err(|e| self.setup_error(ctx, e))?;
            inspect::trust_getters(ctx, trusted);
        }
        Ok(())
    }

    /// Installs the capability packs the options grant.
    fn grant_packs<'js>(&self, ctx: &Ctx<'js>, loaded: &mut Loaded) -> Result<()> {
        let caps = &self.options.capabilities;
        if !caps.queue_microtask {
            ctx.globals().remove("queueMicrotask").map_err(host)?;
        }
        for (on, src, name) in [
            (caps.text_encoding, crate::packs::TEXT, "<text-encoding>"),
            (caps.url, crate::packs::URL, "<url>"),
            (caps.structured_clone, crate::packs::STRUCTURED_CLONE, "<structured-clone>"),
        ] {
            if on {
                let f = self.prelude(ctx, src, name)?;
                f.call::<_, Value>(()).map_err(|e| self.setup_error(ctx, e))?;
            }
        }
        if caps.timers {
            let clock = self.clock.clone();
            let now = Function::new(ctx.clone(), move || clock.now()).map_err(host)?;
            let f = self.prelude(ctx, crate::packs::TIMERS, "<timers>")?;
            let control: Object = f.call((now,)).map_err(|e| self.setup_error(ctx, e))?;
            loaded.timers = Some(Persistent::save(ctx, control));
        }
        if let Some(handler) = &caps.fetch {
            let handler = handler.clone();
            let erased: HostFn = Rc::new(move |args: Json| {
                let req = args.get(0).cloned().unwrap_or(Json::Null);
                let req: crate::packs::FetchRequest =
                    serde_json::from_value(req).map_err(|e| format!("fetch: bad request: {e}"))?;
                let resp = handler(req).map_err(|e| format!("fetch failed: {e}"))?;
                serde_json::to_value(resp).map_err(|e| HostThrow::Error(e.to_string()))
            });
            let call = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
                call_host(&ctx, "fetch", &erased, args.0)
            })
            .map_err(host)?;
            let f = self.prelude(ctx, crate::packs::FETCH, "<fetch>")?;
            f.call::<_, Value>((call,)).map_err(|e| self.setup_error(ctx, e))?;
        }
        Ok(())
    }

    fn setup_error(&self, ctx: &Ctx<'_>, e: rquickjs::Error) -> Error {
        match e {
            rquickjs::Error::Exception => {
                let exc = ctx.catch();
                host(exception_to_error(ctx, exc, false))
            }
            other => host(other),
        }
    }

    /// Loads a built-in prelude (compiled once per thread) and returns its function.
    fn prelude<'js>(&self, ctx: &Ctx<'js>, source: &'static str, name: &str) -> Result<Function<'js>> {
        thread_local! {
            static PRELUDES: RefCell<HashMap<usize, Vec<u8>>> = RefCell::new(HashMap::new());
        }
        let key = source.as_ptr() as usize;
        let bytes = match PRELUDES.with(|p| p.borrow().get(&key).cloned()) {
            Some(b) => b,
            None => {
                let b = compile(source, name, true, SourceKind::Script)?;
                PRELUDES.with(|p| p.borrow_mut().insert(key, b.clone()));
                b
            }
        };
        let func = raw::read_bytecode(ctx, &bytes).map_err(|e| host(exception_to_error(ctx, e, false)))?;
        let v = raw::eval_function(ctx, &func).map_err(|e| host(exception_to_error(ctx, e, false)))?;
        v.into_function().ok_or_else(|| Error::Host("prelude is not a function".into()))
    }

    fn apply<'js>(&self, ctx: &Ctx<'js>, s: &Setup) -> Result<()> {
        match s {
            Setup::Global(name, value) => {
                let v = convert::from_json(ctx, value).map_err(|e| host(exception_to_error(ctx, e, false)))?;
                ctx.globals().set(name.as_str(), v).map_err(host)
            }
            Setup::HostFn(name, f) => {
                let f = f.clone();
                let fname = name.clone();
                let func = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
                    call_host(&ctx, &fname, &f, args.0)
                })
                .and_then(|func| func.with_name(name.as_str()))
                .map_err(host)?;
                ctx.globals().set(name.as_str(), func).map_err(host)
            }
        }
    }

    fn add_setup(&self, s: Setup) -> Result<()> {
        let mut st = self.state()?;
        let st = &mut *st;
        st.ctx.with(|ctx| self.apply(&ctx, &s))?;
        let name = match &s {
            Setup::Global(n, _) | Setup::HostFn(n, _) => n.clone(),
        };
        let mut setup = self.setup.borrow_mut();
        // A later definition of the same name replaces the earlier one, so repeated updates
        // (a REPL's `_`) do not pile up.
        setup.retain(|e| !matches!(e, Setup::Global(n, _) | Setup::HostFn(n, _) if *n == name));
        setup.push(s);
        Ok(())
    }

    /// Sets a global variable to a deep copy of `value`. The copy survives a runtime reset.
    ///
    /// # Errors
    /// [`Error::Host`] when the context cannot be set up, [`Error::MemoryLimit`] when the copy
    /// does not fit, [`Error::TooDeep`] when `value` nests deeper than [`crate::MAX_JSON_DEPTH`].
    pub fn set_global(&self, name: &str, value: &Json) -> Result<()> {
        convert::check_depth(value)?;
        self.add_setup(Setup::Global(name.to_string(), value.clone()))
    }

    /// Registers a host function callable from guest code as a global `name`.
    ///
    /// The guest's arguments arrive as a JSON array deserialized into `A` (use a tuple such as
    /// `(f64, f64)`, or `Vec<serde_json::Value>` for any arguments); the result `R` goes back as
    /// a copy. An `Err` becomes a guest `Error` with the message; a panic becomes a guest
    /// `InternalError` and never unwinds into the engine. Arguments that do not deserialize
    /// raise a guest `TypeError`.
    ///
    /// ```
    /// # fn main() -> sandvm::Result<()> {
    /// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    /// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    /// ctx.register_fn("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b))?;
    /// assert_eq!(ctx.eval("add(2, 3)")?.value, Some(serde_json::json!(5)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Host`] when the context cannot be set up.
    pub fn register_fn<A, R, E, F>(&self, name: &str, f: F) -> Result<()>
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: Display + 'static,
        F: Fn(A) -> std::result::Result<R, E> + 'static,
    {
        let erased: HostFn = Rc::new(move |args: Json| {
            let empty = args.as_array().is_some_and(|a| a.is_empty());
            let a: A = match serde_json::from_value::<A>(args) {
                Ok(a) => Ok(a),
                // `()` and `Option<_>` take no arguments as `null`.
                Err(_) if empty => serde_json::from_value::<A>(Json::Null),
                Err(e) => Err(e),
            }
            .map_err(|e| HostThrow::TypeError(format!("invalid arguments: {e}")))?;
            let r = f(a).map_err(|e| HostThrow::Error(e.to_string()))?;
            serde_json::to_value(r).map_err(|e| HostThrow::Error(format!("host function result is not JSON: {e}")))
        });
        self.add_setup(Setup::HostFn(name.to_string(), erased))
    }

    /// Evaluates a classic script (sloppy mode unless the context is strict) and returns its
    /// completion value. Top-level `var` and `function` declarations become properties of the
    /// global object; `let`/`const`/`class` stay visible to later runs but are not properties.
    ///
    /// # Errors
    /// [`Error::Syntax`], [`Error::Exception`], or a limit: [`Error::Timeout`],
    /// [`Error::MemoryLimit`], [`Error::StackOverflow`], [`Error::OutputLimit`],
    /// [`Error::JobLimit`]; [`Error::Cancelled`]; [`Error::Unsettled`] when the completion value
    /// is a promise that never settles.
    pub fn eval(&self, source: &str) -> Result<Completion> {
        self.eval_with(source, &EvalOptions::default())
    }

    /// Evaluates a classic script with per-call options (file name, top-level `await`).
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn eval_with(&self, source: &str, opts: &EvalOptions) -> Result<Completion> {
        if opts.language != crate::Language::JavaScript || self.options.modules.is_some() {
            if let Some(done) = crate::language::eval(self, source, opts) {
                return done;
            }
        }
        self.eval_js(source, opts)
    }

    /// [`Context::eval_with`] of JavaScript source.
    pub(crate) fn eval_js(&self, source: &str, opts: &EvalOptions) -> Result<Completion> {
        let strict = self.options.strict;
        let filename = opts.filename.clone().unwrap_or_else(|| self.options.filename.clone());
        let tla = opts.top_level_await;
        if tla && !self.options.intrinsics.eval {
            return Err(Error::Host("top-level await needs the eval intrinsic".into()));
        }
        if self.options.intrinsics.eval {
            let c = self.execute_with(if tla { Post::UnwrapValue } else { Post::None }, |ctx, _| {
                let mut flags = qjs::JS_EVAL_TYPE_GLOBAL as i32;
                if tla {
                    flags |= qjs::JS_EVAL_FLAG_ASYNC as i32;
                } else {
                    flags |= qjs::JS_EVAL_FLAG_COMPILE_ONLY as i32;
                }
                if strict {
                    flags |= qjs::JS_EVAL_FLAG_STRICT as i32;
                }
                if tla {
                    // Async scripts compile and start in one step; a SyntaxError thrown here
                    // can only come from parsing.
                    return match raw::eval(ctx, source, &filename, flags) {
                        Ok(p) => Ok(Ok(p)),
                        Err(e) => {
                            let is_syntax = e
                                .as_object()
                                .map(|o| o.get::<_, String>("name").ok().as_deref() == Some("SyntaxError"))
                                .unwrap_or(false)
                                && e.is_error();
                            if is_syntax {
                                Err(crate::error_info::with_source(exception_to_error(ctx, e, true), source))
                            } else {
                                Ok(Err(e))
                            }
                        }
                    };
                }
                if source.len() > crate::script::MAX_SOURCE {
                    return Err(Error::Host("source too large".into()));
                }
                match raw::eval(ctx, source, &filename, flags) {
                    Ok(func) => Ok(raw::eval_function(ctx, &func)),
                    Err(e) => Err(crate::error_info::with_source(exception_to_error(ctx, e, true), source)),
                }
            })?;
            Ok(c)
        } else {
            let bytes = compile(source, &filename, strict, SourceKind::Script)?;
            self.execute(|ctx, _| match raw::read_bytecode(ctx, &bytes) {
                Ok(func) => Ok(raw::eval_function(ctx, &func)),
                Err(e) => Ok(Err(e)),
            })
        }
    }

    /// Runs ES module source as the entry module named `name` and returns its namespace (the
    /// exports) as the value. Top-level `await` works within the limits. Imports are resolved
    /// by the context's [`crate::ModuleConfig`] (relative specifiers against `name`); without
    /// one, any import fails with [`Error::ModuleNotAllowed`].
    ///
    /// # Errors
    /// As [`Context::eval`], plus [`Error::ModuleNotFound`] and [`Error::ModuleNotAllowed`].
    pub fn run_module(&self, source: &str, name: &str) -> Result<Completion> {
        if crate::Language::from_path(name) != crate::Language::JavaScript || self.options.modules.is_some() {
            if let Some(done) = crate::language::run_module(self, source, name) {
                return done;
            }
        }
        self.run_module_js(source, name)
    }

    /// [`Context::run_module`] of JavaScript source.
    pub(crate) fn run_module_js(&self, source: &str, name: &str) -> Result<Completion> {
        if source.len() > crate::script::MAX_SOURCE {
            return Err(Error::Host("source too large".into()));
        }
        if !self.options.intrinsics.eval {
            // Compile in the per-thread compiler, load the bytecode here.
            let bytes = compile(source, name, true, SourceKind::Module)?;
            return self.run_compiled_module(|ctx| raw::read_bytecode(ctx, &bytes));
        }
        self.run_compiled_module(|ctx| {
            let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
            raw::eval(ctx, source, name, flags)
        })
    }

    fn run_compiled_module(&self, compile_fn: impl for<'js> FnOnce(&Ctx<'js>) -> RawResult<'js>) -> Result<Completion> {
        let module_ptr = std::cell::Cell::new(0usize);
        let mp = &module_ptr;
        // First step: compile (a syntax error is a syntax error), keep the module pointer.
        self.execute_with(Post::Namespace(mp), move |ctx, _| {
            let m = match compile_fn(ctx) {
                Ok(m) => m,
                Err(e) => return Err(exception_to_error(ctx, e, true)),
            };
            // SAFETY: a compiled module value holds its JSModuleDef pointer.
            mp.set(unsafe { qjs::JS_VALUE_GET_PTR(m.as_raw()) } as usize);
            Ok(raw::eval_function(ctx, &m))
        })
    }

    /// Evaluates and deserializes the completion value into `T`.
    ///
    /// # Errors
    /// As [`Context::eval`], plus [`Error::Host`] when the value does not deserialize into `T`.
    pub fn eval_as<T: DeserializeOwned>(&self, source: &str) -> Result<T> {
        let c = self.eval(source)?;
        serde_json::from_value(c.value.unwrap_or(Json::Null)).map_err(host)
    }

    /// Runs a compiled [`Script`]. The script is loaded into this context once and reused.
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn run(&self, script: &Script) -> Result<Completion> {
        let inner = script.inner.clone();
        self.execute(move |ctx, loaded| {
            let func = match loaded.scripts.get(&inner.id) {
                Some(p) => p.clone().restore(ctx).map_err(host)?,
                None => match raw::read_bytecode(ctx, &inner.bytecode) {
                    Ok(f) => {
                        loaded.scripts.insert(inner.id, Persistent::save(ctx, f.clone()));
                        f
                    }
                    Err(e) => return Ok(Err(e)),
                },
            };
            Ok(raw::eval_function(ctx, &func))
        })
    }

    /// Calls the global function `name` with copies of `args`.
    ///
    /// # Errors
    /// [`Error::Host`] when `name` is not a function; otherwise as [`Context::eval`].
    pub fn call(&self, name: &str, args: &[Json]) -> Result<Completion> {
        self.execute(|ctx, _| {
            let f: Value = match ctx.globals().get(name) {
                Ok(f) => f,
                Err(e) => return caught(ctx, e),
            };
            call_value(ctx, &f, args, name)
        })
    }

    /// Compiles a function from parameter names and a body, like node's `vm.compileFunction`.
    /// The body is checked to be exactly one function body (it cannot close the function and
    /// run code around it). Line numbers in errors are relative to the body.
    ///
    /// # Errors
    /// [`Error::Syntax`] when the body does not parse; [`Error::Host`] for a parameter that is
    /// not an identifier.
    pub fn compile_function(&self, params: &[&str], body: &str) -> Result<CompiledFunction> {
        for p in params {
            let ok = !p.is_empty()
                && p.chars()
                    .enumerate()
                    .all(|(i, c)| c == '_' || c == '$' || c.is_alphabetic() || (i > 0 && c.is_alphanumeric()));
            if !ok {
                return Err(Error::Host(format!("invalid parameter name {p:?}")));
            }
        }
        let source: Arc<str> = format!("(function anonymous({}\n) {{\n{}\n}})", params.join(","), body).into();
        // Parse now so that syntax errors surface here.
        let bytecode =
            compile(&source, "<function>", self.options.strict, SourceKind::Script).map_err(|e| match e {
                Error::Syntax { message, line, column, incomplete_input } => {
                    Error::Syntax { message, line: line.map(|l| l.saturating_sub(2).max(1)), column, incomplete_input }
                }
                other => other,
            })?;
        self.check_single_function(&bytecode, &source[1..source.len() - 1])?;
        Ok(CompiledFunction {
            id: NEXT_FN.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bytecode: Arc::new(bytecode),
        })
    }

    /// Loads the compiled wrapper in a throwaway context of this runtime (under the limits)
    /// and checks that it is exactly one function whose text is `expected`: a body that closes
    /// the function early and runs code around it only ever runs in that throwaway realm.
    fn check_single_function(&self, bytecode: &[u8], expected: &str) -> Result<()> {
        self.runtime.refresh()?;
        let limits = self.runtime.limits();
        let (scratch, heap) = {
            let engine = self.runtime.engine();
            (rquickjs::Context::base(&engine.rt).map_err(host)?, engine.heap.clone())
        };
        let guard = self.runtime.begin_run(&limits)?;
        let ok = scratch.with(|c| {
            raw::update_stack_top(&c);
            match raw::read_bytecode(&c, bytecode).and_then(|f| raw::eval_function(&c, &f)) {
                Ok(v) => v.as_function().is_some_and(|f| raw::function_source(&c, f) == expected),
                Err(_) => false,
            }
        });
        let tripped = self.runtime.watch().tripped().error();
        drop(scratch);
        drop(guard);
        if let Some(e) = tripped.or(heap.refused().then_some(Error::MemoryLimit)) {
            self.runtime.mark_spent();
            return Err(e);
        }
        if !ok {
            return Err(Error::Syntax {
                message: "the body is not a single function body".into(),
                line: None,
                column: None,
                incomplete_input: false,
            });
        }
        Ok(())
    }

    /// Calls a function made by [`Context::compile_function`] with copies of `args`.
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn call_function(&self, f: &CompiledFunction, args: &[Json]) -> Result<Completion> {
        self.execute(|ctx, loaded| {
            let func = match loaded.functions.get(&f.id) {
                Some(p) => p.clone().restore(ctx).map_err(host)?,
                None => {
                    let loaded_fn = match raw::read_bytecode(ctx, &f.bytecode) {
                        Ok(x) => x,
                        Err(e) => return Ok(Err(e)),
                    };
                    let v = match raw::eval_function(ctx, &loaded_fn) {
                        Ok(v) => v,
                        Err(e) => return Ok(Err(e)),
                    };
                    loaded.functions.insert(f.id, Persistent::save(ctx, v.clone()));
                    v
                }
            };
            call_value(ctx, &func, args, "compiled function")
        })
    }

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
    /// [`Error::Host`] when the context cannot be set up or is already running.
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
    fn execute<F>(&self, f: F) -> Result<Completion>
    where
        F: for<'js> FnOnce(&Ctx<'js>, &mut Loaded) -> Result<RawResult<'js>>,
    {
        self.execute_with(Post::None, f)
    }

    /// As `execute`; `unwrap_tla` takes the `value` property of the settled result (what an
    /// async script's promise resolves to).
    fn execute_with<F>(&self, post: Post, f: F) -> Result<Completion>
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
                let display = display_of(&ctx, &v);
                let value = convert::to_json(&ctx, &v);
                if let Some(e) = watch.tripped().error() {
                    return Err(e);
                }
                let size = match &value {
                    Some(Json::String(s)) => s.len(),
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
            Err(Error::Host(m)) => Err(Error::Host(m)),
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
    fn settle<'js>(
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
    fn run_timers<'js>(&self, ctx: &Ctx<'js>, timers: &Object<'js>, limits: &Limits, jobs: &mut u64) -> Result<()> {
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

    fn drain_jobs(&self, ctx: &Ctx<'_>, limits: &Limits, jobs: &mut u64) -> Result<()> {
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

fn call_value<'js>(ctx: &Ctx<'js>, f: &Value<'js>, args: &[Json], what: &str) -> Result<RawResult<'js>> {
    let Some(func) = f.as_function() else {
        return Err(Error::Host(format!("{what} is not a function")));
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

/// The body of every host function: copy the arguments out, call the host closure (never
/// letting a panic unwind into the engine), copy the result in.
pub(crate) fn call_host<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    f: &HostFn,
    args: Vec<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let arr = rquickjs::Array::new(ctx.clone())?;
    for (i, a) in args.into_iter().enumerate() {
        arr.set(i, a)?;
    }
    let json = match raw::json_stringify(ctx, arr.as_value()) {
        Ok(Some(text)) => match serde_json::from_str::<Json>(&text) {
            Ok(j) => j,
            Err(_) => return Err(rquickjs::Exception::throw_type(ctx, "host function arguments are not JSON")),
        },
        Ok(None) => Json::Array(Vec::new()),
        Err(exc) => return Err(ctx.throw(exc)),
    };
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(json)));
    match out {
        Ok(Ok(v)) => match convert::from_json(ctx, &v) {
            Ok(v) => Ok(v),
            Err(exc) => Err(ctx.throw(exc)),
        },
        Ok(Err(HostThrow::TypeError(m))) => Err(rquickjs::Exception::throw_type(ctx, &format!("{name}: {m}"))),
        Ok(Err(HostThrow::RangeError(m))) => Err(rquickjs::Exception::throw_range(ctx, &format!("{name}: {m}"))),
        Ok(Err(HostThrow::Error(msg))) => Err(rquickjs::Exception::throw_message(ctx, &msg)),
        Err(_) => Err(rquickjs::Exception::throw_internal(ctx, &format!("host function '{name}' panicked"))),
    }
}

/// Runs `source` in a fresh runtime and context with `globals` (like node's
/// `vm.runInNewContext`), returning the result, the console output and the stats.
///
/// ```
/// let out = sandvm::run_in_new_context(
///     "console.log('x is', x); x * 2",
///     &serde_json::json!({"x": 21}),
///     &sandvm::Limits::default(),
///     &sandvm::ContextOptions::default(),
/// );
/// assert_eq!(out.result.unwrap().value, Some(serde_json::json!(42)));
/// assert_eq!(out.console[0].text, "x is 21");
/// ```
pub fn run_in_new_context(source: &str, globals: &Json, limits: &Limits, options: &ContextOptions) -> Outcome {
    let run = || -> (Result<Completion>, Vec<ConsoleEntry>, Stats) {
        let rt = match Runtime::new(limits.clone()) {
            Ok(rt) => rt,
            Err(e) => return (Err(e), Vec::new(), Stats::default()),
        };
        let ctx = match Context::new(&rt, options.clone()) {
            Ok(c) => c,
            Err(e) => return (Err(e), Vec::new(), Stats::default()),
        };
        if let Json::Object(map) = globals {
            for (k, v) in map {
                if let Err(e) = ctx.set_global(k, v) {
                    return (Err(e), Vec::new(), Stats::default());
                }
            }
        } else if !globals.is_null() {
            return (Err(Error::Host("globals must be a JSON object".into())), Vec::new(), Stats::default());
        }
        let r = ctx.eval(source);
        (r, ctx.take_console(), ctx.stats())
    };
    let (result, console, stats) = run();
    Outcome { result, console, stats }
}

/// Everything a one-shot run produced: the result, the console output and the measurements.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The completion or the error.
    pub result: Result<Completion>,
    /// Console output, in order.
    pub console: Vec<ConsoleEntry>,
    /// Measurements of the run.
    pub stats: Stats,
}
