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
//! ## Context reuse
//! One [`sandvm::Context`] is reused for all renders of a [`Templates`]: its contents are the
//! runtime prelude, the compiled templates and partials, and the helpers — all registered by
//! the host, at the same trust level as the templates. Data is copied in for each render and
//! never kept. After a render hits a limit, the sandbox replaces its engine and everything is
//! installed again from the compiled scripts before the next render.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod codegen;
mod error;
mod hbs;
mod mustache;
mod parse;

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use error::{Result, TemplateError};

/// The runtime prelude evaluated in every sandbox context.
const PRELUDE: &str = include_str!("runtime.js");

/// The template language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Mode {
    /// Handlebars 4.x (the default).
    #[default]
    Handlebars,
    /// Mustache (specification v1.3 with lambdas, inheritance and dynamic names).
    Mustache,
}

/// Options of a [`Templates`] set; they apply to every template, partial and render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TemplateOptions {
    /// The template language.
    pub mode: Mode,
    /// Handlebars `strict`: a missing property (or helper) is an error instead of an empty
    /// value.
    pub strict: bool,
    /// Handlebars `noEscape`: `{{x}}` is not HTML-escaped.
    pub no_escape: bool,
}

#[derive(Clone)]
enum Step {
    /// Run a script (it stores a value in `__svt.last`).
    Script(sandvm::Script),
    /// Call `__svt_def(kind, name)`.
    Def(&'static str, String),
}

/// A set of templates, partials and helpers with the sandbox that renders them.
///
/// Not `Send`: create it on the thread that uses it (as [`sandvm::Runtime`]).
pub struct Templates {
    runtime: sandvm::Runtime,
    context: sandvm::Context,
    options: TemplateOptions,
    steps: Vec<Step>,
    installed: bool,
    generation: u64,
    scripts: HashMap<[u8; 32], sandvm::Script>,
    inline: HashMap<[u8; 32], String>,
    templates: HashSet<String>,
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
fn compile_js(source: &str, options: &TemplateOptions, otag: &str, ctag: &str) -> Result<String, parse::PError> {
    match options.mode {
        Mode::Mustache => {
            let nodes = mustache::parse_with(source, otag, ctag)?;
            Ok(codegen::mustache(&nodes))
        }
        Mode::Handlebars => {
            let prog = hbs::parse(source)?;
            Ok(codegen::handlebars(&prog, source, codegen::HbsGen { strict: options.strict }))
        }
    }
}

fn parse_error(name: &str, source: &str, e: parse::PError) -> TemplateError {
    let (line, column) = error::line_col(source, e.offset);
    TemplateError::Parse { message: e.message, line, column, name: name.to_string() }
}

/// Checks that `source` parses in `mode`.
///
/// # Errors
/// [`TemplateError::Parse`] with the 1-based line and column of the first error.
pub fn check(source: &str, mode: Mode) -> Result<()> {
    let r = match mode {
        Mode::Mustache => mustache::parse(source).map(|_| ()),
        Mode::Handlebars => hbs::parse(source).map(|_| ()),
    };
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
    format!("{:?}/{}/{}", o.mode, o.strict, o.no_escape)
}

impl Templates {
    /// Creates an empty set of Handlebars templates rendering under `limits`.
    ///
    /// # Errors
    /// [`TemplateError::Sandbox`] when the sandbox cannot be created.
    pub fn new(limits: sandvm::Limits) -> Result<Templates> {
        Templates::with_options(limits, TemplateOptions::default())
    }

    /// Creates an empty set of templates with `options` (mode, strict, noEscape).
    ///
    /// # Errors
    /// [`TemplateError::Sandbox`] when the sandbox cannot be created.
    pub fn with_options(limits: sandvm::Limits, options: TemplateOptions) -> Result<Templates> {
        let runtime = sandvm::Runtime::new(limits)?;
        let context = sandvm::Context::new(&runtime, sandvm::ContextOptions::default())?;
        let strict = options.strict;
        let no_escape = options.no_escape;
        context.register_fn("__svt_compile", move |(mode, src, otag, ctag): (String, String, String, String)| {
            let o = TemplateOptions {
                mode: if mode == "mustache" { Mode::Mustache } else { Mode::Handlebars },
                strict,
                no_escape,
            };
            let (otag, ctag) = if otag.is_empty() { ("{{".to_string(), "}}".to_string()) } else { (otag, ctag) };
            Ok::<Value, String>(match compile_js(&src, &o, &otag, &ctag) {
                Ok(code) => json!({ "code": code }),
                Err(e) => {
                    let (line, column) = error::line_col(&src, e.offset);
                    json!({ "error": e.message, "line": line, "column": column })
                }
            })
        })?;
        let prelude = sandvm::Script::new(PRELUDE, "<sandvm-template>")?;
        let max = runtime.limits().max_output;
        let config = format!(
            "__svt.mode={};__svt.strict={};__svt.noEscape={};__svt.max={};",
            codegen::js_str(match options.mode {
                Mode::Handlebars => "handlebars",
                Mode::Mustache => "mustache",
            }),
            options.strict,
            options.no_escape,
            max
        );
        let config = sandvm::Script::new(&config, "<sandvm-template-config>")?;
        Ok(Templates {
            runtime,
            context,
            options,
            steps: vec![Step::Script(prelude), Step::Script(config)],
            installed: false,
            generation: 0,
            scripts: HashMap::new(),
            inline: HashMap::new(),
            templates: HashSet::new(),
        })
    }

    /// The options this set was created with.
    pub fn options(&self) -> TemplateOptions {
        self.options
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
        let script = sandvm::Script::new(&format!("__svt.last={js};"), name)?;
        self.scripts.insert(key, script.clone());
        Ok(script)
    }

