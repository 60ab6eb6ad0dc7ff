//! Template render jobs: a Handlebars template with partials, JavaScript helpers and data,
//! rendered by [`sandvm_template`] in a runtime of its own on the worker (thread or process),
//! so tenant quotas, the CPU budget, the isolation mode and the watchdog apply to it as to any
//! other job.

use std::collections::BTreeMap;
use std::time::Instant;

use sandvm::{CancelHandle, Completion, ErrorReport, Limits, Report, Stats};
use sandvm_template::{RenderOptions, TemplateError, TemplateOptions, Templates};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::wire::{json_text, ExecResult};

/// What a template job renders (see [`crate::Job::template`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateJob {
    /// The Handlebars template source.
    pub template: String,
    /// Partials by name. By default, none.
    pub partials: BTreeMap<String, String>,
    /// Helpers by name: JavaScript sources that evaluate to a function. By default, none.
    pub helpers: BTreeMap<String, String>,
    /// The data rendered (a deep copy goes in). By default, `null` (rendered as `{}`).
    #[serde(with = "json_text")]
    pub data: Json,
    /// The handlebars.js compile options (`compat`, `knownHelpers`, `strict`, ...). By
    /// default, handlebars.js' defaults.
    #[serde(with = "json_text")]
    pub options: TemplateOptions,
    /// The handlebars.js runtime options (`@data` frame, prototype access, per-render helpers
    /// and partials). By default, none (handlebars.js' safe prototype rules).
    #[serde(with = "json_text")]
    pub runtime: RenderOptions,
}

impl TemplateJob {
    /// A render of `template` with `data` and no partials or helpers.
    pub fn new(template: impl Into<String>, data: Json) -> TemplateJob {
        TemplateJob { template: template.into(), data, ..Default::default() }
    }
}

/// A template error as a job's report: its stable kind ([`TemplateError::kind`]: `parse`,
/// `template`, `unknown_template`, `unknown_partial`, `unknown_helper`, `invalid_helper`,
/// `too_complex`, or the sandbox error's own kind such as `timeout` or `memory_limit`) and,
/// when the error has one, its position in the template.
fn error_report(e: &TemplateError) -> ErrorReport {
    if let TemplateError::Sandbox(s) = e {
        return ErrorReport::from(s);
    }
    let (line, column) = e.position().unzip();
    ErrorReport { kind: e.kind().to_string(), name: None, message: e.to_string(), stack: None, line, column }
}

/// Renders `job` in a fresh template sandbox bounded by `limits`. `on_start` receives the
/// sandbox's cancel handle before anything runs.
///
/// The render runs on this thread without waiting for anything, so its CPU time is charged
/// as its wall-clock time (an upper bound).
pub(crate) fn run(
    id: u64,
    job: &TemplateJob,
    limits: &Limits,
    on_start: &mut dyn FnMut(Option<CancelHandle>),
) -> ExecResult {
    let started = Instant::now();
    let mut heap = 0;
    let mut started_hook = false;
    let result = (|| -> Result<String, TemplateError> {
        let mut t = Templates::with_options(limits.clone(), job.options.clone())?;
        on_start(Some(t.runtime().cancel_handle()));
        started_hook = true;
        for (name, source) in &job.partials {
            t.register_partial(name, source)?;
        }
        for (name, source) in &job.helpers {
            t.register_helper_js(name, source)?;
        }
        let empty = Json::Object(serde_json::Map::new());
        let data = if job.data.is_null() { &empty } else { &job.data };
        let r = t.render_str_with(&job.template, data, &job.runtime);
        heap = t.runtime().heap_used();
        r
    })();
    if !started_hook {
        on_start(None);
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let stats =
        Stats { wall_ms, cpu_ms: wall_ms, heap_bytes: heap, heap_peak_bytes: heap, jobs: 0, ..Default::default() };
    let report = match result {
        Ok(output) => Report::new(
            &Ok(Completion { value: Some(Json::String(output.clone())), display: output }),
            Vec::new(),
            &stats,
        ),
        Err(TemplateError::Sandbox(e)) => Report::new(&Err(e), Vec::new(), &stats),
        Err(e) => {
            let mut r = Report::new(&Err(sandvm::Error::Host(String::new())), Vec::new(), &stats);
            r.error = Some(error_report(&e));
            r
        }
    };
    ExecResult { id, report, stats, heap_after: 0, recycled: Vec::new() }
}
