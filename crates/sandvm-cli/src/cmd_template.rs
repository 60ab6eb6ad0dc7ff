//! `sandvm template`: render Handlebars or Mustache templates inside the sandbox.
//!
//! ```text
//! sandvm template render page.hbs --data data.json --partials partials/ --helpers helpers.js
//! sandvm template render page.hbs --data data.js --compat --known-helper fmt --runtime-data site.json
//! sandvm template check page.hbs
//! ```
//!
//! Exit codes: 0 ok, 1 template error (parse error, a template too deeply nested or too
//! large, missing helper or partial, a helper that threw; the message carries
//! `line:column`), 2 usage or I/O error (including a partials directory with a symbolic link
//! leading outside it or not resolving), 3 limit hit (timeout, memory, stack, output).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sandvm_template::{Mode, RenderOptions, TemplateError, TemplateOptions, Templates};

/// `sandvm template …` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TemplateCmd {
    /// Render a template with JSON data and print the result to standard output.
    Render {
        /// The template file (`-` reads standard input).
        template: PathBuf,
        /// The data: a JSON file, or a JavaScript file (`.js`, `.cjs`, `.mjs`) evaluated in the
        /// sandbox whose completion value is the data (so it may hold functions, `undefined`,
        /// class instances). `-` reads JSON from standard input. Without it, the data is `{}`.
        #[arg(long, value_name = "DATA.json|DATA.js")]
        data: Option<PathBuf>,
        /// A directory of partials: one file per partial, named by its path without extension
        /// (`header.hbs` → `{{> header}}`, `shared/nav.hbs` → `{{> shared/nav}}`).
        #[arg(long, value_name = "DIR")]
        partials: Option<PathBuf>,
        /// A helpers script run in the sandbox (repeatable): it calls
        /// `Handlebars.registerHelper(name, fn)`, sets `module.exports`, or evaluates to an
        /// object of helper functions. A `.ts` file is TypeScript (types stripped, not checked).
        #[arg(long, value_name = "FILE.js")]
        helpers: Vec<PathBuf>,
        /// Mustache mode (the Mustache spec) instead of Handlebars.
        #[arg(long)]
        mustache: bool,
        /// Handlebars `strict`: a missing property is an error.
        #[arg(long)]
        strict: bool,
        /// Handlebars `noEscape`: do not HTML-escape `{{x}}`.
        #[arg(long)]
        no_escape: bool,
        #[command(flatten)]
        hbs: Box<HbsFlags>,
        /// Wall-clock limit of the render in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        timeout: u64,
        /// Memory limit in MiB.
        #[arg(long, value_name = "MB", default_value_t = 64)]
        memory: usize,
        /// Output limit in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
        max_output: usize,
    },
    /// Parse a template and report the first syntax error with its line and column.
    Check {
        /// The template file (`-` reads standard input).
        template: PathBuf,
        /// Mustache mode instead of Handlebars.
        #[arg(long)]
        mustache: bool,
    },
}

/// The handlebars.js compile and runtime options of `sandvm template render` (each off by
/// default, as in handlebars.js).
#[derive(clap::Args, Debug, Default)]
pub struct HbsFlags {
    /// Handlebars `compat`: look names up through the enclosing contexts too.
    #[arg(long)]
    compat: bool,
    /// Handlebars `knownHelpers`: a helper known to exist at render time (repeatable).
    #[arg(long = "known-helper", value_name = "NAME")]
    known_helpers: Vec<String>,
    /// Handlebars `knownHelpersOnly`: only built-in and known helpers may be called.
    #[arg(long)]
    known_helpers_only: bool,
    /// Handlebars `data: false`: no `@data` frame for helpers and partials.
    #[arg(long)]
    no_data: bool,
    /// Handlebars `assumeObjects`: a path through null/undefined is an error.
    #[arg(long)]
    assume_objects: bool,
    /// Handlebars `preventIndent`: standalone partials are not indented.
    #[arg(long)]
    prevent_indent: bool,
    /// Handlebars `ignoreStandalone`: no standalone-line whitespace rules.
    #[arg(long)]
    ignore_standalone: bool,
    /// Handlebars `explicitPartialContext`: `{{> p}}` without a context gets an empty one.
    #[arg(long)]
    explicit_partial_context: bool,
    /// The `@data` frame (runtime option `data`): a JSON object file.
    #[arg(long, value_name = "FILE.json")]
    runtime_data: Option<PathBuf>,
    /// Runtime option `allowProtoPropertiesByDefault`.
    #[arg(long)]
    allow_proto_properties_by_default: bool,
    /// Runtime option `allowProtoMethodsByDefault`.
    #[arg(long)]
    allow_proto_methods_by_default: bool,
    /// Runtime option `allowedProtoProperties`: an inherited property allowed (repeatable).
    #[arg(long = "allow-proto-property", value_name = "NAME")]
    allow_proto_properties: Vec<String>,
    /// Runtime option `allowedProtoMethods`: an inherited method allowed (repeatable).
    #[arg(long = "allow-proto-method", value_name = "NAME")]
    allow_proto_methods: Vec<String>,
    /// A decorators script run in the sandbox (repeatable): its completion value is an
    /// object of decorator functions (`{{* name}}`), or it calls
    /// `Handlebars.registerDecorator(name, fn)`.
    #[arg(long, value_name = "FILE.js")]
    decorators: Vec<PathBuf>,
}

