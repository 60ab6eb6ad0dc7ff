//! The one error type of the crate.

use std::path::PathBuf;

/// One violation of a JSON Schema found by [`crate::config::validate`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchemaViolation {
    /// JSON Pointer of the offending value in the config (`/server/port`; `""` for the root).
    pub instance_path: String,
    /// JSON Pointer of the schema keyword that failed (`/properties/server/properties/port/maximum`).
    pub schema_path: String,
    /// What is wrong, e.g. `70000 is greater than the maximum of 65535`.
    pub message: String,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.instance_path.is_empty() { "(root)" } else { &self.instance_path };
        write!(f, "{at}: {}", self.message)
    }
}

/// Everything that can go wrong in the applications of this crate.
///
/// Guest failures keep their [`sandvm::Error`] (see [`Error::Sandbox`]), so callers can still
/// tell a timeout from a thrown exception with [`sandvm::Error::kind`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A manifest, rules file, facts file or schema does not parse (TOML, YAML or JSON).
    #[error("{what}: {message}")]
    Parse {
        /// What was being parsed (usually the file name).
        what: String,
        /// The parser's message, with its line and column when it gives them.
        message: String,
    },
    /// Input that parses but makes no sense: a duplicate rule id, a manifest entry that leaves
    /// the plugin directory, an empty condition, an unknown output format.
    #[error("{what}: {message}")]
    Invalid {
        /// What was being checked.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A plugin asked for a capability the host did not grant.
    #[error("plugin '{plugin}' requests capability '{capability}', which the host has not granted")]
    CapabilityNotGranted {
        /// The plugin's name.
        plugin: String,
        /// The capability it asked for.
        capability: String,
    },
    /// A plugin asked for more resources than the host allows.
    #[error("plugin '{plugin}': {message}")]
    LimitsNotAllowed {
        /// The plugin's name.
        plugin: String,
        /// Which limit, how much was asked and how much is allowed.
        message: String,
    },
    /// No plugin of that name is loaded.
    #[error("no plugin named '{0}' is loaded")]
    UnknownPlugin(String),
    /// A plugin of that name is already loaded.
    #[error("a plugin named '{0}' is already loaded")]
    DuplicatePlugin(String),
    /// The plugin was disabled after too many failures.
    #[error("plugin '{plugin}' is disabled: {reason}")]
    PluginDisabled {
        /// The plugin's name.
        plugin: String,
        /// Why it was disabled.
        reason: String,
    },
    /// A plugin failed while loading or in a hook.
    #[error("plugin '{plugin}': {source}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// What the sandbox reported.
        source: Box<sandvm::Error>,
    },
    /// A rule's condition or output does not compile.
    #[error("rule '{rule}': {source}")]
    Rule {
        /// The rule's id.
        rule: String,
        /// The compile error.
        source: Box<sandvm::Error>,
    },
    /// A config does not match its JSON Schema.
    #[error("the config does not match the schema: {}", violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    Schema {
        /// Every violation found, in the order the validator reports them.
        violations: Vec<SchemaViolation>,
    },
    /// A value cannot be written in the requested format (TOML has no `null`, its root must
    /// be a table).
    #[error("cannot write {format}: {message}")]
    Output {
        /// `json`, `yaml` or `toml`.
        format: String,
        /// Why.
        message: String,
    },
    /// Input is larger than the crate accepts ([`crate::input::MAX_INPUT_BYTES`]).
    #[error("{what}: {size} bytes, more than the {limit} accepted")]
    TooLarge {
        /// What was being read.
        what: String,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Input nests arrays or objects deeper than the crate accepts
    /// ([`crate::input::MAX_DEPTH`]).
    #[error("{what}: nested more than {limit} levels deep")]
    TooDeep {
        /// What was being read.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A plugin call failed after the host refused a write to a full host-side store (its
    /// key/value store, or its events and log lines of one call).
    #[error("plugin '{plugin}': quota exceeded: {quota} (at most {limit})")]
    QuotaExceeded {
        /// The plugin's name.
        plugin: String,
        /// Which store was full.
        quota: crate::plugin::Quota,
        /// Its cap.
        limit: usize,
    },
    /// Guest code failed in the sandbox (syntax error, exception, limit, module refused).
    #[error(transparent)]
    Sandbox(#[from] sandvm::Error),
}

impl Error {
    /// The process exit code the `sandvm` CLI uses for this error: 2 for usage, I/O and parse
    /// errors, 3 when a sandbox limit or a host-side store quota ([`Error::QuotaExceeded`]) was hit, 1 for everything else (guest errors, schema
    /// violations, refused capabilities).
    pub fn exit_code(&self) -> u8 {
        let sandbox = match self {
            Error::Io { .. }
            | Error::Parse { .. }
            | Error::Output { .. }
            | Error::TooLarge { .. }
            | Error::TooDeep { .. } => return 2,
            Error::QuotaExceeded { .. } => return 3,
            Error::Sandbox(e) => e,
            Error::Plugin { source, .. } | Error::Rule { source, .. } => source.as_ref(),
            _ => return 1,
        };
        match sandbox {
            e if e.is_limit() || matches!(e, sandvm::Error::Cancelled) => 3,
            e if e.is_host() => 2,
            _ => 1,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Error {
        Error::Io { path: path.into(), message: e.to_string() }
    }

    /// The sandbox error inside, when there is one.
    pub fn sandbox_error(&self) -> Option<&sandvm::Error> {
        match self {
            Error::Sandbox(e) => Some(e),
            Error::Plugin { source, .. } | Error::Rule { source, .. } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn parse(what: impl Into<String>, e: impl std::fmt::Display) -> Error {
        Error::Parse { what: what.into(), message: e.to_string() }
    }

    pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid { what: what.into(), message: message.into() }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a UTF-8 text file.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| Error::io(path, "not valid UTF-8"))
}
