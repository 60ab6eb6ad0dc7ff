//! A context's recorded setup and its replay.
//!
//! Everything the host installs into a context is recorded in order: globals
//! ([`Context::set_global`]), host functions ([`Context::register_fn`]), crate-internal native
//! installs (the REPL bridge) and setup steps that run guest code ([`Context::run_setup`]:
//! scripts, compiled scripts, modules, calls). When a run spends the engine (a limit, a
//! timeout, a cancellation) the runtime replaces it, and the context rebuilds itself on the
//! fresh engine: options first, then every recorded piece again, in order. Guest-made state
//! is gone; setup-made state is back; callers never re-install anything by hand.

use std::rc::Rc;
use std::sync::Arc;

use rquickjs::Ctx;
use serde_json::Value as Json;

use super::{Completion, Context, EvalOptions, HostFn};
use crate::{Error, Result, Script};

/// A crate-internal install that runs no guest code (the REPL bridge).
pub(crate) type Native = Rc<dyn for<'js> Fn(&Ctx<'js>) -> Result<()>>;

/// One recorded piece of a context's setup.
#[derive(Clone)]
pub(super) enum Setup {
    Global(String, Json),
    HostFn(String, HostFn),
    Native(String, Native),
    Run(SetupStep),
}

impl Setup {
    /// The name a later piece replaces this one by.
    fn key(&self) -> Option<&str> {
        match self {
            Setup::Global(n, _) | Setup::HostFn(n, _) => Some(n),
            Setup::Native(k, _) => Some(k),
            Setup::Run(s) => s.key.as_deref(),
        }
    }
}

/// A setup step that runs guest code in a context: recorded by [`Context::run_setup`] and run
/// again, in the order recorded, whenever the context is rebuilt on a fresh engine (after a
/// run hit the memory, stack, output or job limit, timed out or was cancelled).
///
/// ```
/// # fn main() -> sandvm::Result<()> {
/// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
/// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
/// ctx.run_setup(sandvm::SetupStep::script("var helpers = { twice: x => 2 * x }", "<setup>"))?;
/// ctx.eval("var scratch = 1")?;
/// assert_eq!(ctx.eval("function f() { return f() } f()"), Err(sandvm::Error::StackOverflow));
/// // A fresh engine: the setup ran again, the guest's own state is gone.
/// assert_eq!(ctx.eval("helpers.twice(21)")?.display, "42");
/// assert_eq!(ctx.eval("typeof scratch")?.display, "'undefined'");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SetupStep {
    what: Step,
    key: Option<String>,
}

#[derive(Debug, Clone)]
enum Step {
    Eval { source: Arc<str>, filename: String },
    Script(Script),
    Module { source: Arc<str>, name: String },
    Call { name: String, args: Arc<[Json]> },
}

impl SetupStep {
    /// A classic script, evaluated like [`Context::eval_with`] with this file name.
    pub fn script(source: &str, filename: &str) -> SetupStep {
        SetupStep { what: Step::Eval { source: source.into(), filename: filename.into() }, key: None }
    }

    /// A compiled [`Script`], run like [`Context::run`] (compiled once, however often replayed).
    pub fn compiled(script: &Script) -> SetupStep {
        SetupStep { what: Step::Script(script.clone()), key: None }
    }

    /// ES module source run as the entry module `name`, like [`Context::run_module`].
    pub fn module(source: &str, name: &str) -> SetupStep {
        SetupStep { what: Step::Module { source: source.into(), name: name.into() }, key: None }
    }

    /// A call of the global function `name` with copies of `args`, like [`Context::call`].
    pub fn call(name: &str, args: &[Json]) -> SetupStep {
        SetupStep { what: Step::Call { name: name.into(), args: args.into() }, key: None }
    }

    /// Names the step: recording a step with the same key (or a global or host function of
    /// that name) replaces the earlier one in its place in the order, and
    /// [`Context::remove_setup`] can drop it. By
    /// default, a step has no key and is only ever added.
    pub fn key(mut self, key: &str) -> SetupStep {
        self.key = Some(key.into());
        self
    }

