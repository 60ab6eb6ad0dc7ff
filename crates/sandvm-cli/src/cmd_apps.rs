//! `sandvm plugin`, `sandvm rules`, `sandvm config`, `sandvm test`: the applications of
//! `sandvm-apps` on the command line.
//!
//! ```text
//! sandvm plugin run examples/plugins --event user.created --payload '{"name":"Ada"}'
//! sandvm plugin check examples/plugins/greeter
//! sandvm rules eval examples/rules/rules.yaml --facts examples/rules/facts.json [--json]
//! sandvm rules check examples/rules/rules.yaml
//! sandvm config eval examples/config/app.config.js --schema examples/config/schema.json --format yaml --env STAGE
//! sandvm test examples/tests [--reporter tap|json]
//! ```
//!
//! Exit codes: 0 ok, 1 failures (a hook, rule or test failed, a schema violation, a guest
//! error), 2 usage or I/O error, 3 a limit was hit where the whole command depended on one run
//! (a config that timed out, a plugin whose top level looped).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use sandvm_apps::{config, plugin, rules, testrunner};
use serde_json::Value as Json;

/// `sandvm plugin …`
#[derive(clap::Subcommand, Debug)]
pub enum PluginCmd {
    /// Load plugins, activate them, send one event and print what each did.
    Run {
        /// A plugin directory (with plugin.toml), or a directory of plugin directories.
        dir: PathBuf,
        /// The event name.
        #[arg(long)]
        event: String,
        /// The event payload, as JSON.
        #[arg(long, default_value = "null")]
        payload: String,
        /// Send the event this many times (shows failing plugins being disabled).
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        #[command(flatten)]
        host: HostArgs,
        /// Print one JSON object per dispatch instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check plugins: manifest, capabilities, limits, code (compiled and top level run).
    Check {
        /// A plugin directory, or a directory of plugin directories.
        dir: PathBuf,
        #[command(flatten)]
        host: HostArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Host options shared by `plugin run` and `plugin check`.
#[derive(clap::Args, Debug)]
pub struct HostArgs {
    /// Capabilities granted to plugins (repeatable): kv, emit, timers, text, base64, url,
    /// structured-clone, queue-microtask.
    #[arg(long = "grant", value_name = "CAP", default_values_t = ["kv".to_string(), "emit".to_string()])]
    grant: Vec<String>,
    /// Run all plugins in one shared runtime (for plugins that trust each other).
    #[arg(long)]
    shared_runtime: bool,
    /// Failures after which a plugin is disabled.
    #[arg(long, default_value_t = 3)]
    max_failures: u32,
}

impl HostArgs {
    fn options(&self) -> plugin::HostOptions {
        let mut o = plugin::HostOptions::default().max_failures(self.max_failures);
        for g in &self.grant {
            o = o.grant(g);
        }
        if self.shared_runtime {
            o = o.isolation(plugin::Isolation::SharedRuntime);
        }
        o
    }
}

/// `sandvm rules …`
#[derive(clap::Subcommand, Debug)]
pub enum RulesCmd {
    /// Evaluate rules against facts and print the rules that fired.
    Eval {
        /// The rules file (YAML, or JSON by extension).
        rules: PathBuf,
        /// The facts (JSON).
        #[arg(long, value_name = "FACTS.json")]
        facts: PathBuf,
        /// The facts file is an array of fact sets: evaluate each.
        #[arg(long)]
        many: bool,
        /// Time limit of one rule, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 100)]
        rule_timeout: u64,
        /// Time limit of one evaluation, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 2000)]
        timeout: u64,
        /// Memory limit in MiB.
        #[arg(long, value_name = "MB", default_value_t = 32)]
        memory: usize,
        /// Print JSON (one object per fact set).
        #[arg(long)]
        json: bool,
    },
    /// Parse, validate and compile rules; list them in evaluation order.
    Check {
        /// The rules file.
        rules: PathBuf,
    },
}

/// `sandvm config …`
#[derive(clap::Subcommand, Debug)]
pub enum ConfigCmd {
    /// Evaluate a JavaScript config file and print it as JSON, YAML or TOML.
    Eval {
        /// The config file (an ES module: `export default {...}` or `export default (env) => ...`).
        file: PathBuf,
        /// A JSON Schema the result must match.
        #[arg(long, value_name = "S.json")]
        schema: Option<PathBuf>,
        /// Output format: json, yaml or toml.
        #[arg(long, default_value = "json")]
        format: String,
        /// Pass a variable to the config's `env` (repeatable): `NAME` copies it from the real
        /// environment, `NAME=VALUE` sets it. Nothing else of the environment is visible.
        #[arg(long = "env", value_name = "NAME[=VALUE]")]
        env: Vec<String>,
        /// Turn deterministic mode off (real clock and random numbers).
        #[arg(long)]
        no_deterministic: bool,
        /// Time limit in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        timeout: u64,
        /// Memory limit in MiB.
        #[arg(long, value_name = "MB", default_value_t = 64)]
        memory: usize,
    },
}

/// Report formats of `sandvm test`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reporter {
    /// Per-test lines and a summary.
    Human,
    /// TAP version 13.
    Tap,
    /// One JSON object.
    Json,
}

/// `sandvm test FILES...`
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Test files, or directories searched for *.test.js / *.test.mjs / *.spec.js / *.spec.mjs.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Reporter::Human)]
    reporter: Reporter,
    /// Time limit of one test, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    timeout: u64,
    /// Memory limit of one file's sandbox, in MiB.
    #[arg(long, value_name = "MB", default_value_t = 64)]
    memory: usize,
    /// Run only tests whose full name contains this text.
    #[arg(long, short = 't')]
    filter: Option<String>,
    /// Deterministic mode (seeded Math.random, Date fixed at 0, virtual timers).
    #[arg(long)]
    deterministic: bool,
}

