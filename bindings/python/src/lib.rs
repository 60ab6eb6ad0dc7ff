//! Python bindings of sandvm: the extension module `sandvm._sandvm` behind `import sandvm`.
//!
//! Built by maturin (`pip install ./bindings/python`) as one abi3 wheel for CPython ≥ 3.9.
//! Every guest runs on a [`sandvm::Executor`] guest thread (or a [`sandvm_pool::Pool`]
//! worker); Python threads wait for it with the GIL released. The Python API, its stubs
//! and tests are in `python/sandvm/` and `tests/`.
#![forbid(unsafe_code)]

mod convert;
mod errors;
mod pool;
mod sandbox;
mod wait;

use pyo3::prelude::*;

/// The native part of the `sandvm` package (import `sandvm`, not this).
#[pymodule]
fn _sandvm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sandbox::run, m)?)?;
    m.add_function(wrap_pyfunction!(sandbox::execute, m)?)?;
    m.add_class::<sandbox::Sandbox>()?;
    m.add_class::<sandbox::Script>()?;
    m.add_class::<sandbox::Report>()?;
    m.add_class::<pool::Pool>()?;
    wait::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
