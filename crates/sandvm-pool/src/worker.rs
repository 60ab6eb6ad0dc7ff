//! Process isolation, worker side: the main loop of a worker process.

/// Runs a worker process: call this from the worker executable's `main` when it is started
/// with [`crate::PoolConfig::worker_args`] (the `sandvm` CLI's hidden `worker` subcommand)
/// and exit with the returned code.
///
/// The process reads a hello frame from standard input, limits itself (`setrlimit`:
/// address space, CPU seconds, no core dumps, no files written, few descriptors, no new
/// processes), starts its engine thread, installs a seccomp filter on all its threads
/// (sockets, `execve`, `fork`/`clone`, `ptrace`, `kill`, `mount`...: the process is killed
/// with `SIGSYS` if it tries; `open`/`openat` and every other system call the engine does
/// not need fail with `EPERM`; `read` only from standard input, `write` only to standard
/// output and error),
/// then runs jobs until standard input closes. Only the pool should start it: it refuses to
/// run unless `SANDVM_POOL_WORKER` is set.
///
/// Returns 0 when the pool closed the pipe or asked it to stop, 2 on a setup or protocol
/// error (written to standard error). Off Linux it returns 2 at once.
pub fn worker_main() -> i32 {
    #[cfg(target_os = "linux")]
    {
        linux::main()
    }
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("sandvm worker: process isolation needs Linux");
        2
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::{mpsc, Arc, Mutex};

    use rustix::process::{Resource, Rlimit};
    use sandvm::{CacheKey, CancelHandle};

    use crate::exec::Executor;
    use crate::process::PARENT_ENV;
    use crate::sync::lock;
    use crate::wire::{read_frame, write_frame, ExecJob, FromWorker, Hello, ToWorker, HELLO_MAGIC};

    #[derive(Default)]
    struct Cancels {
        current: Option<(u64, CancelHandle)>,
        /// The last job id a cancel frame named (it may arrive before its job starts).
        early: Option<u64>,
    }

    fn fatal(msg: &str) -> i32 {
        eprintln!("sandvm worker: {msg}");
        let _ = write_frame(&mut std::io::stdout().lock(), &FromWorker::Fatal(msg.to_string()));
        2
    }

    pub(super) fn main() -> i32 {
        if std::env::var_os("SANDVM_POOL_WORKER").is_none() {
            eprintln!("sandvm worker: internal command, started by the sandvm pool");
            return 2;
        }
        if let Err(e) = die_with_parent() {
            return fatal(&e);
        }
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let hello: Hello = match read_frame::<_, ToWorker>(&mut input) {
            Ok(ToWorker::Hello(h)) if h.magic == HELLO_MAGIC => h,
            Ok(_) => return fatal("the first frame is not a hello"),
            Err(e) => return fatal(&format!("no hello frame: {e}")),
        };
        if let Err(e) = set_limits(&hello) {
            return fatal(&format!("setrlimit failed: {e}"));
        }
        let cancels = Arc::new(Mutex::new(Cancels::default()));
        let (tx, rx) = mpsc::channel::<ExecJob>();
        let settings = hello.exec.clone();
        let key = CacheKey::new(hello.cache_key);
        let c2 = cancels.clone();
        let spawned = std::thread::Builder::new()
            .name("sandvm-exec".into())
            .stack_size(16 * 1024 * 1024)
            .spawn(move || executor_loop(rx, Executor::new(settings, Some(key)), c2));
        if let Err(e) = spawned {
            return fatal(&format!("cannot start the engine thread: {e}"));
        }
        set_nproc_zero();
        if let Err(e) = install_seccomp() {
            return fatal(&format!("cannot install the seccomp filter: {e}"));
        }
        if write_frame(&mut std::io::stdout().lock(), &FromWorker::Ready { pid: std::process::id() }).is_err() {
            return 2;
        }
        loop {
            match read_frame::<_, ToWorker>(&mut input) {
                Ok(ToWorker::Run(job)) => {
                    if tx.send(job).is_err() {
                        return 2;
                    }
                }
                Ok(ToWorker::Cancel(id)) => {
                    let mut c = lock(&cancels);
                    match &c.current {
                        Some((cur, h)) if *cur == id => h.cancel(),
                        _ => c.early = Some(id),
                    }
                }
                Ok(ToWorker::Shutdown) => return 0,
                Ok(ToWorker::Hello(_)) => {}
                Err(crate::wire::FrameError::Eof) => return 0,
                Err(e) => {
                    eprintln!("sandvm worker: bad frame from the pool: {e}");
                    return 2;
                }
            }
        }
    }

    fn executor_loop(rx: mpsc::Receiver<ExecJob>, mut exec: Executor, cancels: Arc<Mutex<Cancels>>) {
        while let Ok(job) = rx.recv() {
            let id = job.id;
            let result = exec.run(job, None, &mut |h| {
                let mut c = lock(&cancels);
                if let Some(h) = h {
                    if c.early == Some(id) {
                        h.cancel();
                    }
                    c.current = Some((id, h));
                }
            });
            {
                let mut c = lock(&cancels);
                c.current = None;
                c.early = None;
            }
            let mut out = std::io::stdout().lock();
            if write_frame(&mut out, &FromWorker::Done(Box::new(result))).is_err() {
                let _ = out.flush();
                std::process::exit(2);
            }
            drop(out);
            exec.maintain();
        }
    }

    fn setrlimit(resource: Resource, soft: u64, hard: u64) -> std::io::Result<()> {
        rustix::process::setrlimit(resource, Rlimit { current: Some(soft), maximum: Some(hard) })?;
        Ok(())
    }

    fn set_limits(h: &Hello) -> std::io::Result<()> {
        setrlimit(Resource::As, h.address_space, h.address_space)?;
        setrlimit(Resource::Cpu, h.cpu_seconds, h.cpu_seconds.saturating_add(5))?;
        setrlimit(Resource::Core, 0, 0)?;
        setrlimit(Resource::Fsize, 0, 0)?;
        setrlimit(Resource::Nofile, 16, 16)?;
        Ok(())
    }

    /// No new processes or threads (ignored for root; seccomp is the real barrier).
    fn set_nproc_zero() {
        let _ = setrlimit(Resource::Nproc, 0, 0);
    }

    /// Asks for `SIGKILL` when the thread that started this process ends, then checks that
    /// the parent is still the pool named in [`PARENT_ENV`]: a pool that died between the
    /// fork and this call left the worker reparented, and it must not run on.
    fn die_with_parent() -> Result<(), String> {
        use rustix::process::{getppid, set_parent_process_death_signal, Signal};
        set_parent_process_death_signal(Some(Signal::KILL)).map_err(|e| format!("PR_SET_PDEATHSIG failed: {e}"))?;
        let Some(expected) = std::env::var(PARENT_ENV).ok() else { return Ok(()) };
        let parent = getppid().map(|p| p.as_raw_pid().to_string());
        if parent.as_deref() != Some(expected.as_str()) {
            return Err(format!("the pool (pid {expected}) is gone"));
        }
        Ok(())
    }

    /// System calls that kill the process: network, new programs and processes, other
    /// processes. Opening files is not among them: glibc's allocator itself opens
    /// `/proc/sys/vm/overcommit_memory` when it shrinks a thread's heap, and copes with a
    /// refusal, so `open`/`openat` fail with `EPERM` (the allow list below) instead.
    fn forbidden() -> Vec<i64> {
        let mut v = vec![
            libc::SYS_socket,
            libc::SYS_socketpair,
            libc::SYS_connect,
            libc::SYS_bind,
            libc::SYS_listen,
            libc::SYS_accept,
            libc::SYS_accept4,
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_clone,
            libc::SYS_clone3,
            libc::SYS_ptrace,
            libc::SYS_kill,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_mount,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_chroot,
            libc::SYS_pivot_root,
            libc::SYS_name_to_handle_at,
            libc::SYS_open_by_handle_at,
        ];
        #[cfg(target_arch = "x86_64")]
        v.extend([libc::SYS_fork, libc::SYS_vfork]);
        v
    }

    /// System calls the engine and the frame I/O need (anything else fails with EPERM).
    fn allowed() -> Vec<i64> {
        vec![
            libc::SYS_futex,
            libc::SYS_mmap,
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_mprotect,
            libc::SYS_brk,
            libc::SYS_madvise,
            libc::SYS_rt_sigreturn,
            libc::SYS_rt_sigprocmask,
            libc::SYS_rt_sigaction,
            libc::SYS_sigaltstack,
            libc::SYS_clock_gettime,
            libc::SYS_clock_getres,
            libc::SYS_gettimeofday,
            libc::SYS_clock_nanosleep,
            libc::SYS_nanosleep,
            libc::SYS_sched_yield,
            libc::SYS_getrandom,
            libc::SYS_gettid,
            libc::SYS_getpid,
            libc::SYS_exit,
            libc::SYS_exit_group,
            libc::SYS_restart_syscall,
            libc::SYS_rseq,
            libc::SYS_close,
        ]
    }

    fn install_seccomp() -> Result<(), String> {
        use seccompiler::{
            apply_filter_all_threads, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
            SeccompFilter, SeccompRule, TargetArch,
        };
        let err = |e: seccompiler::Error| e.to_string();
        let arch: TargetArch =
            std::env::consts::ARCH.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?;
        let arg_eq = |index: u8, value: u64| -> Result<SeccompRule, String> {
            let cond = SeccompCondition::new(index, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, value)
                .map_err(|e| e.to_string())?;
            SeccompRule::new(vec![cond]).map_err(|e| e.to_string())
        };
        // 1. The deny list (kill the process). Installed first: the allow list below would
        //    refuse the seccomp() call that installs a second filter.
        let deny: BTreeMap<i64, Vec<SeccompRule>> = forbidden().into_iter().map(|s| (s, Vec::new())).collect();
        let deny = SeccompFilter::new(deny, SeccompAction::Allow, SeccompAction::KillProcess, arch)
            .map_err(|e| e.to_string())?;
        let deny: BpfProgram = deny.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?;
        apply_filter_all_threads(&deny).map_err(err)?;
        // 2. The allow list.
        let mut allow: BTreeMap<i64, Vec<SeccompRule>> = allowed().into_iter().map(|s| (s, Vec::new())).collect();
        allow.insert(libc::SYS_read, vec![arg_eq(0, 0)?]);
        allow.insert(libc::SYS_write, vec![arg_eq(0, 1)?, arg_eq(0, 2)?]);
        allow.insert(libc::SYS_tgkill, vec![arg_eq(0, u64::from(std::process::id()))?]);
        let allow = SeccompFilter::new(allow, SeccompAction::Errno(libc::EPERM as u32), SeccompAction::Allow, arch)
            .map_err(|e| e.to_string())?;
        let allow: BpfProgram = allow.try_into().map_err(|e: seccompiler::BackendError| e.to_string())?;
        apply_filter_all_threads(&allow).map_err(err)?;
        Ok(())
    }
}
