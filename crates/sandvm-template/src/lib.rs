//! # sandvm-template
//!
//! Handlebars- and Mustache-compatible templates, rendered inside the sandvm sandbox.
//!
//! Templates are parsed in Rust (with precise `line:column` errors), compiled once to
//! JavaScript and run in a sandbox [`sandvm::Context`]: a template or a helper can never reach
//! the host, and every render is bounded by the sandbox limits (time, memory, stack depth and
//! output size). Data goes in as a deep copy (JSON); the output comes back as a string.
//!
//! ```
//! # fn main() -> Result<(), sandvm_template::TemplateError> {
//! use serde_json::json;
//! let mut t = sandvm_template::Templates::new(sandvm::Limits::default())?;
//! t.register_helper_js("upper", "function (s) { return String(s).toUpperCase(); }")?;
//! t.register_partial("item", "<li>{{upper name}}</li>")?;
//! t.register_template("list", "<ul>{{#each people}}{{> item}}{{/each}}</ul>")?;
//! let html = t.render("list", &json!({"people": [{"name": "ada"}, {"name": "<bob>"}]}))?;
//! assert_eq!(html, "<ul><li>ADA</li><li>&lt;BOB&gt;</li></ul>");
//! # Ok(()) }
//! ```
//!
//! ## Modes
//! - [`Mode::Handlebars`] (default): handlebars.js 4.x semantics — escaping of
//!   `&`, `<`, `>`, `"`, `'`, backtick and `=`; `{{{raw}}}`; paths (`a.b`, `a/b`, `this`, `../`,
//!   `@root`, `[weird key]`),
//!   built-in helpers `if unless each with lookup log`, `else` / `else if` chains, `@index`
//!   `@key` `@first` `@last`, block parameters, whitespace control `~`, comments, raw blocks,
//!   partials (context, hash, partial blocks, `@partial-block`, inline partials), dynamic
//!   partials, subexpressions, literals, custom JavaScript helpers with `options.fn`,
//!   `options.inverse`, `options.hash`, `options.data`, `Handlebars.SafeString` and
//!   `Handlebars.escapeExpression`, and the `strict` and `noEscape` options.
//! - [`Mode::Mustache`]: the Mustache specification v1.3, including the optional lambdas,
//!   inheritance (`{{<parent}}{{$block}}`) and dynamic names (`{{>*name}}`). Registered
//!   helpers are visible as lambdas at the bottom of the context stack.
//!
//! ## Bounds on template text
//! Parsing and code generation run on the host, so they are bounded before any sandbox
//! limit applies: at most [`MAX_NESTING`] nested levels, [`MAX_SOURCE_BYTES`] of source and
//! [`MAX_GENERATED_BYTES`] of generated JavaScript per template, with code generation
//! linear in the source. Exceeding one is a [`TemplateError::TooComplex`] naming the bound
//! and the position — also for text compiled at render time (`Handlebars.compile`,
//! `Handlebars.registerPartial`, Mustache lambdas). The compiler always has enough stack,
//! whatever the caller's (it moves to a fresh stack segment when the caller's is short).
//!
//! ## Guest code and the runtime
//! Helpers, helper scripts and lambdas are guest code. The host hook that compiles template
//! text at render time is captured by the runtime prelude and removed from the global object
//! before any guest code runs; the runtime's own state is private to the prelude, and its
//! entry points need a per-set secret. Only errors raised by the runtime carry that secret,
//! so a helper that throws an object shaped like one (`{svt: "output_limit"}`) is reported
//! as the thrown value it is ([`sandvm::Error::Exception`]), never as a limit.
//!
//! ## Context reuse
//! One [`sandvm::Context`] is reused for all renders of a [`Templates`]: its contents are the
//! runtime prelude, the compiled templates and partials, and the helpers — all registered by
//! the host, at the same trust level as the templates. Data is copied in for each render and
//! never kept. Everything is installed as the context's recorded setup
//! ([`sandvm::Context::run_setup`]): after a render hits a limit, the sandbox replaces its
//! engine and the core replays that setup (the compiled scripts, in order) before the next
//! render.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod codegen;
mod error;
mod hbs;
mod mustache;
mod options;
mod parse;

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use error::{CompileLimit, Result, TemplateError};
pub use options::{Mode, RenderOptions, TemplateOptions};
pub use parse::{MAX_GENERATED_BYTES, MAX_NESTING, MAX_SOURCE_BYTES};

