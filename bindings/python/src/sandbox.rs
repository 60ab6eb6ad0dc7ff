//! `sandvm.Sandbox`, `sandvm.Script`, `sandvm.Report` and the one-shot `run`/`execute`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use sandvm::{Completion, ConsoleEntry, Context, ContextOptions, Executor, ExecutorConfig, Limits, Runtime, Stats};
use serde_json::Value as Json;

use crate::{convert, errors, wait};

/// What one run gives back from the guest thread.
pub struct RunOut {
    pub result: sandvm::Result<Completion>,
    pub console: Vec<ConsoleEntry>,
    pub stats: Stats,
}

impl RunOut {
    /// A run that did not happen (the executor refused or gave up on it).
    fn failed(e: sandvm::Error) -> RunOut {
        RunOut { result: Err(e), console: Vec::new(), stats: Stats::default() }
    }

    fn of(ctx: &Context, result: sandvm::Result<Completion>) -> RunOut {
        RunOut { result, console: ctx.take_console(), stats: ctx.stats() }
    }
}

/// The options every entry point takes (`timeout`, `memory_mb`, `capabilities`, `freeze`,
/// `deterministic`, `globals`).
#[derive(Clone)]
pub struct Options {
    pub limits: Limits,
    pub context: ContextOptions,
    pub globals: Vec<(String, Json)>,
    pub capabilities: Vec<String>,
    pub freeze: bool,
    pub seed: Option<u64>,
}

impl Options {
    /// Reads the keyword options.
    pub fn parse(
        globals: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        memory_mb: f64,
        capabilities: Option<&Bound<'_, PyAny>>,
        freeze: bool,
        deterministic: &Bound<'_, PyAny>,
    ) -> PyResult<Options> {
        let timeout = match timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 && t <= 86_400.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => {
                return Err(PyValueError::new_err(format!("timeout must be > 0 seconds and at most a day, got {t}")))
            }
        };
        if !(memory_mb.is_finite() && (1.0..=65_536.0).contains(&memory_mb)) {
            return Err(PyValueError::new_err(format!("memory_mb must be between 1 and 65536, got {memory_mb}")));
        }
        let limits = Limits { timeout, memory: (memory_mb * 1024.0 * 1024.0) as usize, ..Limits::default() };
        let mut names = Vec::new();
        if let Some(c) = capabilities {
            if c.is_instance_of::<pyo3::types::PyString>() {
                return Err(PyTypeError::new_err("capabilities must be a sequence of names, not a str"));
            }
            for item in c.try_iter()? {
                names.push(item?.extract::<String>()?);
            }
        }
        let mut caps = sandvm::Capabilities::none();
        for n in &names {
            caps = caps.grant(n).map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        let seed = if deterministic.is_instance_of::<pyo3::types::PyBool>() {
            deterministic.is_truthy()?.then_some(0)
        } else if deterministic.is_none() {
            None
        } else {
            Some(
                deterministic
                    .extract::<u64>()
                    .map_err(|_| PyTypeError::new_err("deterministic must be a bool or a non-negative int seed"))?,
            )
        };
        let mut context = ContextOptions::default().freeze_intrinsics(freeze).capabilities(caps);
        if let Some(seed) = seed {
            context = context.deterministic(Some(sandvm::Deterministic { seed, ..Default::default() }));
        }
        let mut list = Vec::new();
        if let Some(g) = globals.filter(|g| !g.is_none()) {
            let d = g.cast::<PyDict>().map_err(|_| PyTypeError::new_err("globals must be a dict"))?;
            for (k, v) in d.iter() {
                let name: String = k.extract().map_err(|_| PyTypeError::new_err("globals keys must be str"))?;
                list.push((name, convert::to_json(&v)?));
            }
        }
        Ok(Options { limits, context, globals: list, capabilities: names, freeze, seed })
    }

    fn build(&self) -> sandvm::Result<Context> {
        let rt = Runtime::new(self.limits.clone())?;
        let ctx = Context::new(&rt, self.context.clone())?;
        for (name, v) in &self.globals {
            ctx.set_global(name, v)?;
        }
        Ok(ctx)
    }
}

