//! Source languages. JavaScript runs as is; TypeScript (with the `typescript` cargo feature)
//! has its types stripped on the host by `sandvm-typescript` (oxc) and its error positions
//! mapped back to the TypeScript source.

use crate::{Error, Result};

/// The language of guest source.
///
/// TypeScript is type-stripped, never type-checked: a type error is not an error, a syntax
/// error is ([`Error::Syntax`] with the TypeScript source's line and column). Positions of
/// exceptions and stack frames point into the TypeScript source. Needs the `typescript` cargo
/// feature; without it [`Language::TypeScript`] answers [`Error::Host`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Language {
    /// JavaScript (the default).
    #[default]
    JavaScript,
    /// TypeScript: types are stripped before the engine sees the source.
    TypeScript,
}

impl Language {
    /// TypeScript for names ending in `.ts`, `.mts`, `.cts` or `.tsx` (not `.d.ts`), JavaScript
    /// otherwise.
    pub fn from_path(name: &str) -> Language {
        let lower = name.to_ascii_lowercase();
        if !lower.ends_with(".d.ts") && [".ts", ".mts", ".cts", ".tsx"].iter().any(|e| lower.ends_with(e)) {
            Language::TypeScript
        } else {
            Language::JavaScript
        }
    }

    /// True when this build can run the language (TypeScript needs the `typescript` feature).
    pub fn is_available(self) -> bool {
        match self {
            Language::JavaScript => true,
            Language::TypeScript => cfg!(feature = "typescript"),
        }
    }

    /// `"javascript"` or `"typescript"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
        }
    }
}

impl std::str::FromStr for Language {
    type Err = Error;

