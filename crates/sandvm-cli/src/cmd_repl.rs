//! `sandvm repl`: an interactive read-eval-print loop inside the sandbox.

use std::path::PathBuf;

use clap::Args;
use sandvm::Deterministic;
use sandvm_repl::{history_path, use_colors, ReplConfig, SessionConfig};

use crate::exec::SandboxArgs;

/// Flags of `sandvm repl`: the sandbox flags of `sandvm run`, plus history and colour.
#[derive(Args, Debug, Clone)]
pub struct ReplArgs {
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// History file (default: $XDG_STATE_HOME/sandvm/repl_history, else
    /// ~/.local/state/sandvm/repl_history).
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub history: Option<PathBuf>,
    /// Do not read or write a history file.
    #[arg(long = "no-history")]
    pub no_history: bool,
    /// Never colour output (also: the NO_COLOR environment variable).
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Inputs are TypeScript: each input's types are stripped (never checked); an input
    /// that ends early still asks for more lines.
    #[arg(long)]
    pub ts: bool,
}

/// Runs `sandvm repl`. Returns the process exit code: 0 on `.exit`, Ctrl-D or end of piped
/// input; 3 when the guest got stuck in a native call the engine cannot interrupt.
///
/// # Errors
/// A bad `--global`, a sandbox that cannot be created, or a terminal failure.
pub fn run(args: ReplArgs) -> anyhow::Result<u8> {
    let interactive = sandvm_repl::stdin_is_terminal();
    let colors = use_colors(sandvm_repl::stdout_is_terminal(), args.no_color, std::env::var_os("NO_COLOR").as_deref());
    let sb = &args.sandbox;
    let session = SessionConfig {
        limits: sb.limits(),
        strict: sb.strict,
        freeze: sb.freeze,
        deterministic: sb.deterministic.then(|| Deterministic { seed: sb.seed, ..Default::default() }),
        eval: !sb.no_eval,
        colors,
        globals: sb.parse_globals().map_err(anyhow::Error::msg)?,
        modules: sb.module_config(false, None).map_err(anyhow::Error::msg)?,
        capabilities: sb.capabilities().map_err(anyhow::Error::msg)?,
        language: if args.ts { sandvm::Language::TypeScript } else { sandvm::Language::JavaScript },
    };
    if !session.language.is_available() {
        anyhow::bail!("--ts needs sandvm built with its `typescript` feature");
    }
    let history = history_path(args.history.as_deref(), args.no_history, |k| std::env::var_os(k));
    Ok(sandvm_repl::run(ReplConfig { session, history, interactive })?)
}
