//! Process isolation, pool side: one driver thread per worker slot owns a child process,
//! hands it jobs over its stdin and reads results from its stdout.

use std::collections::HashSet;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;
use crate::wire::{read_frame, write_frame, ExecJob, ExecKind, ExecResult, FromWorker, Hello, ScriptDef, ToWorker};
use crate::PoolError;

/// How long a new worker process may take to say it is ready.
const SPAWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variable naming the pool's process id to a worker it starts: the worker asks
/// for `SIGKILL` when its parent dies and checks that the parent is still this one.
pub(crate) const PARENT_ENV: &str = "SANDVM_POOL_PARENT";

/// Sends SIGKILL to a worker process (a pid of our own child: the driver reaps it, so the
/// pid is not reused before the slot forgets it). A pid of 0 or one past `i32::MAX` is
/// ignored: it would name a process group or nothing.
pub(crate) fn kill(pid: u32) {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return };
    if pid.as_raw_pid() <= 0 {
        return;
    }
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
}

/// Why the watchdog (or shutdown) killed a worker process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillReason {
    Deadline,
    Cancel,
}

/// The way to stop the job a driver is running (it tells the worker process to cancel).
pub(crate) type CancelHook = Box<dyn Fn() + Send>;

/// Installs and removes the cancel hook of a running job.
pub(crate) trait JobControl: Send + Sync {
    /// Installs the way to stop the running job; runs it at once if the job was already
    /// cancelled.
    fn set_hook(&self, hook: CancelHook);
    /// Removes the hook (the job ended).
    fn clear_hook(&self);
}

/// A job handed to a driver.
pub(crate) struct PortJob {
    pub(crate) exec: ExecJob,
    /// The definition (source, sealed bytecode) of a `Script` job's registered script.
    pub(crate) def: Option<ScriptDef>,
    pub(crate) control: Arc<dyn JobControl>,
}

/// All a driver thread may do with its worker slot of the pool: the narrow interface that
/// keeps this file independent of the pool's internals.
pub(crate) trait Port: Send + Sync + 'static {
    /// Blocks until a job for this slot is available; `None` when the pool stops.
    fn next_job(&self) -> Option<PortJob>;
    /// Delivers the result of the job this slot is running.
    fn complete(&self, result: Result<ExecResult, PoolError>);
    /// True once the pool stops.
    fn stopping(&self) -> bool;
    /// A worker process started: counts it, records its pid and the time by which it must say
    /// it is ready (the watchdog kills it after that).
    fn spawning(&self, pid: u32, ready_by: Instant);
    /// The worker process said it is ready, or failed to start: no ready deadline any more.
    fn spawned(&self);
    /// Records the pid of the slot's process (`None`: no process).
    fn set_pid(&self, pid: Option<u32>);
    /// The slot's process is gone: forgets its pid and tells why the watchdog killed it, if it did.
    fn take_kill(&self) -> Option<KillReason>;
    /// Counts a worker process that ended while running a job (killed, or crashed when `None`).
    fn count_worker_event(&self, killed: Option<KillReason>);
}

/// How to start a worker process.
#[derive(Debug, Clone)]
pub(crate) struct SpawnSpec {
    /// The worker executable (by default, the current one).
    pub(crate) binary: Option<PathBuf>,
    pub(crate) args: Vec<String>,
    pub(crate) hello: Hello,
}

struct ChildWorker {
    child: Child,
    pid: u32,
    stdin: Arc<Mutex<ChildStdin>>,
    stdout: BufReader<ChildStdout>,
    /// Scripts this process already has, by tenant and id.
    sent: HashSet<(Arc<str>, u64)>,
    cpu_ms: f64,
}

