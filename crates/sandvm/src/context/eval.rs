//! The entry points that run guest code: `eval`, modules, compiled scripts, calls and
//! compiled functions. Each is one run of [`super::run`].

use std::sync::Arc;

use rquickjs::{qjs, Ctx, Persistent, Value};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::run::{call_value, Post};
use super::{caught, host, Completion, Context, Want};
use crate::error_info::exception_to_error;
use crate::raw::{self, RawResult};
use crate::script::{compile, SourceKind};
use crate::{Error, Result, Script};

/// Per-call options of [`Context::eval_with`].
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// File name for stack traces. By default, the context's file name.
    pub filename: Option<String>,
    /// Allow top-level `await` (the script runs as an async script and its completion value is
    /// awaited). Needs the `eval` intrinsic. By default, `false`.
    pub top_level_await: bool,
    /// The source's language. By default, [`crate::Language::JavaScript`];
    /// [`crate::Language::TypeScript`] strips types first (the `typescript` cargo feature) and
    /// maps error positions back.
    pub language: crate::Language,
}

/// A function compiled with [`Context::compile_function`] (like node's `vm.compileFunction`).
#[derive(Debug, Clone)]
pub struct CompiledFunction {
    id: u64,
    bytecode: Arc<Vec<u8>>,
}

static NEXT_FN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Context {
    /// Evaluates a classic script (sloppy mode unless the context is strict) and returns its
    /// completion value. Top-level `var` and `function` declarations become properties of the
    /// global object; `let`/`const`/`class` stay visible to later runs but are not properties.
    ///
    /// # Errors
    /// [`Error::Syntax`], [`Error::Exception`], or a limit: [`Error::Timeout`],
    /// [`Error::MemoryLimit`], [`Error::StackOverflow`], [`Error::OutputLimit`],
    /// [`Error::JobLimit`]; [`Error::Cancelled`]; [`Error::Unsettled`] when the completion value
    /// is a promise that never settles.
    pub fn eval(&self, source: &str) -> Result<Completion> {
        self.eval_with(source, &EvalOptions::default())
    }

    /// Evaluates a classic script with per-call options (file name, top-level `await`).
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn eval_with(&self, source: &str, opts: &EvalOptions) -> Result<Completion> {
        self.eval_wanting(source, opts, Want::ALL)
    }

    /// As [`Context::eval_with`], producing only the parts of the [`Completion`] that `want`
    /// asks for (the others stay `None` / empty): rendering `display` and copying `value` can
    /// cost more than a small run itself.
    ///
    /// ```
    /// # fn main() -> sandvm::Result<()> {
    /// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    /// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    /// let done = ctx.eval_wanting("[1, 2].length", &Default::default(), sandvm::Want::VALUE)?;
    /// assert_eq!((done.value, done.display.as_str()), (Some(serde_json::json!(2)), ""));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn eval_wanting(&self, source: &str, opts: &EvalOptions, want: Want) -> Result<Completion> {
        if opts.language != crate::Language::JavaScript || self.options.modules.is_some() {
            if let Some(done) = crate::language::eval(self, source, opts, want) {
                return done;
            }
        }
        self.eval_js(source, opts, want)
    }

    /// [`Context::eval_wanting`] of JavaScript source.
    pub(crate) fn eval_js(&self, source: &str, opts: &EvalOptions, want: Want) -> Result<Completion> {
        let strict = self.options.strict;
        let filename = opts.filename.clone().unwrap_or_else(|| self.options.filename.clone());
        let tla = opts.top_level_await;
        if tla && !self.options.intrinsics.eval {
            return Err(Error::invalid("top_level_await", "needs the eval intrinsic"));
        }
        if self.options.intrinsics.eval {
            let c = self.execute_with(if tla { Post::UnwrapValue } else { Post::None }, want, |ctx, _| {
                let mut flags = qjs::JS_EVAL_TYPE_GLOBAL as i32;
                if tla {
                    flags |= qjs::JS_EVAL_FLAG_ASYNC as i32;
                } else {
                    flags |= qjs::JS_EVAL_FLAG_COMPILE_ONLY as i32;
                }
                if strict {
                    flags |= qjs::JS_EVAL_FLAG_STRICT as i32;
                }
                if tla {
                    // Async scripts compile and start in one step; a SyntaxError thrown here
                    // can only come from parsing.
                    return match raw::eval(ctx, source, &filename, flags) {
                        Ok(p) => Ok(Ok(p)),
                        Err(e) => {
                            let is_syntax = e
                                .as_object()
                                .map(|o| o.get::<_, String>("name").ok().as_deref() == Some("SyntaxError"))
                                .unwrap_or(false)
                                && e.is_error();
                            if is_syntax {
                                Err(crate::error_info::with_source(exception_to_error(ctx, e, true), source))
                            } else {
                                Ok(Err(e))
                            }
                        }
                    };
                }
                if source.len() > crate::script::MAX_SOURCE {
                    return Err(Error::SourceTooLarge { len: source.len(), max: crate::script::MAX_SOURCE });
                }
                match raw::eval(ctx, source, &filename, flags) {
                    Ok(func) => Ok(raw::eval_function(ctx, &func)),
                    Err(e) => Err(crate::error_info::with_source(exception_to_error(ctx, e, true), source)),
                }
            })?;
            Ok(c)
        } else {
            let bytes = compile(source, &filename, strict, SourceKind::Script)?;
            self.execute_with(Post::None, want, |ctx, _| match raw::read_bytecode(ctx, &bytes) {
                Ok(func) => Ok(raw::eval_function(ctx, &func)),
                Err(e) => Ok(Err(e)),
            })
        }
    }

    /// Runs ES module source as the entry module named `name` and returns its namespace (the
    /// exports) as the value. Top-level `await` works within the limits. Imports are resolved
    /// by the context's [`crate::ModuleConfig`] (relative specifiers against `name`); without
    /// one, any import fails with [`Error::ModuleNotAllowed`].
    ///
    /// # Errors
    /// As [`Context::eval`], plus [`Error::ModuleNotFound`] and [`Error::ModuleNotAllowed`].
    pub fn run_module(&self, source: &str, name: &str) -> Result<Completion> {
        if crate::Language::from_path(name) != crate::Language::JavaScript || self.options.modules.is_some() {
            if let Some(done) = crate::language::run_module(self, source, name) {
                return done;
            }
        }
        self.run_module_js(source, name)
    }

    /// [`Context::run_module`] of JavaScript source.
    pub(crate) fn run_module_js(&self, source: &str, name: &str) -> Result<Completion> {
        if source.len() > crate::script::MAX_SOURCE {
            return Err(Error::SourceTooLarge { len: source.len(), max: crate::script::MAX_SOURCE });
        }
        if !self.options.intrinsics.eval {
            // Compile in the per-thread compiler, load the bytecode here.
            let bytes = compile(source, name, true, SourceKind::Module)?;
            return self.run_compiled_module(|ctx| raw::read_bytecode(ctx, &bytes));
        }
        self.run_compiled_module(|ctx| {
            let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
            raw::eval(ctx, source, name, flags)
        })
    }

    pub(super) fn run_compiled_module(
        &self,
        compile_fn: impl for<'js> FnOnce(&Ctx<'js>) -> RawResult<'js>,
    ) -> Result<Completion> {
        let module_ptr = std::cell::Cell::new(0usize);
        let mp = &module_ptr;
        // First step: compile (a syntax error is a syntax error), keep the module pointer.
        self.execute_with(Post::Namespace(mp), Want::ALL, move |ctx, _| {
            let m = match compile_fn(ctx) {
                Ok(m) => m,
                Err(e) => return Err(exception_to_error(ctx, e, true)),
            };
            // SAFETY: a compiled module value holds its JSModuleDef pointer.
            mp.set(unsafe { qjs::JS_VALUE_GET_PTR(m.as_raw()) } as usize);
            Ok(raw::eval_function(ctx, &m))
        })
    }

    /// Evaluates and deserializes the completion value into `T`.
    ///
    /// # Errors
    /// As [`Context::eval`], plus [`Error::Host`] when the value does not deserialize into `T`.
    pub fn eval_as<T: DeserializeOwned>(&self, source: &str) -> Result<T> {
        let c = self.eval(source)?;
        serde_json::from_value(c.value.unwrap_or(Json::Null)).map_err(host)
    }

    /// Runs a compiled [`Script`]. The script is loaded into this context once and reused.
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn run(&self, script: &Script) -> Result<Completion> {
        self.run_wanting(script, Want::ALL)
    }

    /// As [`Context::run`], producing only the parts of the [`Completion`] that `want` asks
    /// for (see [`Context::eval_wanting`]); [`Want::NONE`] runs the script for its effects.
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn run_wanting(&self, script: &Script, want: Want) -> Result<Completion> {
        let inner = script.inner.clone();
        self.execute_with(Post::None, want, move |ctx, loaded| {
            let func = match loaded.scripts.get(&inner.id) {
                Some(p) => p.clone().restore(ctx).map_err(host)?,
                None => match raw::read_bytecode(ctx, &inner.bytecode) {
                    Ok(f) => {
                        loaded.scripts.insert(inner.id, Persistent::save(ctx, f.clone()));
                        f
                    }
                    Err(e) => return Ok(Err(e)),
                },
            };
            Ok(raw::eval_function(ctx, &func))
        })
        .map_err(|e| crate::language::remap_loaded(self, e))
    }

    /// Calls the global function `name` with copies of `args`.
    ///
    /// # Errors
    /// [`Error::NotAFunction`] when `name` is not a function; otherwise as [`Context::eval`].
    pub fn call(&self, name: &str, args: &[Json]) -> Result<Completion> {
        self.execute(|ctx, _| {
            let f: Value = match ctx.globals().get(name) {
                Ok(f) => f,
                Err(e) => return caught(ctx, e),
            };
            call_value(ctx, &f, args, name)
        })
        .map_err(|e| crate::language::remap_loaded(self, e))
    }

    /// Compiles a function from parameter names and a body, like node's `vm.compileFunction`.
    /// The body is checked to be exactly one function body (it cannot close the function and
    /// run code around it). Line numbers in errors are relative to the body.
    ///
    /// # Errors
    /// [`Error::Syntax`] when the body does not parse; [`Error::InvalidArgument`] for a parameter that is
    /// not an identifier.
    pub fn compile_function(&self, params: &[&str], body: &str) -> Result<CompiledFunction> {
        for p in params {
            let ok = !p.is_empty()
                && p.chars()
                    .enumerate()
                    .all(|(i, c)| c == '_' || c == '$' || c.is_alphabetic() || (i > 0 && c.is_alphanumeric()));
            if !ok {
                return Err(Error::invalid("params", format!("invalid parameter name {p:?}")));
            }
        }
        let source: Arc<str> = format!("(function anonymous({}\n) {{\n{}\n}})", params.join(","), body).into();
        // Parse now so that syntax errors surface here.
        let bytecode =
            compile(&source, "<function>", self.options.strict, SourceKind::Script).map_err(|e| match e {
                Error::Syntax { message, line, column, incomplete_input } => {
                    Error::Syntax { message, line: line.map(|l| l.saturating_sub(2).max(1)), column, incomplete_input }
                }
                other => other,
            })?;
        self.check_single_function(&bytecode, &source[1..source.len() - 1])?;
        Ok(CompiledFunction {
            id: NEXT_FN.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bytecode: Arc::new(bytecode),
        })
    }

    /// Loads the compiled wrapper in a throwaway context of this runtime (under the limits)
    /// and checks that it is exactly one function whose text is `expected`: a body that closes
    /// the function early and runs code around it only ever runs in that throwaway realm.
    pub(super) fn check_single_function(&self, bytecode: &[u8], expected: &str) -> Result<()> {
        self.runtime.refresh()?;
        let limits = self.runtime.limits();
        let (scratch, heap) = {
            let engine = self.runtime.engine();
            (rquickjs::Context::base(&engine.rt).map_err(host)?, engine.heap.clone())
        };
        let guard = self.runtime.begin_run(&limits)?;
        let ok = scratch.with(|c| {
            raw::update_stack_top(&c);
            match raw::read_bytecode(&c, bytecode).and_then(|f| raw::eval_function(&c, &f)) {
                Ok(v) => v.as_function().is_some_and(|f| raw::function_source(&c, f) == expected),
                Err(_) => false,
            }
        });
        let tripped = self.runtime.watch().tripped().error();
        drop(scratch);
        drop(guard);
        if let Some(e) = tripped.or(heap.refused().then_some(Error::MemoryLimit)) {
            self.runtime.mark_spent();
            return Err(e);
        }
        if !ok {
            return Err(Error::Syntax {
                message: "the body is not a single function body".into(),
                line: None,
                column: None,
                incomplete_input: false,
            });
        }
        Ok(())
    }

    /// Calls a function made by [`Context::compile_function`] with copies of `args`.
    ///
    /// # Errors
    /// As [`Context::eval`].
    pub fn call_function(&self, f: &CompiledFunction, args: &[Json]) -> Result<Completion> {
        self.execute(|ctx, loaded| {
            let func = match loaded.functions.get(&f.id) {
                Some(p) => p.clone().restore(ctx).map_err(host)?,
                None => {
                    let loaded_fn = match raw::read_bytecode(ctx, &f.bytecode) {
                        Ok(x) => x,
                        Err(e) => return Ok(Err(e)),
                    };
                    let v = match raw::eval_function(ctx, &loaded_fn) {
                        Ok(v) => v,
                        Err(e) => return Ok(Err(e)),
                    };
                    loaded.functions.insert(f.id, Persistent::save(ctx, v.clone()));
                    v
                }
            };
            call_value(ctx, &func, args, "compiled function")
        })
        .map_err(|e| crate::language::remap_loaded(self, e))
    }
}
