//! Everything that touches the engine directly: the in-sandbox evaluation bridge (which keeps
//! the real completion value for `_` and renders it with colours) and the side-effect-free
//! property walk behind Tab completion.
//!
//! All of it runs on the guest thread, inside [`sandvm::Context::with_engine`] or inside a
//! run started by [`sandvm::Context::call`], so under the runtime's limits.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CString};
use std::rc::Rc;

use sandvm::rquickjs::function::This;
use sandvm::rquickjs::{self, qjs, Ctx, Exception, Function, Object, Value};
use sandvm::InspectOptions;

/// Name of the bridge function on the guest's global object (non-enumerable, non-writable,
/// non-configurable, and callable only while the REPL has armed it).
pub(crate) const BRIDGE_NAME: &str = "__sandvm_repl__";

/// What the bridge learned about the line it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Evaluated {
    /// The line ran; its completion value rendered like `util.inspect`.
    Value(String),
    /// The line does not parse (nothing ran). The REPL asks the core for the exact
    /// [`sandvm::Error::Syntax`] (it also tells whether the input is merely incomplete).
    SyntaxError,
}

/// State shared between the REPL session and the bridge function inside the sandbox.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Set by the REPL right before it calls the bridge; the bridge clears it on entry, so the
    /// guest can never call the bridge itself (not even from inside a line).
    pub(crate) armed: Cell<bool>,
    /// What the last bridge call produced.
    pub(crate) outcome: RefCell<Option<Evaluated>>,
    /// How values are rendered.
    pub(crate) inspect: Cell<InspectOptions>,
}

impl Slot {
    pub(crate) fn new(inspect: InspectOptions) -> Slot {
        Slot { armed: Cell::new(false), outcome: RefCell::new(None), inspect: Cell::new(inspect) }
    }
}

/// How the bridge compiles: flags and whether the context has the `eval` intrinsic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompileMode {
    pub(crate) strict: bool,
    pub(crate) eval_enabled: bool,
}

fn c_name(name: &str) -> CString {
    CString::new(name.replace('\0', "\u{fffd}")).unwrap_or_default()
}

/// Takes ownership of a raw result: a value, or the pending exception.
fn wrap<'js>(ctx: &Ctx<'js>, v: qjs::JSValue) -> Result<Value<'js>, Value<'js>> {
    // SAFETY: `v` was just returned by the engine for `ctx` and we own its reference; the
    // exception marker carries no reference and the pending exception is taken with `catch`.
    unsafe {
        if qjs::JS_IsException(v) {
            Err(ctx.catch())
        } else {
            Ok(Value::from_raw(ctx.clone(), v))
        }
    }
}

/// `JS_Eval` with an explicit length (source may contain NUL characters).
fn raw_eval(p: *mut qjs::JSContext, source: &str, filename: &str, flags: i32) -> qjs::JSValue {
    let mut buf = Vec::with_capacity(source.len() + 1);
    buf.extend_from_slice(source.as_bytes());
    buf.push(0);
    let name = c_name(filename);
    // SAFETY: `p` is a live context of this runtime; `buf` is NUL-terminated as the engine
    // requires and the length excludes the terminator; both buffers outlive the call. The
    // caller takes ownership of the returned value.
    unsafe { qjs::JS_Eval(p, buf.as_ptr() as *const c_char, source.len() as _, name.as_ptr(), flags) }
}

/// Why compiling failed.
enum CompileFail<'js> {
    /// A syntax error (or any failure of the parser, e.g. out of memory): nothing ran.
    Syntax,
    /// Another exception, taken off the context.
    Other(Value<'js>),
}