impl ChildWorker {
    fn spawn(port: &dyn Port, spec: &SpawnSpec) -> Result<ChildWorker, PoolError> {
        let exe = match &spec.binary {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| PoolError::Worker(format!("no worker binary: {e}")))?,
        };
        let mut cmd = Command::new(&exe);
        cmd.args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("SANDVM_POOL_WORKER", "1")
            // The worker sets its own parent-death signal (SIGKILL) and checks this pid, so
            // it dies with the driver thread that started it.
            .env(PARENT_ENV, std::process::id().to_string());
        let mut child =
            cmd.spawn().map_err(|e| PoolError::Worker(format!("cannot start worker {}: {e}", exe.display())))?;
        let pid = child.id();
        port.spawning(pid, Instant::now() + SPAWN_TIMEOUT);
        let fail = |child: &mut Child, msg: String| {
            let _ = child.kill();
            let _ = child.wait();
            port.spawned();
            PoolError::Worker(msg)
        };
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(fail(&mut child, "worker pipes missing".into()));
        };
        let mut stdout = BufReader::new(stdout);
        if let Err(e) = write_frame(&mut stdin, &ToWorker::Hello(spec.hello.clone())) {
            return Err(fail(&mut child, format!("worker {} did not take the hello frame: {e}", exe.display())));
        }
        match read_frame::<_, FromWorker>(&mut stdout) {
            Ok(FromWorker::Ready { .. }) => {}
            Ok(FromWorker::Fatal(m)) => return Err(fail(&mut child, format!("worker failed to start: {m}"))),
            Ok(_) => return Err(fail(&mut child, "worker sent an unexpected frame".into())),
            Err(e) => {
                return Err(fail(&mut child, format!("worker {} {:?} did not start: {e}", exe.display(), spec.args)))
            }
        }
        port.spawned();
        Ok(ChildWorker { child, pid, stdin: Arc::new(Mutex::new(stdin)), stdout, sent: HashSet::new(), cpu_ms: 0.0 })
    }

    /// Kills and reaps the process; describes how it ended.
    fn reap(mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => Some(s),
            _ => {
                // Still alive (a broken pipe, a protocol error): make sure it is gone.
                let _ = self.child.kill();
                self.child.wait().ok()
            }
        };
        describe(status)
    }

    fn stop(mut self) {
        if let Ok(mut w) = self.stdin.lock() {
            let _ = write_frame(&mut *w, &ToWorker::Shutdown);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn describe(status: Option<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("worker process exited with status {c}"),
            (None, Some(sig)) => format!("worker process killed by signal {sig} ({})", signal_name(sig)),
            _ => "worker process ended".into(),
        },
        None => "worker process vanished".into(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGKILL => "SIGKILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGSYS => "SIGSYS, a forbidden system call",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGXCPU => "SIGXCPU, CPU limit",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// The body of a process worker's driver thread.
pub(crate) fn driver(port: &dyn Port, spec: &SpawnSpec) {
    let mut child: Option<ChildWorker> = None;
    let mut spawn_error: Option<PoolError> = None;
    loop {
        if child.is_none() && !port.stopping() {
            match ChildWorker::spawn(port, spec) {
                Ok(c) => {
                    child = Some(c);
                    spawn_error = None;
                }
                Err(e) => spawn_error = Some(e),
            }
        }
        let Some(t) = port.next_job() else { break };
        if child.is_none() {
            // Retry once now that there is work; fail the job if the worker cannot start.
            match ChildWorker::spawn(port, spec) {
                Ok(c) => child = Some(c),
                Err(e) => {
                    let e = spawn_error.take().unwrap_or(e);
                    port.complete(Err(e));
                    continue;
                }
            }
        }
        let Some(c) = child.as_mut() else { continue };
        port.set_pid(Some(c.pid));
        let mut exec = t.exec;
        let id = exec.id;
        if let ExecKind::Script { id: sid, def } = &mut exec.kind {
            let key = (exec.tenant.clone(), *sid);
            if !c.sent.contains(&key) {
                *def = t.def.clone();
                c.sent.insert(key);
            }
        }
        let writer = c.stdin.clone();
        let sent = {
            let mut w = lock(&c.stdin);
            write_frame(&mut *w, &ToWorker::Run(exec))
        };
        t.control.set_hook(Box::new(move || {
            let mut w = lock(&writer);
            let _ = write_frame(&mut *w, &ToWorker::Cancel(id));
        }));
        let reply = match sent {
            Ok(()) => read_frame::<_, FromWorker>(&mut c.stdout),
            Err(e) => Err(e),
        };
        t.control.clear_hook();
        match reply {
            Ok(FromWorker::Done(r)) if r.id == id => {
                c.cpu_ms += r.stats.cpu_ms;
                port.complete(Ok(*r));
                if c.cpu_ms > spec.hello.cpu_seconds as f64 * 500.0 {
                    // Half of RLIMIT_CPU used: replace the process before the kernel does.
                    if let Some(c) = child.take() {
                        c.stop();
                    }
                }
            }
            Ok(other) => {
                let msg = match other {
                    FromWorker::Fatal(m) => format!("worker failed: {m}"),
                    _ => "worker answered with an unexpected frame".into(),
                };
                if let Some(c) = child.take() {
                    c.reap();
                }
                port.set_pid(None);
                port.count_worker_event(None);
                port.complete(Err(PoolError::Protocol(msg)));
            }
            Err(e) => {
                let how = child.take().map(ChildWorker::reap).unwrap_or_default();
                let killed = port.take_kill();
                port.count_worker_event(killed);
                let result = match killed {
                    Some(KillReason::Deadline) => Ok(timeout_result(id)),
                    Some(KillReason::Cancel) => Err(PoolError::Cancelled),
                    None => Err(match e {
                        crate::wire::FrameError::Oversized(_) | crate::wire::FrameError::Malformed(_) => {
                            PoolError::Protocol(format!("{e}; {how}"))
                        }
                        _ => PoolError::WorkerCrashed(how),
                    }),
                };
                port.complete(result);
            }
        }
    }
    if let Some(c) = child.take() {
        c.stop();
    }
    port.set_pid(None);
}

fn timeout_result(id: u64) -> ExecResult {
    let stats = sandvm::Stats::default();
    ExecResult {
        id,
        report: sandvm::Report::new(&Err(sandvm::Error::Timeout), Vec::new(), &stats),
        stats,
        heap_after: 0,
        recycled: Vec::new(),
    }
}