/// The runtime prelude evaluated in every sandbox context.
const PRELUDE: &str = include_str!("runtime.js");

/// The data of a render: JSON (copied in), or a script evaluated in the sandbox.
enum RenderData<'a> {
    Json(&'a Value),
    Script(&'a str),
}

/// A set of templates, partials and helpers with the sandbox that renders them.
///
/// Not `Send`: create it on the thread that uses it (as [`sandvm::Runtime`]).
pub struct Templates {
    runtime: sandvm::Runtime,
    context: sandvm::Context,
    options: TemplateOptions,
    scripts: HashMap<[u8; 32], sandvm::Script>,
    inline: HashMap<[u8; 32], String>,
    templates: HashSet<String>,
    /// The secret that the runtime's own errors carry and its entry points require (never
    /// given to guest code; see `runtime.js`).
    token: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("options", &self.options)
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

/// Parses `source` and returns the generated JavaScript factory.
///
/// Parsing and code generation are linear in the source and bounded: see [`MAX_NESTING`],
/// [`MAX_SOURCE_BYTES`] and [`MAX_GENERATED_BYTES`].
fn compile_js(source: &str, options: &TemplateOptions, otag: &str, ctag: &str) -> Result<String, parse::PError> {
    on_compile_stack(|| compile_here(source, options, otag, ctag))
}

/// Stack the compiler needs at most: its recursion is bounded by [`MAX_NESTING`] (measured
/// under 20 KiB per level in debug builds, so about 2.5 MiB), with room to spare.
const COMPILE_STACK: usize = 16 << 20;

/// Below this much free stack the compiler runs on a fresh stack segment.
const COMPILE_RED_ZONE: usize = 4 << 20;

/// Runs `f` with at least [`COMPILE_RED_ZONE`] bytes of stack: on the caller's stack when it
/// has that much left, else on a fresh [`COMPILE_STACK`] segment mapped for the call (no new
/// thread, so it works inside a pool worker process whose seccomp filter forbids `clone`),
/// so the caller's stack size (a small async worker's, say) never matters. A panic in `f` (a
/// bug) is reported as an error, never propagated.
fn on_compile_stack<T>(f: impl FnOnce() -> parse::PResult<T>) -> parse::PResult<T> {
    stacker::maybe_grow(COMPILE_RED_ZONE, COMPILE_STACK, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(parse::PError::new("internal error: the template compiler panicked", 0)))
    })
}

fn compile_here(source: &str, options: &TemplateOptions, otag: &str, ctag: &str) -> Result<String, parse::PError> {
    let js = match options.mode {
        Mode::Mustache => {
            let nodes = mustache::parse_with(source, otag, ctag)?;
            codegen::mustache(&nodes)
        }
        Mode::Handlebars => {
            let prog = hbs::parse_with(source, options.ignore_standalone)?;
            codegen::handlebars(&prog, source, &codegen::HbsGen::from(options))?
        }
    };
    parse::check_generated(js)
}

fn parse_error(name: &str, source: &str, e: parse::PError) -> TemplateError {
    let (line, column) = error::line_col(source, e.offset);
    match e.limit {
        Some((limit, max)) => TemplateError::TooComplex { limit, max, name: name.to_string(), line, column },
        None => TemplateError::Parse { message: e.message, line, column, name: name.to_string() },
    }
}

/// Checks that `source` parses in `mode`.
///
/// # Errors
/// [`TemplateError::Parse`] with the 1-based line and column of the first error.
pub fn check(source: &str, mode: Mode) -> Result<()> {
    let r = on_compile_stack(|| match mode {
        Mode::Mustache => mustache::parse(source).map(|_| ()),
        Mode::Handlebars => hbs::parse(source).map(|_| ()),
    });
    r.map_err(|e| parse_error("<template>", source, e))
}

/// Compiles `source` to the JavaScript source that the sandbox runs (a factory function).
/// Useful to inspect the generated code.
///
/// # Errors
/// [`TemplateError::Parse`] when the template does not parse.
pub fn compile_to_js(source: &str, options: &TemplateOptions) -> Result<String> {
    compile_js(source, options, "{{", "}}").map_err(|e| parse_error("<template>", source, e))
}

