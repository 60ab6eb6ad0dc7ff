//! # sandvm
//!
//! A secure, fast JavaScript sandbox on the QuickJS-ng engine, shaped like Node's `vm` module:
//! [`Runtime`]s (one per tenant) hold [`Limits`]; [`Context`]s inside them hold globals;
//! [`Script`]s compile once and run many times; cached data is authenticated; every run is
//! bounded in time (microtasks included), memory, stack, output and promise jobs.
//!
//! ```
//! # fn main() -> sandvm::Result<()> {
//! let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
//! let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
//! assert_eq!(ctx.eval("[1, 2, 3].map(x => x * 2)")?.display, "[ 2, 4, 6 ]");
//! assert!(matches!(ctx.eval("while (true) {}"), Err(sandvm::Error::Timeout)));
//! # Ok(()) }
//! ```
//!
//! No ambient capability: no file system, network, process, timers or module loading unless
//! the host grants them; `console` output is captured, never printed.

#![warn(missing_docs)]

mod abandon;
mod alloc;
mod cache;
mod console;
mod context;
mod convert;
mod error;
mod error_info;
mod executor;
mod inspect;
mod language;
mod limits;
mod lockdown;
mod modules;
mod options;
mod packs;
mod raw;
mod repl_support;
mod report;
mod runtime;
mod script;
mod web;

pub use abandon::{
    abandoned_threads, check_capacity, grace_for, max_abandoned_threads, set_max_abandoned_threads,
    total_abandoned_threads, AbandonedThread, DEFAULT_MAX_ABANDONED, GUEST_THREAD_STACK,
};
pub use cache::{BytecodeCache, CacheStats};
pub use console::{ConsoleEntry, ConsoleLevel};
pub use context::{
    run_in_new_context, CompiledFunction, Completion, Context, EvalOptions, Outcome, SetupStep, Stats, Want,
};
pub use convert::MAX_JSON_DEPTH;
pub use error::{Error, ErrorSource, Result};
pub use executor::{Executor, ExecutorConfig, JobCancel, Ticket};
pub use inspect::InspectOptions;
pub use language::{
    check_syntax, strip_types, typescript_transformer_version, Language, StrippedTypeScript, MAX_TYPESCRIPT_SOURCE,
};
#[cfg(feature = "serde")]
pub use limits::LimitsSeed;
pub use limits::{
    parse_limit, InvalidLimit, InvalidReason, LimitExceeded, LimitField, LimitInput, LimitOverrides, LimitValue,
    Limits, MAX_DURATION, MAX_LIMIT_TEXT, MAX_STACK, MIN_STACK,
};
pub use modules::{HostModule, HostModuleFn, KvStore, ModuleConfig};
pub use modules::{KV_DEFAULT_MAX_BYTES, KV_DEFAULT_MAX_ENTRIES};
pub use options::{Clock, ContextOptions, Deterministic, Intrinsics};
pub use packs::{Capabilities, FetchHandler, FetchRequest, FetchResponse, PACK_NAMES};
pub use repl_support::{ReplBridge, ReplLine};
pub use report::{ErrorReport, Report};
pub use runtime::{CancelHandle, Runtime};
pub use script::{CacheKey, Script, ScriptOptions, MAX_SOURCE};

/// Renders a guest value like Node's `util.inspect`, for callers that hold raw rquickjs values.
///
/// **Unstable**: only with the `unstable-engine` cargo feature (see [`Context::with_engine`]).
#[cfg(feature = "unstable-engine")]
pub use inspect::inspect as inspect_value;
/// The engine bindings, for [`Context::with_engine`].
///
/// **Unstable**: only with the `unstable-engine` cargo feature. The engine's API is not part
/// of sandvm's stable surface: its version and shape may change in any release.
#[cfg(feature = "unstable-engine")]
pub use rquickjs;