/// Compiles `source` as a global script without running it. Without the `eval` intrinsic the
/// sandbox context cannot parse, so the source is compiled in a short-lived compiler context
/// of the same runtime and brought over as bytecode (so that it runs in the sandbox's realm).
fn compile<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    filename: &str,
    tla: bool,
    mode: CompileMode,
) -> Result<Value<'js>, CompileFail<'js>> {
    let mut flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    if tla {
        flags |= qjs::JS_EVAL_FLAG_ASYNC as i32;
    }
    if mode.strict {
        flags |= qjs::JS_EVAL_FLAG_STRICT as i32;
    }
    let p = ctx.as_raw().as_ptr();
    if mode.eval_enabled {
        return match wrap(ctx, raw_eval(p, source, filename, flags)) {
            Ok(f) => Ok(f),
            Err(e) if is_syntax_error(&e) => Err(CompileFail::Syntax),
            Err(e) => Err(CompileFail::Other(e)),
        };
    }
    // SAFETY: `p` is live, so its runtime is; the compiler context is created, used and freed
    // inside this block, and every value made in it (the function and a possible exception)
    // is freed in it before the context is. The bytecode buffer is allocated by the engine
    // with js_malloc on the compiler context and freed with js_free on the same context after
    // it was read into the sandbox context (JS_ReadObject copies what it needs).
    unsafe {
        let rt = qjs::JS_GetRuntime(p);
        let cc = qjs::JS_NewContextRaw(rt);
        if cc.is_null() {
            return Err(CompileFail::Syntax);
        }
        if qjs::JS_AddIntrinsicBaseObjects(cc) != 0 || qjs::JS_AddIntrinsicEval(cc) != 0 {
            let exc = qjs::JS_GetException(cc);
            qjs::JS_FreeValue(cc, exc);
            qjs::JS_FreeContext(cc);
            return Err(CompileFail::Syntax);
        }
        let func = raw_eval(cc, source, filename, flags);
        if qjs::JS_IsException(func) {
            let exc = qjs::JS_GetException(cc);
            qjs::JS_FreeValue(cc, exc);
            qjs::JS_FreeContext(cc);
            return Err(CompileFail::Syntax);
        }
        let mut size: qjs::size_t = 0;
        let buf = qjs::JS_WriteObject(cc, &mut size, func, qjs::JS_WRITE_OBJ_BYTECODE as i32);
        qjs::JS_FreeValue(cc, func);
        if buf.is_null() {
            let exc = qjs::JS_GetException(cc);
            qjs::JS_FreeValue(cc, exc);
            qjs::JS_FreeContext(cc);
            return Err(CompileFail::Syntax);
        }
        let loaded = qjs::JS_ReadObject(p, buf, size as _, qjs::JS_READ_OBJ_BYTECODE as i32);
        qjs::js_free(cc, buf.cast());
        qjs::JS_FreeContext(cc);
        wrap(ctx, loaded).map_err(CompileFail::Other)
    }
}

fn is_syntax_error(e: &Value<'_>) -> bool {
    e.is_error()
        && e.as_object().and_then(|o| o.get::<_, Option<String>>("name").ok().flatten()).as_deref()
            == Some("SyntaxError")
}

/// Runs a compiled script function.
fn eval_function<'js>(ctx: &Ctx<'js>, func: &Value<'js>) -> Result<Value<'js>, Value<'js>> {
    let p = ctx.as_raw().as_ptr();
    // SAFETY: JS_EvalFunction consumes one reference, so it gets a fresh one (dup) and we keep ours.
    let v = unsafe { qjs::JS_EvalFunction(p, qjs::JS_DupValue(p, func.as_raw())) };
    wrap(ctx, v)
}

fn is_uncatchable(v: &Value<'_>) -> bool {
    // SAFETY: reads a flag of a live value; no reference changes hands.
    unsafe { qjs::JS_IsUncatchableError(v.as_raw()) }
}

/// `globalThis._error = e` for an ordinary exception (never for the engine's uncatchable
/// interrupt error). A throwing setter is ignored.
fn record_error<'js>(ctx: &Ctx<'js>, e: &Value<'js>) {
    if is_uncatchable(e) {
        return;
    }
    if ctx.globals().set("_error", e.clone()).is_err() {
        let _ = ctx.catch();
    }
}

/// `globalThis._ = v`, and renders `v` for the REPL.
fn record_value<'js>(ctx: &Ctx<'js>, slot: &Slot, v: Value<'js>) {
    if ctx.globals().set("_", v.clone()).is_err() {
        let _ = ctx.catch();
    }
    let shown = sandvm::inspect_value(ctx, &v, &slot.inspect.get());
    *slot.outcome.borrow_mut() = Some(Evaluated::Value(shown));
}

