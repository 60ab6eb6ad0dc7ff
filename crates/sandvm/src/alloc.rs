//! A counting allocator for engine runtimes: enforces the memory limit, records the peak and
//! remembers (stickily) that an allocation was refused, so that an out-of-memory condition is
//! known even when guest code catches the error or the engine throws `null`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Heap accounting shared between a runtime's allocator and the host.
#[derive(Debug, Default)]
pub(crate) struct HeapStats {
    used: AtomicUsize,
    peak: AtomicUsize,
    limit: AtomicUsize,
    refused: AtomicBool,
}

impl HeapStats {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        let s = HeapStats::default();
        s.limit.store(limit, Relaxed);
        Arc::new(s)
    }
    pub(crate) fn used(&self) -> usize {
        self.used.load(Relaxed)
    }
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Relaxed)
    }
    pub(crate) fn refused(&self) -> bool {
        self.refused.load(Relaxed)
    }
    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Relaxed);
    }
    /// Starts a new run: the peak restarts at the current use and the refusal flag is cleared.
    pub(crate) fn begin_run(&self) {
        self.peak.store(self.used(), Relaxed);
        self.refused.store(false, Relaxed);
    }
    fn reserve(&self, size: usize) -> bool {
        let used = self.used.load(Relaxed);
        if used.saturating_add(size) > self.limit.load(Relaxed) {
            self.refused.store(true, Relaxed);
            return false;
        }
        true
    }
    fn add(&self, size: usize) {
        let now = self.used.fetch_add(size, Relaxed) + size;
        self.peak.fetch_max(now, Relaxed);
    }
    fn sub(&self, size: usize) {
        self.used.fetch_sub(size, Relaxed);
    }
}

/// Allocator handed to `rquickjs::Runtime::new_with_alloc`. When it refuses an allocation it
/// also trips the runtime's watch (when there is one), so that the guest is stopped at its next
/// interrupt check even if it catches the out-of-memory error.
pub(crate) struct CountingAllocator(pub(crate) Arc<HeapStats>, pub(crate) Option<Arc<crate::runtime::Watch>>);

impl CountingAllocator {
    fn refuse(&self) -> *mut u8 {
        if let Some(w) = &self.1 {
            w.trip(crate::runtime::Trip::Memory);
        }
        std::ptr::null_mut()
    }
}

fn usable(ptr: *mut u8) -> usize {
    // SAFETY: `ptr` was returned by libc's malloc/calloc/realloc (all allocations of this
    // allocator come from there) and has not been freed.
    unsafe { libc::malloc_usable_size(ptr.cast()) }
}

// SAFETY: every pointer handed out comes from libc's allocator and is freed or resized only
// through it; sizes are accounted from `malloc_usable_size`, which is what the engine asks for.
unsafe impl rquickjs::allocator::Allocator for CountingAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.0.reserve(size) {
            return self.refuse();
        }
        // SAFETY: plain malloc; a null result is passed on to the engine, which handles it.
        let ptr = unsafe { libc::malloc(size.max(1)) }.cast::<u8>();
        if !ptr.is_null() {
            self.0.add(usable(ptr));
        }
        ptr
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        if !self.0.reserve(total) {
            return self.refuse();
        }
        // SAFETY: plain calloc; a null result is passed on to the engine.
        let ptr = unsafe { libc::calloc(count.max(1), size.max(1)) }.cast::<u8>();
        if !ptr.is_null() {
            self.0.add(usable(ptr));
        }
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        self.0.sub(usable(ptr));
        // SAFETY: the caller (the engine) frees a pointer this allocator returned.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        let old = usable(ptr);
        if new_size > old && !self.0.reserve(new_size - old) {
            return self.refuse();
        }
        // SAFETY: `ptr` came from this allocator; on failure libc leaves it untouched.
        let new = unsafe { libc::realloc(ptr.cast(), new_size.max(1)) }.cast::<u8>();
        if !new.is_null() {
            self.0.sub(old);
            self.0.add(usable(new));
        }
        new
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        usable(ptr)
    }
}