/// Executors shared by the one-shot `sandvm.run`/`sandvm.execute` (one per core, taken in
/// turn); each run builds a fresh runtime and context on one of them.
fn shared_executor(py: Python<'_>) -> PyResult<Executor<()>> {
    static SHARED: OnceLock<Mutex<Vec<Executor<()>>>> = OnceLock::new();
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let want = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 16);
    let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % want;
    let mut all = SHARED.get_or_init(|| Mutex::new(Vec::new())).lock().unwrap_or_else(|p| p.into_inner());
    if all.len() <= i {
        let config = ExecutorConfig { name: "sandvm-py".into(), ..Default::default() };
        let exec = Executor::new(config, || Ok(())).map_err(|e| errors::from_error(py, &e))?;
        all.push(exec);
    }
    Ok(all[i.min(all.len() - 1)].clone())
}

/// Waits for a ticket with the GIL released; Ctrl-C cancels the job and raises.
fn wait_run(py: Python<'_>, ticket: sandvm::Ticket<RunOut>) -> PyResult<RunOut> {
    let cancel = ticket.cancel_handle();
    let out = wait::block_on(py, ticket, move || cancel.cancel())?;
    Ok(out.unwrap_or_else(RunOut::failed))
}

/// The completion value of a run, or the exception of its error.
pub fn value_of(py: Python<'_>, out: RunOut) -> PyResult<Py<PyAny>> {
    match out.result {
        Ok(c) => Ok(convert::to_py(py, c.value.as_ref().unwrap_or(&Json::Null))?.unbind()),
        Err(e) => Err(errors::from_error(py, &e)),
    }
}

/// The report of a run.
pub fn report_of(py: Python<'_>, out: RunOut) -> PyResult<Report> {
    Report::from_report(py, &sandvm::Report::new(&out.result, out.console, &out.stats))
}

/// One run's result in the contract of `sandvm run --json`. Never raised: look at
/// `status` and `error`.
#[pyclass(module = "sandvm._sandvm", frozen)]
pub struct Report {
    /// `"ok"` or `"error"`.
    #[pyo3(get)]
    status: String,
    /// The completion value (as its JSON form; `None` on error or when it has none).
    #[pyo3(get)]
    value: Py<PyAny>,
    /// The completion value rendered like Node's `util.inspect` (`""` on error).
    #[pyo3(get)]
    display: String,
    /// `None`, or a dict with `kind`, `name`, `message`, `stack`, `line`, `column`.
    #[pyo3(get)]
    error: Py<PyAny>,
    /// Console output: a list of `{"level": ..., "text": ...}` dicts, in order.
    #[pyo3(get)]
    console: Py<PyAny>,
    /// `{"wall_ms": float, "cpu_ms": float, "heap_bytes": int}`.
    #[pyo3(get)]
    stats: Py<PyAny>,
}

impl Report {
    /// Converts a core report.
    ///
    /// # Errors
    /// Only when Python cannot allocate.
    pub fn from_report(py: Python<'_>, r: &sandvm::Report) -> PyResult<Report> {
        let j = |v: Json| convert::to_py(py, &v).map(Bound::unbind);
        Ok(Report {
            status: r.status.clone(),
            value: j(r.value.clone())?,
            display: r.display.clone(),
            error: j(serde_json::to_value(&r.error).unwrap_or(Json::Null))?,
            console: j(serde_json::to_value(&r.console).unwrap_or(Json::Null))?,
            stats: j(serde_json::to_value(r.stats).unwrap_or(Json::Null))?,
        })
    }
}

#[pymethods]
impl Report {
    /// The report as a dict (what `sandvm run --json` prints).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("status", &self.status)?;
        d.set_item("value", self.value.bind(py))?;
        d.set_item("display", &self.display)?;
        d.set_item("error", self.error.bind(py))?;
        d.set_item("console", self.console.bind(py))?;
        d.set_item("stats", self.stats.bind(py))?;
        Ok(d)
    }

    /// True when the run completed without error.
    #[getter]
    fn ok(&self) -> bool {
        self.status == "ok"
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Report(status={:?}, display={:?}, error={})",
            self.status,
            self.display,
            self.error.bind(py).repr()?
        ))
    }
}

/// Runs `code` in a fresh sandbox and returns the completion value.
#[pyfunction]
#[pyo3(signature = (code, *, globals=None, timeout=Some(1.0), memory_mb=64.0, capabilities=None, freeze=false, deterministic=None))]
#[allow(clippy::too_many_arguments)]
pub fn run(
    py: Python<'_>,
    code: String,
    globals: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    memory_mb: f64,
    capabilities: Option<&Bound<'_, PyAny>>,
    freeze: bool,
    deterministic: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let det = deterministic.cloned().unwrap_or_else(|| py.None().into_bound(py));
    let opts = Options::parse(globals, timeout, memory_mb, capabilities, freeze, &det)?;
    value_of(py, one_shot(py, opts, code)?)
}

