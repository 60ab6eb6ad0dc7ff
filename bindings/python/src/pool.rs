//! `sandvm.Pool`: the worker pool (`sandvm-pool`) with tenants, usable from many threads.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sandvm_pool::{Isolation, Job, JobOptions, PoolConfig, PoolError, TenantConfig};
use serde_json::{Map, Value as Json};

use crate::sandbox::{Options, Report};
use crate::{convert, errors};

fn pool_error(py: Python<'_>, e: &PoolError) -> PyErr {
    errors::sandbox_error(py, e.kind(), e.to_string())
}

/// A pool of workers (threads, or `sandvm worker` processes) running jobs for tenants.
/// Safe to share between Python threads: calls release the GIL while they wait.
#[pyclass(module = "sandvm._sandvm", frozen)]
pub struct Pool {
    pool: Arc<sandvm_pool::Pool>,
}

fn job_of(opts: &Options, code: String, context: Option<String>) -> Job {
    let mut job = Job::source(code).with_limits(opts.limits.clone()).with_options(JobOptions {
        strict: false,
        freeze: opts.freeze,
        deterministic: opts.seed,
        capabilities: opts.capabilities.clone(),
        ..Default::default()
    });
    if !opts.globals.is_empty() {
        let map: Map<String, Json> = opts.globals.iter().cloned().collect();
        job = job.with_globals(Json::Object(map));
    }
    if let Some(c) = context {
        job = job.in_context(c);
    }
    job
}

impl Pool {
    fn run_job(&self, py: Python<'_>, tenant: &str, job: Job) -> PyResult<sandvm::Report> {
        let handle = self.pool.submit(tenant, job).map_err(|e| pool_error(py, &e))?;
        let canceller = handle.canceller();
        let out = crate::wait::block_on(py, handle.result(), move || canceller.cancel())?;
        out.map(|o| o.report).map_err(|e| pool_error(py, &e))
    }
}

#[pymethods]
impl Pool {
    #[new]
    #[pyo3(signature = (workers=None, isolation="thread", *, worker_binary=None, tenants=None))]
    fn new(
        py: Python<'_>,
        workers: Option<usize>,
        isolation: &str,
        worker_binary: Option<std::path::PathBuf>,
        tenants: Option<Vec<String>>,
    ) -> PyResult<Pool> {
        let isolation = match isolation {
            "thread" => Isolation::Thread,
            "process" => Isolation::Process,
            other => {
                return Err(PyValueError::new_err(format!(
                    "isolation must be \"thread\" or \"process\", got {other:?}"
                )))
            }
        };
        if isolation == Isolation::Process && worker_binary.is_none() {
            return Err(PyValueError::new_err(
                "isolation=\"process\" needs worker_binary: the path of the `sandvm` command-line tool",
            ));
        }
        let mut config = PoolConfig { isolation, worker_binary, ..Default::default() };
        if let Some(w) = workers {
            if w == 0 || w > 1024 {
                return Err(PyValueError::new_err("workers must be between 1 and 1024"));
            }
            config.workers = w;
        }
        let pool = py.detach(move || sandvm_pool::Pool::new(config)).map_err(|e| pool_error(py, &e))?;
        for t in tenants.unwrap_or_else(|| vec!["default".to_string()]) {
            pool.add_tenant(&t, TenantConfig::default());
        }
        Ok(Pool { pool: Arc::new(pool) })
    }

    /// Adds (or replaces) a tenant. `max_concurrency` jobs run at once, `max_queued` wait.
    #[pyo3(signature = (name, *, max_concurrency=None, max_queued=None))]
    fn add_tenant(&self, name: &str, max_concurrency: Option<usize>, max_queued: Option<usize>) {
        let mut t = TenantConfig::default();
        if let Some(c) = max_concurrency {
            t.max_concurrency = c.max(1);
        }
        if let Some(q) = max_queued {
            t.max_queued = q;
        }
        self.pool.add_tenant(name, t);
    }

    /// Runs `code` for `tenant` in a fresh context (or the named persistent `context`) and
    /// returns its `Report`.
    #[pyo3(signature = (code, *, tenant="default", context=None, globals=None, timeout=Some(1.0), memory_mb=64.0, capabilities=None, freeze=false, deterministic=None))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        py: Python<'_>,
        code: String,
        tenant: &str,
        context: Option<String>,
        globals: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        memory_mb: f64,
        capabilities: Option<&Bound<'_, PyAny>>,
        freeze: bool,
        deterministic: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Report> {
        let det = deterministic.cloned().unwrap_or_else(|| py.None().into_bound(py));
        let opts = Options::parse(globals, timeout, memory_mb, capabilities, freeze, &det)?;
        let report = self.run_job(py, tenant, job_of(&opts, code, context))?;
        Report::from_report(py, &report)
    }

    /// As `execute`, but returns the completion value and raises the guest's error.
    #[pyo3(signature = (code, *, tenant="default", context=None, globals=None, timeout=Some(1.0), memory_mb=64.0, capabilities=None, freeze=false, deterministic=None))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        code: String,
        tenant: &str,
        context: Option<String>,
        globals: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        memory_mb: f64,
        capabilities: Option<&Bound<'_, PyAny>>,
        freeze: bool,
        deterministic: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let det = deterministic.cloned().unwrap_or_else(|| py.None().into_bound(py));
        let opts = Options::parse(globals, timeout, memory_mb, capabilities, freeze, &det)?;
        let report = self.run_job(py, tenant, job_of(&opts, code, context))?;
        match &report.error {
            None => Ok(convert::to_py(py, &report.value)?.unbind()),
            Some(e) => Err(errors::from_report(py, e)),
        }
    }

    /// A snapshot of the pool's counters (a dict: jobs, queue, workers, tenants ...).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = serde_json::to_value(self.pool.stats()).unwrap_or(Json::Null);
        convert::to_py(py, &s)
    }

    /// Stops the pool: queued and running jobs get the pool's grace period, then are cancelled.
    fn close(&self, py: Python<'_>) {
        let pool = self.pool.clone();
        py.detach(move || {
            let _ = pool.shutdown_blocking();
        });
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }
}
