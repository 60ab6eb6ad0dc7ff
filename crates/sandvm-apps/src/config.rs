//! A config evaluator: a JavaScript config file becomes JSON, YAML or TOML.
//!
//! The config is an ES module whose default export is the config object, or a function (sync
//! or async) that receives `env` and returns it:
//!
//! ```js
//! export default (env) => ({
//!   name: 'shop',
//!   port: Number(env.PORT ?? 8080),
//!   replicas: env.STAGE === 'prod' ? 3 : 1,
//! });
//! ```
//!
//! `env` holds exactly what the host passes ([`ConfigOptions::env`]); the real process
//! environment is never visible (there is no `process`), nor the file system: a config can
//! import only relative modules under its own directory (and `.json` files through
//! `require`), and `env` is also importable as `import { env } from 'sandvm:env'`.
//! Deterministic mode is on by default (`Math.random` is seeded, `Date` is fixed at 0), so the
//! same config and `env` give the same output byte for byte.
//!
//! ```
//! # fn main() -> sandvm_apps::Result<()> {
//! use sandvm_apps::config::{self, ConfigOptions, Format};
//! let opts = ConfigOptions::default().env_var("PORT", "9000");
//! let value = config::evaluate_source("export default (env) => ({ port: Number(env.PORT) })", "app.config.js", &opts)?;
//! assert_eq!(config::render(&value, Format::Toml)?, "port = 9000\n");
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::error::read_text;
use crate::{Error, Result, SchemaViolation};

/// How a config is evaluated.
#[derive(Debug, Clone)]
pub struct ConfigOptions {
    /// The variables the config sees as `env`. By default, none.
    pub env: BTreeMap<String, String>,
    /// Deterministic mode. By default, `true`.
    pub deterministic: bool,
    /// Sandbox limits. By default, [`sandvm::Limits::default`] (1 s, 64 MiB).
    pub limits: sandvm::Limits,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions { env: BTreeMap::new(), deterministic: true, limits: sandvm::Limits::default() }
    }
}

impl ConfigOptions {
    /// Adds one variable to `env`.
    pub fn env_var(mut self, name: &str, value: &str) -> ConfigOptions {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    /// Copies the named variables from the real process environment into `env` (variables
    /// that are not set are left out). Nothing else of the environment is passed.
    pub fn env_from_process<S: AsRef<str>>(mut self, names: &[S]) -> ConfigOptions {
        for n in names {
            if let Ok(v) = std::env::var(n.as_ref()) {
                self.env.insert(n.as_ref().to_string(), v);
            }
        }
        self
    }
}

/// An output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty-printed JSON (two-space indent) and a final newline.
    Json,
    /// YAML.
    Yaml,
    /// TOML (the config must be an object, and contain no `null`).
    Toml,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "yaml" | "yml" => Ok(Format::Yaml),
            "toml" => Ok(Format::Toml),
            other => Err(Error::invalid("--format", format!("unknown format '{other}' (json, yaml, toml)"))),
        }
    }
}

const LOADER: &str = "<config-loader>";