/// Runs `code` in a fresh sandbox and returns its `Report` (never raises for guest errors).
#[pyfunction]
#[pyo3(signature = (code, *, globals=None, timeout=Some(1.0), memory_mb=64.0, capabilities=None, freeze=false, deterministic=None))]
#[allow(clippy::too_many_arguments)]
pub fn execute(
    py: Python<'_>,
    code: String,
    globals: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    memory_mb: f64,
    capabilities: Option<&Bound<'_, PyAny>>,
    freeze: bool,
    deterministic: Option<&Bound<'_, PyAny>>,
) -> PyResult<Report> {
    let det = deterministic.cloned().unwrap_or_else(|| py.None().into_bound(py));
    let opts = Options::parse(globals, timeout, memory_mb, capabilities, freeze, &det)?;
    report_of(py, one_shot(py, opts, code)?)
}

fn one_shot(py: Python<'_>, opts: Options, code: String) -> PyResult<RunOut> {
    let exec = shared_executor(py)?;
    let ticket = exec.submit(None, move |_| match opts.build() {
        Ok(ctx) => {
            let r = ctx.eval(&code);
            RunOut::of(&ctx, r)
        }
        Err(e) => RunOut::failed(e),
    });
    wait_run(py, ticket)
}

/// What a sandbox's guest thread rebuilds when it is replaced: globals and exposed
/// functions, in the order they were set.
#[derive(Clone)]
enum Op {
    Global(String, Json),
    Expose(String, Arc<Py<PyAny>>),
}

fn apply(ctx: &Context, op: &Op) -> sandvm::Result<()> {
    match op {
        Op::Global(name, v) => ctx.set_global(name, v),
        Op::Expose(name, f) => {
            let f = f.clone();
            ctx.register_fn(name, move |args: Vec<Json>| call_python(&f, args))
        }
    }
}

/// The asyncio loop driving the run in progress on this guest thread (`run_async`), and the
/// run's deadline: an exposed `async def` is awaited on that loop until the deadline.
struct AsyncDriver {
    event_loop: Py<PyAny>,
    deadline: Option<std::time::Instant>,
}

thread_local! {
    static DRIVER: std::cell::RefCell<Option<AsyncDriver>> = const { std::cell::RefCell::new(None) };
}

/// Clears [`DRIVER`] when the run ends, even by a panic.
struct DriverGuard;

impl DriverGuard {
    fn set(d: AsyncDriver) -> DriverGuard {
        DRIVER.with(|c| *c.borrow_mut() = Some(d));
        DriverGuard
    }
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        DRIVER.with(|c| c.borrow_mut().take());
    }
}

/// Awaits a coroutine returned by an exposed function on the loop driving this run, at most
/// until the run's deadline (then the coroutine is cancelled and the run times out).
fn await_on_driver<'py>(py: Python<'py>, coro: &Bound<'py, PyAny>) -> Result<Bound<'py, PyAny>, String> {
    let driver = DRIVER.with(|c| c.borrow().as_ref().map(|d| (d.event_loop.clone_ref(py), d.deadline)));
    let Some((event_loop, deadline)) = driver else {
        let _ = coro.call_method0("close");
        return Err("an async Python function can only be called from a run driven by run_async".into());
    };
    let asyncio = py.import("asyncio").map_err(|e| e.to_string())?;
    let fut = asyncio.call_method1("run_coroutine_threadsafe", (coro, event_loop)).map_err(|e| e.to_string())?;
    let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()).as_secs_f64());
    // `result` waits with the GIL released.
    match fut.call_method1("result", (left,)) {
        Ok(v) => Ok(v),
        Err(e) => {
            let _ = fut.call_method0("cancel");
            if e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) {
                Err("the async function did not finish before the run's deadline".into())
            } else {
                Err(e.value(py).str().map(|s| s.to_string()).unwrap_or_default())
            }
        }
    }
}

/// Calls an exposed Python function on the guest thread (taking the GIL). A Python exception
/// becomes a guest `Error` carrying its message only.
fn call_python(f: &Py<PyAny>, args: Vec<Json>) -> Result<Json, String> {
    Python::attach(|py| {
        let message = |e: PyErr| -> String {
            let v = e.value(py);
            let text = v.str().map(|s| s.to_string()).unwrap_or_default();
            let name = v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
            if text.is_empty() {
                name
            } else {
                format!("{name}: {text}")
            }
        };
        let items = args.iter().map(|a| convert::to_py(py, a)).collect::<PyResult<Vec<_>>>().map_err(message)?;
        let tuple = PyTuple::new(py, items).map_err(message)?;
        let mut r = f.bind(py).call1(tuple).map_err(message)?;
        if r.hasattr("__await__").unwrap_or(false) {
            r = await_on_driver(py, &r)?;
        }
        convert::to_json(&r).map_err(message)
    })
}

