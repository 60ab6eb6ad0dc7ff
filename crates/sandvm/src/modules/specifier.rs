//! Telling a specifier the engine cut short at a NUL.
//!
//! The engine hands module specifiers to the normalize callback as C strings, so
//! `import('./ok.js\0/../../x')` arrives as `./ok.js`. Those C strings are made by the engine's
//! `JS_ToCStringLen2` (for static imports through `JS_AtomToCString`, for `import()` through
//! `JS_ToCString`), which returns the character buffer of an engine string: an 8-bit string
//! whose header, just before the characters, holds the true length. Comparing that length
//! with the C string's length tells a cut specifier from a whole one.
//!
//! The header layout is quickjs-ng's `struct JSString` (0.16.x, without `ENABLE_DUMPS`); the
//! check validates what it reads (8-bit, plain kind, length not below the C length, a NUL at
//! the recorded length) and the tests in `tests/modules_hostile.rs` pin the behaviour, so a
//! layout change in an engine upgrade fails loudly instead of silently.

use std::ffi::{c_char, c_void, CStr};

/// quickjs-ng's `struct JSString` header, which precedes the characters of a plain string.
#[repr(C)]
struct JsStringHeader {
    /// `len: 31, is_wide_char: 1`.
    len_wide: u32,
    /// `hash: 28, kind: 2, atom_type: 2`.
    hash_kind_atom: u32,
    hash_next: u32,
    first_weak_ref: *mut c_void,
}

const LEN_MASK: u32 = 0x7fff_ffff;
const WIDE_BIT: u32 = 1 << 31;
const KIND_SHIFT: u32 = 28;
const KIND_MASK: u32 = 0b11;
/// `JS_STRING_KIND_NORMAL`: the characters follow the header.
const KIND_NORMAL: u32 = 0;

/// True when the engine string behind `p` is longer than its C string: it holds a NUL, and
/// what the callback sees is only its first part.
///
/// # Safety
/// `p` must be non-null and come from the engine's `JS_ToCString`/`JS_AtomToCString` (the
/// module normalize callback's `module_name` as the engine passes it for static imports and
/// `import()`), valid for the duration of the call.
pub(super) unsafe fn was_cut_at_nul(p: *const c_char) -> bool {
    if !cfg!(target_endian = "little") {
        // The bit-field layout read below is the little-endian one.
        return false;
    }
    // SAFETY: the caller guarantees a NUL-terminated engine string.
    let c_len = unsafe { CStr::from_ptr(p) }.to_bytes().len();
    // SAFETY: the caller guarantees `p` is the character buffer of a plain 8-bit engine
    // string, which the engine allocates together with (and right after) its header; the
    // header is read unaligned-tolerant and only as plain integers.
    let head = unsafe { std::ptr::read_unaligned(p.cast::<JsStringHeader>().sub(1)) };
    let len = (head.len_wide & LEN_MASK) as usize;
    let wide = head.len_wide & WIDE_BIT != 0;
    let kind = (head.hash_kind_atom >> KIND_SHIFT) & KIND_MASK;
    if wide || kind != KIND_NORMAL || len <= c_len {
        return false;
    }
    // SAFETY: a plain 8-bit engine string has `len` characters followed by a NUL, all inside
    // its allocation (`len` was validated above to be past the first NUL).
    unsafe { *p.add(len) == 0 }
}
