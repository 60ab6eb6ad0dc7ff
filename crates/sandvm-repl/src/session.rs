//! A REPL session: one runtime and context whose state persists across lines.

use std::collections::BTreeSet;

use sandvm::{
    CancelHandle, ConsoleEntry, Context, ContextOptions, Deterministic, Error, EvalOptions, InspectOptions, Intrinsics,
    Limits, ReplBridge, ReplLine, Runtime, Stats,
};
use serde_json::Value as Json;

use crate::classify::{declared_names, looks_like_object_literal, mentions_await};
use crate::complete::{candidates, completion_target, KEYWORDS};
use crate::ReplError;

/// How a session's sandbox is set up.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Limits of every line (changeable later with [`Session::set_limits`]).
    pub limits: Limits,
    /// Evaluate in strict mode (default: sloppy, like node's REPL).
    pub strict: bool,
    /// Freeze the intrinsics before the first line.
    pub freeze: bool,
    /// Deterministic mode (seeded `Math.random`, fixed clock).
    pub deterministic: Option<Deterministic>,
    /// The guest's `eval` and `Function` (the REPL itself can always evaluate lines).
    pub eval: bool,
    /// Render values with ANSI colours.
    pub colors: bool,
    /// Globals defined from JSON before the first line (they survive `.clear` and resets).
    pub globals: Vec<(String, Json)>,
    /// Where `import`/`require` may load modules from. By default, nowhere.
    pub modules: Option<sandvm::ModuleConfig>,
    /// Capability packs (timers, URL, ...). By default, none.
    pub capabilities: sandvm::Capabilities,
    /// The language of the inputs. By default, JavaScript; TypeScript (`sandvm repl --ts`,
    /// needs the `typescript` cargo feature) strips each input's types, never checks them,
    /// and still tells an incomplete input from a wrong one.
    pub language: sandvm::Language,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: Limits::default(),
            strict: false,
            freeze: false,
            deterministic: None,
            eval: true,
            colors: false,
            globals: Vec::new(),
            modules: None,
            capabilities: sandvm::Capabilities::none(),
            language: sandvm::Language::JavaScript,
        }
    }
}

/// What evaluating one input produced.
#[derive(Debug, Clone, PartialEq)]
pub enum LineResult {
    /// The completion value, rendered like `util.inspect` (`undefined` for statements).
    Value(String),
    /// The input ends before the statement does: read another line and try again.
    Incomplete,
    /// The input failed: a syntax error, an uncaught exception or a limit.
    Error {
        /// What went wrong.
        error: Error,
        /// The run spent the engine (memory, stack, output or job limit) and the context was
        /// rebuilt: declarations of earlier lines are gone.
        reset: bool,
    },
}

/// The console output and result of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct LineOutcome {
    /// Console lines printed by the input, in order.
    pub console: Vec<ConsoleEntry>,
    /// The result.
    pub result: LineResult,
}

/// One REPL session: a runtime and a context that keep their state between inputs.
///
/// `var`, `let`, `const`, `function` and `class` declarations persist; `_` holds the real
/// last value (same object, functions included) and `_error` the last uncaught error.
/// Timeouts and cancellations keep the context; memory, stack, output and job limits reset it.
pub struct Session {
    config: SessionConfig,
    rt: Runtime,
    ctx: Context,
    bridge: ReplBridge,
    inputs: u64,
    declared: BTreeSet<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("config", &self.config).field("inputs", &self.inputs).finish_non_exhaustive()
    }
}

fn context_options(c: &SessionConfig) -> ContextOptions {
    let base = match &c.modules {
        Some(m) => ContextOptions::default().modules(m.clone()),
        None => ContextOptions::default(),
    };
    base.capabilities(c.capabilities.clone())
        .strict(c.strict)
        .freeze_intrinsics(c.freeze)
        .deterministic(c.deterministic.clone())
        .intrinsics(Intrinsics { eval: c.eval, ..Default::default() })
        .keep_after_interrupt(true)
        .filename("REPL")
}