struct SandboxState {
    ctx: Context,
}

/// A persistent sandbox: one context on a guest thread of its own, whose globals and
/// functions stay between runs.
#[pyclass(module = "sandvm._sandvm")]
pub struct Sandbox {
    exec: Mutex<Option<Executor<SandboxState>>>,
    ops: Arc<Mutex<Vec<Op>>>,
    last: Arc<Mutex<Stats>>,
    timeout: Option<Duration>,
}

impl Sandbox {
    fn executor(&self, py: Python<'_>) -> PyResult<Executor<SandboxState>> {
        self.exec
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| errors::sandbox_error(py, "host", "the sandbox is closed"))
    }

    fn submit_run(
        &self,
        py: Python<'_>,
        job: impl FnOnce(&Context) -> sandvm::Result<Completion> + Send + 'static,
    ) -> PyResult<sandvm::Ticket<RunOut>> {
        let exec = self.executor(py)?;
        let last = self.last.clone();
        Ok(exec.submit(None, move |st: &mut SandboxState| {
            let r = job(&st.ctx);
            let out = RunOut::of(&st.ctx, r);
            *last.lock().unwrap_or_else(|p| p.into_inner()) = out.stats;
            out
        }))
    }

    fn run_sync(
        &self,
        py: Python<'_>,
        job: impl FnOnce(&Context) -> sandvm::Result<Completion> + Send + 'static,
    ) -> PyResult<RunOut> {
        let ticket = self.submit_run(py, job)?;
        wait_run(py, ticket)
    }

    /// Runs a setup step now and keeps it for a replacement thread.
    fn add_op(&self, py: Python<'_>, op: Op) -> PyResult<()> {
        let exec = self.executor(py)?;
        let o = op.clone();
        let ticket = exec.submit(None, move |st: &mut SandboxState| apply(&st.ctx, &o));
        let cancel = ticket.cancel_handle();
        match wait::block_on(py, ticket, move || cancel.cancel())? {
            Ok(Ok(())) => {}
            Ok(Err(e)) | Err(e) => return Err(errors::from_error(py, &e)),
        }
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let (Op::Global(n, _) | Op::Expose(n, _)) = &op;
        ops.retain(|o| !matches!(o, Op::Global(m, _) | Op::Expose(m, _) if m == n));
        ops.push(op);
        Ok(())
    }
}

