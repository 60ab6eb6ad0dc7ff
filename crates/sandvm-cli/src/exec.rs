//! `run` and `eval`: flags, the run on a bounded guest executor, human and JSON output.

use std::io::{Read, Write};
use std::time::Instant;

use clap::Args;
use sandvm::{
    BytecodeCache, Capabilities, ConsoleEntry, ConsoleLevel, Context, ContextOptions, Deterministic, Error, Executor,
    ExecutorConfig, HostModule, Intrinsics, KvStore, LimitField, LimitInput, LimitValue, Limits, ModuleConfig, Report,
    Runtime, Stats,
};

/// The exit codes, for `--help`.
pub const EXIT_CODES_HELP: &str = "Exit codes:\n  0  ok\n  1  guest error (syntax error, uncaught exception, promise that never settles)\n  2  usage or I/O error (bad flag, missing file, non-UTF-8 source)\n  3  limit hit (timeout, memory, stack, output, promise jobs)";

/// One limit flag's value, read by [`limit_arg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitArg {
    /// The limit.
    pub field: LimitField,
    /// Its value.
    pub value: LimitValue,
}

/// A clap value parser for the `sandvm::Limits` key `key`: a plain number in that key's
/// unit (`timeout_ms`: milliseconds, `memory_mb`: MiB, ...) or a number with a unit, with
/// [`sandvm::parse_limit`]'s checks (negative, overflow, NaN, unknown units: an error).
pub fn limit_arg(key: &'static str) -> impl Fn(&str) -> Result<LimitArg, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        sandvm::parse_limit(key, LimitInput::Text(s))
            .map(|(field, value)| LimitArg { field, value })
            .map_err(|e| e.reason.to_string())
    }
}

/// Sandbox flags shared by `run`, `eval` and `repl`: limits, globals, context options, module
/// policy and capability packs.
#[derive(Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Wall-clock timeout (of each input in the REPL), microtasks included: milliseconds or
    /// a number with a unit (`250ms`, `2s`); 0 or `none` = none.
    #[arg(long, value_name = "MS", default_value = "1000", value_parser = limit_arg("timeout_ms"))]
    pub timeout: LimitArg,
    /// CPU-time budget: milliseconds or a number with a unit; 0 or `none` = none.
    #[arg(long = "cpu-time", value_name = "MS", default_value = "0", value_parser = limit_arg("cpu_time_ms"))]
    pub cpu_time: LimitArg,
    /// Heap memory limit: MiB or a number with a unit (`512 KiB`, `1 GiB`).
    #[arg(long, value_name = "MB", default_value = "64", value_parser = limit_arg("memory_mb"))]
    pub memory: LimitArg,
    /// Engine stack limit: KiB or a number with a unit (clamped to 32 KiB..=8 MiB).
    #[arg(long, value_name = "KB", default_value = "256", value_parser = limit_arg("stack_kb"))]
    pub stack: LimitArg,
    /// Maximum console output plus result: bytes or a number with a unit.
    #[arg(long = "max-output", value_name = "BYTES", default_value = "1048576", value_parser = limit_arg("max_output"))]
    pub max_output: LimitArg,
    /// Maximum promise jobs (microtasks) per run.
    #[arg(long = "max-jobs", value_name = "N", default_value = "1000000", value_parser = limit_arg("max_jobs"))]
    pub max_jobs: LimitArg,
    /// Define a global variable from JSON: `--global user='{"name":"Ada"}'` (repeatable).
    #[arg(long = "global", value_name = "NAME=JSON")]
    pub globals: Vec<String>,
    /// Evaluate in strict mode (default: sloppy, like node:vm).
    #[arg(long)]
    pub strict: bool,
    /// Deterministic mode: seeded Math.random, a fixed clock, UTC dates.
    #[arg(long)]
    pub deterministic: bool,
    /// Seed for deterministic mode's Math.random.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "deterministic")]
    pub seed: u64,
    /// Freeze all intrinsics before the script runs (prototype pollution has no effect).
    #[arg(long)]
    pub freeze: bool,
    /// Disable eval and the Function constructor inside the sandbox.
    #[arg(long = "no-eval")]
    pub no_eval: bool,
    /// Allow imports of files under DIR (relative specifiers only; nothing outside DIR).
    #[arg(long = "module-root", value_name = "DIR")]
    pub module_root: Option<std::path::PathBuf>,
    /// Allow a host module by name or `prefix*` pattern: `sandvm:crypto`, `sandvm:kv`,
    /// `sandvm:*` (repeatable).
    #[arg(long = "allow-module", value_name = "NAME")]
    pub allow_modules: Vec<String>,
    /// Grant a capability pack: timers, text, base64, url, structured-clone, queue-microtask,
    /// or all (repeatable). None by default.
    #[arg(long = "cap", value_name = "PACK")]
    pub caps: Vec<String>,
}