    /// Parses `javascript`/`js` or `typescript`/`ts` (any case).
    fn from_str(s: &str) -> Result<Language> {
        match s.to_ascii_lowercase().as_str() {
            "javascript" | "js" => Ok(Language::JavaScript),
            "typescript" | "ts" => Ok(Language::TypeScript),
            other => Err(Error::Host(format!("unknown language '{other}' (javascript or typescript)"))),
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The version of the TypeScript transform (part of cache keys), `None` without the feature.
pub fn typescript_transformer_version() -> Option<&'static str> {
    #[cfg(feature = "typescript")]
    {
        Some(sandvm_typescript::TRANSFORMER_VERSION)
    }
    #[cfg(not(feature = "typescript"))]
    {
        None
    }
}

/// Checks that `source` parses as a classic script in `language` (for TypeScript: its types
/// strip and the result compiles), without running anything. Stored scripts use it to refuse
/// bad source when they are created.
///
/// ```
/// use sandvm::{check_syntax, Language};
/// assert!(check_syntax("1 +", "a.js", false, Language::JavaScript).is_err());
/// assert!(check_syntax("1 + 1", "a.js", false, Language::JavaScript).is_ok());
/// ```
///
/// # Errors
/// [`Error::Syntax`] with the source's line and column (the TypeScript source's for
/// TypeScript); [`Error::SourceTooLarge`]; [`Error::TooDeep`] for TypeScript nested too deeply;
/// [`Error::Host`] for TypeScript without the `typescript` cargo feature.
pub fn check_syntax(source: &str, filename: &str, strict: bool, language: Language) -> Result<()> {
    use crate::script::{compile, SourceKind};
    match language {
        Language::JavaScript => compile(source, filename, strict, SourceKind::Script).map(|_| ()),
        #[cfg(feature = "typescript")]
        Language::TypeScript => {
            let out = transpile(source, filename, TsKind::Script)?;
            compile(&out.code, filename, strict, SourceKind::Script)
                .map(|_| ())
                .map_err(|e| remap(e, &out.map, filename))
        }
        #[cfg(not(feature = "typescript"))]
        Language::TypeScript => Err(unavailable()),
    }
}

/// A TypeScript classic script with its types stripped ([`strip_types`]), and the way back
/// to the TypeScript source's positions. For hosts that hand the JavaScript to the guest
/// themselves (template helpers files are evaluated by guest code).
#[derive(Debug, Clone)]
pub struct StrippedTypeScript {
    /// The JavaScript.
    pub code: String,
    /// The name the positions are mapped for (the one given to [`strip_types`]).
    pub filename: String,
    #[cfg(feature = "typescript")]
    map: std::sync::Arc<sandvm_typescript::PositionMap>,
}

impl StrippedTypeScript {
    /// Maps the positions of `err` (a syntax error or an exception raised by
    /// [`StrippedTypeScript::code`] running under the name `ran_as`) back to the TypeScript
    /// source: the error's line and column, and the stack frames that name `ran_as`, which
    /// then name [`StrippedTypeScript::filename`]. Other errors come back unchanged.
    pub fn remap(&self, err: Error, ran_as: &str) -> Error {
        #[cfg(feature = "typescript")]
        {
            let err = remap(err, &self.map, ran_as);
            if ran_as == self.filename {
                return err;
            }
            match err {
                Error::Exception { name, message, stack, line, column, value } => {
                    let stack = stack.map(|s| s.replace(&format!("{ran_as}:"), &format!("{}:", self.filename)));
                    Error::Exception { name, message, stack, line, column, value }
                }
                other => other,
            }
        }
        #[cfg(not(feature = "typescript"))]
        {
            let _ = ran_as;
            err
        }
    }
}

/// Strips the types of a TypeScript classic script named `filename`, without running it.
/// [`Context::eval_with`](crate::Context::eval_with) with [`Language::TypeScript`] does
/// this (and the position mapping) by itself; this is for hosts that give the JavaScript
/// to guest code to evaluate.
///
/// # Errors
/// [`Error::Syntax`] with the TypeScript source's line and column; [`Error::SourceTooLarge`]
/// over [`MAX_TYPESCRIPT_SOURCE`]; [`Error::TooDeep`]; [`Error::Host`] without the
/// `typescript` cargo feature.
pub fn strip_types(source: &str, filename: &str) -> Result<StrippedTypeScript> {
    #[cfg(feature = "typescript")]
    {
        let out = transpile(source, filename, TsKind::Script)?;
        Ok(StrippedTypeScript { code: out.code, filename: filename.to_string(), map: std::sync::Arc::new(out.map) })
    }
    #[cfg(not(feature = "typescript"))]
    {
        let _ = (source, filename);
        Err(unavailable())
    }
}

/// Largest TypeScript source sandvm transforms: 4 MiB (larger sources answer
/// [`Error::SourceTooLarge`]).
pub const MAX_TYPESCRIPT_SOURCE: usize = 4 * 1024 * 1024;

#[cfg(not(feature = "typescript"))]
pub(crate) fn unavailable() -> Error {
    Error::Host("TypeScript needs sandvm's `typescript` cargo feature".into())
}

#[cfg(feature = "typescript")]
pub(crate) use ts::*;

#[cfg(feature = "typescript")]
mod ts {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use sandvm_typescript::{Options, PositionMap, SourceKind};

    use crate::{Error, Result};

    /// What a transform is for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum TsKind {
        Script,
        Module,
        CommonJs,
    }

    /// Strips types; errors become sandvm errors with TypeScript positions.
    pub(crate) fn transpile(source: &str, filename: &str, kind: TsKind) -> Result<sandvm_typescript::Output> {
        let mut options = Options::kind(match kind {
            TsKind::Script => SourceKind::Script,
            TsKind::Module => SourceKind::Module,
            TsKind::CommonJs => SourceKind::CommonJs,
        });
        options.max_source_bytes = super::MAX_TYPESCRIPT_SOURCE;
        sandvm_typescript::transform(source, filename, &options).map_err(convert)
    }

    /// Strips the types of a classic script. With `top_level_await`, a script that does not
    /// parse as one (top-level `await` is an identifier in scripts) is parsed as a module,
    /// whose error is then the one reported (it knows whether the input is incomplete).
    pub(crate) fn transpile_script(
        source: &str,
        filename: &str,
        top_level_await: bool,
    ) -> Result<sandvm_typescript::Output> {
        match transpile(source, filename, TsKind::Script) {
            Err(Error::Syntax { .. }) if top_level_await => transpile(source, filename, TsKind::Module),
            other => other,
        }
    }

    fn convert(e: sandvm_typescript::Error) -> Error {
        match e {
            sandvm_typescript::Error::Syntax { message, line, column, incomplete_input } => {
                Error::Syntax { message, line: Some(line), column: Some(column), incomplete_input }
            }
            sandvm_typescript::Error::TooLarge { size, max } => Error::SourceTooLarge { len: size, max },
            sandvm_typescript::Error::TooDeep { max } => Error::TooDeep { max },
            other => Error::Host(other.to_string()),
        }
    }

    /// Maps the positions of `err` (raised by code generated from `filename`) back to the
    /// TypeScript source.
    pub(crate) fn remap(err: Error, map: &PositionMap, filename: &str) -> Error {
        match err {
            Error::Exception { name, message, stack, line, column, value } => {
                let (stack, line, column) = remap_frames(stack, line, column, &[(filename, map)]);
                Error::Exception { name, message, stack, line, column, value }
            }
            Error::Syntax { message, line: Some(l), column: Some(c), incomplete_input } => {
                let (line, column) = map.original(l, c).unwrap_or((l, c));
                Error::Syntax { message, line: Some(line), column: Some(column), incomplete_input }
            }
            other => other,
        }
    }

    /// Rewrites the frames of every mapped file in `stack`; line and column follow the first
    /// frame when it was rewritten.
    fn remap_frames(
        stack: Option<String>,
        line: Option<u32>,
        column: Option<u32>,
        maps: &[(&str, &PositionMap)],
    ) -> (Option<String>, Option<u32>, Option<u32>) {
        let Some(stack) = stack else { return (None, line, column) };
        let mut out = stack.clone();
        for (name, map) in maps {
            out = map.remap_stack(&out, name);
        }
        if out == stack {
            return (Some(out), line, column);
        }
        match crate::error_info::first_position(&out) {
            Some((l, c)) => (Some(out), Some(l), Some(c)),
            None => (Some(out), line, column),
        }
    }

    /// TypeScript modules a context loaded: their sources by module name, and the position
    /// maps computed when an error needs them (a module whose bytecode came from the cache was
    /// never transformed in this process).
    #[derive(Debug, Default, Clone)]
    pub(crate) struct TsModules {
        inner: Arc<Mutex<HashMap<String, TsModule>>>,
    }

    /// A TypeScript module's source and, once known, its position map.
    type TsModule = (Arc<str>, Option<Arc<PositionMap>>);

    impl TsModules {
        /// Remembers the TypeScript source of module `name` (and its map, when known).
        pub(crate) fn register(&self, name: &str, source: Arc<str>, map: Option<PositionMap>) {
            if let Ok(mut m) = self.inner.lock() {
                m.insert(name.to_string(), (source, map.map(Arc::new)));
            }
        }

        /// Maps the frames of `err` that point into registered TypeScript modules.
        pub(crate) fn remap(&self, err: Error) -> Error {
            let Error::Exception { name, message, stack, line, column, value } = err else { return err };
            let Some(text) = stack.as_deref() else {
                return Error::Exception { name, message, stack, line, column, value };
            };
            let mut maps: Vec<(String, Arc<PositionMap>)> = Vec::new();
            if let Ok(mut m) = self.inner.lock() {
                for (module, (source, map)) in m.iter_mut() {
                    if !text.contains(&format!("{module}:")) {
                        continue;
                    }
                    if map.is_none() {
                        let kind = if module.ends_with(".cts") { TsKind::CommonJs } else { TsKind::Module };
                        *map = transpile(source, module, kind).ok().map(|o| Arc::new(o.map));
                    }
                    if let Some(map) = map {
                        maps.push((module.clone(), map.clone()));
                    }
                }
            }
            // Longer names first, so that `a/b.ts` is not rewritten as `b.ts`.
            maps.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
            let refs: Vec<(&str, &PositionMap)> = maps.iter().map(|(n, m)| (n.as_str(), m.as_ref())).collect();
            let (stack, line, column) = remap_frames(stack, line, column, &refs);
            Error::Exception { name, message, stack, line, column, value }
        }
    }
}

/// [`crate::Context::eval_with`] for TypeScript source, or for JavaScript whose imports may be
/// TypeScript modules. `None`: run it as plain JavaScript.
pub(crate) fn eval(
    ctx: &crate::Context,
    source: &str,
    opts: &crate::EvalOptions,
    want: crate::Want,
) -> Option<Result<crate::Completion>> {
    #[cfg(not(feature = "typescript"))]
    {
        let _ = (ctx, source, want);
        (opts.language == Language::TypeScript).then(|| Err(unavailable()))
    }
    #[cfg(feature = "typescript")]
    {
        let js_opts = crate::EvalOptions { language: Language::JavaScript, ..opts.clone() };
        let result = if opts.language == Language::TypeScript {
            let filename = opts.filename.clone().unwrap_or_else(|| ctx.options().filename.clone());
            match transpile_script(source, &filename, opts.top_level_await) {
                Err(e) => Err(e),
                Ok(out) => ctx.eval_js(&out.code, &js_opts, want).map_err(|e| remap(e, &out.map, &filename)),
            }
        } else {
            ctx.eval_js(source, &js_opts, want)
        };
        Some(result.map_err(|e| remap_modules(ctx, e)))
    }
}

/// [`crate::Context::run_module`] for a TypeScript entry module (by its name's extension), or
/// a JavaScript one whose imports may be TypeScript. `None`: run it as plain JavaScript.
pub(crate) fn run_module(ctx: &crate::Context, source: &str, name: &str) -> Option<Result<crate::Completion>> {
    #[cfg(not(feature = "typescript"))]
    {
        let _ = (ctx, source, name);
        None
    }
    #[cfg(feature = "typescript")]
    {
        let result = if Language::from_path(name) == Language::TypeScript {
            let kind = if name.to_ascii_lowercase().ends_with(".cts") { TsKind::CommonJs } else { TsKind::Module };
            match transpile(source, name, kind) {
                Err(e) => Err(e),
                Ok(out) => ctx.run_module_js(&out.code, name).map_err(|e| remap(e, &out.map, name)),
            }
        } else {
            ctx.run_module_js(source, name)
        };
        Some(result.map_err(|e| remap_modules(ctx, e)))
    }
}

/// Maps the frames of `err` that point into TypeScript modules `ctx` loaded (for runs that
/// call into module code: [`crate::Context::call`], a compiled script or function). The error
/// comes back unchanged without the `typescript` feature or when no such frame is in it.
pub(crate) fn remap_loaded(ctx: &crate::Context, err: Error) -> Error {
    #[cfg(feature = "typescript")]
    {
        remap_modules(ctx, err)
    }
    #[cfg(not(feature = "typescript"))]
    {
        let _ = ctx;
        err
    }
}

#[cfg(feature = "typescript")]
fn remap_modules(ctx: &crate::Context, err: Error) -> Error {
    match &ctx.options().modules {
        Some(m) => m.ts.remap(err),
        None => err,
    }
}