impl Session {
    /// Creates the runtime and the context.
    ///
    /// # Errors
    /// [`ReplError::Engine`] when the sandbox cannot be created (e.g. a memory limit too
    /// small for a context) or a global cannot be defined.
    pub fn new(config: SessionConfig) -> Result<Session, ReplError> {
        let rt = Runtime::new(config.limits.clone())?;
        let ctx = Self::make_context(&rt, &config)?;
        let inspect = InspectOptions { colors: config.colors, ..InspectOptions::default() };
        let bridge = ReplBridge::new(inspect);
        bridge.install(&ctx)?;
        Ok(Session { config, rt, ctx, bridge, inputs: 0, declared: BTreeSet::new() })
    }

    fn make_context(rt: &Runtime, config: &SessionConfig) -> Result<Context, ReplError> {
        let ctx = Context::new(rt, context_options(config))?;
        for (name, value) in &config.globals {
            ctx.set_global(name, value)?;
        }
        Ok(ctx)
    }

    /// The configuration the session was made with (limits as first given).
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Evaluates one input (possibly several lines).
    pub fn eval(&mut self, source: &str) -> LineOutcome {
        self.inputs += 1;
        let filename = format!("REPL{}", self.inputs);
        let result = self.eval_inner(source, &filename);
        let console = self.ctx.take_console();
        // The core's answer: a spent engine is replaced before the next run, and the context
        // comes back with its recorded setup (globals, the bridge) and nothing the lines made.
        let reset = self.rt.is_spent();
        if reset {
            self.declared.clear();
        }
        let result = match result {
            Ok(shown) => {
                let used: usize = console.iter().map(|c| c.text.len()).sum();
                if used.saturating_add(shown.len()) > self.rt.limits().max_output {
                    LineResult::Error { error: Error::OutputLimit, reset }
                } else {
                    self.declared.extend(declared_names(source));
                    LineResult::Value(shown)
                }
            }
            Err(Error::Syntax { incomplete_input: true, .. }) => LineResult::Incomplete,
            Err(error) => {
                if !matches!(error, Error::Syntax { .. }) && !reset {
                    self.declared.extend(declared_names(source));
                }
                LineResult::Error { error, reset }
            }
        };
        LineOutcome { console, result }
    }

    fn eval_inner(&mut self, source: &str, filename: &str) -> Result<String, Error> {
        let tla = mentions_await(source);
        let mut tries = Vec::with_capacity(2);
        if looks_like_object_literal(source) {
            tries.push(format!("({source})"));
        }
        tries.push(source.to_string());
        let last = tries.len() - 1;
        for (i, candidate) in tries.iter().enumerate() {
            match self.bridge.eval_line_in(&self.ctx, candidate, filename, tla, self.config.language)? {
                ReplLine::SyntaxError if i < last => continue,
                ReplLine::SyntaxError => {
                    // Nothing ran. Ask the core for the syntax error: it knows whether the
                    // input is merely incomplete. (It does not parse, so it cannot run.)
                    let opts = EvalOptions {
                        filename: Some(filename.to_string()),
                        top_level_await: tla && self.config.eval,
                        language: self.config.language,
                    };
                    return self.ctx.eval_with(candidate, &opts).map(|c| c.display);
                }
                ReplLine::Value(shown) => return Ok(shown),
            }
        }
        Err(Error::Host("nothing to evaluate".into()))
    }

    /// Completion candidates for the text of `line` before byte `pos`: `(start, candidates)`,
    /// each candidate replacing `line[start..pos]`. Computed inside the sandbox through own
    /// data properties only: no getter, Proxy trap or other guest code runs.
    pub fn complete(&mut self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let Some(before) = line.get(..pos) else {
            return (pos, Vec::new());
        };
        if let Some(found) = crate::command::complete_command(before) {
            return found;
        }
        let Some(target) = completion_target(line, pos) else {
            return (pos, Vec::new());
        };
        let mut names = self.ctx.property_names(&target.path).unwrap_or_default();
        if target.path.is_empty() {
            names.extend(self.declared.iter().cloned());
            names.extend(KEYWORDS.iter().map(|k| k.to_string()));
        }
        (target.start, candidates(&target, names))
    }