/// Flags of `run` and `eval`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// Print one JSON object (the result contract) on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
    /// Run the source as an ES module; its exports are the result.
    #[arg(long)]
    pub module: bool,
    /// Cache compiled bytecode (authenticated; key in DIR/cache.key) in DIR.
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
}

impl SandboxArgs {
    /// The limits these flags ask for: the one conversion from flags to [`Limits`].
    pub fn limits(&self) -> Limits {
        let mut l = Limits::default();
        for a in [&self.timeout, &self.cpu_time, &self.memory, &self.stack, &self.max_output, &self.max_jobs] {
            l.set_value(a.field, a.value);
        }
        l
    }

    /// The module policy these flags ask for: `None` unless a module flag is given or `force`
    /// is set. The CLI offers the host modules `sandvm:crypto` and `sandvm:kv` (when
    /// allow-listed).
    ///
    /// # Errors
    /// A message for a module root that is not a readable directory.
    pub fn module_config(&self, force: bool, cache: Option<BytecodeCache>) -> Result<Option<ModuleConfig>, String> {
        if !force && self.module_root.is_none() && self.allow_modules.is_empty() {
            return Ok(None);
        }
        let mut cfg = ModuleConfig::new()
            .host_module("sandvm:crypto", HostModule::crypto())
            .host_module("sandvm:kv", HostModule::kv(KvStore::with_max_entries(10_000)));
        if let Some(root) = &self.module_root {
            cfg = cfg.root(root).map_err(|e| format!("--module-root: {e}"))?;
        }
        for a in &self.allow_modules {
            cfg = cfg.allow(a);
        }
        if let Some(cache) = cache {
            cfg = cfg.cache(cache);
        }
        Ok(Some(cfg))
    }

    /// The capability packs these flags grant.
    ///
    /// # Errors
    /// A message naming an unknown pack.
    pub fn capabilities(&self) -> Result<Capabilities, String> {
        let mut caps = Capabilities::none();
        for c in &self.caps {
            caps = caps.grant(c).map_err(|e| format!("--cap: {e}"))?;
        }
        Ok(caps)
    }

    /// The context options these flags ask for.
    pub fn context_options(&self, filename: &str) -> ContextOptions {
        ContextOptions::default()
            .strict(self.strict)
            .freeze_intrinsics(self.freeze)
            .deterministic(self.deterministic.then(|| Deterministic { seed: self.seed, ..Default::default() }))
            .intrinsics(Intrinsics { eval: !self.no_eval, ..Default::default() })
            .filename(filename)
    }

    /// Parses `--global NAME=JSON` flags.
    ///
    /// # Errors
    /// A message naming the bad flag.
    pub fn parse_globals(&self) -> Result<Vec<(String, serde_json::Value)>, String> {
        self.globals
            .iter()
            .map(|g| {
                let (name, json) = g.split_once('=').ok_or_else(|| format!("--global {g:?}: expected NAME=JSON"))?;
                if name.is_empty() {
                    return Err(format!("--global {g:?}: empty name"));
                }
                let value = serde_json::from_str(json).map_err(|e| format!("--global {name}: invalid JSON: {e}"))?;
                Ok((name.to_string(), value))
            })
            .collect()
    }
}

impl RunArgs {
    /// The bytecode cache asked for with `--cache-dir`.
    ///
    /// # Errors
    /// A message when the directory or its key cannot be set up.
    pub fn cache(&self) -> Result<Option<BytecodeCache>, String> {
        match &self.cache_dir {
            Some(dir) => BytecodeCache::on_disk_with_key_file(dir).map(Some).map_err(|e| format!("--cache-dir: {e}")),
            None => Ok(None),
        }
    }

    /// The name of the entry module: its path relative to `--module-root` when it is inside it,
    /// else its file name.
    pub fn entry_name(&self, file: &str) -> String {
        let path = std::path::Path::new(file);
        if let (Some(root), Ok(canon)) =
            (self.sandbox.module_root.as_ref().and_then(|r| r.canonicalize().ok()), path.canonicalize())
        {
            if let Ok(rel) = canon.strip_prefix(&root) {
                return rel.to_string_lossy().replace('\\', "/");
            }
        }
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file.to_string())
    }
}

