//! Resource limits for guest code.

use std::time::Duration;

/// The most engine stack a guest may be given. rquickjs treats very large values as
/// "no stack check at all", which would let deep recursion kill the process, so every
/// user-supplied stack limit is clamped to this.
pub const MAX_STACK: usize = 8 * 1024 * 1024;

/// The least engine stack a guest may be given; smaller values cannot even build an error.
pub const MIN_STACK: usize = 32 * 1024;

/// Hard limits applied to every run, microtasks and async functions included.
///
/// A plain struct: build it with struct-update syntax from [`Limits::default`].
///
/// ```
/// use std::time::Duration;
/// let limits = sandvm::Limits { timeout: Some(Duration::from_millis(50)), ..Default::default() };
/// assert_eq!(limits.memory, 64 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time a run may take, from its first instruction until its last promise
    /// job. `None` means no wall-clock limit. By default, 1 second.
    pub timeout: Option<Duration>,
    /// CPU time the running thread may spend on a run. `None` means no CPU budget (the
    /// wall-clock timeout still applies). By default, `None`.
    pub cpu_time: Option<Duration>,
    /// Bytes of heap the engine may allocate for the runtime (all its contexts). By
    /// default, 64 MiB.
    pub memory: usize,
    /// Bytes of native stack the engine may use for guest code, clamped to
    /// [`MIN_STACK`]..=[`MAX_STACK`]. By default, 256 KiB.
    pub stack: usize,
    /// Bytes of output a run may produce: console text plus the completion value. By
    /// default, 1 MiB.
    pub max_output: usize,
    /// Promise jobs (microtasks) a run may execute. By default, 1,000,000.
    pub max_jobs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Some(Duration::from_secs(1)),
            cpu_time: None,
            memory: 64 * 1024 * 1024,
            stack: 256 * 1024,
            max_output: 1024 * 1024,
            max_jobs: 1_000_000,
        }
    }
}

impl Limits {
    /// The stack limit actually given to the engine: [`Limits::stack`] clamped to a safe range.
    pub fn effective_stack(&self) -> usize {
        self.stack.clamp(MIN_STACK, MAX_STACK)
    }

    /// The memory limit actually given to the engine: at least 1 MiB, so that a runtime can
    /// always be created.
    pub fn effective_memory(&self) -> usize {
        self.memory.max(1024 * 1024)
    }
}
