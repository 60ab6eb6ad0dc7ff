//! The few engine calls rquickjs does not expose the way a sandbox needs them: evaluating
//! source with an explicit length (NUL characters are legal in JavaScript source), compiling to
//! and loading bytecode, driving the job queue and reading promise state.

use std::ffi::{c_char, CString};
use std::ptr;

use rquickjs::{qjs, Ctx, Value};

/// What a raw engine call produced: a value, or the pending exception (already taken off the
/// context).
pub(crate) type RawResult<'js> = std::result::Result<Value<'js>, Value<'js>>;

pub(crate) fn c_name(name: &str) -> CString {
    // A NUL inside a file name would truncate it; the name is informational only.
    CString::new(name.replace('\0', "\u{fffd}")).unwrap_or_default()
}

/// Takes ownership of a value the engine just returned for `ctx`: the value, or the pending
/// exception (taken off the context) when it is the exception marker.
pub(crate) fn wrap<'js>(ctx: &Ctx<'js>, v: qjs::JSValue) -> RawResult<'js> {
    // SAFETY: `v` is a fresh value (ownership passed to us) produced in `ctx`; a JS exception
    // marker carries no reference, and the pending exception is taken with `catch`.
    unsafe {
        if qjs::JS_IsException(v) {
            Err(ctx.catch())
        } else {
            Ok(Value::from_raw(ctx.clone(), v))
        }
    }
}

/// `JS_Eval` with an explicit length: `flags` are `JS_EVAL_*` flags.
pub(crate) fn eval<'js>(ctx: &Ctx<'js>, source: &str, filename: &str, flags: i32) -> RawResult<'js> {
    let mut buf = Vec::with_capacity(source.len() + 1);
    buf.extend_from_slice(source.as_bytes());
    buf.push(0);
    let name = c_name(filename);
    // SAFETY: `buf` is NUL-terminated as the engine requires and `len` excludes the
    // terminator, so embedded NULs are read as source; both buffers outlive the call.
    let v = unsafe {
        qjs::JS_Eval(ctx.as_raw().as_ptr(), buf.as_ptr() as *const c_char, source.len() as _, name.as_ptr(), flags)
    };
    wrap(ctx, v)
}

/// Serialises a compiled function or module to bytecode.
pub(crate) fn write_bytecode<'js>(ctx: &Ctx<'js>, obj: &Value<'js>) -> std::result::Result<Vec<u8>, Value<'js>> {
    let mut size: qjs::size_t = 0;
    // SAFETY: `obj` is a live value of `ctx`; the engine writes the size and returns a buffer
    // allocated with js_malloc that we copy and free with js_free on the same context.
    unsafe {
        let buf =
            qjs::JS_WriteObject(ctx.as_raw().as_ptr(), &mut size, obj.as_raw(), qjs::JS_WRITE_OBJ_BYTECODE as i32);
        if buf.is_null() {
            return Err(ctx.catch());
        }
        let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
        qjs::js_free(ctx.as_raw().as_ptr(), buf.cast());
        Ok(out)
    }
}

/// Loads bytecode produced by [`write_bytecode`] into `ctx` (a function bound to `ctx`'s realm).
///
/// Only ever called with bytes this process produced or whose MAC was verified: the engine's
/// bytecode reader is not safe on untrusted input.
pub(crate) fn read_bytecode<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> RawResult<'js> {
    // SAFETY: the buffer is valid for `len` bytes for the duration of the call and (see the
    // doc comment) was produced by the engine's own writer.
    let v = unsafe {
        qjs::JS_ReadObject(ctx.as_raw().as_ptr(), bytes.as_ptr(), bytes.len() as _, qjs::JS_READ_OBJ_BYTECODE as i32)
    };
    wrap(ctx, v)
}

/// Runs a loaded script function (from [`read_bytecode`] or a compile-only eval).
pub(crate) fn eval_function<'js>(ctx: &Ctx<'js>, func: &Value<'js>) -> RawResult<'js> {
    // SAFETY: JS_EvalFunction consumes a reference, so we hand it a fresh one (dup) and keep ours.
    let v = unsafe {
        let dup = qjs::JS_DupValue(ctx.as_raw().as_ptr(), func.as_raw());
        qjs::JS_EvalFunction(ctx.as_raw().as_ptr(), dup)
    };
    wrap(ctx, v)
}

/// Result of running one pending job.
pub(crate) enum Job {
    None,
    Ran,
    /// The job threw; the exception was taken off its context and dropped.
    Threw,
}

/// Runs one pending promise job of `ctx`'s runtime.
pub(crate) fn run_job(ctx: &Ctx<'_>) -> Job {
    let mut pctx: *mut qjs::JSContext = ptr::null_mut();
    // SAFETY: valid runtime pointer from a live context; `pctx` receives the context the job ran in.
    let res = unsafe { qjs::JS_ExecutePendingJob(qjs::JS_GetRuntime(ctx.as_raw().as_ptr()), &mut pctx) };
    match res {
        0 => Job::None,
        r if r > 0 => Job::Ran,
        _ => {
            if !pctx.is_null() {
                // SAFETY: the engine left the job's exception pending on `pctx`, a live context of
                // this runtime; we take it and free it.
                unsafe {
                    let exc = qjs::JS_GetException(pctx);
                    qjs::JS_FreeValue(pctx, exc);
                }
            }
            Job::Threw
        }
    }
}

