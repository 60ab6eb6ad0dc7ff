//! What a submitter holds: the job handle (await, wait, cancel on drop) and the canceller,
//! and the state they share with the queue entry and the worker running the job.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::oneshot;

use super::Inner;
use crate::job::Outcome;
use crate::sync::lock;
use crate::PoolError;

/// The way to stop a running job (interrupt its runtime, or tell its worker process).
pub(crate) type Hook = crate::process::CancelHook;

/// State shared by a job's handle, its queue entry and the worker running it.
pub(crate) struct JobShared {
    pub(super) id: u64,
    pub(super) tenant: Arc<str>,
    pub(super) cancelled: AtomicBool,
    pub(super) cancel_at: Mutex<Option<Instant>>,
    pub(super) hook: Mutex<Option<Hook>>,
    pub(super) pool: Weak<Inner>,
}

impl JobShared {
    /// Installs the way to stop the running job; runs it at once if the job was already
    /// cancelled.
    pub(crate) fn set_hook(&self, hook: Hook) {
        let mut h = lock(&self.hook);
        if self.cancelled.load(Relaxed) {
            hook();
        }
        *h = Some(hook);
    }

    pub(crate) fn clear_hook(&self) {
        *lock(&self.hook) = None;
    }

    pub(super) fn cancel(&self) {
        self.cancelled.store(true, Relaxed);
        {
            let mut at = lock(&self.cancel_at);
            if at.is_none() {
                *at = Some(Instant::now());
            }
        }
        if let Some(h) = lock(&self.hook).as_ref() {
            h();
        }
        if let Some(inner) = self.pool.upgrade() {
            inner.cancel_queued(&self.tenant, self.id);
        }
    }
}

/// Cancels a job, queued or running, from any thread. Cheap to clone.
///
/// A queued job is removed at once and fails with [`PoolError::Cancelled`]. A running job
/// is interrupted at the guest's next interrupt check; if it is stuck in a long builtin, its
/// thread is abandoned (or its process killed) after the hard-deadline margin.
#[derive(Clone)]
pub struct Canceller(pub(super) Arc<JobShared>);

impl std::fmt::Debug for Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canceller").field("job", &self.0.id).finish()
    }
}

impl Canceller {
    /// Requests cancellation; returns at once. Cancelling a finished job does nothing.
    pub fn cancel(&self) {
        self.0.cancel();
    }
}

/// A submitted job: await or wait for its result, or cancel it.
///
/// Dropping the handle (or the future of [`JobHandle::result`]) before the result arrived
/// cancels the job.
pub struct JobHandle {
    pub(super) id: u64,
    pub(super) rx: Option<oneshot::Receiver<Result<Outcome, PoolError>>>,
    pub(super) canceller: Canceller,
}

impl std::fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle").field("id", &self.id).finish()
    }
}

struct CancelOnDrop(Option<Canceller>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

fn lost() -> PoolError {
    PoolError::Worker("the pool dropped the job".into())
}

impl JobHandle {
    /// The job's id, unique in the pool.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A cloneable canceller for this job.
    pub fn canceller(&self) -> Canceller {
        self.canceller.clone()
    }

    /// Cancels the job (see [`Canceller::cancel`]).
    pub fn cancel(&self) {
        self.canceller.cancel();
    }

    /// Waits for the result.
    ///
    /// # Errors
    /// [`PoolError::Cancelled`], [`PoolError::ShuttingDown`] (cancelled by shutdown),
    /// [`PoolError::WorkerCrashed`], [`PoolError::Protocol`] or [`PoolError::Worker`].
    /// Guest errors and limits come back as an `Ok` outcome with an error report.
    pub async fn result(mut self) -> Result<Outcome, PoolError> {
        let Some(rx) = self.rx.take() else { return Err(lost()) };
        let mut guard = CancelOnDrop(Some(self.canceller.clone()));
        let r = rx.await;
        guard.0 = None;
        r.unwrap_or_else(|_| Err(lost()))
    }

    /// Blocks the calling thread until the result arrives. Must not be called from inside
    /// an async runtime (it panics there, like tokio's `blocking_recv`); use
    /// [`JobHandle::result`].
    ///
    /// # Errors
    /// As [`JobHandle::result`].
    pub fn wait(mut self) -> Result<Outcome, PoolError> {
        let Some(rx) = self.rx.take() else { return Err(lost()) };
        rx.blocking_recv().unwrap_or_else(|_| Err(lost()))
    }
}

impl Drop for JobHandle {
    fn drop(&mut self) {
        if self.rx.is_some() {
            self.canceller.cancel();
        }
    }
}

impl crate::process::JobControl for JobShared {
    fn set_hook(&self, hook: Hook) {
        JobShared::set_hook(self, hook);
    }

    fn clear_hook(&self) {
        JobShared::clear_hook(self);
    }
}