    /// What the step is, for error messages: `script <filename>`, `module <name>`, `call
    /// <name>`.
    pub fn describe(&self) -> String {
        match &self.what {
            Step::Eval { filename, .. } => format!("script {filename}"),
            Step::Script(s) => format!("script {}", s.filename()),
            Step::Module { name, .. } => format!("module {name}"),
            Step::Call { name, .. } => format!("call {name}"),
        }
    }
}

impl Context {
    /// Runs `step` now, as one run under the runtime's limits, and when it succeeds records it
    /// as part of the context's setup: whenever the context is rebuilt on a fresh engine, its
    /// recorded globals, host functions and steps run again in the order they were recorded,
    /// each as a run of its own under the runtime's limits at that time, before the run that
    /// found the engine replaced (console output of replayed steps is dropped: it was seen
    /// when they first ran). A step that fails is not recorded.
    ///
    /// # Errors
    /// As the entry point the step stands for ([`Context::eval_with`], [`Context::run`],
    /// [`Context::run_module`], [`Context::call`]); [`Error::SetupFailed`] when an earlier step
    /// failed while being replayed.
    pub fn run_setup(&self, step: SetupStep) -> Result<Completion> {
        let done = self.run_step(&step)?;
        self.record(Setup::Run(step));
        Ok(done)
    }

    /// Drops the recorded setup piece named `key` (a keyed [`SetupStep`], a global or a host
    /// function): later rebuilds no longer replay it. What it did in the live context stays
    /// until the next rebuild. Returns whether there was one.
    pub fn remove_setup(&self, key: &str) -> bool {
        let mut setup = self.setup.borrow_mut();
        let before = setup.len();
        setup.retain(|s| s.key() != Some(key));
        setup.len() != before
    }

    /// Records a piece of setup. A piece with the key of an earlier one takes its place in the
    /// order (so repeated updates do not pile up, and steps recorded after it still see it
    /// first); any other piece goes last.
    pub(super) fn record(&self, s: Setup) {
        let mut setup = self.setup.borrow_mut();
        let at = s.key().and_then(|key| setup.iter().position(|e| e.key() == Some(key)));
        match at {
            // At most one piece per key: this replaces it.
            Some(i) => setup[i] = s,
            None => setup.push(s),
        }
    }

    /// Applies a native install now and records it for rebuilds.
    pub(crate) fn add_native_setup(&self, key: &str, f: Native) -> Result<()> {
        self.add_setup(Setup::Native(key.into(), f))
    }

    fn run_step(&self, step: &SetupStep) -> Result<Completion> {
        match &step.what {
            Step::Eval { source, filename } => self.eval_with(
                source,
                &EvalOptions { filename: Some(filename.clone()), top_level_await: false, ..Default::default() },
            ),
            Step::Script(s) => self.run(s),
            Step::Module { source, name } => self.run_module(source, name),
            Step::Call { name, args } => self.call(name, args),
        }
    }

    /// Replays the recorded setup on a context just rebuilt for `generation`. Pieces that run
    /// no guest code go straight in; steps are runs of their own. Fails with
    /// [`Error::SetupFailed`] at the first step that fails, or when a step spent the engine
    /// again.
    pub(super) fn replay(&self, generation: u64) -> Result<()> {
        let setup = self.setup.borrow().clone();
        for (i, s) in setup.iter().enumerate() {
            let failed = |e: Error| Error::SetupFailed { step: i, what: describe(s), source: Box::new(e) };
            match s {
                Setup::Run(step) => {
                    self.run_step(step).map_err(failed)?;
                }
                other => {
                    let st = self.state.borrow();
                    let st = st.as_ref().ok_or_else(|| failed(Error::init("a context", "its state is missing")))?;
                    st.ctx.with(|ctx| self.apply(&ctx, other)).map_err(failed)?;
                }
            }
            if self.runtime.is_spent() || self.runtime.generation() != generation {
                // It ran, but left the engine spent (say, an allocation it caught was
                // refused): the next run starts over.
                return Err(failed(Error::MemoryLimit));
            }
        }
        Ok(())
    }
}

fn describe(s: &Setup) -> String {
    match s {
        Setup::Global(n, _) => format!("global {n}"),
        Setup::HostFn(n, _) => format!("host function {n}"),
        Setup::Native(n, _) => format!("install {n}"),
        Setup::Run(step) => step.describe(),
    }
}
