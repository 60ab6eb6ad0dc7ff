//! The one error type of the crate.

use std::sync::Arc;

use serde_json::Value as Json;

/// Everything that can go wrong when running guest code.
///
/// Guest failures (`Syntax`, `Exception`), limits (`Timeout`, `MemoryLimit`, `StackOverflow`,
/// `OutputLimit`, `JobLimit`), `Cancelled`, and host-side problems (`CachedDataRejected`, `Host`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source does not parse.
    #[error("SyntaxError: {message}{}", position(*line, *column))]
    Syntax {
        /// The engine's message, e.g. `unexpected token in expression: ')'`.
        message: String,
        /// 1-based line of the error, when known.
        line: Option<u32>,
        /// 1-based column of the error, when known.
        column: Option<u32>,
        /// True when the source ended before the statement did (an open brace, an unclosed
        /// template literal, a trailing operator): a REPL should read another line.
        incomplete_input: bool,
    },
    /// Guest code threw and nothing caught it (an uncaught exception or a rejected promise).
    #[error("{}: {message}{}", name.as_deref().unwrap_or("Uncaught"), position(*line, *column))]
    Exception {
        /// The error's `name` (`TypeError`, ...), or `None` when a non-Error value was thrown.
        name: Option<String>,
        /// The error's message, or the inspected thrown value.
        message: String,
        /// The error's `stack` property, when it is a string.
        stack: Option<String>,
        /// 1-based line of the innermost guest frame, when known.
        line: Option<u32>,
        /// 1-based column of the innermost guest frame, when known.
        column: Option<u32>,
        /// The thrown value as JSON, when it is representable.
        value: Option<Box<Json>>,
    },
    /// An import or `require` named a module that does not exist under the context's
    /// [`crate::ModuleConfig`].
    #[error("{message}")]
    ModuleNotFound {
        /// The specifier as written in the guest code.
        specifier: String,
        /// What went wrong.
        message: String,
    },
    /// An import or `require` was refused by the context's module policy (not allow-listed,
    /// outside the module root, an absolute path or URL, too large, not UTF-8).
    #[error("{message}")]
    ModuleNotAllowed {
        /// The specifier as written in the guest code.
        specifier: String,
        /// Why it was refused.
        message: String,
    },
    /// The run went past its wall-clock timeout or CPU budget.
    #[error("script execution timed out")]
    Timeout,
    /// The runtime went past its memory limit.
    #[error("memory limit exceeded")]
    MemoryLimit,
    /// Guest recursion went past the stack limit.
    #[error("stack overflow: maximum call stack size exceeded")]
    StackOverflow,
    /// The run produced more console output and result than its output limit.
    #[error("output limit exceeded")]
    OutputLimit,
    /// The run executed more promise jobs than its limit.
    #[error("promise job limit exceeded")]
    JobLimit,
    /// The run was cancelled through a [`crate::CancelHandle`].
    #[error("script execution was cancelled")]
    Cancelled,
    /// The script's completion value is a promise that can never settle (the job queue is
    /// empty and nothing else can resolve it).
    #[error("the promise returned by the script never settled")]
    Unsettled,
    /// Cached data was tampered with, truncated, made by another engine or sandvm version,
    /// made for another source, or signed with another key.
    #[error("cached data rejected: {0}")]
    CachedDataRejected(String),
    /// Another problem on the host side, with no variant of its own (a value that does not
    /// convert, an internal state the engine left inconsistent). Prefer the named variants.
    #[error("host error: {0}")]
    Host(String),
    /// A context or runtime was entered again while it was running (a host function called
    /// back into the context that called it).
    #[error("host error: {what} is already running (re-entrant call from a host function)")]
    Reentrant {
        /// `the context` or `a run on this runtime`.
        what: String,
    },
    /// A source is longer than sandvm takes: [`crate::MAX_SOURCE`] for JavaScript, and
    /// `MAX_TYPESCRIPT_SOURCE` for TypeScript (the `typescript` feature). Kind
    /// `source_too_large`.
    #[error("source is {len} bytes, more than the {max} allowed")]
    SourceTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A name the host called is not a function in the guest.
    #[error("host error: {what} is not a function")]
    NotAFunction {
        /// The name.
        what: String,
    },
    /// An argument or option given by the host is not valid (a parameter name, an unknown
    /// capability pack, globals that are not an object, ...).
    #[error("host error: {what}: {message}")]
    InvalidArgument {
        /// Which argument.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file or directory the host named (a cache directory, its key, a module root) cannot
    /// be used.
    #[error("host error: {}: {source}", path.display())]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: ErrorSource,
    },
    /// The engine, a thread or a random source could not be set up.
    #[error("host error: cannot set up {what}: {message}")]
    EngineInit {
        /// What (`the engine runtime`, `a context`, `the guest thread`, ...).
        what: String,
        /// Why, when known.
        message: String,
    },
    /// The [`crate::Executor`] was closed before the job ran.
    #[error("host error: the executor was closed")]
    ExecutorClosed,
    /// A host-side store a guest can fill (the `sandvm:kv` [`crate::KvStore`]) is at its cap.
    /// Guests see a `RangeError` instead.
    #[error("{store} is full: {message}")]
    StoreFull {
        /// Which store (`sandvm:kv`).
        store: String,
        /// Which cap was hit.
        message: String,
    },
    /// A JSON value handed in by the host is nested deeper than [`crate::MAX_JSON_DEPTH`]
    /// levels (copying it would recurse on the host's stack).
    #[error("JSON value nested deeper than {max} levels")]
    TooDeep {
        /// The cap that was passed.
        max: usize,
    },
    /// The process has as many abandoned guest threads (stuck past their deadline in a
    /// builtin the engine cannot interrupt) as its cap allows; no new work starts until some
    /// of them end. See [`crate::set_max_abandoned_threads`].
    #[error("too many abandoned guest threads ({abandoned} of at most {max}); try again later")]
    Saturated {
        /// Abandoned threads still alive.
        abandoned: usize,
        /// The process-wide cap.
        max: usize,
    },
    /// A context rebuilt on a fresh engine could not replay its recorded setup (see
    /// [`crate::Context::run_setup`]): the piece at index `step` failed. The next run tries
    /// again on a fresh build.
    #[error("replaying setup step {step} ({what}) failed: {source}")]
    SetupFailed {
        /// Index of the failing piece in the recorded setup.
        step: usize,
        /// What it is (`script <filename>`, `module <name>`, `call <name>`, `global <name>`, ...).
        what: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// A job given to an [`crate::Executor`] panicked; the executor caught the panic and
    /// rebuilt its guest state.
    #[error("the job panicked: {message}")]
    JobPanicked {
        /// The panic's message, when it was a string.
        message: String,
    },
}