#[pymethods]
impl Sandbox {
    #[new]
    #[pyo3(signature = (*, globals=None, timeout=Some(1.0), memory_mb=64.0, capabilities=None, freeze=false, deterministic=None))]
    fn new(
        py: Python<'_>,
        globals: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        memory_mb: f64,
        capabilities: Option<&Bound<'_, PyAny>>,
        freeze: bool,
        deterministic: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Sandbox> {
        let det = deterministic.cloned().unwrap_or_else(|| py.None().into_bound(py));
        let opts = Options::parse(globals, timeout, memory_mb, capabilities, freeze, &det)?;
        let ops: Arc<Mutex<Vec<Op>>> = Arc::new(Mutex::new(Vec::new()));
        let timeout = opts.limits.timeout;
        let replay = ops.clone();
        let config = ExecutorConfig { name: "sandvm-py-sandbox".into(), ..Default::default() };
        let exec = py
            .detach(move || {
                Executor::new(config, move || {
                    let ctx = opts.build()?;
                    let ops = replay.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    for op in &ops {
                        apply(&ctx, op)?;
                    }
                    Ok(SandboxState { ctx })
                })
            })
            .map_err(|e| errors::from_error(py, &e))?;
        Ok(Sandbox { exec: Mutex::new(Some(exec)), ops, last: Arc::new(Mutex::new(Stats::default())), timeout })
    }

    /// Evaluates `code` and returns its completion value; raises the guest's error.
    fn run(&self, py: Python<'_>, code: String) -> PyResult<Py<PyAny>> {
        let out = self.run_sync(py, move |ctx| ctx.eval(&code))?;
        value_of(py, out)
    }

    /// Evaluates `code` and returns its `Report` (never raises for guest errors).
    fn execute(&self, py: Python<'_>, code: String) -> PyResult<Report> {
        let out = self.run_sync(py, move |ctx| ctx.eval(&code))?;
        report_of(py, out)
    }

    /// Evaluates `code` without blocking the asyncio event loop; awaits the completion value.
    /// Must be called with an event loop running in this thread; the job is queued at once.
    /// Exposed `async def` functions called by the guest are awaited on that loop (the guest
    /// sees their result synchronously), within the run's deadline.
    fn run_async(&self, py: Python<'_>, code: String) -> PyResult<wait::Pending> {
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?.unbind();
        let timeout = self.timeout;
        let ticket = self.submit_run(py, move |ctx| {
            let deadline = timeout.map(|t| std::time::Instant::now() + t);
            let _driver = DriverGuard::set(AsyncDriver { event_loop, deadline });
            ctx.eval(&code)
        })?;
        let cancel = ticket.cancel_handle();
        let settle: wait::Settle<sandvm::Result<RunOut>> =
            Box::new(|py, out| value_of(py, out.unwrap_or_else(RunOut::failed)));
        Ok(wait::Pending::new(ticket, settle, move || cancel.cancel()))
    }

    /// Calls the guest's global function `name` with copies of `args`; returns its result.
    #[pyo3(signature = (name, *args))]
    fn call(&self, py: Python<'_>, name: String, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let args = args.iter().map(|a| convert::to_json(&a)).collect::<PyResult<Vec<_>>>()?;
        let out = self.run_sync(py, move |ctx| ctx.call(&name, &args))?;
        value_of(py, out)
    }

    /// Sets the global `name` to a copy of `value`.
    fn set_global(&self, py: Python<'_>, name: String, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = convert::to_json(value)?;
        self.add_op(py, Op::Global(name, v))
    }

    /// Exposes the Python callable `fn` to the guest as the global function `name`. Arguments
    /// and the result are copied; an exception becomes a guest `Error` with its message.
    #[pyo3(signature = (name, r#fn))]
    fn expose(&self, py: Python<'_>, name: String, r#fn: &Bound<'_, PyAny>) -> PyResult<()> {
        if !r#fn.is_callable() {
            return Err(PyTypeError::new_err("expose needs a callable"));
        }
        self.add_op(py, Op::Expose(name, Arc::new(r#fn.clone().unbind())))
    }

    /// Compiles `code` once into a `Script` that runs in any sandbox. With `cached_data`
    /// (bytes from `Script.cached_data`), loads the compiled form instead; tampered or
    /// foreign bytes raise `SandboxError` with kind `cached_data_rejected`.
    #[pyo3(signature = (code, *, filename="<script>".to_string(), cached_data=None))]
    fn compile(
        &self,
        py: Python<'_>,
        code: String,
        filename: String,
        cached_data: Option<Vec<u8>>,
    ) -> PyResult<Script> {
        let exec = self.executor(py)?;
        let ticket = exec.submit(None, move |_: &mut SandboxState| match cached_data {
            Some(bytes) => sandvm::Script::with_cached_data(&code, &bytes),
            None => sandvm::Script::new(&code, &filename),
        });
        let cancel = ticket.cancel_handle();
        match wait::block_on(py, ticket, move || cancel.cancel())? {
            Ok(Ok(script)) => Ok(Script { script }),
            Ok(Err(e)) | Err(e) => Err(errors::from_error(py, &e)),
        }
    }

    /// Measurements of the last run: `wall_ms`, `cpu_ms`, `heap_bytes`, `heap_peak_bytes`, `jobs`.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        convert::to_py(py, &serde_json::to_value(s).unwrap_or(Json::Null))
    }

    /// Ends the sandbox: its guest thread ends after the runs already queued. Later calls raise.
    fn close(&self) {
        self.exec.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.exec.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}

/// A script compiled once (`Sandbox.compile`), runnable in any sandbox.
#[pyclass(module = "sandvm._sandvm", frozen)]
pub struct Script {
    script: sandvm::Script,
}

#[pymethods]
impl Script {
    /// Authenticated compiled form (bytes) to give back to `Sandbox.compile(cached_data=...)`
    /// in this process (the key is per process).
    #[getter]
    fn cached_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.script.cached_data())
    }

    /// The file name shown in stack traces.
    #[getter]
    fn filename(&self) -> String {
        self.script.filename().to_string()
    }

    /// Runs the script in `sandbox` and returns its completion value.
    fn run(&self, py: Python<'_>, sandbox: &Sandbox) -> PyResult<Py<PyAny>> {
        let script = self.script.clone();
        let out = sandbox.run_sync(py, move |ctx| ctx.run(&script))?;
        value_of(py, out)
    }
}
