//! # sandvm-typescript
//!
//! Strips TypeScript types in-process with [oxc](https://oxc.rs) (parser, transformer, code
//! generator) and keeps a [`PositionMap`] from the generated JavaScript back to the TypeScript
//! source, so that syntax errors, exception positions and stack frames can point into the
//! `.ts` file.
//!
//! There is no type checking: a type error is not an error, a syntax error is. What is
//! transformed: type annotations, interfaces, type aliases, generics, `as`/`satisfies`/non-null
//! `!`, `enum` and `const enum` (both become objects), namespaces, parameter properties,
//! `declare`, type-only imports and exports (and imports used only as types), `import x =
//! require()`, overloads, abstract classes, `accessor` fields. JSX is off unless asked
//! ([`Options::jsx`]). Nothing else is lowered: the output keeps the input's ECMAScript level,
//! except `accessor` fields (QuickJS-ng has no auto-accessors), which become a private storage
//! field, a getter and a setter, with every position before them unchanged; an `accessor` with
//! a computed, string or numeric key or with decorators is an [`Error::Syntax`] saying so.
//!
//! ```
//! let out = sandvm_typescript::transform(
//!     "interface P { x: number }\nconst p: P = { x: 1 };\np.x as number",
//!     "app.ts",
//!     &sandvm_typescript::Options::default(),
//! )?;
//! assert!(!out.code.contains("interface"));
//! # Ok::<(), sandvm_typescript::Error>(())
//! ```
//!
//! Hostile input is bounded: sources over [`Options::max_source_bytes`] are refused
//! ([`Error::TooLarge`]), nesting deeper than [`Options::max_nesting`] is refused before
//! parsing ([`Error::TooDeep`]), and the transform runs on a stack segment of known size
//! ([`TRANSFORM_STACK`]) so deep but allowed input cannot overflow the caller's stack.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accessor;
mod depth;
mod map;

use std::path::Path;

use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions, CommentOptions};
use oxc_diagnostics::OxcDiagnostic;
use oxc_parser::{ParseOptions, Parser};
use oxc_semantic::SemanticBuilder;
use oxc_span::SourceType;
use oxc_transformer::{JsxOptions, JsxRuntime, TransformOptions, Transformer};

pub use map::PositionMap;

/// The transformer's version, part of every cache key of transformed output: a new oxc or a
/// change to the options here must change it.
pub const TRANSFORMER_VERSION: &str = "oxc-0.146.0/sandvm-ts-2";

/// Default of [`Options::max_source_bytes`]: 4 MiB of TypeScript source.
pub const DEFAULT_MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;

/// Default of [`Options::max_nesting`]: 1,000 nested brackets or prefix operators.
pub const DEFAULT_MAX_NESTING: usize = 1000;

/// The stack the transform runs on (a fresh segment when the caller has less left): 64 MiB.
pub const TRANSFORM_STACK: usize = 64 * 1024 * 1024;

/// How the source is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SourceKind {
    /// A classic script (sloppy unless it says `"use strict"`); the default.
    #[default]
    Script,
    /// An ES module (`.ts`/`.mts` imported as a module).
    Module,
    /// A CommonJS module (`.cts`, or a `.ts` file loaded with `require`).
    CommonJs,
}

/// Transform options. `Options::default()` strips types from a script, with the default limits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Script, module or CommonJS. Default: [`SourceKind::Script`].
    pub kind: SourceKind,
    /// Refuse larger sources with [`Error::TooLarge`]. Default: [`DEFAULT_MAX_SOURCE_BYTES`].
    pub max_source_bytes: usize,
    /// Refuse deeper nesting with [`Error::TooDeep`]. Default: [`DEFAULT_MAX_NESTING`].
    pub max_nesting: usize,
    /// Accept TSX and compile JSX to `React.createElement` calls. Default: `false`.
    pub jsx: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kind: SourceKind::Script,
            max_source_bytes: DEFAULT_MAX_SOURCE_BYTES,
            max_nesting: DEFAULT_MAX_NESTING,
            jsx: false,
        }
    }
}

impl Options {
    /// Options for `kind`, other fields at their defaults.
    pub fn kind(kind: SourceKind) -> Options {
        Options { kind, ..Options::default() }
    }
}

/// What went wrong in a transform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source does not parse as TypeScript. Positions are the TypeScript source's.
    #[error("SyntaxError: {message} at {line}:{column}")]
    Syntax {
        /// oxc's message.
        message: String,
        /// 1-based line in the TypeScript source.
        line: u32,
        /// 1-based column (in characters) in the TypeScript source.
        column: u32,
        /// True when the error is at the very end of the source (a REPL should read more).
        incomplete_input: bool,
    },
    /// The source is larger than [`Options::max_source_bytes`].
    #[error("TypeScript source of {size} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// The source's size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The transformer failed on this input (a bug in it, reported instead of a panic).
    #[error("{0}")]
    Internal(String),
    /// The source nests deeper than [`Options::max_nesting`].
    #[error("TypeScript source nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