    /// Runs a step now (when installed) and records it for re-installation.
    fn add_steps(&mut self, steps: Vec<Step>) -> Result<()> {
        if self.installed && self.runtime.generation() == self.generation {
            for s in &steps {
                if let Err(e) = self.run_step(s) {
                    self.installed = false;
                    return Err(e);
                }
            }
        }
        self.steps.extend(steps);
        Ok(())
    }

    fn run_step(&self, step: &Step) -> Result<()> {
        let r = match step {
            Step::Script(s) => self.context.run(s).map(|_| ()),
            Step::Def(kind, name) => self.context.call("__svt_def", &[json!(kind), json!(name)]).map(|_| ()),
        };
        r.map_err(map_error)
    }

    fn ensure_installed(&mut self) -> Result<()> {
        if self.installed && self.runtime.generation() == self.generation {
            return Ok(());
        }
        for i in 0..self.steps.len() {
            let step = self.steps[i].clone();
            self.run_step(&step)?;
        }
        self.installed = true;
        self.generation = self.runtime.generation();
        Ok(())
    }

    /// Registers (or replaces) the template `name`.
    ///
    /// # Errors
    /// [`TemplateError::Parse`] when it does not parse (nothing is registered then).
    pub fn register_template(&mut self, name: &str, source: &str) -> Result<()> {
        let script = self.compiled(name, source)?;
        self.add_steps(vec![Step::Script(script), Step::Def("template", name.to_string())])?;
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
        self.add_steps(vec![Step::Script(script), Step::Def("partial", name.to_string())])
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
        // Compiled by the guest's `eval` (helper code may use regexp literals).
        let script = sandvm::Script::new(
            &format!("__svt.last=(0,eval)({});", codegen::js_str(&format!("(\n{js_function_source}\n)"))),
            &format!("<helper {name}>"),
        )
        .map_err(|e| TemplateError::InvalidHelper(format!("{name}: {e}")))?;
        let steps = vec![Step::Script(script), Step::Def("helper", name.to_string())];
        self.ensure_installed()?;
        for s in &steps {
            self.run_step(s).map_err(|e| match e {
                TemplateError::Template { message, .. } => TemplateError::InvalidHelper(format!("{name}: {message}")),
                TemplateError::Sandbox(sandvm::Error::Exception { message, name: n, .. }) => {
                    TemplateError::InvalidHelper(format!("{name}: {}: {message}", n.unwrap_or_else(|| "Error".into())))
                }
                other => other,
            })?;
        }
        self.steps.extend(steps);
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
        let wrapper = format!(
            "(function(){{var m={{exports:{{}}}};globalThis.module=m;globalThis.exports=m.exports;\
             try{{__svt.last=(0,eval)({});__svt.lastExports=m.exports;}}\
             finally{{delete globalThis.module;delete globalThis.exports;}}}})();",
            codegen::js_str(js_source)
        );
        let script = sandvm::Script::new(&wrapper, "<helpers>")?;
        self.ensure_installed()?;
        let steps = vec![Step::Script(script), Step::Def("helpers", String::new())];
        self.run_step(&steps[0])?;
        let n = self.context.call("__svt_def", &[json!("helpers"), json!("")]).map_err(map_error)?;
        self.steps.extend(steps);
        Ok(n.value.and_then(|v| v.as_u64()).unwrap_or(0) as usize)
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
        if !self.templates.contains(name) {
            return Err(TemplateError::UnknownTemplate(name.to_string()));
        }
        self.ensure_installed()?;
        let r = self.context.call("__svt_render", &[json!(name), data.clone()]);
        match r {
            Ok(c) => match c.value {
                Some(Value::String(s)) => Ok(s),
                _ => Ok(String::new()),
            },
            Err(e) => {
                if e.is_limit() || matches!(e, sandvm::Error::Cancelled) {
                    self.installed = false;
                }
                Err(map_error(e))
            }
        }
    }

    /// Renders template text directly (compiled once and cached by hash of source and
    /// options).
    ///
    /// # Errors
    /// [`TemplateError::Parse`], then as [`Templates::render`].
    pub fn render_str(&mut self, source: &str, data: &Value) -> Result<String> {
        let key = hash_key(&["inline", &opt_tag(&self.options), source]);
        let name = match self.inline.get(&key) {
            Some(n) => n.clone(),
            None => {
                let hex: String = key[..8].iter().map(|b| format!("{b:02x}")).collect();
                let name = format!("\u{0}inline:{hex}");
                let script = self.compiled("<inline>", source)?;
                self.add_steps(vec![Step::Script(script), Step::Def("template", name.clone())])?;
                self.templates.insert(name.clone());
                self.inline.insert(key, name.clone());
                name
            }
        };
        self.render(&name, data)
    }

    /// Checks that `source` parses in this set's mode.
    ///
    /// # Errors
    /// [`TemplateError::Parse`] with the 1-based line and column of the first error.
    pub fn check(&self, source: &str) -> Result<()> {
        check(source, self.options.mode)
    }
}

fn opt_u32(v: &Value, k: &str) -> Option<u32> {
    v.get(k).and_then(Value::as_u64).map(|n| n as u32)
}

/// Maps a sandbox error to a template error, recognising the runtime's own errors.
fn map_error(e: sandvm::Error) -> TemplateError {
    if let sandvm::Error::Exception { name: None, value: Some(v), .. } = &e {
        if let Some(kind) = v.get("svt").and_then(Value::as_str) {
            let message = v.get("message").and_then(Value::as_str).unwrap_or("template error").to_string();
            let line = opt_u32(v, "line");
            let column = opt_u32(v, "column");
            let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            return match kind {
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
                _ => TemplateError::Template { message, line, column },
            };
        }
    }
    TemplateError::Sandbox(e)
}
