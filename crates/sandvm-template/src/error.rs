//! The error type of the crate.

/// Everything that can go wrong when parsing, compiling or rendering a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text does not parse.
    ///
    /// `line` and `column` are 1-based and point at the offending character (or the tag
    /// that starts the offending construct); `message` says what was expected.
    #[error("{name}:{line}:{column}: {message}")]
    Parse {
        /// What went wrong and what was expected instead.
        message: String,
        /// 1-based line of the error.
        line: u32,
        /// 1-based column of the error (in characters).
        column: u32,
        /// The template's name (`<inline>` for [`crate::Templates::render_str`]).
        name: String,
    },
    /// A template, partial or helper raised an error while rendering: a missing helper, a
    /// `strict` lookup miss, or an exception thrown by a helper. The message carries the
    /// template position (`line:column`) when it is known.
    #[error("{message}")]
    Template {
        /// The error message, ending with ` - line:column` when the template position is
        /// known — the column 0-based, as handlebars.js writes it (`"b" not defined in
        /// [object Object] - 1:2`).
        message: String,
        /// 1-based line in the template, when known.
        line: Option<u32>,
        /// 1-based column in the template, when known.
        column: Option<u32>,
    },
    /// The render (or a helpers script) ended with a sandbox error: a limit was hit
    /// (timeout, memory, stack, output), or guest code failed outside a template.
    #[error("{0}")]
    Sandbox(sandvm::Error),
    /// `render` named a template that was never registered.
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    /// A partial named in a template was never registered (Handlebars mode; Mustache renders
    /// a missing partial as the empty string).
    /// Displayed as handlebars.js says it: `The partial NAME could not be found` (its
    /// position, when known, appended as ` - line:column` with a 0-based column).
    #[error("The partial {name} could not be found{}", at(*line, *column))]
    UnknownPartial {
        /// The partial name.
        name: String,
        /// 1-based line of the partial tag, when known.
        line: Option<u32>,
        /// 1-based column of the partial tag, when known.
        column: Option<u32>,
    },
    /// A helper was called that was never registered.
    /// Displayed as handlebars.js says it: `Missing helper: "NAME"` (its position, when
    /// known, appended as ` - line:column` with a 0-based column). Also raised when a
    /// template calls `helperMissing` or `blockHelperMissing` directly (handlebars.js 4.7.9
    /// refuses that too).
    #[error("Missing helper: \"{name}\"{}", at(*line, *column))]
    UnknownHelper {
        /// The helper name.
        name: String,
        /// 1-based line of the tag, when known.
        line: Option<u32>,
        /// 1-based column of the tag, when known.
        column: Option<u32>,
    },
    /// A helper or helpers script given by the host is not valid (e.g. its source does not
    /// evaluate to a function).
    #[error("invalid helper: {0}")]
    InvalidHelper(String),
    /// The template exceeds a compile-time bound ([`CompileLimit`]): it nests too deeply, its
    /// source is too large, or the JavaScript generated for it would be too large. Raised
    /// before any code runs, whatever the sandbox limits are.
    #[error("{name}:{line}:{column}: the template exceeds the {limit} limit ({max})")]
    TooComplex {
        /// Which bound was exceeded.
        limit: CompileLimit,
        /// The bound's value (see [`CompileLimit`] for its unit).
        max: usize,
        /// The template's name (`<inline>` for [`crate::Templates::render_str`], `<runtime>`
        /// for text compiled at render time by a helper or a Mustache lambda).
        name: String,
        /// 1-based line where the bound was crossed (1 for size bounds).
        line: u32,
        /// 1-based column where the bound was crossed (1 for size bounds).
        column: u32,
    },
}

/// A compile-time bound on template text (see [`TemplateError::TooComplex`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompileLimit {
    /// Nesting depth of blocks, sections, `else if` chains, subexpressions, inline and
    /// partial blocks: at most [`crate::MAX_NESTING`] levels.
    Nesting,
    /// Size of the template source: at most [`crate::MAX_SOURCE_BYTES`] bytes.
    SourceSize,
    /// Size of the JavaScript generated for one template: at most
    /// [`crate::MAX_GENERATED_BYTES`] bytes.
    GeneratedSize,
}

impl CompileLimit {
    /// A stable lowercase name (`nesting`, `source_size`, `generated_size`).
    pub fn as_str(self) -> &'static str {
        match self {
            CompileLimit::Nesting => "nesting",
            CompileLimit::SourceSize => "source_size",
            CompileLimit::GeneratedSize => "generated_size",
        }
    }

    /// The inverse of [`CompileLimit::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<CompileLimit> {
        [CompileLimit::Nesting, CompileLimit::SourceSize, CompileLimit::GeneratedSize]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for CompileLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CompileLimit::Nesting => "nesting depth",
            CompileLimit::SourceSize => "source size",
            CompileLimit::GeneratedSize => "generated code size",
        })
    }
}

impl TemplateError {
    /// A stable machine-readable name of the error: `parse`, `template`, `unknown_template`,
    /// `unknown_partial`, `unknown_helper`, `invalid_helper`, `too_complex`, or for
    /// [`TemplateError::Sandbox`] the sandbox error's own kind ([`sandvm::Error::kind`]).
    pub fn kind(&self) -> &'static str {
        match self {
            TemplateError::Parse { .. } => "parse",
            TemplateError::Template { .. } => "template",
            TemplateError::Sandbox(e) => e.kind(),
            TemplateError::UnknownTemplate(_) => "unknown_template",
            TemplateError::UnknownPartial { .. } => "unknown_partial",
            TemplateError::UnknownHelper { .. } => "unknown_helper",
            TemplateError::InvalidHelper(_) => "invalid_helper",
            TemplateError::TooComplex { .. } => "too_complex",
        }
    }

    /// The 1-based `(line, column)` in the template where the error is, when it has one:
    /// parse errors and compile-time bounds always do; render errors when the failing tag is
    /// known; sandbox errors, unknown templates and invalid helpers never.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            TemplateError::Parse { line, column, .. } | TemplateError::TooComplex { line, column, .. } => {
                Some((*line, *column))
            }
            TemplateError::Template { line, column, .. }
            | TemplateError::UnknownPartial { line, column, .. }
            | TemplateError::UnknownHelper { line, column, .. } => line.zip(*column),
            TemplateError::Sandbox(_) | TemplateError::UnknownTemplate(_) | TemplateError::InvalidHelper(_) => None,
        }
    }

    /// True when the error means a sandbox limit was hit (timeout, memory, stack depth or
    /// output size).
    pub fn is_limit(&self) -> bool {
        matches!(self, TemplateError::Sandbox(e) if e.is_limit())
    }
}

impl From<sandvm::Error> for TemplateError {
    fn from(e: sandvm::Error) -> Self {
        TemplateError::Sandbox(e)
    }
}

/// ` - line:column` with a 0-based column (handlebars.js' form) from a 1-based position.
fn at(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" - {l}:{}", c.saturating_sub(1)),
        _ => String::new(),
    }
}

/// The crate's result type.
pub type Result<T, E = TemplateError> = std::result::Result<T, E>;

/// Computes the 1-based line and column (in characters) of a byte offset in `src`.
pub(crate) fn line_col(src: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(src.len());
    let mut line = 1u32;
    let mut col = 1u32;
    for (i, ch) in src.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}
