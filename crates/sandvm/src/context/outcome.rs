//! What a run reports: the completion, measurements, and the one-shot
//! [`run_in_new_context`] outcome.

use serde::Serialize;
use serde_json::Value as Json;

use super::Context;
use crate::console::ConsoleEntry;
use crate::{ContextOptions, Error, Limits, Result, Runtime};

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

/// Which parts of a [`Completion`] a run produces (see [`Context::run_wanting`]). By default,
/// [`Want::ALL`]: what [`Context::eval`] and [`Context::run`] give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Want {
    /// Copy the completion value out as JSON ([`Completion::value`]).
    pub value: bool,
    /// Render the completion value like `util.inspect` ([`Completion::display`]).
    pub display: bool,
}

impl Want {
    /// The value and its display.
    pub const ALL: Want = Want { value: true, display: true };
    /// Only the value as JSON (`display` stays empty).
    pub const VALUE: Want = Want { value: true, display: false };
    /// Only the display (`value` stays `None`).
    pub const DISPLAY: Want = Want { value: false, display: true };
    /// Neither: the run is for its effects (`value` is `None`, `display` empty).
    pub const NONE: Want = Want { value: false, display: false };
}

impl Default for Want {
    fn default() -> Self {
        Want::ALL
    }
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
            return (Err(Error::invalid("globals", "must be a JSON object")), Vec::new(), Stats::default());
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