/// The result of a transform: JavaScript and the map back to the TypeScript source.
#[derive(Debug, Clone)]
pub struct Output {
    /// The generated JavaScript.
    pub code: String,
    /// Generated positions → TypeScript positions.
    pub map: PositionMap,
}

/// True when `name` ends in `.ts`, `.mts`, `.cts` or `.tsx` (not `.d.ts`).
pub fn is_typescript_path(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.ends_with(".d.ts") && [".ts", ".mts", ".cts", ".tsx"].iter().any(|ext| lower.ends_with(ext))
}

/// Strips the types of `source` (named `filename` in the source map).
///
/// # Errors
/// [`Error::Syntax`] with TypeScript positions, [`Error::TooLarge`], [`Error::TooDeep`].
pub fn transform(source: &str, filename: &str, options: &Options) -> Result<Output, Error> {
    if source.len() > options.max_source_bytes {
        return Err(Error::TooLarge { size: source.len(), max: options.max_source_bytes });
    }
    if depth::exceeds(source, options.max_nesting) {
        return Err(Error::TooDeep { max: options.max_nesting });
    }
    // Deep (but allowed) nesting recurses in oxc: run on a stack of known size.
    // A panic inside oxc on odd input becomes an error, never the caller's panic.
    stacker::maybe_grow(TRANSFORM_STACK / 2, TRANSFORM_STACK, || {
        std::panic::catch_unwind(|| transform_inner(source, filename, options)).unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::Internal(format!("the TypeScript transform failed: {what}")))
        })
    })
}

fn transform_inner(source: &str, filename: &str, options: &Options) -> Result<Output, Error> {
    let allocator = Allocator::default();
    let mut source_type = match options.kind {
        SourceKind::Script => SourceType::ts().with_script(true),
        SourceKind::Module => SourceType::ts().with_module(true),
        SourceKind::CommonJs => SourceType::ts().with_commonjs(true),
    };
    if options.jsx {
        source_type = source_type.with_jsx(true);
    }
    // Auto-accessors are lowered in the text first (lines and columns kept; see `accessor`).
    let lowered = accessor::lower(source, source_type)?;
    let source = lowered.as_deref().unwrap_or(source);
    let parse_options = ParseOptions::default();
    let parsed = Parser::new(&allocator, source, source_type).with_options(parse_options).parse();
    if let Some(first) = parsed.diagnostics.errors().next() {
        return Err(syntax_error(source, first));
    }
    if parsed.panicked {
        return Err(syntax_error_at(source, "the parser gave up".into(), source.len()));
    }
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new().with_check_syntax_error(true).with_enum_eval(true).build(&program);
    if let Some(first) = semantic.diagnostics.errors().next() {
        return Err(syntax_error(source, first));
    }
    let scoping = semantic.semantic.into_scoping();
    let mut transform_options = TransformOptions::default();
    if options.jsx {
        transform_options.jsx = JsxOptions { runtime: JsxRuntime::Classic, ..JsxOptions::default() };
    }
    let path = Path::new(filename);
    let ret = Transformer::new(&allocator, path, &transform_options).build_with_scoping(scoping, &mut program);
    if let Some(first) = ret.diagnostics.errors().next() {
        return Err(syntax_error(source, first));
    }
    let codegen_options = CodegenOptions {
        source_map_path: Some(path.to_path_buf()),
        comments: CommentOptions::disabled(),
        ..CodegenOptions::default()
    };
    let generated = Codegen::new().with_options(codegen_options).build(&program);
    let map = match generated.map {
        Some(m) => PositionMap::from_tokens(
            source,
            &generated.code,
            m.get_tokens().map(|t| [t.get_dst_line(), t.get_dst_col(), t.get_src_line(), t.get_src_col()]),
        ),
        None => PositionMap::default(),
    };
    Ok(Output { code: generated.code, map })
}

fn syntax_error(source: &str, d: &OxcDiagnostic) -> Error {
    let offset = d.labels.first().map(|l| l.offset() as usize).unwrap_or(source.len());
    syntax_error_at(source, d.message.to_string(), offset)
}

fn syntax_error_at(source: &str, message: String, offset: usize) -> Error {
    let offset = offset.min(source.len());
    let (line, column) = map::line_col(source, offset);
    let incomplete_input = source[offset..].trim().is_empty();
    Error::Syntax { message, line, column, incomplete_input }
}

#[cfg(test)]
mod tests;
