//! Raising the package's exceptions (defined in Python, `sandvm/_errors.py`) from reports.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sandvm::ErrorReport;

/// The exception class of the package for an error kind of the JSON contract.
fn class_for(kind: &str) -> &'static str {
    match kind {
        "timeout" => "TimeoutError",
        "memory_limit" => "MemoryLimitError",
        "stack_overflow" => "StackOverflowError",
        "output_limit" => "OutputLimitError",
        "syntax" => "GuestSyntaxError",
        "exception" => "GuestError",
        _ => "SandboxError",
    }
}

/// Builds the exception for an error report: `SandboxError` or the subclass of its kind,
/// with `.kind`, `.name`, `.message`, `.stack`, `.line` and `.column`.
pub fn from_report(py: Python<'_>, e: &ErrorReport) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("sandvm._errors")?;
        let cls = module.getattr(class_for(&e.kind))?;
        let kw = PyDict::new(py);
        kw.set_item("kind", &e.kind)?;
        kw.set_item("name", &e.name)?;
        kw.set_item("stack", &e.stack)?;
        kw.set_item("line", e.line)?;
        kw.set_item("column", e.column)?;
        let exc = cls.call((&e.message,), Some(&kw))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// Builds the exception for a core error.
pub fn from_error(py: Python<'_>, e: &sandvm::Error) -> PyErr {
    from_report(py, &ErrorReport::from(e))
}

/// A `SandboxError` of `kind` with `message` (errors of the binding itself and of the pool).
pub fn sandbox_error(py: Python<'_>, kind: &str, message: impl Into<String>) -> PyErr {
    from_report(
        py,
        &ErrorReport { kind: kind.into(), name: None, message: message.into(), stack: None, line: None, column: None },
    )
}