/// Evaluates the config file at `path` to JSON. Relative imports resolve under the file's
/// directory and nowhere else.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Sandbox`] for a syntax error, an
/// exception (`process.env` is a `ReferenceError`), a refused import
/// ([`sandvm::Error::ModuleNotFound`] for `import 'fs'` or `require('fs')`), a limit;
/// [`Error::Invalid`] when there is no default export or it has no JSON form.
pub fn evaluate_file(path: impl AsRef<Path>, opts: &ConfigOptions) -> Result<Json> {
    let path = path.as_ref();
    let source = read_text(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("config.js").to_string();
    let modules = sandvm::ModuleConfig::new().root(&dir)?;
    // The entry itself is registered from the text read above; its imports come from `dir`.
    evaluate(&source, &name, modules, opts)
}

/// Evaluates config source named `name` (no imports but `sandvm:env`).
///
/// # Errors
/// As [`evaluate_file`], without [`Error::Io`].
pub fn evaluate_source(source: &str, name: &str, opts: &ConfigOptions) -> Result<Json> {
    evaluate(source, name, sandvm::ModuleConfig::new(), opts)
}

fn evaluate(source: &str, name: &str, modules: sandvm::ModuleConfig, opts: &ConfigOptions) -> Result<Json> {
    if name.contains('\'') || name.contains('\\') || name.contains('\n') {
        return Err(Error::invalid("config", format!("unsupported file name {name:?}")));
    }
    let env: serde_json::Map<String, Json> =
        opts.env.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect();
    let modules = modules
        .module(name, source)
        .host_module("sandvm:env", sandvm::HostModule::new().value("env", Json::Object(env)))
        .allow("sandvm:env");
    let mut copts = sandvm::ContextOptions::default().strict(true).modules(modules).filename(name);
    if opts.deterministic {
        copts = copts.deterministic(Some(sandvm::Deterministic::default()));
    }
    let rt = sandvm::Runtime::new(opts.limits.clone())?;
    let ctx = sandvm::Context::new(&rt, copts)?;
    let loader = format!(
        "import * as config from './{name}';\n\
         import {{ env }} from 'sandvm:env';\n\
         let v = 'default' in config ? config.default : undefined;\n\
         export const missing = !('default' in config);\n\
         if (typeof v === 'function') v = v(Object.freeze({{ ...env }}));\n\
         v = await v;\n\
         export const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;\n\
         export const text = JSON.stringify(v);\n"
    );
    let done = ctx.run_module(&loader, LOADER)?;
    let ns = done.value.unwrap_or(Json::Null);
    if ns.get("missing") == Some(&Json::Bool(true)) {
        return Err(Error::invalid(name, "the config has no default export (write `export default {...}`)"));
    }
    let kind = ns.get("kind").and_then(Json::as_str).unwrap_or("undefined").to_string();
    match ns.get("text").and_then(Json::as_str) {
        Some(text) if kind == "object" || kind == "array" => {
            serde_json::from_str(text).map_err(|e| Error::invalid(name, format!("the config is not JSON: {e}")))
        }
        Some(_) | None => Err(Error::invalid(name, format!("the config must be an object, not {kind}"))),
    }
}

/// Checks `value` against a JSON Schema (drafts 4, 6, 7, 2019-09 and 2020-12; `$ref`s to
/// other files or URLs are not fetched).
///
/// # Errors
/// [`Error::Invalid`] when the schema itself is invalid; [`Error::Schema`] listing every
/// violation with its instance path.
pub fn validate(value: &Json, schema: &Json) -> Result<()> {
    let validator = jsonschema::validator_for(schema).map_err(|e| Error::invalid("schema", e.to_string()))?;
    let violations: Vec<SchemaViolation> = validator
        .iter_errors(value)
        .map(|e| SchemaViolation {
            instance_path: e.instance_path().to_string(),
            schema_path: e.schema_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::Schema { violations })
    }
}

/// Reads a JSON Schema file.
///
/// # Errors
/// [`Error::Io`], [`Error::TooLarge`]/[`Error::TooDeep`] past the bounds of
/// [`crate::input`], or [`Error::Parse`].
pub fn read_schema(path: impl AsRef<Path>) -> Result<Json> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let what = path.display().to_string();
    crate::input::check_text(&text, &what)?;
    serde_json::from_str(&text).map_err(|e| Error::parse(what, e))
}

/// Writes `value` in `format`. The output always ends with a newline and depends only on
/// the value (object keys keep the order the config wrote them in).
///
/// # Errors
/// [`Error::Output`] for TOML when the root is not an object or a value is `null`.
pub fn render(value: &Json, format: Format) -> Result<String> {
    let out = |f: &str, e: &dyn std::fmt::Display| Error::Output { format: f.into(), message: e.to_string() };
    let mut s = match format {
        Format::Json => serde_json::to_string_pretty(value).map_err(|e| out("json", &e))?,
        Format::Yaml => serde_norway::to_string(value).map_err(|e| out("yaml", &e))?,
        Format::Toml => {
            if !value.is_object() {
                return Err(out("toml", &"the root of a TOML document must be an object"));
            }
            if let Some(path) = find_null(value, String::new()) {
                return Err(out("toml", &format!("TOML has no null (at {path})")));
            }
            toml::to_string(value).map_err(|e| out("toml", &e))?
        }
    };
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

fn find_null(v: &Json, path: String) -> Option<String> {
    match v {
        Json::Null => Some(if path.is_empty() { "/".into() } else { path }),
        Json::Array(a) => a.iter().enumerate().find_map(|(i, x)| find_null(x, format!("{path}/{i}"))),
        Json::Object(o) => o.iter().find_map(|(k, x)| find_null(x, format!("{path}/{k}"))),
        _ => None,
    }
}

/// Evaluates, validates (when `schema` is given) and renders a config file: what
/// `sandvm config eval` does.
///
/// # Errors
/// As [`evaluate_file`], [`validate`] and [`render`].
pub fn eval_file_to_string(
    path: impl AsRef<Path>,
    schema: Option<&Json>,
    format: Format,
    opts: &ConfigOptions,
) -> Result<String> {
    let value = evaluate_file(path, opts)?;
    if let Some(schema) = schema {
        validate(&value, schema)?;
    }
    render(&value, format)
}