impl HbsFlags {
    fn apply(&self, o: &mut TemplateOptions) {
        o.compat = self.compat;
        o.known_helpers.clone_from(&self.known_helpers);
        o.known_helpers_only = self.known_helpers_only;
        o.data = !self.no_data;
        o.assume_objects = self.assume_objects;
        o.prevent_indent = self.prevent_indent;
        o.ignore_standalone = self.ignore_standalone;
        o.explicit_partial_context = self.explicit_partial_context;
    }

    fn runtime(&self) -> Result<RenderOptions, Fail> {
        let data = match &self.runtime_data {
            Some(path) => {
                let text = read_text(path)?;
                let v: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| Fail(2, format!("{}: invalid JSON: {e}", display(path))))?;
                if !v.is_object() {
                    return Err(Fail(2, format!("{}: the @data frame must be a JSON object", display(path))));
                }
                Some(v)
            }
            None => None,
        };
        let allowed = |names: &[String]| names.iter().map(|n| (n.clone(), true)).collect();
        Ok(RenderOptions {
            data,
            allow_proto_properties_by_default: self.allow_proto_properties_by_default,
            allow_proto_methods_by_default: self.allow_proto_methods_by_default,
            allowed_proto_properties: allowed(&self.allow_proto_properties),
            allowed_proto_methods: allowed(&self.allow_proto_methods),
            ..Default::default()
        })
    }
}

/// Whether a data file is JavaScript (by its extension).
fn is_js(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("js" | "cjs" | "mjs"))
}

/// A failure with its exit code, already formatted for standard error.
struct Fail(i32, String);

fn read_text(path: &Path) -> Result<String, Fail> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| Fail(2, format!("cannot read standard input: {e}")))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| Fail(2, format!("cannot read {}: {e}", path.display())))?
    };
    String::from_utf8(bytes).map_err(|_| Fail(2, format!("{} is not valid UTF-8", path.display())))
}

fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// Maps a template error to an exit code and a message; `file` names the template source.
fn template_fail(file: &str, e: TemplateError) -> Fail {
    match e {
        TemplateError::Parse { message, line, column, .. } => Fail(1, format!("{file}:{line}:{column}: {message}")),
        TemplateError::TooComplex { limit, max, line, column, .. } => {
            Fail(1, format!("{file}:{line}:{column}: the template exceeds the {limit} limit ({max})"))
        }
        TemplateError::Sandbox(inner) => {
            let code = if inner.is_limit() || matches!(inner, sandvm::Error::Cancelled) {
                3
            } else if inner.is_host() {
                2
            } else {
                1
            };
            Fail(code, format!("{file}: {inner}"))
        }
        other => Fail(1, format!("{file}: {other}")),
    }
}

/// Deepest subdirectory of a partials directory that is read.
const MAX_PARTIAL_DIR_DEPTH: usize = 16;

/// Most files read from a partials directory.
const MAX_PARTIAL_FILES: usize = 10_000;