/// Resets the engine's idea of where the stack starts to the current frame.
pub(crate) fn update_stack_top(ctx: &Ctx<'_>) {
    // SAFETY: valid runtime pointer from a live context.
    unsafe { qjs::JS_UpdateStackTop(qjs::JS_GetRuntime(ctx.as_raw().as_ptr())) }
}

/// State of a promise.
pub(crate) enum PromiseState<'js> {
    NotAPromise,
    Pending,
    Fulfilled(Value<'js>),
    Rejected(Value<'js>),
}

/// Reads the state of `v` without running guest code.
pub(crate) fn promise_state<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> PromiseState<'js> {
    // SAFETY: `v` is a live value of `ctx`; JS_PromiseResult returns a new reference that we own.
    unsafe {
        let raw = ctx.as_raw().as_ptr();
        match qjs::JS_PromiseState(raw, v.as_raw()) {
            qjs::JSPromiseStateEnum_JS_PROMISE_PENDING => PromiseState::Pending,
            qjs::JSPromiseStateEnum_JS_PROMISE_FULFILLED => {
                PromiseState::Fulfilled(Value::from_raw(ctx.clone(), qjs::JS_PromiseResult(raw, v.as_raw())))
            }
            qjs::JSPromiseStateEnum_JS_PROMISE_REJECTED => {
                PromiseState::Rejected(Value::from_raw(ctx.clone(), qjs::JS_PromiseResult(raw, v.as_raw())))
            }
            _ => PromiseState::NotAPromise,
        }
    }
}

/// Converts any value to a Rust string (like `String(v)` but without running guest code for
/// strings; other values go through the engine's ToString). Lone surrogates become U+FFFD.
pub(crate) fn to_string_lossy(ctx: &Ctx<'_>, v: &Value<'_>) -> String {
    let mut len: qjs::size_t = 0;
    // SAFETY: live value of `ctx`; the returned buffer is valid for `len` bytes until freed with
    // JS_FreeCString, which we do before returning. A null result leaves an exception pending,
    // which we take off.
    unsafe {
        let p = qjs::JS_ToCStringLen2(ctx.as_raw().as_ptr(), &mut len, v.as_raw(), false);
        if p.is_null() {
            let _ = ctx.catch();
            return String::new();
        }
        let bytes = std::slice::from_raw_parts(p.cast::<u8>(), len as usize);
        let s = utf8_lossy(bytes);
        qjs::JS_FreeCString(ctx.as_raw().as_ptr(), p);
        s
    }
}

/// `JSON.stringify(v)` through the engine's C entry point (immune to a guest replacing
/// `JSON.stringify`; `toJSON` methods and getters of the value still run, under the run's
/// limits). `Ok(None)` when the value has no JSON form.
pub(crate) fn json_stringify<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> std::result::Result<Option<String>, Value<'js>> {
    // SAFETY: live value of `ctx`; JS_JSONStringify returns a new reference we own.
    let r = unsafe { qjs::JS_JSONStringify(ctx.as_raw().as_ptr(), v.as_raw(), qjs::JS_UNDEFINED, qjs::JS_UNDEFINED) };
    let r = wrap(ctx, r)?;
    if r.is_undefined() {
        return Ok(None);
    }
    Ok(Some(to_string_lossy(ctx, &r)))
}

/// `JSON.parse(text)` through the engine's C entry point: the result is a fresh deep copy in
/// `ctx`'s realm; `__proto__` keys become own properties.
pub(crate) fn json_parse<'js>(ctx: &Ctx<'js>, text: &str) -> RawResult<'js> {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text.as_bytes());
    buf.push(0);
    // SAFETY: NUL-terminated buffer with explicit length, valid for the call.
    let v = unsafe {
        qjs::JS_ParseJSON(ctx.as_raw().as_ptr(), buf.as_ptr() as *const c_char, text.len() as _, c"<json>".as_ptr())
    };
    wrap(ctx, v)
}

/// The source text of a function (what `Function.prototype.toString` returns), read through
/// the intrinsic so a guest cannot intercept it.
pub(crate) fn function_source<'js>(ctx: &Ctx<'js>, f: &rquickjs::Function<'js>) -> String {
    // SAFETY: JS_ToString on a function object with the engine's own algorithm; it returns a
    // new reference that `wrap` takes ownership of.
    let v = unsafe { qjs::JS_ToString(ctx.as_raw().as_ptr(), f.as_raw()) };
    match wrap(ctx, v) {
        Ok(s) => to_string_lossy(ctx, &s),
        Err(_) => String::new(),
    }
}

/// Decodes the engine's UTF-8 output, where a lone surrogate is a 3-byte sequence
/// (`ED A0..BF 80..BF`): each one becomes a single U+FFFD.
pub(crate) fn utf8_lossy(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{fffd}');
                let skip = match bad {
                    [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => 3,
                    _ => e.error_len().unwrap_or(bad.len()),
                };
                rest = &bad[skip.min(bad.len())..];
            }
        }
    }
    out
}