/// Defines the bridge function on the global object of `ctx` (once per engine context).
///
/// The bridge `(source, filename, tla)` compiles the source as a global script (so `let`,
/// `const` and `class` declarations persist like in node's REPL), runs it, stores the real
/// completion value in `_` (an uncaught error in `_error`) and renders it into the slot. With
/// `tla` it compiles an async script and returns a promise that the core awaits.
pub(crate) fn install_bridge<'js>(ctx: &Ctx<'js>, slot: Rc<Slot>, mode: CompileMode) -> rquickjs::Result<()> {
    let bridge = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, source: String, filename: String, tla: bool| -> rquickjs::Result<Value<'js>> {
            bridge_call(&ctx, &slot, mode, &source, &filename, tla)
        },
    )?;
    let name = c_name(BRIDGE_NAME);
    let global = ctx.globals();
    // SAFETY: live global object and function of `ctx`; JS_DefinePropertyValueStr takes
    // ownership of the value it is given, so it gets a fresh reference (dup). Flags 0: not
    // writable, not enumerable, not configurable, so the guest can neither replace nor delete it.
    let rc = unsafe {
        let p = ctx.as_raw().as_ptr();
        qjs::JS_DefinePropertyValueStr(
            p,
            global.as_raw(),
            name.as_ptr(),
            qjs::JS_DupValue(p, bridge.as_raw()),
            qjs::JS_PROP_THROW as i32,
        )
    };
    if rc < 0 {
        return Err(rquickjs::Error::Exception);
    }
    Ok(())
}

/// True when the bridge is already defined on this context's global object.
pub(crate) fn has_bridge(ctx: &Ctx<'_>) -> bool {
    let global = ctx.globals();
    match lookup_own(ctx, global.as_value(), BRIDGE_NAME) {
        Own::Data(v) => v.is_function(),
        _ => false,
    }
}

fn bridge_call<'js>(
    ctx: &Ctx<'js>,
    slot: &Rc<Slot>,
    mode: CompileMode,
    source: &str,
    filename: &str,
    tla: bool,
) -> rquickjs::Result<Value<'js>> {
    if !slot.armed.replace(false) {
        return Err(Exception::throw_type(ctx, "this function is reserved for the REPL"));
    }
    let undefined = Value::new_undefined(ctx.clone());
    let func = match compile(ctx, source, filename, tla, mode) {
        Ok(f) => f,
        Err(CompileFail::Syntax) => {
            *slot.outcome.borrow_mut() = Some(Evaluated::SyntaxError);
            return Ok(undefined);
        }
        Err(CompileFail::Other(e)) => return Err(ctx.throw(e)),
    };
    let result = match eval_function(ctx, &func) {
        Ok(v) => v,
        Err(e) => {
            record_error(ctx, &e);
            return Err(ctx.throw(e));
        }
    };
    if !tla {
        record_value(ctx, slot, result);
        return Ok(undefined);
    }
    // An async script's promise resolves to `{ value }`, its completion value.
    let Some(promise) = result.as_object().cloned() else {
        record_value(ctx, slot, result);
        return Ok(undefined);
    };
    let ok_slot = slot.clone();
    let on_ok = Function::new(ctx.clone(), move |ctx: Ctx<'js>, done: Value<'js>| -> rquickjs::Result<()> {
        let value = match done.as_object() {
            Some(o) => lookup_data_value(&ctx, o),
            None => Value::new_undefined(ctx.clone()),
        };
        record_value(&ctx, &ok_slot, value);
        Ok(())
    })?;
    let on_err = Function::new(ctx.clone(), move |ctx: Ctx<'js>, e: Value<'js>| -> rquickjs::Result<()> {
        record_error(&ctx, &e);
        Err(ctx.throw(e))
    })?;
    let then: Function = promise.get("then")?;
    then.call((This(promise), on_ok, on_err))
}

/// The `value` of an async script's result object (an own data property), or `undefined`.
fn lookup_data_value<'js>(ctx: &Ctx<'js>, o: &Object<'js>) -> Value<'js> {
    match lookup_own(ctx, o.as_value(), "value") {
        Own::Data(v) => v,
        _ => Value::new_undefined(ctx.clone()),
    }
}

// ---------------------------------------------------------------------------------------
// Completion: property names without running guest code
// ---------------------------------------------------------------------------------------

