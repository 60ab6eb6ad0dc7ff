//! Shared parser plumbing: the internal parse error with a byte offset.

/// A parse error at a byte offset of the template source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PError {
    /// What went wrong and what was expected.
    pub message: String,
    /// Byte offset in the source.
    pub offset: usize,
}

impl PError {
    /// A new error at `offset`.
    pub fn new(message: impl Into<String>, offset: usize) -> PError {
        PError { message: message.into(), offset }
    }
}

/// Result of a parser function.
pub(crate) type PResult<T> = Result<T, PError>;