/// Collects the partial files of `dir` (recursively), named by their relative path without
/// extension, with `/` separators; each comes with the resolved path to read.
///
/// Same policy as the module root: a symbolic link is followed only when it resolves inside
/// the directory (one leading outside, or one that does not resolve — a loop, a dangling
/// link — is an error), a directory reached twice (through a link) is read once, and the
/// depth and number of files are bounded.
fn partial_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Fail> {
    let root = dir
        .canonicalize()
        .map_err(|e| Fail(2, format!("cannot read the partials directory {}: {e}", dir.display())))?;
    let mut out = Vec::new();
    let mut seen_dirs = std::collections::HashSet::from([root.clone()]);
    // (path as named under `dir`, resolved path, depth)
    let mut stack = vec![(dir.to_path_buf(), root.clone(), 0usize)];
    while let Some((named, real, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&real)
            .map_err(|e| Fail(2, format!("cannot read the partials directory {}: {e}", named.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| Fail(2, format!("cannot read {}: {e}", named.display())))?;
            let file_name = entry.file_name();
            if file_name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = named.join(&file_name);
            let kind = entry.file_type().map_err(|e| Fail(2, format!("cannot read {}: {e}", path.display())))?;
            let resolved = if kind.is_symlink() {
                let target = entry.path().canonicalize().map_err(|e| {
                    Fail(2, format!("partial {}: the symbolic link does not resolve: {e}", path.display()))
                })?;
                if !target.starts_with(&root) {
                    return Err(Fail(
                        2,
                        format!("partial {}: the symbolic link leads outside the partials directory", path.display()),
                    ));
                }
                target
            } else {
                real.join(&file_name)
            };
            let meta =
                std::fs::metadata(&resolved).map_err(|e| Fail(2, format!("cannot read {}: {e}", path.display())))?;
            if meta.is_dir() {
                if depth + 1 > MAX_PARTIAL_DIR_DEPTH {
                    return Err(Fail(
                        2,
                        format!("partials directory {}: nested deeper than {MAX_PARTIAL_DIR_DEPTH}", path.display()),
                    ));
                }
                if seen_dirs.insert(resolved.clone()) {
                    stack.push((path, resolved, depth + 1));
                }
                continue;
            }
            if !meta.is_file() {
                // A FIFO or a device would block or never end.
                return Err(Fail(2, format!("partial {}: not a regular file", path.display())));
            }
            if out.len() >= MAX_PARTIAL_FILES {
                return Err(Fail(
                    2,
                    format!("partials directory {}: more than {MAX_PARTIAL_FILES} files", dir.display()),
                ));
            }
            let rel = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
            let name: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((name.join("/"), resolved));
        }
    }
    out.sort();
    Ok(out)
}

fn render(cmd: TemplateCmd) -> Result<String, Fail> {
    let TemplateCmd::Render {
        template,
        data,
        partials,
        helpers,
        mustache,
        strict,
        no_escape,
        hbs,
        timeout,
        memory,
        max_output,
    } = cmd
    else {
        return Err(Fail(2, "internal error: not a render command".into()));
    };
    if template.as_os_str() == "-" && data.as_deref().is_some_and(|d| d.as_os_str() == "-") {
        return Err(Fail(2, "the template and the data cannot both come from standard input".into()));
    }
    let source = read_text(&template)?;
    let name = display(&template);
    let mut data_js = None;
    let data: serde_json::Value = match &data {
        Some(path) if is_js(path) => {
            data_js = Some((read_text(path)?, display(path)));
            serde_json::Value::Null
        }
        Some(path) => {
            let text = read_text(path)?;
            serde_json::from_str(&text).map_err(|e| Fail(2, format!("{}: invalid JSON: {e}", display(path))))?
        }
        None => serde_json::json!({}),
    };
    let runtime = hbs.runtime()?;
    let limits = sandvm::Limits {
        timeout: Some(Duration::from_millis(timeout.max(1))),
        memory: memory.saturating_mul(1024 * 1024),
        max_output,
        ..Default::default()
    };
    let mut options = TemplateOptions {
        mode: if mustache { Mode::Mustache } else { Mode::Handlebars },
        strict,
        no_escape,
        ..Default::default()
    };
    hbs.apply(&mut options);
    let mut t = Templates::with_options(limits, options).map_err(|e| template_fail(&name, e))?;
    for d in &hbs.decorators {
        let src = read_text(d)?;
        t.register_decorators_script(&src).map_err(|e| template_fail(&display(d), e))?;
    }
    for h in &helpers {
        let src = read_text(h)?;
        let r = if sandvm::Language::from_path(&h.to_string_lossy()) == sandvm::Language::TypeScript {
            t.register_helpers_typescript(&src, &display(h))
        } else {
            t.register_helpers_script(&src)
        };
        r.map_err(|e| template_fail(&display(h), e))?;
    }
    if let Some(dir) = &partials {
        for (pname, path) in partial_files(dir)? {
            let src = read_text(&path)?;
            t.register_partial(&pname, &src).map_err(|e| template_fail(&path.display().to_string(), e))?;
        }
    }
    t.register_template(&name, &source).map_err(|e| template_fail(&name, e))?;
    match data_js {
        Some((src, file)) => t.render_js_data(&name, &src, &runtime).map_err(|e| match e {
            // The data script's own failure names the data file.
            TemplateError::Sandbox(inner @ (sandvm::Error::Exception { .. } | sandvm::Error::Syntax { .. })) => {
                template_fail(&file, TemplateError::Sandbox(inner))
            }
            e => template_fail(&name, e),
        }),
        None => t.render_with(&name, &data, &runtime).map_err(|e| template_fail(&name, e)),
    }
}

/// Runs a `sandvm template` subcommand and returns the process exit code.
///
/// # Errors
/// None in practice: every failure is reported on standard error and turned into an exit
/// code (1 template error, 2 usage or I/O error, 3 limit hit).
pub fn run(cmd: TemplateCmd) -> anyhow::Result<i32> {
    let result = match cmd {
        TemplateCmd::Check { template, mustache } => read_text(&template).and_then(|src| {
            let mode = if mustache { Mode::Mustache } else { Mode::Handlebars };
            sandvm_template::check(&src, mode)
                .map(|()| format!("{}: ok\n", display(&template)))
                .map_err(|e| template_fail(&display(&template), e))
        }),
        render_cmd @ TemplateCmd::Render { .. } => render(render_cmd),
    };
    match result {
        Ok(text) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("sandvm: cannot write the output: {e}");
                    return Ok(2);
                }
            }
            Ok(0)
        }
        Err(Fail(code, msg)) => {
            eprintln!("sandvm: {msg}");
            Ok(code)
        }
    }
}