/// How far completion follows prototype chains.
const MAX_CHAIN: usize = 64;
/// `JS_CLASS_STRING` in quickjs.c (String wrapper objects: one own property per character).
const CLASS_STRING: u32 = 5;

/// What an own-property lookup found.
enum Own<'js> {
    /// A data property and its value.
    Data(Value<'js>),
    /// An accessor property: reading it would run a getter.
    Accessor,
    /// No such own property.
    Missing,
    /// The object is a Proxy (a lookup would run a trap) or the lookup failed.
    Blocked,
}

fn is_proxy(v: &Value<'_>) -> bool {
    // SAFETY: reads the class of a live value; no reference changes hands.
    unsafe { qjs::JS_IsProxy(v.as_raw()) }
}

/// Looks up an own property of `obj` without running guest code (no getters, no traps).
fn lookup_own<'js>(ctx: &Ctx<'js>, obj: &Value<'js>, name: &str) -> Own<'js> {
    if !obj.is_object() || is_proxy(obj) {
        return Own::Blocked;
    }
    let p = ctx.as_raw().as_ptr();
    // SAFETY: `p` is the live context of `obj`. The atom made here is freed before returning.
    // JS_GetOwnProperty fills `desc` with new references (value, getter, setter) only when it
    // returns 1; each is handed to a `Value` that frees it on drop. `obj` is not a Proxy, so
    // no trap runs; plain objects answer from their shape without calling guest code.
    unsafe {
        let atom = qjs::JS_NewAtomLen(p, name.as_ptr() as *const c_char, name.len() as _);
        if atom == qjs::JS_ATOM_NULL {
            let _ = ctx.catch();
            return Own::Blocked;
        }
        let mut desc = qjs::JSPropertyDescriptor {
            flags: 0,
            value: qjs::JS_UNDEFINED,
            getter: qjs::JS_UNDEFINED,
            setter: qjs::JS_UNDEFINED,
        };
        let rc = qjs::JS_GetOwnProperty(p, &mut desc, obj.as_raw(), atom);
        qjs::JS_FreeAtom(p, atom);
        match rc {
            1 => {
                let value = Value::from_raw(ctx.clone(), desc.value);
                let getter = Value::from_raw(ctx.clone(), desc.getter);
                let setter = Value::from_raw(ctx.clone(), desc.setter);
                if desc.flags & qjs::JS_PROP_GETSET as i32 != 0 {
                    drop((getter, setter));
                    Own::Accessor
                } else {
                    Own::Data(value)
                }
            }
            0 => Own::Missing,
            _ => {
                let _ = ctx.catch();
                Own::Blocked
            }
        }
    }
}

/// The prototype of `v` (for primitives, their wrapper's prototype), or `None` at the end of
/// the chain, for a Proxy (whose `getPrototypeOf` trap is guest code) or on failure.
fn prototype<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Option<Value<'js>> {
    if v.is_null() || v.is_undefined() || is_proxy(v) {
        return None;
    }
    let p = ctx.as_raw().as_ptr();
    // SAFETY: live value of `ctx`, not a Proxy: JS_GetPrototype reads the shape (or the
    // primitive's intrinsic prototype) and returns a new reference, owned by the `Value`.
    let proto = unsafe { qjs::JS_GetPrototype(p, v.as_raw()) };
    match wrap(ctx, proto) {
        Ok(pv) if pv.is_object() => Some(pv),
        Ok(_) => None,
        Err(_) => None,
    }
}

/// Result of resolving a name along a prototype chain.
enum Found<'js> {
    Value(Value<'js>),
    /// Not found, and the whole chain was plain objects (no Proxy met).
    Missing,
    /// An accessor, a Proxy or a failure: give up.
    Blocked,
}

/// Finds `name` on `start` or its prototype chain, through own data properties only.
fn lookup_chain<'js>(ctx: &Ctx<'js>, start: &Value<'js>, name: &str) -> Found<'js> {
    let mut cur = if start.is_object() { Some(start.clone()) } else { prototype(ctx, start) };
    let mut steps = 0;
    while let Some(obj) = cur {
        steps += 1;
        if steps > MAX_CHAIN || is_proxy(&obj) {
            return Found::Blocked;
        }
        match lookup_own(ctx, &obj, name) {
            Own::Data(v) => return Found::Value(v),
            Own::Accessor | Own::Blocked => return Found::Blocked,
            Own::Missing => {}
        }
        cur = prototype(ctx, &obj);
    }
    Found::Missing
}

