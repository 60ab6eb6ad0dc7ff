//! sandvm for Node.js: the native half of the npm package `sandvm` (napi-rs).
//!
//! Every sandbox is one [`sandvm::Executor`]: a guest thread that owns a
//! [`sandvm::Runtime`] and [`sandvm::Context`], bounded by the executor's deadlines. This crate
//! adds no thread or deadline loop of its own: a run is one job, its [`sandvm::Ticket`] is
//! awaited on napi's async runtime, and host functions exposed by JavaScript are reached
//! through a per-run event channel that the JavaScript wrapper (`index.js`) serves on the main
//! thread, so calls into the host never block the event loop and never cross threads with a
//! JavaScript value. Values cross as tagged JSON (`lib/codec.js`), always copies.
// `deny`, not `forbid`: the `#[napi]` macros wrap their generated FFI glue in
// `#[allow(unsafe_code)]`, which `forbid` would refuse. Code written here still cannot use `unsafe`.
#![deny(unsafe_code)]

mod options;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The guest-side codec and glue, evaluated in every fresh engine context.
const PRELUDE: &str = concat!(
    "(function () { var module = { exports: {} };\n",
    include_str!("../lib/codec.js"),
    "\n;return module.exports.install(globalThis); })()"
);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn err(message: impl std::fmt::Display) -> napi::Error {
    napi::Error::from_reason(message.to_string())
}

/// What a sandbox replays on every fresh guest thread.
#[derive(Clone)]
enum Item {
    /// A global (tagged JSON; decoded in the guest when `tagged`).
    Global { name: String, value: Json, tagged: bool },
    /// A host function served by the JavaScript side; `is_async` makes the guest see a promise.
    HostFn { name: String, is_async: bool },
}

/// Where the answer to one host call goes: a tagged-JSON value or an error message.
type Answer = mpsc::Sender<Result<Json, String>>;

/// One host call waiting for its answer from the main thread.
enum Event {
    Call { name: String, args: Json, reply: Answer },
    Done(Json),
}

/// The link between the running job and the JavaScript side serving its host calls.
struct Link {
    events: UnboundedSender<Event>,
    deadline: Option<Instant>,
    timed_out: AtomicBool,
}

#[derive(Default)]
struct Shared {
    items: Mutex<Vec<Item>>,
    link: Mutex<Option<Arc<Link>>>,
}

/// The state on the guest thread.
struct Guest {
    ctx: sandvm::Context,
    /// The runtime generation the prelude was installed in.
    installed: Option<u64>,
}

impl Guest {
    fn ensure_prelude(&mut self) -> sandvm::Result<()> {
        let rt = self.ctx.runtime();
        if !rt.is_spent() && self.installed == Some(rt.generation()) {
            return Ok(());
        }
        self.installed = None;
        self.ctx.eval(PRELUDE)?;
        self.ctx.set_finisher(Some("__sandvm_finish"));
        self.installed = Some(self.ctx.runtime().generation());
        Ok(())
    }
}

fn host_fn(shared: &Arc<Shared>, name: &str) -> impl Fn(Vec<Json>) -> Result<Json, String> + 'static {
    let shared = shared.clone();
    let name = name.to_string();
    move |args: Vec<Json>| {
        let link = lock(&shared.link).clone().ok_or_else(|| format!("{name}: no run is in progress"))?;
        let (tx, rx) = mpsc::channel();
        let args = args.into_iter().next().unwrap_or(Json::Null);
        link.events
            .send(Event::Call { name: name.clone(), args, reply: tx })
            .map_err(|_| format!("{name}: the host is gone"))?;
        let answer = match link.deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => {
                    link.timed_out.store(true, Ordering::SeqCst);
                    format!("{name}: the run's deadline passed while the host call was pending")
                }
                mpsc::RecvTimeoutError::Disconnected => format!("{name}: the host call was dropped"),
            }),
            None => rx.recv().map_err(|_| format!("{name}: the host call was dropped")),
        };
        answer?
    }
}

fn apply(ctx: &sandvm::Context, shared: &Arc<Shared>, item: &Item) -> sandvm::Result<()> {
    match item {
        Item::Global { name, value, .. } => ctx.set_global(name, value),
        Item::HostFn { name, .. } => ctx.register_fn(name, host_fn(shared, name)),
    }
}

