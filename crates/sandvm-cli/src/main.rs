//! `sandvm`: run untrusted JavaScript from the command line.
//!
//! Exit codes: 0 ok, 1 guest error (syntax error, uncaught exception, unsettled promise),
//! 2 usage or I/O error, 3 limit hit (timeout, memory, stack, output, promise jobs).

#![forbid(unsafe_code)]

mod bench;
mod cmd_apps;
mod cmd_repl;
mod cmd_serve;
mod cmd_template;
mod cmd_worker;
mod exec;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A secure, fast JavaScript sandbox.
#[derive(Parser, Debug)]
#[command(name = "sandvm", version, about, after_help = exec::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a script file (`-` reads standard input).
    Run {
        /// The script file, or `-` for standard input.
        file: String,
        #[command(flatten)]
        opts: exec::RunArgs,
    },
    /// Evaluate source given on the command line.
    Eval {
        /// The source to evaluate.
        code: String,
        #[command(flatten)]
        opts: exec::RunArgs,
    },
    /// Render Handlebars/Mustache templates inside the sandbox.
    Template {
        #[command(subcommand)]
        cmd: cmd_template::TemplateCmd,
    },
    /// Measure in-process workloads (ns/op, median of batches).
    Bench(bench::BenchArgs),
    /// Start an interactive REPL whose every input runs inside the sandbox.
    Repl(cmd_repl::ReplArgs),
    /// Load plugins and send them events, or check them (plugin host).
    Plugin {
        #[command(subcommand)]
        cmd: cmd_apps::PluginCmd,
    },
    /// Evaluate rules (JavaScript conditions over facts) or check a rules file.
    Rules {
        #[command(subcommand)]
        cmd: cmd_apps::RulesCmd,
    },
    /// Evaluate a JavaScript config file to JSON, YAML or TOML, validated by a JSON Schema.
    Config {
        #[command(subcommand)]
        cmd: cmd_apps::ConfigCmd,
    },
    /// Run Jest-style test files (*.test.js, *.test.mjs), each in a fresh sandbox.
    Test(cmd_apps::TestArgs),
    /// Serve the multi-tenant HTTP execution service and its playground.
    Serve(cmd_serve::ServeArgs),
    /// Run a worker node: take jobs from the cluster's queue (`--queue nats://HOST:PORT`)
    /// and run them in a local pool. (Without a queue: the pool's internal worker process.)
    Worker(cmd_worker::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Run { file, opts } => match exec::read_source(&file) {
            Ok(src) => {
                let name = if opts.module { opts.entry_name(&file) } else { display_name(&file) };
                exec::run(&src, &name, &opts)
            }
            Err(msg) => {
                eprintln!("sandvm: {msg}");
                2
            }
        },
        Command::Eval { code, opts } => exec::run(&code, "<eval>", &opts),
        Command::Template { cmd } => guarded(move || match cmd_template::run(cmd) {
            Ok(code) => u8::try_from(code).unwrap_or(2),
            Err(e) => {
                eprintln!("sandvm: {e:#}");
                2
            }
        }),
        Command::Bench(args) => match bench::run(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sandvm: bench failed: {e:#}");
                2
            }
        },
        Command::Repl(args) => match cmd_repl::run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sandvm: {e:#}");
                2
            }
        },
        Command::Plugin { cmd } => guarded(move || apps_code(cmd_apps::run_plugin(cmd))),
        Command::Rules { cmd } => guarded(move || apps_code(cmd_apps::run_rules(cmd))),
        Command::Config { cmd } => guarded(move || apps_code(cmd_apps::run_config(cmd))),
        Command::Test(args) => guarded(move || apps_code(cmd_apps::run_test(args))),
        Command::Serve(args) => match cmd_serve::run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sandvm: {e:#}");
                2
            }
        },
        Command::Worker(args) if args.is_pool_worker() => u8::try_from(sandvm_pool::worker_main()).unwrap_or(2),
        Command::Worker(args) => match cmd_worker::run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sandvm: {e:#}");
                2
            }
        },
    };
    ExitCode::from(code)
}

/// Runs a command that makes many sandboxed calls (template, plugin, rules, config, test) as
/// one job of a [`sandvm::Executor`] that watches every runtime of the process: a guest stuck
/// in a builtin the engine cannot interrupt still ends the process at its run's deadline plus
/// [`sandvm::grace_for`] its timeout, with exit code 3.
fn guarded(command: impl FnOnce() -> u8 + Send + 'static) -> u8 {
    let config = sandvm::ExecutorConfig { watch_process: true, ..Default::default() };
    let done = sandvm::Executor::new(config, || Ok(())).and_then(|exec| exec.run(None, move |()| command()));
    match done {
        Ok(code) => code,
        Err(sandvm::Error::Timeout) => {
            eprintln!("sandvm: a guest is stuck in a builtin call that cannot be interrupted; timed out");
            let _ = std::io::Write::flush(&mut std::io::stdout());
            // The stuck thread must not keep the process alive.
            std::process::exit(3);
        }
        Err(e) => {
            eprintln!("sandvm: {e}");
            2
        }
    }
}

fn apps_code(r: anyhow::Result<u8>) -> u8 {
    r.unwrap_or_else(|e| {
        eprintln!("sandvm: {e:#}");
        2
    })
}

fn display_name(file: &str) -> String {
    if file == "-" {
        "<stdin>".to_string()
    } else {
        file.to_string()
    }
}
