//! # sandvm-apps
//!
//! Four applications built on the [`sandvm`] sandbox, each a library API here and a
//! subcommand of the `sandvm` CLI:
//!
//! - [`plugin`]: a plugin host. Plugins are directories with a `plugin.toml` manifest and ES
//!   module code; each runs in its own context (and runtime, by default), gets only the
//!   capabilities the host grants, talks to the host through the `sandvm:host` module, and is
//!   disabled after repeated failures.
//! - [`rules`]: a rule engine. Rules are data (YAML or JSON) whose conditions are JavaScript
//!   expressions over frozen `facts`; a rule set compiles once and evaluates many fact sets,
//!   and one bad rule never stops the others.
//! - [`config`]: a config evaluator. A JavaScript config file (`export default {...}` or a
//!   function of an explicitly passed `env`) becomes JSON, YAML or TOML, checked against a JSON
//!   Schema, deterministically.
//! - [`testrunner`]: a test runner. `*.test.js` files with `describe`/`it`/`expect` run each
//!   in a fresh context with a per-test timeout and memory limit.
//!
//! Every failure is one [`Error`].

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
mod error;
pub mod input;
pub mod plugin;
pub mod rules;
pub mod testrunner;

pub use error::{Error, Result, SchemaViolation};

/// Runs `f` on a fresh thread with a stack large enough for the sandbox's deepest stack limit
/// ([`sandvm::MAX_STACK`] plus room for host code), and returns its result. Useful for callers
/// whose own thread has a small stack (test harness threads have 2 MiB).
///
/// # Errors
/// [`Error::Sandbox`] with [`sandvm::Error::EngineInit`] when the thread cannot be started,
/// [`sandvm::Error::JobPanicked`] when it panics.
pub fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    std::thread::Builder::new()
        .name("sandvm-apps".into())
        .stack_size(sandvm::MAX_STACK * 2 + 8 * 1024 * 1024)
        .spawn(f)
        .map_err(|e| Error::Sandbox(sandvm::Error::EngineInit { what: "a thread".into(), message: e.to_string() }))?
        .join()
        .map_err(|_| Error::Sandbox(sandvm::Error::JobPanicked { message: "the worker thread panicked".into() }))
}

/// A fresh unguessable token (128 bits from the standard library's randomly seeded hasher
/// keys) that internal hooks installed into a guest context require as their first argument,
/// so guest code that finds a hook on the global object cannot call it. The token lives only in
/// the host and in a closure of the prelude that checks it.
pub(crate) fn secret_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let part = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.write_u128(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", part(1), part(2))
}
