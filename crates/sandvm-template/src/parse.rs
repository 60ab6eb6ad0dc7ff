//! Shared parser plumbing: the internal parse error with a byte offset, and the compile-time
//! bounds every parser and code generator enforces.

use crate::error::CompileLimit;

/// Deepest nesting of blocks, sections, `else if` chains, subexpressions, inline partials
/// and partial blocks in one template (the root counts as one level). Parsing, whitespace
/// control and code generation recurse once per level, so this also bounds the host stack
/// they use. 128: rendering a template nested this deep fits the default sandbox stack
/// (`sandvm::Limits::default()`); real templates nest a few levels.
pub const MAX_NESTING: usize = 128;

/// Largest template source, in bytes (1 MiB).
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// Largest JavaScript generated for one template, in bytes (16 MiB). Code generation is
/// linear in the source, so only a source near [`MAX_SOURCE_BYTES`] can come close.
pub const MAX_GENERATED_BYTES: usize = 16 << 20;

/// Refuses a source larger than [`MAX_SOURCE_BYTES`].
pub(crate) fn check_source(src: &str) -> PResult<()> {
    if src.len() > MAX_SOURCE_BYTES {
        return Err(PError::limit(CompileLimit::SourceSize, MAX_SOURCE_BYTES, 0));
    }
    Ok(())
}

/// Refuses generated code larger than [`MAX_GENERATED_BYTES`].
pub(crate) fn check_generated(js: String) -> PResult<String> {
    if js.len() > MAX_GENERATED_BYTES {
        return Err(PError::limit(CompileLimit::GeneratedSize, MAX_GENERATED_BYTES, 0));
    }
    Ok(js)
}

/// A parse error at a byte offset of the template source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PError {
    /// What went wrong and what was expected.
    pub message: String,
    /// Byte offset in the source.
    pub offset: usize,
    /// Set when a compile-time bound was exceeded: which one, and its value.
    pub limit: Option<(CompileLimit, usize)>,
}

impl PError {
    /// A new error at `offset`.
    pub fn new(message: impl Into<String>, offset: usize) -> PError {
        PError { message: message.into(), offset, limit: None }
    }

    /// A compile-time bound `limit` (of value `max`) exceeded at `offset`.
    pub fn limit(limit: CompileLimit, max: usize, offset: usize) -> PError {
        PError { message: format!("the template exceeds the {limit} limit ({max})"), offset, limit: Some((limit, max)) }
    }
}

/// Result of a parser function.
pub(crate) type PResult<T> = Result<T, PError>;
