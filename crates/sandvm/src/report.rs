//! The JSON result contract shared by `sandvm run --json`, `sandvm eval --json` and the HTTP
//! service: one object per run.
//!
//! ```json
//! {"status":"ok"|"error","value":…,"display":"…",
//!  "error":null|{"kind":"…","name":"TypeError"|null,"message":"…","stack":"…"|null,"line":N|null,"column":N|null},
//!  "console":[{"level":"log","text":"…"}],
//!  "stats":{"wall_ms":F,"cpu_ms":F,"heap_bytes":N}}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::{Completion, ConsoleEntry, Error, Stats};

/// The error part of a [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// [`Error::kind`]: `syntax`, `exception`, `module_not_found`, `module_not_allowed`, `timeout`, `memory_limit`, `stack_overflow`,
    /// `output_limit`, `job_limit`, `cancelled`, `unsettled`, `cached_data_rejected`, `host`.
    pub kind: String,
    /// The JavaScript error name (`TypeError`, `SyntaxError`, ...), or `null`.
    pub name: Option<String>,
    /// A human-readable message.
    pub message: String,
    /// The guest stack trace, when there is one.
    pub stack: Option<String>,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> Self {
        let (name, message, stack, line, column) = match e {
            Error::Syntax { message, line, column, .. } => {
                (Some("SyntaxError".to_string()), message.clone(), None, *line, *column)
            }
            Error::Exception { name, message, stack, line, column, .. } => {
                (name.clone(), message.clone(), stack.clone(), *line, *column)
            }
            Error::ModuleNotFound { message, .. } => (Some("ModuleNotFound".into()), message.clone(), None, None, None),
            Error::ModuleNotAllowed { message, .. } => {
                (Some("ModuleNotAllowed".into()), message.clone(), None, None, None)
            }
            other => (None, other.to_string(), None, None, None),
        };
        ErrorReport { kind: e.kind().to_string(), name, message, stack, line, column }
    }
}

/// Stats as published in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReportStats {
    /// Wall-clock milliseconds.
    pub wall_ms: f64,
    /// CPU milliseconds.
    pub cpu_ms: f64,
    /// Engine heap bytes in use at the end of the run.
    pub heap_bytes: usize,
}

/// One run's result in the public JSON contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `"ok"` or `"error"`.
    pub status: String,
    /// The completion value as JSON (`null` when it has none, or on error).
    pub value: Json,
    /// The completion value rendered like `util.inspect` (`""` on error).
    pub display: String,
    /// The error, or `null`.
    pub error: Option<ErrorReport>,
    /// Console output in order.
    pub console: Vec<ConsoleEntry>,
    /// Measurements.
    pub stats: ReportStats,
}

impl Report {
    /// Builds the report of a run.
    pub fn new(result: &Result<Completion, Error>, console: Vec<ConsoleEntry>, stats: &Stats) -> Report {
        let stats =
            ReportStats { wall_ms: round3(stats.wall_ms), cpu_ms: round3(stats.cpu_ms), heap_bytes: stats.heap_bytes };
        match result {
            Ok(c) => Report {
                status: "ok".into(),
                value: c.value.clone().unwrap_or(Json::Null),
                display: c.display.clone(),
                error: None,
                console,
                stats,
            },
            Err(e) => Report {
                status: "error".into(),
                value: Json::Null,
                display: String::new(),
                error: Some(ErrorReport::from(e)),
                console,
                stats,
            },
        }
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!("{{\"status\":\"error\",\"value\":null,\"display\":\"\",\"error\":{{\"kind\":\"host\",\"name\":null,\"message\":{:?},\"stack\":null,\"line\":null,\"column\":null}},\"console\":[],\"stats\":{{\"wall_ms\":0,\"cpu_ms\":0,\"heap_bytes\":0}}}}", e.to_string())
        })
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
