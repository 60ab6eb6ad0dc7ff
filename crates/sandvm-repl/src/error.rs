//! The one error type of the REPL crate.

use std::path::PathBuf;

/// Everything that can go wrong in the REPL itself (guest errors are not REPL errors: they
/// are printed and the session goes on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplError {
    /// The sandbox could not be set up (runtime or context creation failed).
    #[error("cannot set up the sandbox: {0}")]
    Engine(#[from] sandvm::Error),
    /// A `.command` line is not understood.
    #[error("{0}")]
    Command(String),
    /// A file given to `.load` or `.save` cannot be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Terminal input or output failed.
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    /// The line editor failed.
    #[error("line editor: {0}")]
    Readline(#[from] rustyline::error::ReadlineError),
    /// The guest thread stopped answering (it died, or is stuck in a native call that the
    /// engine cannot interrupt).
    #[error("{0}")]
    GuestThread(String),
}
