//! Telling a specifier the engine cut short at a NUL.
//!
//! The engine hands module specifiers to the normalize callback as C strings, so
//! `import('./ok.js\0/../../x')` arrives as `./ok.js`. Those C strings are made by the engine's
//! `JS_ToCStringLen2` (for static imports through `JS_AtomToCString`, for `import()` through
//! `JS_ToCString`), which for a plain ASCII string returns the string's own character buffer:
//! the engine's `struct JSString` header, just before the characters, holds the true length.
//! Comparing that length with the C string's length tells a cut specifier from a whole one.
//!
//! The header's size depends on how the engine was built (`ENABLE_DUMPS` adds a list link), so
//! it is not assumed: [`header_size`] measures it once per process on strings of known length
//! made by the same engine call, trying the smaller size first. (A non-ASCII specifier is
//! re-encoded into a fresh engine string whose header records the whole re-encoded length, so
//! the same check holds.) When no size fits (another engine layout), detection is off: a cut
//! specifier then still resolves only to its visible prefix, which the policy checks like any
//! other. The tests in `tests/modules_hostile.rs` pin that detection works with the engine
//! sandvm pins.

use std::ffi::{c_char, CStr};
use std::sync::OnceLock;

use rquickjs::{qjs, Ctx};

const LEN_MASK: u32 = 0x7fff_ffff;
const WIDE_BIT: u32 = 1 << 31;
const KIND_SHIFT: u32 = 28;
const KIND_MASK: u32 = 0b11;
/// `JS_STRING_KIND_NORMAL`: the characters follow the header.
const KIND_NORMAL: u32 = 0;
/// `sizeof(struct JSString)` on 64-bit targets: without `ENABLE_DUMPS`, then with it.
const CANDIDATES: [usize; 2] = [24, 40];

static HEADER: OnceLock<Option<usize>> = OnceLock::new();

/// The engine-recorded length of the plain 8-bit string whose characters start at `p`, when
/// the header `size` bytes before it looks like one.
///
/// # Safety
/// `p` must be the character buffer of an engine string returned by `JS_ToCStringLen2`, with
/// at least `size` bytes of the same allocation before it.
unsafe fn recorded_len(p: *const c_char, size: usize) -> Option<usize> {
    // SAFETY: guaranteed by the caller; read as plain integers, unaligned-tolerant.
    let (len_wide, hash_kind) = unsafe {
        let head = p.cast::<u8>().sub(size);
        (std::ptr::read_unaligned(head.cast::<u32>()), std::ptr::read_unaligned(head.add(4).cast::<u32>()))
    };
    let wide = len_wide & WIDE_BIT != 0;
    let kind = (hash_kind >> KIND_SHIFT) & KIND_MASK;
    (!wide && kind == KIND_NORMAL).then_some((len_wide & LEN_MASK) as usize)
}

/// The probe strings could not be made (the runtime is out of memory).
pub(super) struct Unmeasured;

/// Measures the header size on two engine strings of known lengths: the first candidate that
/// reads back both lengths exactly. `Ok(None)` when none does (or on a target whose bit-field
/// layout differs); `Err` when the probes could not be made.
fn measure(ctx: &Ctx<'_>) -> Result<Option<usize>, Unmeasured> {
    if !cfg!(all(target_endian = "little", target_pointer_width = "64")) {
        return Ok(None);
    }
    let probes = ["sandvm-header-probe-0123456789abcdef".to_string(), "p".repeat(1021)];
    for size in CANDIDATES {
        let mut fits = true;
        for text in &probes {
            let s = rquickjs::String::from_str(ctx.clone(), text).map_err(|_| Unmeasured)?;
            let mut len: qjs::size_t = 0;
            // SAFETY: a live string of `ctx`; the buffer is freed below, before the string.
            let p = unsafe { qjs::JS_ToCStringLen2(ctx.as_raw().as_ptr(), &mut len, s.as_raw(), false) };
            if p.is_null() {
                let _ = ctx.catch();
                return Err(Unmeasured);
            }
            // SAFETY: `p` comes from JS_ToCStringLen2 on a plain ASCII string (its own buffer,
            // after a header of at least the smallest candidate size); a larger candidate is
            // tried only when the smaller one did not read back the known lengths, i.e. when
            // the header is that large.
            let got = unsafe { recorded_len(p, size) };
            // SAFETY: `p` was returned by JS_ToCStringLen2 for this context.
            unsafe { qjs::JS_FreeCString(ctx.as_raw().as_ptr(), p) };
            fits &= got == Some(text.len()) && len as usize == text.len();
        }
        if fits {
            return Ok(Some(size));
        }
    }
    Ok(None)
}

/// The engine's string header size, measured once per process (a failed measurement is not
/// kept, so memory pressure in one runtime cannot turn the check off for the others).
fn header_size(ctx: &Ctx<'_>) -> Result<Option<usize>, Unmeasured> {
    if let Some(size) = HEADER.get() {
        return Ok(*size);
    }
    let size = measure(ctx)?;
    Ok(*HEADER.get_or_init(|| size))
}

/// Whether the specifier at `p` was cut at a NUL: `Ok(true)` when the engine string behind
/// it is longer than its C string, `Ok(false)` when it is whole or when this engine's layout is
/// unknown, `Err` when the check could not run (out of memory): the caller refuses then.
///
/// # Safety
/// `p` must be non-null and come from the engine's `JS_ToCString`/`JS_AtomToCString` (the
/// module normalize callback's `module_name` as the engine passes it for static imports and
/// `import()`), valid for the duration of the call.
pub(super) unsafe fn was_cut_at_nul(ctx: &Ctx<'_>, p: *const c_char) -> Result<bool, Unmeasured> {
    let Some(size) = header_size(ctx)? else { return Ok(false) };
    // SAFETY: the caller guarantees a NUL-terminated engine string.
    let c_len = unsafe { CStr::from_ptr(p) }.to_bytes().len();
    // SAFETY: the caller guarantees `p` is the buffer of an engine string made by
    // JS_ToCStringLen2, which always sits right after a `size`-byte header (measured above).
    match unsafe { recorded_len(p, size) } {
        Some(len) if len > c_len => {
            // SAFETY: an 8-bit engine string has `len` characters and a NUL after them, all
            // inside its allocation.
            Ok(unsafe { *p.add(len) } == 0)
        }
        _ => Ok(false),
    }
}