fn position(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at {l}:{c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl Error {
    /// The stable machine-readable kind used in the JSON contract: `syntax`, `exception`,
    /// `module_not_found`, `module_not_allowed`, `timeout`, `memory_limit`, `stack_overflow`, `output_limit`, `job_limit`, `cancelled`,
    /// `unsettled`, `cached_data_rejected`, `host` (every host-side variant: [`Error::Host`],
    /// [`Error::Reentrant`], [`Error::NotAFunction`],
    /// [`Error::InvalidArgument`], [`Error::Io`], [`Error::EngineInit`],
    /// [`Error::ExecutorClosed`]), `saturated`, `store_full`, `too_deep`,
    /// `job_panicked`, `setup_failed` or `source_too_large` ([`Error::SourceTooLarge`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Syntax { .. } => "syntax",
            Error::Exception { .. } => "exception",
            Error::ModuleNotFound { .. } => "module_not_found",
            Error::ModuleNotAllowed { .. } => "module_not_allowed",
            Error::Timeout => "timeout",
            Error::MemoryLimit => "memory_limit",
            Error::StackOverflow => "stack_overflow",
            Error::OutputLimit => "output_limit",
            Error::JobLimit => "job_limit",
            Error::Cancelled => "cancelled",
            Error::Unsettled => "unsettled",
            Error::CachedDataRejected(_) => "cached_data_rejected",
            // Host-side failures keep the one stable kind of the JSON contract.
            Error::Host(_)
            | Error::Reentrant { .. }
            | Error::NotAFunction { .. }
            | Error::InvalidArgument { .. }
            | Error::Io { .. }
            | Error::EngineInit { .. }
            | Error::ExecutorClosed => "host",
            Error::Saturated { .. } => "saturated",
            Error::StoreFull { .. } => "store_full",
            Error::TooDeep { .. } => "too_deep",
            Error::JobPanicked { .. } => "job_panicked",
            Error::SourceTooLarge { .. } => "source_too_large",
            Error::SetupFailed { .. } => "setup_failed",
        }
    }

    /// True for the errors that mean a limit was hit (timeout, memory, stack, output, jobs).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Error::Timeout | Error::MemoryLimit | Error::StackOverflow | Error::OutputLimit | Error::JobLimit
        )
    }

    /// True for the host-side failures (kind `host`): [`Error::Host`], [`Error::Reentrant`],
    /// [`Error::SourceTooLarge`], [`Error::NotAFunction`], [`Error::InvalidArgument`],
    /// [`Error::Io`], [`Error::EngineInit`], [`Error::ExecutorClosed`].
    pub fn is_host(&self) -> bool {
        self.kind() == "host"
    }

    /// True for errors raised by guest code itself (syntax errors, uncaught exceptions,
    /// promises that never settle).
    pub fn is_guest(&self) -> bool {
        matches!(
            self,
            Error::Syntax { .. }
                | Error::Exception { .. }
                | Error::Unsettled
                | Error::ModuleNotFound { .. }
                | Error::ModuleNotAllowed { .. }
        )
    }
}

/// An error from outside sandvm (an I/O error), shared so that
/// [`Error`] stays `Clone` and comparable. It displays as the error it holds, its
/// [`std::error::Error::source`] is that error's source, and [`ErrorSource::downcast_ref`]
/// gets the original back.
#[derive(Clone)]
pub struct ErrorSource(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl ErrorSource {
    /// Wraps an error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> ErrorSource {
        ErrorSource(Arc::new(e))
    }

    /// The original error as a `T`, when it is one.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for ErrorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for ErrorSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two sources are equal when they are the same error or say the same thing.
impl PartialEq for ErrorSource {
    fn eq(&self, other: &ErrorSource) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl From<std::io::Error> for ErrorSource {
    fn from(e: std::io::Error) -> ErrorSource {
        ErrorSource::new(e)
    }
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), source: e.into() }
    }

    /// An [`Error::EngineInit`].
    pub(crate) fn init(what: &str, message: impl std::fmt::Display) -> Error {
        Error::EngineInit { what: what.into(), message: message.to_string() }
    }

    /// An [`Error::InvalidArgument`].
    pub(crate) fn invalid(what: &str, message: impl std::fmt::Display) -> Error {
        Error::InvalidArgument { what: what.into(), message: message.to_string() }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