fn hash_key(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

fn opt_tag(o: &TemplateOptions) -> String {
    serde_json::to_string(o).unwrap_or_else(|_| format!("{o:?}"))
}

impl Templates {
    /// Creates an empty set of Handlebars templates rendering under `limits`.
    ///
    /// # Errors
    /// [`TemplateError::Sandbox`] when the sandbox cannot be created.
    pub fn new(limits: sandvm::Limits) -> Result<Templates> {
        Templates::with_options(limits, TemplateOptions::default())
    }

    /// Creates an empty set of templates with `options` (the mode and the handlebars.js
    /// compile options).
    ///
    /// # Errors
    /// [`TemplateError::Sandbox`] when the sandbox cannot be created.
    pub fn with_options(limits: sandvm::Limits, options: TemplateOptions) -> Result<Templates> {
        let runtime = sandvm::Runtime::new(limits)?;
        let context = sandvm::Context::new(&runtime, sandvm::ContextOptions::default())?;
        let compile_options = options.clone();
        context.register_fn("__svt_compile", move |(mode, src, otag, ctag): (String, String, String, String)| {
            let o = TemplateOptions {
                mode: if mode == "mustache" { Mode::Mustache } else { Mode::Handlebars },
                ..compile_options.clone()
            };
            let (otag, ctag) = if otag.is_empty() { ("{{".to_string(), "}}".to_string()) } else { (otag, ctag) };
            Ok::<Value, String>(match compile_js(&src, &o, &otag, &ctag) {
                Ok(code) => json!({ "code": code }),
                Err(e) => {
                    let (line, column) = error::line_col(&src, e.offset);
                    match e.limit {
                        Some((limit, max)) => json!({
                            "error": e.message, "limit": limit.as_str(), "max": max, "line": line, "column": column
                        }),
                        None => json!({ "error": e.message, "line": line, "column": column }),
                    }
                }
            })
        })?;
        let prelude = sandvm::Script::new(PRELUDE, "<sandvm-template>")?;
        let t = Templates {
            runtime,
            context,
            options,
            scripts: HashMap::new(),
            inline: HashMap::new(),
            templates: HashSet::new(),
            token: secret_token(),
        };
        t.setup(sandvm::SetupStep::compiled(&prelude))?;
        let mode = match t.options.mode {
            Mode::Handlebars => "handlebars",
            Mode::Mustache => "mustache",
        };
        let config = [
            json!(t.token),
            json!(mode),
            json!(t.options.strict),
            json!(t.options.no_escape),
            json!(t.runtime.limits().max_output),
        ];
        t.setup(sandvm::SetupStep::call("__svt_config", &config))?;
        Ok(t)
    }

    /// The options this set was created with.
    pub fn options(&self) -> &TemplateOptions {
        &self.options
    }

    /// The sandbox runtime (to read its limits, or to cancel a render from another thread
    /// through [`sandvm::Runtime::cancel_handle`]).
    pub fn runtime(&self) -> &sandvm::Runtime {
        &self.runtime
    }

    /// Parses and compiles `source` (cached by hash of source and options), returning the
    /// script that stores the template's factory in `__svt.last`.
    fn compiled(&mut self, name: &str, source: &str) -> Result<sandvm::Script> {
        let key = hash_key(&["template", &opt_tag(&self.options), source]);
        if let Some(s) = self.scripts.get(&key) {
            return Ok(s.clone());
        }
        let js = compile_js(source, &self.options, "{{", "}}").map_err(|e| parse_error(name, source, e))?;
        let script =
            sandvm::Script::new(&format!("__svt_def({},\"factory\",\"\",{js});", codegen::js_str(&self.token)), name)?;
        self.scripts.insert(key, script.clone());
        Ok(script)
    }

    /// Runs a step now and records it in the context's setup (replayed by the core on a fresh
    /// engine); returns its completion value.
    fn setup(&self, step: sandvm::SetupStep) -> Result<Option<Value>> {
        self.context.run_setup(step).map(|c| c.value).map_err(|e| self.map_error(e))
    }

    /// The step `__svt_def(token, kind, name, arg)`.
    fn def(&self, kind: &str, name: &str, arg: &str) -> sandvm::SetupStep {
        sandvm::SetupStep::call("__svt_def", &[json!(self.token), json!(kind), json!(name), json!(arg)])
    }

    /// Runs a compiled template (which leaves its factory in the prelude) and defines it as
    /// the template or partial `name`.
    fn define(&self, kind: &str, name: &str, script: &sandvm::Script) -> Result<()> {
        self.setup(sandvm::SetupStep::compiled(script))?;
        self.setup(self.def(kind, name, ""))?;
        Ok(())
    }

    /// Registers (or replaces) the template `name`.
    ///
    /// # Errors
    /// [`TemplateError::Parse`] when it does not parse (nothing is registered then).
    pub fn register_template(&mut self, name: &str, source: &str) -> Result<()> {
        let script = self.compiled(name, source)?;
        self.define("template", name, &script)?;
        self.templates.insert(name.to_string());
        Ok(())
    }

    /// Registers (or replaces) the partial `name` (`{{> name}}`; in Mustache mode also a
    /// parent for `{{<name}}`).
    ///
    /// # Errors
    /// [`TemplateError::Parse`] when it does not parse.
    pub fn register_partial(&mut self, name: &str, source: &str) -> Result<()> {
        let script = self.compiled(name, source)?;
        self.define("partial", name, &script)
    }

    /// Registers a helper from JavaScript source that evaluates to a function, e.g.
    /// `function (a, b, options) { return a + b; }`. It runs in the sandbox with the
    /// handlebars.js calling convention (`this` is the context, the last argument is
    /// `options`). In Mustache mode, helpers are lambdas visible at the bottom of the
    /// context stack.
    ///
    /// # Errors
    /// [`TemplateError::InvalidHelper`] when the source does not compile or is not a function;
    /// [`TemplateError::Sandbox`] when evaluating it hits a limit.
    pub fn register_helper_js(&mut self, name: &str, js_function_source: &str) -> Result<()> {
        // Compiled by the guest's `eval` inside the runtime (helper code may use regexp
        // literals).
        let step = self.def("helper", name, js_function_source);
        self.setup(step).map_err(|e| match e {
            TemplateError::Template { message, .. } => TemplateError::InvalidHelper(format!("{name}: {message}")),
            TemplateError::Sandbox(sandvm::Error::Exception { message, name: n, .. }) => {
                TemplateError::InvalidHelper(format!("{name}: {}: {message}", n.unwrap_or_else(|| "Error".into())))
            }
            other => other,
        })?;
        Ok(())
    }

    /// Runs a helpers file in the sandbox. It may call `Handlebars.registerHelper(name, fn)`
    /// and `Handlebars.registerPartial(name, source)`, assign an object of functions to
    /// `module.exports`, or end with an expression whose value is an object mapping helper
    /// names to functions (all three forms are supported). Returns the number of helpers
    /// registered from the completion value / `module.exports` (calls to
    /// `registerHelper` are not counted).
    ///
    /// # Errors
    /// [`TemplateError::Sandbox`] when the script throws or hits a limit
    /// ([`sandvm::Error::Syntax`] when it does not parse).
    pub fn register_helpers_script(&mut self, js_source: &str) -> Result<usize> {
        let n = self.setup(self.def("helpers", "", js_source))?;
        Ok(n.and_then(|v| v.as_u64()).unwrap_or(0) as usize)
    }

    /// [`Templates::register_helpers_script`] for a TypeScript helpers file (`helpers.ts`)
    /// named `filename`: its types are stripped on the host (never checked) and the
    /// JavaScript runs as a helpers script. A syntax error, and an error thrown while the
    /// file runs, point into the TypeScript source (line, column, and stack frames naming
    /// `filename`); an error thrown later by a helper during a render has the positions of
    /// the stripped JavaScript.
    ///
    /// # Errors
    /// As [`Templates::register_helpers_script`]; [`TemplateError::Sandbox`] with
    /// [`sandvm::Error::Syntax`] (TypeScript positions), [`sandvm::Error::SourceTooLarge`],
    /// [`sandvm::Error::TooDeep`], or [`sandvm::Error::Host`] when sandvm was built without
    /// its `typescript` feature.
    pub fn register_helpers_typescript(&mut self, ts_source: &str, filename: &str) -> Result<usize> {
        let stripped = sandvm::strip_types(ts_source, filename).map_err(TemplateError::Sandbox)?;
        self.register_helpers_script(&stripped.code).map_err(|e| match e {
            TemplateError::Sandbox(e) => TemplateError::Sandbox(stripped.remap(e, GUEST_EVAL_NAME)),
            other => other,
        })
    }

    /// Runs a decorators script in the sandbox: its completion value (or `module.exports`)
    /// is an object of decorator functions, or it calls `Handlebars.registerDecorator(name,
    /// fn)`. A decorator `{{* name args}}` is called as in handlebars.js: `(program, props,
    /// container, options)` with `options.args`, `options.hash`, `options.data`, when its
    /// program is about to run, and may return a program to run instead. Returns the number
    /// of decorators registered from the completion value / `module.exports`.
    ///
    /// # Errors
    /// [`TemplateError::Sandbox`] when the script throws or hits a limit.
    pub fn register_decorators_script(&mut self, js_source: &str) -> Result<usize> {
        let n = self.setup(self.def("decorators", "", js_source))?;
        Ok(n.and_then(|v| v.as_u64()).unwrap_or(0) as usize)
    }

    /// Renders the template `name` with a deep copy of `data`.
    ///
    /// # Errors
    /// [`TemplateError::UnknownTemplate`]; [`TemplateError::UnknownPartial`],
    /// [`TemplateError::UnknownHelper`], [`TemplateError::Template`] (a `strict` miss, a
    /// helper that threw); [`TemplateError::Sandbox`] with [`sandvm::Error::Timeout`],
    /// [`sandvm::Error::MemoryLimit`], [`sandvm::Error::StackOverflow`] or
    /// [`sandvm::Error::OutputLimit`] when a limit was hit.
    pub fn render(&mut self, name: &str, data: &Value) -> Result<String> {
        self.render_inner(name, RenderData::Json(data), &RenderOptions::default())
    }

    /// Renders the template `name` with a deep copy of `data` and the runtime `options`
    /// (the `@data` frame, prototype access, helpers and partials for this render only).
    /// In Mustache mode the options are ignored.
    ///
    /// # Errors
    /// As [`Templates::render`]; [`TemplateError::InvalidHelper`] when a per-render helper
    /// is not a function, [`TemplateError::Parse`] when a per-render partial does not parse.
    pub fn render_with(&mut self, name: &str, data: &Value, options: &RenderOptions) -> Result<String> {
        self.render_inner(name, RenderData::Json(data), options)
    }

    /// Renders the template `name` with data computed by JavaScript: `data_js` is evaluated
    /// in the sandbox (as a script; its completion value is the data), so the data may hold
    /// what JSON cannot — functions (lambdas), `undefined`, class instances.
    ///
    /// # Errors
    /// As [`Templates::render_with`]; [`TemplateError::Sandbox`] when the data script does not
    /// parse, throws (an exception) or hits a limit.
    pub fn render_js_data(&mut self, name: &str, data_js: &str, options: &RenderOptions) -> Result<String> {
        self.render_inner(name, RenderData::Script(data_js), options)
    }

    fn render_inner(&mut self, name: &str, data: RenderData<'_>, options: &RenderOptions) -> Result<String> {
        if !self.templates.contains(name) {
            return Err(TemplateError::UnknownTemplate(name.to_string()));
        }
        let runtime = if options.is_default() {
            Value::Null
        } else {
            json!({
                "data": options.data,
                "propsDefault": options.allow_proto_properties_by_default,
                "methodsDefault": options.allow_proto_methods_by_default,
                "props": options.allowed_proto_properties,
                "methods": options.allowed_proto_methods,
                "helpers": options.helpers,
                "partials": options.partials,
            })
        };
        let args = match data {
            RenderData::Json(v) => [json!(name), v.clone(), runtime, Value::Null],
            RenderData::Script(src) => [json!(name), Value::Null, runtime, json!(src)],
        };
        let r = self.context.call("__svt_render", &args);
        match r {
            Ok(c) => match c.value {
                Some(Value::String(s)) => Ok(s),
                _ => Ok(String::new()),
            },
            Err(e) => Err(self.map_error(e)),
        }
    }

    /// Renders template text directly (compiled once and cached by hash of source and
    /// options).
    ///
    /// # Errors
    /// [`TemplateError::Parse`], then as [`Templates::render`].
    pub fn render_str(&mut self, source: &str, data: &Value) -> Result<String> {
        self.render_str_with(source, data, &RenderOptions::default())
    }

    /// [`Templates::render_str`] with runtime options (see [`Templates::render_with`]).
    ///
    /// # Errors
    /// [`TemplateError::Parse`], then as [`Templates::render_with`].
    pub fn render_str_with(&mut self, source: &str, data: &Value, options: &RenderOptions) -> Result<String> {
        let name = self.inline_template(source)?;
        self.render_with(&name, data, options)
    }

    /// The name of the inline template for `source`, registered on first use.
    fn inline_template(&mut self, source: &str) -> Result<String> {
        let key = hash_key(&["inline", &opt_tag(&self.options), source]);
        if let Some(n) = self.inline.get(&key) {
            return Ok(n.clone());
        }
        let hex: String = key[..8].iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("\u{0}inline:{hex}");
        let script = self.compiled("<inline>", source)?;
        self.define("template", &name, &script)?;
        self.templates.insert(name.clone());
        self.inline.insert(key, name.clone());
        Ok(name)
    }

    /// Checks that `source` parses in this set's mode.
    ///
    /// # Errors
    /// [`TemplateError::Parse`] with the 1-based line and column of the first error.
    pub fn check(&self, source: &str) -> Result<()> {
        check(source, self.options.mode)
    }

    /// Maps a sandbox error to a template error, recognising the runtime's own errors: only a
    /// thrown value carrying this set's token (which guest code never sees) is one.
    fn map_error(&self, e: sandvm::Error) -> TemplateError {
        if let sandvm::Error::Exception { name: None, value: Some(v), .. } = &e {
            let ours = v.get("token").and_then(Value::as_str) == Some(self.token.as_str());
            if let (true, Some(kind)) = (ours, v.get("svt").and_then(Value::as_str)) {
                return runtime_error(kind, v);
            }
        }
        TemplateError::Sandbox(e)
    }
}

/// The file name the engine gives source evaluated by the guest's `eval` (how helpers files
/// run).
const GUEST_EVAL_NAME: &str = "<input>";

/// A secret for one template set: 128 bits from the standard library's randomly keyed
/// hasher (seeded from the OS), mixed with the time and a counter.
fn secret_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = Sha256::new();
    for i in 0..4u64 {
        let mut x = std::collections::hash_map::RandomState::new().build_hasher();
        x.write_u64(i);
        h.update(x.finish().to_le_bytes());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    h.update(now.to_le_bytes());
    h.update(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes());
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn opt_u32(v: &Value, k: &str) -> Option<u32> {
    v.get(k).and_then(Value::as_u64).map(|n| n as u32)
}

/// The template error for a runtime error `v` of kind `kind` (checked to be genuine).
fn runtime_error(kind: &str, v: &Value) -> TemplateError {
    let message = v.get("message").and_then(Value::as_str).unwrap_or("template error").to_string();
    let line = opt_u32(v, "line");
    let column = opt_u32(v, "column");
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    match kind {
        "output_limit" => TemplateError::Sandbox(sandvm::Error::OutputLimit),
        "missing_helper" => TemplateError::UnknownHelper { name: field("helper"), line, column },
        "unknown_partial" => TemplateError::UnknownPartial { name: field("partial"), line, column },
        "unknown_template" => TemplateError::UnknownTemplate(field("template")),
        "invalid_helper" => TemplateError::InvalidHelper(message),
        "parse" => TemplateError::Parse {
            message,
            line: line.unwrap_or(1),
            column: column.unwrap_or(1),
            name: "<runtime>".into(),
        },
        "limit" => match CompileLimit::from_name(&field("limit")) {
            Some(limit) => TemplateError::TooComplex {
                limit,
                max: v.get("max").and_then(Value::as_u64).map_or(0, |m| m as usize),
                name: "<runtime>".into(),
                line: line.unwrap_or(1),
                column: column.unwrap_or(1),
            },
            None => TemplateError::Template { message, line, column },
        },
        _ => TemplateError::Template { message, line, column },
    }
}
