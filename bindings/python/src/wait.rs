//! Waiting for a guest without holding the GIL: blocking with Ctrl-C support, and asyncio.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use pyo3::prelude::*;

/// How often a blocked call looks at Python's pending signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `fut` to completion on this thread with the GIL released. Every
/// [`SIGNAL_CHECK`] it takes the GIL to run Python's signal handlers: when one raises (a
/// `KeyboardInterrupt`), `cancel` is called, the future is still driven to its end (the
/// executor answers a cancelled job within its grace period) and the signal's exception is
/// returned.
pub fn block_on<F>(py: Python<'_>, fut: F, cancel: impl FnOnce()) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut: Pin<Box<F>> = Box::pin(fut);
    let mut cancel = Some(cancel);
    let mut interrupted: Option<PyErr> = None;
    loop {
        let (f, out) = py.detach(move || {
            let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut cx = TaskContext::from_waker(&waker);
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(v) => (fut, Some(v)),
                Poll::Pending => {
                    std::thread::park_timeout(SIGNAL_CHECK);
                    (fut, None)
                }
            }
        });
        fut = f;
        if let Some(v) = out {
            return match interrupted {
                Some(e) => Err(e),
                None => Ok(v),
            };
        }
        if interrupted.is_none() {
            if let Err(e) = py.check_signals() {
                if let Some(c) = cancel.take() {
                    c();
                }
                interrupted = Some(e);
            }
        }
    }
}

/// Turns a finished job's result into the value (or exception) of an asyncio future.
pub type Settle<R> = Box<dyn Fn(Python<'_>, R) -> PyResult<Py<PyAny>> + Send + Sync>;

/// One asyncio-driven job: the executor's completion wakes this, which schedules
/// [`AsyncDone`] on the event loop's thread with `call_soon_threadsafe`.
struct AsyncRun<F: Future> {
    fut: Mutex<Option<Pin<Box<F>>>>,
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    settle: Settle<F::Output>,
}

impl<F> Wake for AsyncRun<F>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    fn wake(self: Arc<Self>) {
        Python::attach(|py| {
            let done: Arc<dyn Poller> = self.clone();
            if let Ok(cb) = Py::new(py, AsyncDone { run: done }) {
                // The loop may be closed already: nothing is waiting then.
                let _ = self.event_loop.bind(py).call_method1("call_soon_threadsafe", (cb,));
            }
        });
    }
}

trait Poller: Send + Sync {
    fn poll_once(self: Arc<Self>, py: Python<'_>) -> PyResult<()>;
}

impl<F> Poller for AsyncRun<F>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    fn poll_once(self: Arc<Self>, py: Python<'_>) -> PyResult<()> {
        let waker = Waker::from(self.clone());
        let mut cx = TaskContext::from_waker(&waker);
        let out = {
            let mut slot = self.fut.lock().unwrap_or_else(|p| p.into_inner());
            let Some(fut) = slot.as_mut() else { return Ok(()) };
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(v) => {
                    *slot = None;
                    v
                }
                Poll::Pending => return Ok(()),
            }
        };
        let future = self.future.bind(py);
        if future.call_method0("done")?.is_truthy()? {
            return Ok(()); // cancelled by the caller meanwhile
        }
        match (self.settle)(py, out) {
            Ok(v) => future.call_method1("set_result", (v,))?,
            Err(e) => future.call_method1("set_exception", (e.into_value(py),))?,
        };
        Ok(())
    }
}

/// Scheduled on the event loop when a job finished: settles the asyncio future.
#[pyclass(module = "sandvm._sandvm")]
struct AsyncDone {
    run: Arc<dyn Poller>,
}

#[pymethods]
impl AsyncDone {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        self.run.clone().poll_once(py)
    }
}

/// Done-callback of the asyncio future: cancelling the future cancels the job.
#[pyclass(module = "sandvm._sandvm")]
struct AsyncCancel {
    cancel: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

#[pymethods]
impl AsyncCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            if let Some(c) = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).take() {
                c();
            }
        }
        Ok(())
    }
}

/// An asyncio future (of the running loop) answered when `fut` completes; the loop's thread
/// never blocks. Cancelling the asyncio future calls `cancel`.
///
/// # Errors
/// `RuntimeError` when no event loop is running in this thread.
pub fn to_asyncio<'py, F>(
    py: Python<'py>,
    fut: F,
    settle: Settle<F::Output>,
    cancel: impl FnOnce() + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    let canceller = Py::new(py, AsyncCancel { cancel: Mutex::new(Some(Box::new(cancel))) })?;
    future.call_method1("add_done_callback", (canceller,))?;
    let run = Arc::new(AsyncRun {
        fut: Mutex::new(Some(Box::pin(fut))),
        event_loop: event_loop.unbind(),
        future: future.clone().unbind(),
        settle,
    });
    run.poll_once(py)?;
    Ok(future)
}

type Start = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// What `run_async` returns: an awaitable whose job is already queued; awaiting it (in a
/// running event loop, e.g. under `asyncio.run`) waits for the answer without blocking.
#[pyclass(module = "sandvm._sandvm")]
pub struct Pending {
    start: Mutex<Option<Start>>,
    cancel: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Pending {
    /// An awaitable running `fut`; see [`to_asyncio`].
    pub fn new<F>(fut: F, settle: Settle<F::Output>, cancel: impl Fn() + Send + Sync + 'static) -> Pending
    where
        F: Future + Send + 'static,
        F::Output: Send,
    {
        let cancel = Arc::new(cancel);
        let c2 = cancel.clone();
        let start: Start = Box::new(move |py| to_asyncio(py, fut, settle, move || c2()));
        Pending { start: Mutex::new(Some(start)), cancel: Mutex::new(Some(Box::new(move || cancel()))) }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Never awaited: nobody wants the answer.
        if self.start.get_mut().map(|s| s.is_some()).unwrap_or(false) {
            if let Some(c) = self.cancel.get_mut().ok().and_then(Option::take) {
                c();
            }
        }
    }
}

#[pymethods]
impl Pending {
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let start = self.start.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(start) = start else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("this run_async result was already awaited"));
        };
        start(py)?.call_method0("__await__")
    }
}

/// Registers the helper classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AsyncDone>()?;
    m.add_class::<AsyncCancel>()?;
    m.add_class::<Pending>()?;
    Ok(())
}