/// Runs `f` on a thread with a stack large enough for the sandbox, mapping errors to exit
/// codes (the message goes to standard error).
fn on_worker(f: impl FnOnce() -> Result<u8, sandvm_apps::Error> + Send + 'static) -> anyhow::Result<u8> {
    match sandvm_apps::on_big_stack(f)? {
        Ok(code) => Ok(code),
        Err(e) => {
            if let sandvm_apps::Error::Schema { violations } = &e {
                eprintln!("sandvm: the config does not match the schema:");
                for v in violations {
                    eprintln!("  {v}");
                }
            } else {
                eprintln!("sandvm: {e}");
            }
            Ok(e.exit_code())
        }
    }
}

fn read_json(path: &Path) -> Result<Json, sandvm_apps::Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| sandvm_apps::Error::Io { path: path.to_path_buf(), message: e.to_string() })?;
    sandvm_apps::input::check_text(&text, &path.display().to_string())?;
    serde_json::from_str(&text)
        .map_err(|e| sandvm_apps::Error::Parse { what: path.display().to_string(), message: e.to_string() })
}

/// `sandvm plugin …`; returns the exit code.
///
/// # Errors
/// Only when the worker thread cannot run; everything else is an exit code.
pub fn run_plugin(cmd: PluginCmd) -> anyhow::Result<u8> {
    on_worker(move || match cmd {
        PluginCmd::Run { dir, event, payload, repeat, host, json } => {
            let payload: Json = serde_json::from_str(&payload)
                .map_err(|e| sandvm_apps::Error::Parse { what: "--payload".into(), message: e.to_string() })?;
            let mut h = plugin::PluginHost::new(host.options())?;
            let mut code = 0u8;
            for d in plugin::find_plugin_dirs(&dir)? {
                let loaded = h.load_dir(&d).and_then(|name| h.activate(&name).map(|_| name));
                match loaded {
                    Ok(name) if !json => println!("loaded {name}"),
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("sandvm: {}: {e}", d.display());
                        code = code.max(1);
                    }
                }
            }
            let (_, logs) = h.take_messages();
            if !json {
                print_logs(&logs);
            }
            for _ in 0..repeat.max(1) {
                let d = h.dispatch(&event, &payload);
                if !d.ok() {
                    code = code.max(1);
                }
                if json {
                    println!("{}", serde_json::to_string(&d).unwrap_or_default());
                } else {
                    print_dispatch(&d);
                }
            }
            let names: Vec<String> = h.plugins().into_iter().map(|p| p.manifest.name).collect();
            for n in names {
                let _ = h.unload(&n);
            }
            Ok(code)
        }
        PluginCmd::Check { dir, host, json } => {
            let mut code = 0u8;
            for d in plugin::find_plugin_dirs(&dir)? {
                match plugin::check_dir(&d, host.options()) {
                    Ok(info) if json => println!("{}", serde_json::to_string(&info).unwrap_or_default()),
                    Ok(info) => println!(
                        "ok {} {} ({}): capabilities [{}], hooks [{}], exports [{}]",
                        info.manifest.name,
                        info.manifest.version,
                        d.display(),
                        info.manifest.capabilities.join(", "),
                        info.manifest.hooks.join(", "),
                        info.exports.join(", ")
                    ),
                    Err(e) => {
                        eprintln!("sandvm: {}: {e}", d.display());
                        code = code.max(e.exit_code());
                    }
                }
            }
            Ok(code)
        }
    })
}

fn print_logs(logs: &[plugin::LogEntry]) {
    for l in logs {
        println!("  [{}] {}: {}", l.plugin, l.level, l.message);
    }
}