/// The value of a global lexical binding (`let`/`const`/`class` at top level are not
/// properties of the global object). Only called when the global object and its whole
/// prototype chain are plain objects without `name`, so resolving the identifier reads the
/// binding and cannot reach guest code.
fn lexical_binding<'js>(ctx: &Ctx<'js>, name: &str) -> Option<Value<'js>> {
    if !crate::complete::is_identifier(name) || crate::complete::KEYWORDS.contains(&name) {
        return None;
    }
    let p = ctx.as_raw().as_ptr();
    let flags = qjs::JS_EVAL_TYPE_GLOBAL as i32;
    wrap(ctx, raw_eval(p, name, "<completion>", flags)).ok()
}

/// Names of the own string-keyed properties of `obj` (not a Proxy). Long arrays, typed arrays
/// and String objects only contribute `length` (a huge array would make a huge list).
fn own_names<'js>(ctx: &Ctx<'js>, obj: &Value<'js>, out: &mut Vec<String>) {
    let raw = obj.as_raw();
    // SAFETY: reads class information of a live object; no reference changes hands.
    let indexed = unsafe {
        qjs::JS_IsArray(raw) || qjs::JS_GetTypedArrayType(raw) >= 0 || qjs::JS_GetClassID(raw) == CLASS_STRING
    };
    // Arrays, typed arrays and String objects have one own key per element. Short ones are
    // listed (`Array.prototype` and `String.prototype` are themselves such objects, empty).
    let long = indexed
        && match lookup_own(ctx, obj, "length") {
            Own::Data(n) => n.as_number().is_none_or(|n| n > 256.0),
            _ => true,
        };
    if long {
        out.push("length".to_string());
        return;
    }
    let p = ctx.as_raw().as_ptr();
    let mut tab: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
    let mut len: u32 = 0;
    // SAFETY: `obj` is a live object of `ctx` and not a Proxy (the caller checks), so no trap
    // runs. On success the engine hands us `len` entries that we read and then free with
    // JS_FreePropertyEnum (which also frees their atoms); each C string made from an atom is
    // copied and freed at once.
    unsafe {
        if qjs::JS_GetOwnPropertyNames(p, &mut tab, &mut len, raw, qjs::JS_GPN_STRING_MASK as i32) < 0 {
            let _ = ctx.catch();
            return;
        }
        for i in 0..len as usize {
            let atom = (*tab.add(i)).atom;
            let mut n: qjs::size_t = 0;
            let s = qjs::JS_AtomToCStringLen(p, &mut n, atom);
            if s.is_null() {
                let _ = ctx.catch();
                continue;
            }
            let bytes = std::slice::from_raw_parts(s as *const u8, n as usize);
            out.push(String::from_utf8_lossy(bytes).into_owned());
            qjs::JS_FreeCString(p, s);
        }
        qjs::JS_FreePropertyEnum(p, tab, len);
    }
}

/// Property names reachable from the object that `path` (dotted identifiers from the global
/// object) resolves to, own ones first, then up the prototype chain. Empty when the path
/// cannot be resolved without running guest code. `lexical` allows resolving the first
/// segment as a global `let`/`const`/`class` binding (needs the `eval` intrinsic).
pub(crate) fn property_names(ctx: &Ctx<'_>, path: &[String], lexical: bool) -> Vec<String> {
    let mut cur = ctx.globals().into_value();
    for (i, seg) in path.iter().enumerate() {
        cur = match lookup_chain(ctx, &cur, seg) {
            Found::Value(v) => v,
            Found::Missing if i == 0 && lexical => match lexical_binding(ctx, seg) {
                Some(v) => v,
                None => return Vec::new(),
            },
            _ => return Vec::new(),
        };
    }
    let mut out = Vec::new();
    let mut obj = if cur.is_object() { Some(cur) } else { prototype(ctx, &cur) };
    let mut steps = 0;
    while let Some(o) = obj {
        steps += 1;
        if steps > MAX_CHAIN || is_proxy(&o) {
            break;
        }
        own_names(ctx, &o, &mut out);
        obj = prototype(ctx, &o);
    }
    out
}