/// Reads a script file (`-` = standard input) as UTF-8.
///
/// # Errors
/// A message for a missing or unreadable file or non-UTF-8 content.
pub fn read_source(file: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        let meta = std::fs::metadata(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        if meta.is_dir() {
            return Err(format!("cannot read {file}: is a directory"));
        }
        if meta.len() > sandvm::MAX_SOURCE as u64 {
            return Err(format!("cannot read {file}: larger than {} bytes", sandvm::MAX_SOURCE));
        }
        bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    }
    String::from_utf8(bytes)
        .map_err(|e| format!("{file} is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()))
}

/// The process exit code for a run result.
pub fn exit_code(result: &Result<sandvm::Completion, Error>) -> u8 {
    match result {
        Ok(_) => 0,
        Err(e) if e.is_limit() || matches!(e, Error::Cancelled) => 3,
        Err(e) if e.is_guest() => 1,
        Err(_) => 2,
    }
}

type Done = (Result<sandvm::Completion, Error>, Vec<ConsoleEntry>, Stats);

/// Runs `source` under the flags' limits and prints the result. Returns the exit code.
///
/// The run happens on the guest thread of a [`sandvm::Executor`] (a known stack): a guest stuck
/// in a single long builtin call (which the engine cannot interrupt) still ends at the
/// deadline plus [`sandvm::grace_for`] its timeout with a `timeout`, and the process exits.
pub fn run(source: &str, filename: &str, args: &RunArgs) -> u8 {
    let sb = &args.sandbox;
    let globals = match sb.parse_globals() {
        Ok(g) => g,
        Err(msg) => {
            eprintln!("sandvm: {msg}");
            return 2;
        }
    };
    let limits = sb.limits();
    let mut options = match sb.capabilities() {
        Ok(caps) => sb.context_options(filename).capabilities(caps),
        Err(msg) => {
            eprintln!("sandvm: {msg}");
            return 2;
        }
    };
    let cache = match args.cache() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("sandvm: {msg}");
            return 2;
        }
    };
    let modules = match sb.module_config(args.module || cache.is_some(), cache.clone()) {
        Ok(m) => m,
        Err(msg) => {
            eprintln!("sandvm: {msg}");
            return 2;
        }
    };
    if let Some(m) = modules {
        options = options.modules(m);
    }
    let mode = if args.module { Mode::Module } else { Mode::Script(cache) };
    let exec = match Executor::new(ExecutorConfig::default(), || Ok(())) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sandvm: cannot start the guest thread: {e}");
            return 2;
        }
    };
    let src = source.to_string();
    let started = Instant::now();
    // The run's own deadline (watched by the executor) bounds the job: no job timeout.
    let done = exec.run(None, move |()| run_inner(&src, &globals, limits, options, mode)).unwrap_or_else(|e| {
        (Err(e), Vec::new(), Stats { wall_ms: started.elapsed().as_secs_f64() * 1000.0, ..Default::default() })
    });
    let code = print(&done, args.json);
    // A stuck guest thread must not keep the process alive: exit now.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(i32::from(code));
}

/// How to run the source.
pub enum Mode {
    /// A classic script, compiled through the bytecode cache when there is one.
    Script(Option<BytecodeCache>),
    /// An ES module.
    Module,
}

fn run_inner(
    source: &str,
    globals: &[(String, serde_json::Value)],
    limits: Limits,
    options: ContextOptions,
    mode: Mode,
) -> Done {
    let name = options.filename_str().to_string();
    let rt = match Runtime::new(limits) {
        Ok(rt) => rt,
        Err(e) => return (Err(e), Vec::new(), Stats::default()),
    };
    let ctx = match Context::new(&rt, options) {
        Ok(c) => c,
        Err(e) => return (Err(e), Vec::new(), Stats::default()),
    };
    for (name, value) in globals {
        if let Err(e) = ctx.set_global(name, value) {
            return (Err(e), Vec::new(), Stats::default());
        }
    }
    let result = match mode {
        Mode::Module => ctx.run_module(source, &name),
        Mode::Script(Some(cache)) => {
            let opts = sandvm::ScriptOptions { filename: name, strict: ctx.options().is_strict() };
            cache.script(source, opts).and_then(|s| ctx.run(&s))
        }
        Mode::Script(None) => ctx.eval(source),
    };
    (result, ctx.take_console(), ctx.stats())
}

fn print(done: &Done, json: bool) -> u8 {
    let (result, console, stats) = done;
    let code = exit_code(result);
    if json {
        println!("{}", Report::new(result, console.clone(), stats).to_json());
        return code;
    }
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    for entry in console {
        let line = format!("{}\n", entry.text);
        let _ = match entry.level {
            ConsoleLevel::Warn | ConsoleLevel::Error => stderr.lock().write_all(line.as_bytes()),
            _ => stdout.lock().write_all(line.as_bytes()),
        };
    }
    match result {
        Ok(c) => {
            let _ = writeln!(stdout.lock(), "{}", c.display);
        }
        Err(e) => {
            let _ = writeln!(stderr.lock(), "{}", human_error(e));
        }
    }
    code
}

fn human_error(e: &Error) -> String {
    match e {
        Error::Exception { stack: Some(stack), name, message, .. } => {
            format!("Uncaught {}: {message}\n{}", name.as_deref().unwrap_or("Error"), stack.trim_end())
        }
        Error::Exception { name: None, message, .. } => format!("Uncaught {message}"),
        other => other.to_string(),
    }
}