/// The list of tagged globals and host functions the prelude decodes and wraps.
fn glue(ctx: &sandvm::Context, items: &[Item]) -> sandvm::Result<()> {
    let tagged: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Global { name, tagged: true, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let hosts: Vec<Json> = items
        .iter()
        .filter_map(|i| match i {
            Item::HostFn { name, is_async } => Some(json!([name, is_async])),
            _ => None,
        })
        .collect();
    let globals: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Global { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    ctx.set_global("__sandvm_glue", &json!({ "tagged": tagged, "hosts": hosts, "globals": globals }))
}

/// What a run runs.
enum Work {
    Eval { code: String, filename: Option<String> },
    Script(sandvm::Script),
    Snapshot,
}

/// The native sandbox behind `Sandbox` (see `index.js`).
#[napi]
pub struct NativeSandbox {
    exec: Mutex<Option<sandvm::Executor<Guest>>>,
    shared: Arc<Shared>,
    timeout: Option<Duration>,
}

/// One run in progress: the events of its host calls and, last, its report.
#[napi]
pub struct NativeRun {
    events: Mutex<Option<UnboundedReceiver<Event>>>,
    pending: Mutex<Option<(u32, Answer)>>,
    calls: std::sync::atomic::AtomicU32,
}

fn event_json(run: &NativeRun, ev: Option<Event>) -> Json {
    match ev {
        Some(Event::Call { name, args, reply }) => {
            let id = run.calls.fetch_add(1, Ordering::SeqCst);
            *lock(&run.pending) = Some((id, reply));
            json!({ "type": "call", "id": id, "name": name, "args": args })
        }
        Some(Event::Done(report)) => json!({ "type": "done", "report": report }),
        None => {
            json!({ "type": "done", "report": report_of(&Err(sandvm::Error::Host("the run ended without a result".into())), vec![], &Default::default()) })
        }
    }
}

fn report_of(
    result: &sandvm::Result<sandvm::Completion>,
    console: Vec<sandvm::ConsoleEntry>,
    stats: &sandvm::Stats,
) -> Json {
    let report = sandvm::Report::new(result, console, stats);
    serde_json::to_value(&report).unwrap_or(Json::Null)
}

#[napi]
impl NativeRun {
    /// Waits (without blocking the event loop) for the run's next event, as JSON text (which
    /// `JSON.parse` turns into own properties, `__proto__` included): a host call
    /// (`{ type: 'call', id, name, args }`) or its end (`{ type: 'done', report }`).
    #[napi]
    pub async fn next(&self) -> napi::Result<String> {
        let rx = lock(&self.events).take();
        let Some(mut rx) = rx else { return Err(err("this run is already being waited on")) };
        let ev = rx.recv().await;
        *lock(&self.events) = Some(rx);
        Ok(event_json(self, ev).to_string())
    }

    /// As `next`, blocking the calling thread (for `runSync`).
    #[napi]
    pub fn next_sync(&self) -> napi::Result<String> {
        let rx = lock(&self.events).take();
        let Some(mut rx) = rx else { return Err(err("this run is already being waited on")) };
        let ev = rx.blocking_recv();
        *lock(&self.events) = Some(rx);
        Ok(event_json(self, ev).to_string())
    }

    /// Answers host call `id` if it is still pending: `ok` with a tagged-JSON value, or an
    /// error message. A late answer (the run ended, or gave up on the call) is ignored.
    #[napi]
    pub fn reply(&self, id: u32, ok: bool, value: Json) {
        let mut pending = lock(&self.pending);
        if pending.as_ref().is_some_and(|(p, _)| *p == id) {
            let Some((_, tx)) = pending.take() else { return };
            let answer = if ok { Ok(value) } else { Err(value.as_str().unwrap_or("host function failed").to_string()) };
            let _ = tx.send(answer);
        }
    }
}

#[napi]
impl NativeSandbox {
    /// Builds a sandbox from the options object of `new Sandbox(options)`.
    #[napi(constructor)]
    pub fn new(options: Json) -> napi::Result<Self> {
        let opts = options::parse(&options).map_err(err)?;
        let shared = Arc::new(Shared::default());
        let setup_shared = shared.clone();
        let limits = opts.limits.clone();
        let ctx_opts = opts.context.clone();
        let exec = sandvm::Executor::new(
            sandvm::ExecutorConfig { name: "sandvm-node".into(), ..Default::default() },
            move || {
                let rt = sandvm::Runtime::new(limits.clone())?;
                let ctx = sandvm::Context::new(&rt, ctx_opts.clone())?;
                let items = lock(&setup_shared.items).clone();
                for item in &items {
                    apply(&ctx, &setup_shared, item)?;
                }
                glue(&ctx, &items)?;
                Ok(Guest { ctx, installed: None })
            },
        )
        .map_err(err)?;
        Ok(NativeSandbox { exec: Mutex::new(Some(exec)), shared, timeout: opts.limits.timeout })
    }

    fn exec(&self) -> napi::Result<sandvm::Executor<Guest>> {
        lock(&self.exec).clone().ok_or_else(|| err("the sandbox is disposed"))
    }

    fn setup(&self, item: Item) -> napi::Result<()> {
        let exec = self.exec()?;
        {
            let mut items = lock(&self.shared.items);
            let name = match &item {
                Item::Global { name, .. } | Item::HostFn { name, .. } => name.clone(),
            };
            items.retain(|i| !matches!(i, Item::Global { name: n, .. } | Item::HostFn { name: n, .. } if *n == name));
            items.push(item.clone());
        }
        let shared = self.shared.clone();
        let refresh = matches!(item, Item::HostFn { .. } | Item::Global { tagged: true, .. });
        exec.run(self.timeout, move |g: &mut Guest| {
            apply(&g.ctx, &shared, &item)?;
            glue(&g.ctx, &lock(&shared.items))?;
            if refresh {
                // Decode and wrap again in the next run.
                g.installed = None;
            }
            Ok::<_, sandvm::Error>(())
        })
        .and_then(|r| r)
        .map_err(err)
    }

    /// Sets a global to a copy of a tagged-JSON value (`tagged`: it needs decoding in the guest).
    #[napi]
    pub fn set_global(&self, name: String, value: Json, tagged: bool) -> napi::Result<()> {
        self.setup(Item::Global { name, value, tagged })
    }

    /// Exposes a host function served by the JavaScript side under `name`.
    #[napi]
    pub fn expose(&self, name: String, is_async: bool) -> napi::Result<()> {
        self.setup(Item::HostFn { name, is_async })
    }

    fn start(&self, work: Work) -> napi::Result<NativeRun> {
        let exec = self.exec()?;
        let (tx, rx) = unbounded_channel();
        let shared = self.shared.clone();
        let timeout = self.timeout;
        let done = tx.clone();
        let ticket = exec.submit(timeout, move |g: &mut Guest| {
            let link = Arc::new(Link {
                events: tx,
                deadline: timeout.map(|t| Instant::now() + t),
                timed_out: AtomicBool::new(false),
            });
            *lock(&shared.link) = Some(link.clone());
            let result = g.ensure_prelude().and_then(|()| match &work {
                Work::Eval { code, filename } => {
                    g.ctx.eval_with(code, &sandvm::EvalOptions { filename: filename.clone(), ..Default::default() })
                }
                Work::Script(s) => g.ctx.run(s),
                Work::Snapshot => g.ctx.eval("__sandvm_snapshot()"),
            });
            *lock(&shared.link) = None;
            let result = if link.timed_out.load(Ordering::SeqCst) { Err(sandvm::Error::Timeout) } else { result };
            let console = g.ctx.take_console();
            // Sent from here, not through the ticket: one thread hop less per run.
            let _ = link.events.send(Event::Done(report_of(&result, console, &g.ctx.stats())));
        });
        // The ticket answers on its own only when the job could not run or was given up on
        // (stuck past its deadline, the thread abandoned): then it sends the report.
        napi::bindgen_prelude::spawn(async move {
            if let Err(e) = ticket.await {
                let _ = done.send(Event::Done(report_of(&Err(e), vec![], &Default::default())));
            }
        });
        Ok(NativeRun { events: Mutex::new(Some(rx)), pending: Mutex::new(None), calls: Default::default() })
    }

    /// Starts running `code`; the returned run yields host calls, then the report.
    #[napi]
    pub fn start_eval(&self, code: String, filename: Option<String>) -> napi::Result<NativeRun> {
        self.start(Work::Eval { code, filename })
    }

    /// Starts running a compiled script.
    #[napi]
    pub fn start_script(&self, script: &NativeScript) -> napi::Result<NativeRun> {
        self.start(Work::Script(script.script.clone()))
    }

    /// Starts a run that copies out the guest's own globals (for `sandvm/vm`).
    #[napi]
    pub fn start_snapshot(&self) -> napi::Result<NativeRun> {
        self.start(Work::Snapshot)
    }

    /// Ends the guest thread; later calls fail with a clear error.
    #[napi]
    pub fn dispose(&self) {
        lock(&self.exec).take();
    }

    /// Whether `dispose` was called.
    #[napi(getter)]
    pub fn disposed(&self) -> bool {
        lock(&self.exec).is_none()
    }
}

/// A compiled script (see `Sandbox.compile`).
#[napi]
pub struct NativeScript {
    script: sandvm::Script,
    rejected: bool,
}

#[napi]
impl NativeScript {
    /// Compiles `code`; authenticated `cachedData` is used when it matches, else refused and
    /// the source compiled again (`cachedDataRejected`).
    #[napi(constructor)]
    pub fn new(code: String, filename: Option<String>, cached_data: Option<Buffer>) -> napi::Result<Self> {
        let filename = filename.unwrap_or_else(|| "evalmachine.<anonymous>".into());
        if let Some(data) = cached_data {
            if let Ok(script) = sandvm::Script::with_cached_data(&code, &data) {
                return Ok(NativeScript { script, rejected: false });
            }
            let script = sandvm::Script::new(&code, &filename).map_err(script_error)?;
            return Ok(NativeScript { script, rejected: true });
        }
        let script = sandvm::Script::new(&code, &filename).map_err(script_error)?;
        Ok(NativeScript { script, rejected: false })
    }

    /// The script's authenticated cached data.
    #[napi(getter)]
    pub fn cached_data(&self) -> Buffer {
        self.script.cached_data().into()
    }

    /// Whether the cached data given to the constructor was refused.
    #[napi(getter)]
    pub fn cached_data_rejected(&self) -> bool {
        self.rejected
    }
}

/// A compile error as the report JSON the wrapper turns into a `SandboxError`.
fn script_error(e: sandvm::Error) -> napi::Error {
    let report = report_of(&Err(e), vec![], &Default::default());
    napi::Error::from_reason(format!("sandvm-report:{report}"))
}
