//! Options for contexts: intrinsics, strictness, lockdown, determinism.

use std::sync::Arc;

/// Which built-in objects a context gets. `Object`, `Function`, `Array`, `Error`, `Math`,
/// `JSON`, `Reflect`, `Symbol`, `BigInt`, iterators and generators are always present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intrinsics {
    /// `eval` and the `Function` constructor (also `(function(){}).constructor`). Off means
    /// the guest cannot compile code at run time; the host still can. By default, on (as in
    /// node:vm).
    pub eval: bool,
    /// `Date`. By default, on.
    pub date: bool,
    /// `Math.random`. By default, on.
    pub math_random: bool,
    /// `RegExp` and regexp literals. By default, on.
    pub regexp: bool,
    /// `Proxy`. By default, on.
    pub proxy: bool,
    /// `Map`, `Set`, `WeakMap`, `WeakSet`. By default, on.
    pub map_set: bool,
    /// `ArrayBuffer`, typed arrays, `DataView`, `Atomics`. By default, on.
    pub typed_arrays: bool,
    /// `Promise` (and so `async` functions). By default, on.
    pub promise: bool,
    /// `WeakRef` and `FinalizationRegistry` (their timing depends on the garbage collector).
    /// By default, on.
    pub weak_ref: bool,
    /// `performance.now()`, a high-resolution timer (a timing side channel). By default, off.
    pub performance: bool,
    /// `DOMException`. By default, off.
    pub dom_exception: bool,
}

impl Default for Intrinsics {
    fn default() -> Self {
        Intrinsics {
            eval: true,
            date: true,
            math_random: true,
            regexp: true,
            proxy: true,
            map_set: true,
            typed_arrays: true,
            promise: true,
            weak_ref: true,
            performance: false,
            dom_exception: false,
        }
    }
}

/// Where a deterministic context's clock reads the time.
#[derive(Clone)]
pub enum Clock {
    /// Always this many milliseconds since the Unix epoch.
    Fixed(f64),
    /// Asks the host each time (milliseconds since the Unix epoch).
    Host(Arc<dyn Fn() -> f64 + Send + Sync>),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clock::Fixed(ms) => write!(f, "Clock::Fixed({ms})"),
            Clock::Host(_) => f.write_str("Clock::Host(..)"),
        }
    }
}

/// Deterministic mode: the same code and inputs give the same output, byte for byte.
///
/// `Math.random` becomes a seeded generator, `Date` reads [`Clock`] and works in UTC
/// whatever the host's time zone, `performance`, `WeakRef` and `FinalizationRegistry` are
/// removed.
#[derive(Debug, Clone)]
pub struct Deterministic {
    /// Seed of `Math.random`. By default, 0.
    pub seed: u64,
    /// The clock. By default, fixed at 0 (1970-01-01T00:00:00Z).
    pub clock: Clock,
}

impl Default for Deterministic {
    fn default() -> Self {
        Deterministic { seed: 0, clock: Clock::Fixed(0.0) }
    }
}

/// How a [`crate::Context`] is built and how code runs in it. Builder-style:
///
/// ```
/// let opts = sandvm::ContextOptions::default().strict(true).freeze_intrinsics(true);
/// assert!(opts.is_strict());
/// ```
#[derive(Debug, Clone)]
pub struct ContextOptions {
    pub(crate) strict: bool,
    pub(crate) intrinsics: Intrinsics,
    pub(crate) freeze: bool,
    pub(crate) deterministic: Option<Deterministic>,
    pub(crate) console: bool,
    pub(crate) await_promise: bool,
    pub(crate) keep_after_interrupt: bool,
    pub(crate) filename: String,
    pub(crate) modules: Option<Arc<crate::ModuleConfig>>,
    pub(crate) capabilities: crate::Capabilities,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            strict: false,
            intrinsics: Intrinsics::default(),
            freeze: false,
            deterministic: None,
            console: true,
            await_promise: true,
            keep_after_interrupt: false,
            filename: "<eval>".into(),
            modules: None,
            capabilities: crate::Capabilities::none(),
        }
    }
}

impl ContextOptions {
    /// Evaluate source given to [`crate::Context::eval`] in strict mode. By default, `false`:
    /// sloppy mode, like node:vm.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }
    /// True when `eval` source is compiled in strict mode.
    pub fn is_strict(&self) -> bool {
        self.strict
    }
    /// Choose the built-in objects. By default, [`Intrinsics::default`].
    pub fn intrinsics(mut self, intrinsics: Intrinsics) -> Self {
        self.intrinsics = intrinsics;
        self
    }
    /// Freeze every intrinsic (SES-style lockdown) before guest code runs: prototype pollution
    /// of `Object.prototype`, `Array.prototype`, ... throws in strict code and is ignored in
    /// sloppy code, and the global bindings of intrinsics cannot be replaced. By default, `false`.
    pub fn freeze_intrinsics(mut self, on: bool) -> Self {
        self.freeze = on;
        self
    }
    /// Deterministic mode (see [`Deterministic`]). By default, off.
    pub fn deterministic(mut self, det: Option<Deterministic>) -> Self {
        self.deterministic = det;
        self
    }
    /// Give the guest a `console` whose output is captured (never printed by sandvm) and
    /// counted against the output limit. By default, `true`.
    pub fn console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }
    /// When the completion value is a promise, run the job queue until it settles and return
    /// its value (or its rejection as an error). By default, `true`.
    pub fn await_promise(mut self, on: bool) -> Self {
        self.await_promise = on;
        self
    }
    /// Keep the context's state after a timeout or cancellation (a REPL wants this). Memory
    /// and stack overflows always reset it. By default, `false`: any interrupted runtime is
    /// replaced, as the engine's state after an interrupt is not trusted.
    pub fn keep_after_interrupt(mut self, on: bool) -> Self {
        self.keep_after_interrupt = on;
        self
    }
    /// Where guest code may load modules from (ES `import`, `import()`, CommonJS `require`).
    /// By default, nowhere: every import fails with [`crate::Error::ModuleNotAllowed`].
    pub fn modules(mut self, config: crate::ModuleConfig) -> Self {
        self.modules = Some(Arc::new(config));
        self
    }

    /// Capability packs granted to guest code (timers, text encoding, URL, ...). By default,
    /// none.
    pub fn capabilities(mut self, caps: crate::Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// The file name used for [`crate::Context::eval`].
    pub fn filename_str(&self) -> &str {
        &self.filename
    }

    /// File name used in stack traces for [`crate::Context::eval`]. By default, `"<eval>"`.
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = name.into();
        self
    }
}
