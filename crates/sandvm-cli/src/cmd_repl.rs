//! `sandvm repl`: an interactive read-eval-print loop inside the sandbox.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sandvm::{Deterministic, Limits};
use sandvm_repl::{history_path, use_colors, ReplConfig, SessionConfig};

/// Flags of `sandvm repl`: the limits of `sandvm run`, plus history and colour.
#[derive(Args, Debug, Clone)]
pub struct ReplArgs {
    /// Wall-clock timeout of each input in milliseconds, microtasks included (0 = none).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout: u64,
    /// CPU-time budget of each input in milliseconds (0 = none).
    #[arg(long = "cpu-time", value_name = "MS", default_value_t = 0)]
    pub cpu_time: u64,
    /// Heap memory limit in MiB.
    #[arg(long, value_name = "MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub memory: u64,
    /// Engine stack limit in KiB (clamped to 32..=8192).
    #[arg(long, value_name = "KB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub stack: u64,
    /// Maximum bytes of console output plus result of each input.
    #[arg(long = "max-output", value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_output: u64,
    /// Maximum promise jobs (microtasks) of each input.
    #[arg(long = "max-jobs", value_name = "N", default_value_t = 1_000_000)]
    pub max_jobs: u64,
    /// Define a global variable from JSON: `--global user='{"name":"Ada"}'` (repeatable).
    #[arg(long = "global", value_name = "NAME=JSON")]
    pub globals: Vec<String>,
    /// Evaluate in strict mode (default: sloppy, like node's REPL).
    #[arg(long)]
    pub strict: bool,
    /// Deterministic mode: seeded Math.random, a fixed clock, UTC dates.
    #[arg(long)]
    pub deterministic: bool,
    /// Seed for deterministic mode's Math.random.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "deterministic")]
    pub seed: u64,
    /// Freeze all intrinsics before the first input (prototype pollution has no effect).
    #[arg(long)]
    pub freeze: bool,
    /// Disable eval and the Function constructor inside the sandbox.
    #[arg(long = "no-eval")]
    pub no_eval: bool,
    /// History file (default: $XDG_STATE_HOME/sandvm/repl_history, else
    /// ~/.local/state/sandvm/repl_history).
    /// Allow imports of files under DIR (relative specifiers only; nothing outside DIR).
    #[arg(long = "module-root", value_name = "DIR")]
    pub module_root: Option<PathBuf>,
    /// Allow a host module (`sandvm:crypto`, `sandvm:kv`, `sandvm:*`) (repeatable).
    #[arg(long = "allow-module", value_name = "NAME")]
    pub allow_modules: Vec<String>,
    /// Grant a capability pack: timers, text, base64, url, structured-clone, queue-microtask,
    /// all (repeatable).
    #[arg(long = "cap", value_name = "PACK")]
    pub caps: Vec<String>,
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub history: Option<PathBuf>,
    /// Do not read or write a history file.
    #[arg(long = "no-history")]
    pub no_history: bool,
    /// Never colour output (also: the NO_COLOR environment variable).
    #[arg(long = "no-color")]
    pub no_color: bool,
}

impl ReplArgs {
    fn limits(&self) -> Limits {
        Limits {
            timeout: (self.timeout > 0).then(|| Duration::from_millis(self.timeout)),
            cpu_time: (self.cpu_time > 0).then(|| Duration::from_millis(self.cpu_time)),
            memory: usize::try_from(self.memory.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX),
            stack: usize::try_from(self.stack.saturating_mul(1024)).unwrap_or(usize::MAX),
            max_output: usize::try_from(self.max_output).unwrap_or(usize::MAX),
            max_jobs: self.max_jobs,
        }
    }

    fn modules(&self) -> anyhow::Result<Option<sandvm::ModuleConfig>> {
        if self.module_root.is_none() && self.allow_modules.is_empty() {
            return Ok(None);
        }
        let mut cfg = sandvm::ModuleConfig::new()
            .host_module("sandvm:crypto", sandvm::HostModule::crypto())
            .host_module("sandvm:kv", sandvm::HostModule::kv(sandvm::KvStore::with_max_entries(10_000)));
        if let Some(root) = &self.module_root {
            cfg = cfg.root(root).map_err(|e| anyhow::anyhow!("--module-root: {e}"))?;
        }
        for a in &self.allow_modules {
            cfg = cfg.allow(a);
        }
        Ok(Some(cfg))
    }

    fn capabilities(&self) -> anyhow::Result<sandvm::Capabilities> {
        let mut caps = sandvm::Capabilities::none();
        for c in &self.caps {
            caps = caps.grant(c).map_err(|e| anyhow::anyhow!("--cap: {e}"))?;
        }
        Ok(caps)
    }

    fn globals(&self) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
        self.globals
            .iter()
            .map(|g| {
                let (name, json) =
                    g.split_once('=').ok_or_else(|| anyhow::anyhow!("--global {g:?}: expected NAME=JSON"))?;
                anyhow::ensure!(!name.is_empty(), "--global {g:?}: empty name");
                let value =
                    serde_json::from_str(json).map_err(|e| anyhow::anyhow!("--global {name}: invalid JSON: {e}"))?;
                Ok((name.to_string(), value))
            })
            .collect()
    }
}

/// Runs `sandvm repl`. Returns the process exit code: 0 on `.exit`, Ctrl-D or end of piped
/// input; 3 when the guest got stuck in a native call the engine cannot interrupt.
///
/// # Errors
/// A bad `--global`, a sandbox that cannot be created, or a terminal failure.
pub fn run(args: ReplArgs) -> anyhow::Result<u8> {
    let interactive = sandvm_repl::stdin_is_terminal();
    let colors = use_colors(sandvm_repl::stdout_is_terminal(), args.no_color, std::env::var_os("NO_COLOR").as_deref());
    let session = SessionConfig {
        limits: args.limits(),
        strict: args.strict,
        freeze: args.freeze,
        deterministic: args.deterministic.then(|| Deterministic { seed: args.seed, ..Default::default() }),
        eval: !args.no_eval,
        colors,
        globals: args.globals()?,
        modules: args.modules()?,
        capabilities: args.capabilities()?,
    };
    let history = history_path(args.history.as_deref(), args.no_history, |k| std::env::var_os(k));
    Ok(sandvm_repl::run(ReplConfig { session, history, interactive })?)
}