    /// Replaces the context with a fresh one (`.clear`); the limits stay.
    ///
    /// # Errors
    /// [`ReplError::Engine`] when the new context cannot be created.
    pub fn clear(&mut self) -> Result<(), ReplError> {
        self.ctx = Self::make_context(&self.rt, &self.config)?;
        self.declared.clear();
        self.bridge.install(&self.ctx)?;
        Ok(())
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.rt.limits()
    }

    /// Changes the limits (from the next input on).
    pub fn set_limits(&mut self, limits: Limits) {
        self.rt.set_limits(limits);
    }

    /// Measurements of the last input.
    pub fn stats(&self) -> Stats {
        self.ctx.stats()
    }

    /// A handle that interrupts the running input from another thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.rt.cancel_handle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn session() -> Session {
        Session::new(SessionConfig::default()).expect("session")
    }

    fn with(config: SessionConfig) -> Session {
        Session::new(config).expect("session")
    }

    /// Evaluates and returns the rendered value, failing the test on anything else.
    fn val(s: &mut Session, src: &str) -> String {
        match s.eval(src).result {
            LineResult::Value(v) => v,
            other => panic!("{src:?}: expected a value, got {other:?}"),
        }
    }

    fn err(s: &mut Session, src: &str) -> (Error, bool) {
        match s.eval(src).result {
            LineResult::Error { error, reset } => (error, reset),
            other => panic!("{src:?}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn declarations_persist() {
        let mut s = session();
        val(&mut s, "var v = 1; let l = 2; const c = 3; class K { m() { return 4 } }; function f() { return 5 }");
        assert_eq!(val(&mut s, "v + l + c + new K().m() + f()"), "15");
        // Redeclaring a `let` is an error, as in node's REPL.
        let (e, _) = err(&mut s, "let l = 9");
        assert!(matches!(e, Error::Syntax { .. } | Error::Exception { .. }), "{e:?}");
    }

    #[test]
    fn underscore_is_the_real_last_value() {
        let mut s = session();
        val(&mut s, "var o = { x: 1 }");
        val(&mut s, "o");
        assert_eq!(val(&mut s, "_ === o"), "true");
        val(&mut s, "function foo() {}; foo");
        assert_eq!(val(&mut s, "_ === foo"), "true");
        val(&mut s, "40 + 2");
        assert_eq!(val(&mut s, "_"), "42");
    }

    #[test]
    fn error_then_underscore_error() {
        let mut s = session();
        let (e, reset) = err(&mut s, "throw new TypeError('boom')");
        assert!(!reset);
        assert!(
            matches!(&e, Error::Exception { name: Some(n), message, .. } if n == "TypeError" && message == "boom"),
            "{e:?}"
        );
        assert_eq!(val(&mut s, "_error instanceof TypeError && _error.message === 'boom'"), "true");
        let (e, _) = err(&mut s, "null.x");
        assert!(matches!(&e, Error::Exception { name: Some(n), .. } if n == "TypeError"), "{e:?}");
        assert_eq!(val(&mut s, "_error instanceof TypeError"), "true");
        let (e, _) = err(&mut s, "await Promise.reject(new RangeError('late'))");
        assert!(matches!(&e, Error::Exception { name: Some(n), .. } if n == "RangeError"), "{e:?}");
        assert_eq!(val(&mut s, "_error instanceof RangeError && _error.message === 'late'"), "true");
    }

    #[test]
    fn top_level_await() {
        let mut s = session();
        assert_eq!(val(&mut s, "await Promise.resolve(5)"), "5");
        val(&mut s, "const z = await Promise.resolve(6)");
        assert_eq!(val(&mut s, "z * 7"), "42");
        assert_eq!(val(&mut s, "_"), "42");
        val(&mut s, "let w = await 1; w");
        assert_eq!(val(&mut s, "typeof _ === 'number' && _ === w"), "true");
    }

    #[test]
    fn incomplete_input_is_detected_by_the_parser() {
        let mut s = session();
        for src in ["function f() {", "`abc", "1 +", "let o = {", "[1,", "if (true)", "await new Promise(r => {"] {
            assert_eq!(s.eval(src).result, LineResult::Incomplete, "{src:?}");
        }
        assert_eq!(val(&mut s, "function f() {\n  return 41 +\n1 }"), "undefined");
        assert_eq!(val(&mut s, "f()"), "42");
        let (e, _) = err(&mut s, "a +* 2");
        assert!(matches!(e, Error::Syntax { incomplete_input: false, .. }), "{e:?}");
    }

    #[test]
    fn braces_are_an_object_literal_first() {
        let mut s = session();
        val(&mut s, "{ a: 1 }");
        assert_eq!(val(&mut s, "typeof _ === 'object' && _.a === 1"), "true");
        // A block statement still works when the object form does not parse.
        assert_eq!(val(&mut s, "{ let q = 2; q * 3 }"), "6");
    }

    #[test]
    fn timeout_and_cancel_keep_the_context() {
        let limits = Limits { timeout: Some(Duration::from_millis(100)), ..Limits::default() };
        let mut s = with(SessionConfig { limits, ..SessionConfig::default() });
        val(&mut s, "var keep = 7; let lex = 8");
        let (e, reset) = err(&mut s, "while (true) {}");
        assert_eq!((e, reset), (Error::Timeout, false));
        assert_eq!(val(&mut s, "keep + lex"), "15");

        s.set_limits(Limits { timeout: None, ..Limits::default() });
        let cancel = s.cancel_handle();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        });
        let (e, reset) = err(&mut s, "for (;;) {}");
        t.join().unwrap();
        assert_eq!((e, reset), (Error::Cancelled, false));
        assert_eq!(val(&mut s, "keep + lex"), "15");
    }

    #[test]
    fn memory_and_stack_overflows_reset_the_context() {
        let limits = Limits { memory: 16 * 1024 * 1024, ..Limits::default() };
        let globals = vec![("seed".to_string(), json!(7))];
        let mut s = with(SessionConfig { limits, globals, ..SessionConfig::default() });
        val(&mut s, "var keep = 1; seed = 8");
        let (e, reset) = err(&mut s, "let a = []; while (true) a.push(new Array(1e5).fill(1.5))");
        assert_eq!((e, reset), (Error::MemoryLimit, true));
        assert_eq!(val(&mut s, "typeof keep"), val(&mut s, "typeof undefined"));
        // The session's globals are back as configured (the core replayed them).
        assert_eq!(val(&mut s, "seed"), "7");
        // The REPL machinery is back: `_` works on the rebuilt context.
        val(&mut s, "[1, 2]");
        assert_eq!(val(&mut s, "_.length"), "2");
        val(&mut s, "var keep = 2");
        let (e, reset) = err(&mut s, "function r() { return r() + 1 } r()");
        assert_eq!((e, reset), (Error::StackOverflow, true));
        assert_eq!(val(&mut s, "typeof keep === 'undefined'"), "true");
    }

    #[test]
    fn output_limit_counts_the_rendered_value() {
        let limits = Limits { max_output: 100, ..Limits::default() };
        let mut s = with(SessionConfig { limits, ..SessionConfig::default() });
        let (e, _) = err(&mut s, "'x'.repeat(1000)");
        assert_eq!(e, Error::OutputLimit);
        assert_eq!(val(&mut s, "1 + 1"), "2");
    }

    #[test]
    fn console_output_is_returned() {
        let mut s = session();
        let out = s.eval("console.log('hi', 1); console.error('bad'); 3");
        assert_eq!(out.result, LineResult::Value("3".into()));
        assert_eq!(out.console.len(), 2);
        assert_eq!(out.console[0].text, "hi 1");
        assert_eq!(out.console[1].level, sandvm::ConsoleLevel::Error);
    }

    #[test]
    fn the_bridge_is_not_a_capability() {
        let mut s = with(SessionConfig { eval: false, ..SessionConfig::default() });
        let (e, _) = err(&mut s, "__sandvm_repl__('1 + 1', 'x', false)");
        assert!(matches!(&e, Error::Exception { name: Some(n), .. } if n == "TypeError"), "{e:?}");
        // From inside a running line, too (the REPL disarms it before the line runs).
        let (e, _) = err(&mut s, "globalThis['__sandvm_repl__']('1', 'x', false)");
        assert!(matches!(&e, Error::Exception { name: Some(n), .. } if n == "TypeError"), "{e:?}");
        // It cannot be replaced or deleted (sloppy mode: silently ignored).
        val(&mut s, "__sandvm_repl__ = function () { return 'pwned' }; delete globalThis.__sandvm_repl__");
        assert_eq!(val(&mut s, "1 + 2"), "3");
        assert_eq!(val(&mut s, "Object.keys(globalThis).includes('__sandvm_repl__')"), "false");
    }

    #[test]
    fn without_guest_eval_the_repl_still_works() {
        let mut s = with(SessionConfig { eval: false, ..SessionConfig::default() });
        let (e, _) = err(&mut s, "eval('1')");
        assert!(matches!(e, Error::Exception { .. }), "{e:?}");
        val(&mut s, "let q = 5; class C {}");
        assert_eq!(val(&mut s, "q + (typeof C === 'function' ? 1 : 0)"), "6");
        assert_eq!(val(&mut s, "await Promise.resolve(3)"), "3");
        val(&mut s, "[7]");
        assert_eq!(val(&mut s, "_[0]"), "7");
        assert_eq!(s.eval("function f() {").result, LineResult::Incomplete);
        let (e, _) = err(&mut s, "a +* 2");
        assert!(matches!(e, Error::Syntax { incomplete_input: false, .. }), "{e:?}");
    }

    #[test]
    fn strict_freeze_and_deterministic_modes() {
        let mut s = with(SessionConfig {
            strict: true,
            freeze: true,
            deterministic: Some(Deterministic::default()),
            ..SessionConfig::default()
        });
        let (e, _) = err(&mut s, "undeclared = 1");
        assert!(matches!(&e, Error::Exception { name: Some(n), .. } if n == "ReferenceError"), "{e:?}");
        assert_eq!(val(&mut s, "Date.now()"), "0");
        assert_eq!(val(&mut s, "Object.isFrozen(Array.prototype)"), "true");
        val(&mut s, "let x = 2");
        assert_eq!(val(&mut s, "x"), "2");
    }

    #[test]
    fn clear_gives_a_fresh_context() {
        let mut s = with(SessionConfig { globals: vec![("cfg".into(), json!({"n": 3}))], ..SessionConfig::default() });
        val(&mut s, "var keep = 1; let lex = 2");
        s.clear().unwrap();
        assert_eq!(val(&mut s, "typeof keep === 'undefined' && typeof lex === 'undefined'"), "true");
        assert_eq!(val(&mut s, "cfg.n"), "3");
        assert_eq!(val(&mut s, "1 + 1"), "2");
    }

    fn names(s: &mut Session, line: &str) -> Vec<String> {
        s.complete(line, line.len()).1
    }

    #[test]
    fn completes_globals_properties_and_commands() {
        let mut s = session();
        let math = names(&mut s, "Math.");
        assert!(math.contains(&"Math.PI".to_string()), "{math:?}");
        assert!(math.contains(&"Math.max".to_string()));
        // Up the prototype chain.
        assert!(math.contains(&"Math.hasOwnProperty".to_string()));
        assert_eq!(s.complete("Math.P", 6), (0, vec!["Math.PI".to_string()]));
        let con = names(&mut s, "con");
        assert!(con.contains(&"console".to_string()) && con.contains(&"const".to_string()), "{con:?}");
        assert_eq!(s.complete("x = JSON.str", 12), (4, vec!["JSON.stringify".to_string()]));
        assert_eq!(s.complete(".he", 3), (0, vec![".help".to_string()]));
        assert!(names(&mut s, "__sandvm").is_empty());
        // Lexical declarations and their properties.
        val(&mut s, "let myVar = { alpha: 1, beta: { gamma: 2 } }");
        assert!(names(&mut s, "myV").contains(&"myVar".to_string()));
        assert_eq!(names(&mut s, "myVar.al"), vec!["myVar.alpha".to_string()]);
        assert_eq!(names(&mut s, "myVar.beta.g"), vec!["myVar.beta.gamma".to_string()]);
        // Primitives complete through their prototype.
        val(&mut s, "var str = 'abc'");
        assert!(names(&mut s, "str.toUpp").contains(&"str.toUpperCase".to_string()));
        val(&mut s, "var big = new String('x'.repeat(100000))");
        let b = names(&mut s, "big.");
        assert!(b.contains(&"big.length".to_string()) && b.contains(&"big.slice".to_string()), "{}", b.len());
        // Arrays: no index keys, but `length` and Array.prototype.
        val(&mut s, "var arr = new Array(1e6).fill(0)");
        let a = names(&mut s, "arr.");
        assert!(a.contains(&"arr.length".to_string()) && a.contains(&"arr.map".to_string()), "{a:?}");
        assert!(names(&mut s, "nosuch.").is_empty());
        assert!(names(&mut s, "'Math.").is_empty());
    }

    #[test]
    fn completes_after_indexes_and_optional_chaining() {
        let mut s = session();
        val(
            &mut s,
            "var list = [{ deep: 1, deeper: 2 }, 'str']; let maybe = { inner: { leaf: 1 } }; var m = new Map()",
        );
        assert_eq!(names(&mut s, "list[0].de"), vec!["list[0].deep".to_string(), "list[0].deeper".to_string()]);
        assert!(names(&mut s, "list[1].toUpp").contains(&"list[1].toUpperCase".to_string()));
        assert_eq!(s.complete("x = maybe?.in", 13), (4, vec!["maybe?.inner".to_string()]));
        assert_eq!(names(&mut s, "maybe?.inner?.le"), vec!["maybe?.inner?.leaf".to_string()]);
        assert_eq!(
            names(&mut s, "list?.[0]?.deep"),
            vec!["list?.[0]?.deep".to_string(), "list?.[0]?.deeper".to_string()]
        );
        assert_eq!(names(&mut s, "maybe['inner'].l"), vec!["maybe['inner'].leaf".to_string()]);
        assert!(names(&mut s, "m?.se").contains(&"m?.set".to_string()));
        assert!(names(&mut s, "list[5].").is_empty());
        assert!(names(&mut s, "list[i].").is_empty());
    }

    #[test]
    fn completion_runs_no_guest_code() {
        let mut s = session();
        val(
            &mut s,
            "var hits = 0; var obj = { get g() { hits++; return { z: 1 } }, plain: { inner: 1 } };\
             var p = new Proxy({ t: 1 }, { ownKeys() { hits++; return [] }, get() { hits++ },\
               getPrototypeOf() { hits++; return null }, getOwnPropertyDescriptor() { hits++ }, has() { hits++ } });\
             Object.defineProperty(globalThis, 'gg', { get() { hits++; return {} } });\
             var holder = { p };",
        );
        let o = names(&mut s, "obj.");
        assert!(o.contains(&"obj.g".to_string()) && o.contains(&"obj.plain".to_string()), "{o:?}");
        assert!(names(&mut s, "obj.g.").is_empty());
        assert_eq!(names(&mut s, "obj.plain.inn"), vec!["obj.plain.inner".to_string()]);
        assert!(names(&mut s, "p.").is_empty());
        assert!(names(&mut s, "p.t.").is_empty());
        assert!(names(&mut s, "holder.p.").is_empty());
        assert!(names(&mut s, "gg.").is_empty());
        assert!(names(&mut s, "gg").contains(&"gg".to_string()));
        // A Proxy in the global object's prototype chain: bare names still come from the
        // global object itself, and lexical lookups (which would hit the trap) are not tried.
        val(&mut s, "let lexical = { q: 1 }; Object.setPrototypeOf(globalThis, p)");
        assert!(names(&mut s, "lexical.").is_empty());
        assert!(names(&mut s, "hit").contains(&"hits".to_string()));
        assert_eq!(val(&mut s, "Object.setPrototypeOf(globalThis, Object.prototype); hits"), "0");
    }

    #[cfg(feature = "typescript")]
    fn typescript() -> Session {
        with(SessionConfig { language: sandvm::Language::TypeScript, ..SessionConfig::default() })
    }

    #[cfg(feature = "typescript")]
    #[test]
    fn typescript_lines_strip_types_and_keep_declarations() {
        let mut s = typescript();
        val(&mut s, "interface P { x: number; y?: string }");
        val(&mut s, "let p: P = { x: 40 }; const add = (a: number, b: number): number => a + b");
        assert_eq!(val(&mut s, "add(p.x, 2 as number)"), "42");
        val(&mut s, "enum Color { Red = 1, Green }");
        assert_eq!(val(&mut s, "Color.Green satisfies number"), "2");
        assert_eq!(val(&mut s, "p!.x"), "40");
        // A line of types only has no value.
        assert_eq!(val(&mut s, "type Id = string | number"), "undefined");
        // Object literals and top-level await still work.
        val(&mut s, "{ a: 1 }");
        assert_eq!(val(&mut s, "_.a"), "1");
        assert_eq!(val(&mut s, "const w: number = await Promise.resolve(6); w * 7"), "42");
        // A type error is not an error.
        assert_eq!(val(&mut s, "const n: string = 5 as any; n"), "5");
    }

    #[cfg(feature = "typescript")]
    #[test]
    fn typescript_multi_line_detection() {
        let mut s = typescript();
        for src in [
            "interface Q {",
            "function f(a: number): number {",
            "type T = {\n  a: string;",
            "let o: { a: number } = {",
            "const xs: Array<number> = [1,",
            "class C<T> {\n  constructor(private v: T) {",
            "await new Promise<number>(r => {",
            "enum E {",
            "1 +",
        ] {
            assert_eq!(s.eval(src).result, LineResult::Incomplete, "{src:?}");
        }
        assert_eq!(val(&mut s, "function f(a: number): number {\n  return a +\n1 }"), "undefined");
        assert_eq!(val(&mut s, "f(41)"), "42");
        // A wrong line is an error, with the TypeScript line's position.
        let (e, _) = err(&mut s, "let z: number = 1;\nlet y: = 2");
        match e {
            Error::Syntax { incomplete_input: false, line, .. } => assert_eq!(line, Some(2)),
            other => panic!("{other:?}"),
        }
        // Without --ts, a typed line is a syntax error (not an incomplete one).
        let mut js = session();
        let (e, _) = err(&mut js, "let t: number = 1");
        assert!(matches!(e, Error::Syntax { incomplete_input: false, .. }), "{e:?}");
    }

    #[cfg(feature = "typescript")]
    #[test]
    fn typescript_exceptions_point_into_the_typed_line() {
        let mut s = typescript();
        let (e, _) =
            err(&mut s, "type A = {\n  a: number;\n};\nconst a: A = { a: 1 };\nthrow new TypeError('at five')");
        match &e {
            Error::Exception { name: Some(n), line, .. } => assert_eq!((n.as_str(), *line), ("TypeError", Some(5))),
            other => panic!("{other:?}"),
        }
        assert_eq!(val(&mut s, "_error.message"), "'at five'");
    }
}