fn print_dispatch(d: &plugin::Dispatch) {
    println!("event {}", d.event);
    print_logs(&d.logs);
    for r in &d.results {
        match (&r.error, r.status.as_str()) {
            (Some(e), _) => {
                let name = e.name.as_deref().map(|n| format!("{n}: ")).unwrap_or_default();
                let disabled = if r.disabled_now { " (now disabled)" } else { "" };
                println!("  {}: error [{}] {name}{}{disabled}", r.plugin, e.kind, e.message);
            }
            (None, "ok") => println!("  {}: ok {}", r.plugin, r.value),
            (None, other) => println!("  {}: {other}", r.plugin),
        }
    }
    for e in &d.emitted {
        println!("  emitted by {}: {} {}", e.plugin, e.name, e.payload);
    }
}

/// `sandvm rules …`; returns the exit code.
///
/// # Errors
/// Only when the worker thread cannot run.
pub fn run_rules(cmd: RulesCmd) -> anyhow::Result<u8> {
    on_worker(move || match cmd {
        RulesCmd::Eval { rules: path, facts, many, rule_timeout, timeout, memory, json } => {
            let set = rules::RuleSet::from_path(&path)?;
            let facts = read_json(&facts)?;
            let sets = match (many, facts) {
                (true, Json::Array(a)) => a,
                (true, _) => {
                    return Err(sandvm_apps::Error::Invalid {
                        what: "--many".into(),
                        message: "the facts file must hold an array of fact sets".into(),
                    })
                }
                (false, f) => vec![f],
            };
            let limits = rules::RuleLimits {
                rule_timeout: Duration::from_millis(rule_timeout.max(1)),
                evaluation_timeout: Duration::from_millis(timeout.max(1)),
                sandbox: sandvm::Limits {
                    memory: memory.saturating_mul(1024 * 1024),
                    ..rules::RuleLimits::default().sandbox
                },
                ..Default::default()
            };
            let mut engine = rules::RuleEngine::new(&set, limits)?;
            let mut code = 0;
            for f in &sets {
                let ev = engine.evaluate(f)?;
                if !ev.errors.is_empty() {
                    code = 1;
                }
                if json {
                    println!("{}", serde_json::to_string(&ev).unwrap_or_default());
                } else {
                    print!("{}", rules::render_human(&ev));
                }
            }
            Ok(code)
        }
        RulesCmd::Check { rules: path } => {
            let set = rules::RuleSet::from_path(&path)?;
            println!("ok {}: {} rules", set.name(), set.rules().len());
            for r in set.rules() {
                let stop = if r.stop { " (stop)" } else { "" };
                println!("  {:>5} {}{stop}  {}", r.priority, r.id, r.description);
            }
            Ok(0)
        }
    })
}

/// `sandvm config …`; returns the exit code.
///
/// # Errors
/// Only when the worker thread cannot run.
pub fn run_config(cmd: ConfigCmd) -> anyhow::Result<u8> {
    on_worker(move || match cmd {
        ConfigCmd::Eval { file, schema, format, env, no_deterministic, timeout, memory } => {
            let format: config::Format = format.parse()?;
            let mut opts = config::ConfigOptions {
                deterministic: !no_deterministic,
                limits: sandvm::Limits {
                    timeout: (timeout > 0).then(|| Duration::from_millis(timeout)),
                    memory: memory.saturating_mul(1024 * 1024),
                    ..Default::default()
                },
                ..Default::default()
            };
            for e in &env {
                match e.split_once('=') {
                    Some((k, v)) => opts = opts.env_var(k, v),
                    None => opts = opts.env_from_process(&[e.as_str()]),
                }
            }
            let schema = schema.map(|s| config::read_schema(&s)).transpose()?;
            let out = config::eval_file_to_string(&file, schema.as_ref(), format, &opts)?;
            print!("{out}");
            Ok(0)
        }
    })
}

/// `sandvm test …`; returns the exit code (1 when any test failed).
///
/// # Errors
/// Only when the worker thread cannot run.
pub fn run_test(args: TestArgs) -> anyhow::Result<u8> {
    let files = match testrunner::find_test_files(&args.files) {
        Ok(f) if f.is_empty() => {
            eprintln!("sandvm: no test files found (*.test.js, *.test.mjs, *.spec.js, *.spec.mjs)");
            return Ok(2);
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("sandvm: {e}");
            return Ok(2);
        }
    };
    let opts = testrunner::TestOptions {
        limits: sandvm::Limits {
            timeout: Some(Duration::from_millis(args.timeout.max(1))),
            memory: args.memory.saturating_mul(1024 * 1024),
            ..testrunner::TestOptions::default().limits
        },
        filter: args.filter.clone(),
        deterministic: args.deterministic,
        ..Default::default()
    };
    let reporter = args.reporter;
    let run = sandvm_apps::on_big_stack(move || testrunner::run_files(&files, &opts)).context("test runner")?;
    let out = match reporter {
        Reporter::Human => testrunner::render_human(&run),
        Reporter::Tap => testrunner::render_tap(&run),
        Reporter::Json => testrunner::render_json(&run) + "\n",
    };
    print!("{out}");
    Ok(if run.success() { 0 } else { 1 })
}
