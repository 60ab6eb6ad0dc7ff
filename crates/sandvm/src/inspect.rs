//! Node-compatible rendering of guest values (`util.inspect` / `util.format`).
//!
//! Everything in here treats the value as hostile:
//!
//! * No guest code ever runs. Properties are read through their *descriptors*
//!   (`JS_GetOwnProperty` / `JS_GetOwnPropertyNames`), so getters are shown as
//!   `[Getter]` and never called; `toString` / `valueOf` / `Symbol.toPrimitive` /
//!   `toJSON` / `inspect` hooks are ignored; the constructor name comes from the
//!   `constructor` *data* property found by walking the prototype chain.
//!   Proxies are never asked anything: their target is rendered instead
//!   (`JS_GetProxyTarget`), a revoked proxy renders as `<Revoked Proxy>`.
//! * The only functions ever called are original, native (C) builtins captured by
//!   [`install`] on a fresh context before any guest code ran (`Map.prototype.entries`,
//!   the `size` getters, `Date.prototype.toISOString`, the RegExp flag getters, ...).
//!   They live in the runtime's userdata, which guest code cannot reach.
//! * Work and output are bounded: depth (and a hard depth cap), at most
//!   `max_array_length` array items / map and set entries, at most
//!   [`MAX_OBJECT_KEYS`] object keys per level, strings cut at `max_string_length`,
//!   bounded prototype-chain walks, and a total output cap of [`MAX_OUTPUT`] bytes.
//! * Nothing panics on guest-controlled data: pending exceptions raised by the
//!   engine while we look at a value are cleared and rendered as something sensible.

use std::collections::HashMap;
use std::ffi::c_void;
use std::marker::PhantomData;

use rquickjs::{qjs, Ctx, JsLifetime, Value};

/// Hard cap on the total output of one [`inspect`] / [`format_args`] call, in bytes.
/// When it is reached the output is cut and `…` is appended.
pub const MAX_OUTPUT: usize = 1 << 20;

/// Hard cap on the nesting depth actually rendered, whatever `InspectOptions::depth`
/// says (bounds host recursion; Node has no such cap but would overflow its own stack).
pub const MAX_DEPTH: usize = 64;

/// At most this many own keys of one object are rendered (Node renders all of them);
/// the rest is summarised as `... N more properties`.
pub const MAX_OBJECT_KEYS: usize = 100;

/// Prototype chains are followed at most this many steps.
const MAX_PROTO_WALK: usize = 1000;

/// Typed arrays longer than this have their non-index keys ignored: enumerating the own
/// keys of a typed array allocates one entry per element (8 bytes per possibly 1-byte
/// element), which a guest could use as a memory amplifier.
const MAX_TYPED_ARRAY_KEY_SCAN: usize = 10_000;

/// Class ids of quickjs-ng 0.16.2 (the `enum` at the top of `quickjs.c`, which is not
/// exported). `tests::class_ids_match_engine` checks them against the engine.
pub(crate) mod class_id {
    pub const NUMBER: u32 = 4;
    pub const STRING: u32 = 5;
    pub const BOOLEAN: u32 = 6;
    pub const SYMBOL: u32 = 7;
    pub const ARGUMENTS: u32 = 8;
    pub const MAPPED_ARGUMENTS: u32 = 9;
    pub const MODULE_NS: u32 = 11;
    pub const GENERATOR_FUNCTION: u32 = 17;
    pub const ARRAY_BUFFER: u32 = 20;
    pub const SHARED_ARRAY_BUFFER: u32 = 21;
    pub const BIG_INT: u32 = 35;
    pub const PROXY: u32 = 51;
    pub const ASYNC_FUNCTION: u32 = 55;
    pub const ASYNC_GENERATOR_FUNCTION: u32 = 59;
}

/// Atoms with this bit set are array indices stored inline (`JS_ATOM_TAG_INT` in quickjs.c).
const ATOM_TAG_INT: u32 = 1 << 31;

/// Options for rendering, mirroring the subset of Node's `util.inspect` options we support.
#[derive(Debug, Clone, Copy)]
pub struct InspectOptions {
    /// How many levels of nesting are rendered before `[Object]` / `[Array]` is printed
    /// (Node's default: 2). Capped at 64.
    pub depth: usize,
    /// Use Node's ANSI colour styles.
    pub colors: bool,
    /// At most this many array / typed array items, Map and Set entries, ArrayBuffer bytes
    /// (Node's default: 100).
    pub max_array_length: usize,
    /// Strings longer than this (in UTF-16 code units) are cut, with
    /// `... N more characters` appended (Node's default: 10000).
    pub max_string_length: usize,
    /// An object is printed on one line if it fits within this many columns
    /// (Node's `util.inspect` default is 128; this crate defaults to 80).
    pub break_length: usize,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions { depth: 2, colors: false, max_array_length: 100, max_string_length: 10_000, break_length: 80 }
    }
}

// ---------------------------------------------------------------------------------------
// Captured intrinsics
// ---------------------------------------------------------------------------------------

/// Original native builtins captured on a fresh context, stored in the runtime's userdata.
/// All of these are C functions of the engine that never call back into JS code when given
/// the receivers we give them.
#[derive(Default)]
struct Intrinsics<'js> {
    map_entries: Option<Value<'js>>,
    map_iter_next: Option<Value<'js>>,
    map_size: Option<Value<'js>>,
    set_values: Option<Value<'js>>,
    set_iter_next: Option<Value<'js>>,
    set_size: Option<Value<'js>>,
    date_get_time: Option<Value<'js>>,
    date_to_iso: Option<Value<'js>>,
    re_source: Option<Value<'js>>,
    re_flags: Vec<(char, Value<'js>)>,
    fn_to_string: Option<Value<'js>>,
    error_stack: Option<Value<'js>>,
    error_proto: Option<Value<'js>>,
    number_value_of: Option<Value<'js>>,
    string_value_of: Option<Value<'js>>,
    boolean_value_of: Option<Value<'js>>,
    bigint_value_of: Option<Value<'js>>,
    symbol_value_of: Option<Value<'js>>,
    to_string_tag: Option<Value<'js>>,
    string_substring: Option<Value<'js>>,
    parse_int: Option<Value<'js>>,
    parse_float: Option<Value<'js>>,
    dataview_byte_length: Option<Value<'js>>,
    dataview_byte_offset: Option<Value<'js>>,
    dataview_buffer: Option<Value<'js>>,
    typed_array_length: Option<Value<'js>>,
    array_buffer_detached: Option<Value<'js>>,
    array_buffer_resizable: Option<Value<'js>>,
}

// SAFETY: `Intrinsics<'js>` only holds `Value<'js>`s, whose lifetime is the only lifetime
// parameter; changing it is exactly what `Value`'s own `JsLifetime` impl does.
unsafe impl<'js> JsLifetime<'js> for Intrinsics<'js> {
    type Changed<'to> = Intrinsics<'to>;
}

/// Getters made by the host's own lockdown (see `lockdown.rs`), which return a captured value
/// and run no guest code. Kept alive here so their identity cannot be reused.
struct TrustedGetters<'js>(std::cell::RefCell<Vec<Value<'js>>>);

// SAFETY: holds only `Value<'js>`s; changing the lifetime is what `Value`'s own impl does.
unsafe impl<'js> JsLifetime<'js> for TrustedGetters<'js> {
    type Changed<'to> = TrustedGetters<'to>;
}

/// Registers getters created by the host's lockdown prelude as safe to call while rendering.
pub fn trust_getters<'js>(ctx: &Ctx<'js>, getters: Vec<Value<'js>>) {
    if ctx.userdata::<TrustedGetters>().is_none() {
        let _ = ctx.store_userdata(TrustedGetters(std::cell::RefCell::new(Vec::new())));
    }
    if let Some(t) = ctx.userdata::<TrustedGetters>() {
        if let Ok(mut v) = t.0.try_borrow_mut() {
            v.extend(getters);
        }
    }
}

fn is_trusted_getter<'js>(ctx: &Ctx<'js>, getter: &Value<'js>) -> bool {
    match ctx.userdata::<TrustedGetters>() {
        Some(t) => t.0.try_borrow().map(|v| v.iter().any(|g| g == getter)).unwrap_or(false),
        None => false,
    }
}

/// Called once on a fresh context BEFORE any guest code runs: captures the original
/// native builtins the renderer needs (Map/Set iteration and size, Date, RegExp flags,
/// `Function.prototype.toString`, the Error `stack` getter, boxed-primitive `valueOf`s,
/// ...) and stores them in the runtime's userdata, where guest code can never reach or
/// replace them.
///
/// Userdata belongs to the runtime: if several contexts share a runtime, the first
/// installed set is kept (the builtins are the same C functions in every realm). A
/// builtin that is missing (e.g. a context without the MapSet intrinsic) is simply
/// not used; [`inspect`] degrades gracefully, and also works (more coarsely) if
/// `install` was never called.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    if ctx.userdata::<Intrinsics>().is_some() {
        return Ok(());
    }
    let intr = {
        let r = Raw::new(ctx);
        capture(&r)
    };
    // An Err here would only mean "already stored" or "being accessed", both fine.
    let _ = ctx.store_userdata(intr);
    Ok(())
}

fn capture<'js>(r: &Raw<'js>) -> Intrinsics<'js> {
    // SAFETY: JS_GetGlobalObject returns a new reference, which `own` takes over.
    let global = r.own(unsafe { qjs::JS_GetGlobalObject(r.p) });
    let ctor_proto = |name: &str| -> Option<(Value<'js>, Value<'js>)> {
        let ctor = r.data_prop_str(&global, name)?;
        let proto = r.data_prop_str(&ctor, "prototype")?;
        Some((ctor, proto))
    };
    let method = |proto: &Option<(Value<'js>, Value<'js>)>, name: &str| {
        proto.as_ref().and_then(|(_, p)| r.data_prop_str(p, name)).filter(|f| r.is_function(f))
    };
    let getter =
        |proto: &Option<(Value<'js>, Value<'js>)>, name: &str| proto.as_ref().and_then(|(_, p)| r.getter_str(p, name));
    let mut i = Intrinsics::default();

    let map = ctor_proto("Map");
    i.map_entries = method(&map, "entries");
    i.map_size = getter(&map, "size");
    if let (Some((ctor, _)), Some(entries)) = (&map, &i.map_entries) {
        i.map_iter_next = r.iterator_next_of(ctor, entries);
    }
    let set = ctor_proto("Set");
    i.set_values = method(&set, "values");
    i.set_size = getter(&set, "size");
    if let (Some((ctor, _)), Some(values)) = (&set, &i.set_values) {
        i.set_iter_next = r.iterator_next_of(ctor, values);
    }
    let date = ctor_proto("Date");
    i.date_get_time = method(&date, "getTime");
    i.date_to_iso = method(&date, "toISOString");
    let re = ctor_proto("RegExp");
    i.re_source = getter(&re, "source");
    for (c, name) in [
        ('d', "hasIndices"),
        ('g', "global"),
        ('i', "ignoreCase"),
        ('m', "multiline"),
        ('s', "dotAll"),
        ('u', "unicode"),
        ('v', "unicodeSets"),
        ('y', "sticky"),
    ] {
        if let Some(g) = getter(&re, name) {
            i.re_flags.push((c, g));
        }
    }
    let function = ctor_proto("Function");
    i.fn_to_string = method(&function, "toString");
    let error = ctor_proto("Error");
    i.error_stack = getter(&error, "stack");
    i.error_proto = error.as_ref().map(|(_, p)| p.clone());
    i.number_value_of = method(&ctor_proto("Number"), "valueOf");
    let string = ctor_proto("String");
    i.string_value_of = method(&string, "valueOf");
    i.string_substring = method(&string, "substring");
    i.boolean_value_of = method(&ctor_proto("Boolean"), "valueOf");
    i.bigint_value_of = method(&ctor_proto("BigInt"), "valueOf");
    let symbol = ctor_proto("Symbol");
    i.symbol_value_of = method(&symbol, "valueOf");
    i.to_string_tag = symbol
        .as_ref()
        .and_then(|(ctor, _)| r.data_prop_str(ctor, "toStringTag"))
        // SAFETY: reading the tag of a live value.
        .filter(|s| unsafe { qjs::JS_IsSymbol(s.as_raw()) });
    i.parse_int = r.data_prop_str(&global, "parseInt").filter(|f| r.is_function(f));
    i.parse_float = r.data_prop_str(&global, "parseFloat").filter(|f| r.is_function(f));
    let dv = ctor_proto("DataView");
    i.dataview_byte_length = getter(&dv, "byteLength");
    i.dataview_byte_offset = getter(&dv, "byteOffset");
    i.dataview_buffer = getter(&dv, "buffer");
    let ab = ctor_proto("ArrayBuffer");
    i.array_buffer_detached = getter(&ab, "detached");
    i.array_buffer_resizable = getter(&ab, "resizable");
    i.typed_array_length =
        ctor_proto("Uint8Array").and_then(|(_, p)| r.proto(&p)).and_then(|ta| r.getter_str(&ta, "length"));
    i
}

// ---------------------------------------------------------------------------------------
// Raw FFI helpers
// ---------------------------------------------------------------------------------------

/// A property found by its descriptor.
pub(crate) enum Prop<'js> {
    /// A data property and its value.
    Data(Value<'js>),
    /// An accessor property: which halves exist, and the getter itself.
    Accessor { has_get: bool, has_set: bool, getter: Value<'js> },
    /// No such own property (or the object is a Proxy, which we never ask).
    Missing,
    /// The engine raised an exception while looking (e.g. an uninitialized module binding).
    Error,
}

/// An owned atom, freed on drop.
pub(crate) struct Atom<'js> {
    p: *mut qjs::JSContext,
    pub(crate) atom: qjs::JSAtom,
    _marker: PhantomData<&'js ()>,
}

impl Drop for Atom<'_> {
    fn drop(&mut self) {
        // SAFETY: `atom` is a reference we own (from JS_NewAtom/JS_DupAtom/JS_ValueToAtom)
        // and the context outlives this value (it only lives during one call with `Ctx`).
        unsafe { qjs::JS_FreeAtom(self.p, self.atom) }
    }
}

/// An own key (atom) and whether it is enumerable.
pub(crate) struct Key<'js> {
    pub(crate) atom: Atom<'js>,
    enumerable: bool,
}

/// Thin wrapper around the raw context pointer with safe helper methods.
pub(crate) struct Raw<'js> {
    ctx: Ctx<'js>,
    p: *mut qjs::JSContext,
}

impl<'js> Raw<'js> {
    pub(crate) fn new(ctx: &Ctx<'js>) -> Self {
        Raw { ctx: ctx.clone(), p: ctx.as_raw().as_ptr() }
    }

    /// Takes ownership of a raw value returned by the engine (a new reference).
    fn own(&self, v: qjs::JSValue) -> Value<'js> {
        // SAFETY: callers pass a value the engine returned as a new reference (or a
        // non-refcounted constant); `Value` frees it exactly once on drop.
        unsafe { Value::from_raw(self.ctx.clone(), v) }
    }

    /// Drops any pending exception.
    fn clear_exception(&self) {
        // SAFETY: JS_GetException returns (and clears) the pending exception as a new
        // reference (JS_UNINITIALIZED if none); `own` frees it.
        drop(self.own(unsafe { qjs::JS_GetException(self.p) }));
    }

    /// Wraps a returned value, turning JS_EXCEPTION into `None` (and clearing it).
    fn checked(&self, v: qjs::JSValue) -> Option<Value<'js>> {
        // SAFETY: inspecting the tag of a value is always fine.
        if unsafe { qjs::JS_IsException(v) } {
            self.clear_exception();
            None
        } else {
            Some(self.own(v))
        }
    }

    pub(crate) fn atom(&self, name: &str) -> Option<Atom<'js>> {
        // SAFETY: pointer and length describe a valid byte buffer for the whole call.
        let atom = unsafe { qjs::JS_NewAtomLen(self.p, name.as_ptr().cast(), name.len() as _) };
        if atom == 0 {
            // JS_ATOM_NULL: allocation failed.
            self.clear_exception();
            return None;
        }
        Some(Atom { p: self.p, atom, _marker: PhantomData })
    }

    fn index_atom(&self, i: u32) -> Option<Atom<'js>> {
        // SAFETY: JS_NewAtomUInt32 returns a new atom reference (or JS_ATOM_NULL).
        let atom = unsafe { qjs::JS_NewAtomUInt32(self.p, i) };
        if atom == 0 {
            self.clear_exception();
            return None;
        }
        Some(Atom { p: self.p, atom, _marker: PhantomData })
    }

    /// Runs one of the engine's class predicates (`JS_IsMap`, `JS_IsDate`, ...).
    pub(crate) fn check(&self, v: &Value<'js>, pred: unsafe extern "C" fn(qjs::JSValue) -> bool) -> bool {
        // SAFETY: the predicates passed here only read the tag / class id / internal state
        // of the (live) value; they never run JS code or throw.
        unsafe { pred(v.as_raw()) }
    }

    pub(crate) fn typed_array_type(&self, v: &Value<'js>) -> i32 {
        // SAFETY: JS_GetTypedArrayType only reads the class id of the value.
        unsafe { qjs::JS_GetTypedArrayType(v.as_raw()) }
    }

    pub(crate) fn is_object(&self, v: &Value<'js>) -> bool {
        // SAFETY: tag inspection only.
        unsafe { qjs::JS_IsObject(v.as_raw()) }
    }

    pub(crate) fn is_proxy(&self, v: &Value<'js>) -> bool {
        // SAFETY: JS_IsProxy only reads the class id of an object value.
        self.is_object(v) && unsafe { qjs::JS_IsProxy(v.as_raw()) }
    }

    pub(crate) fn class_id(&self, v: &Value<'js>) -> u32 {
        // SAFETY: JS_GetClassID only reads the class id (0 for non-objects).
        unsafe { qjs::JS_GetClassID(v.as_raw()) }
    }

    fn is_function(&self, v: &Value<'js>) -> bool {
        // SAFETY: JS_IsFunction reads the class of the object (and, for a proxy, its
        // stored target); it never runs JS code.
        self.is_object(v) && unsafe { qjs::JS_IsFunction(self.p, v.as_raw()) }
    }

    /// Identity of an object (its address), for cycle detection and comparisons.
    fn ptr(&self, v: &Value<'js>) -> *mut c_void {
        // SAFETY: reading the pointer payload of an object value.
        unsafe { qjs::JS_VALUE_GET_PTR(v.as_raw()) }
    }

    fn same(&self, a: &Value<'js>, b: &Value<'js>) -> bool {
        self.is_object(a) && self.is_object(b) && self.ptr(a) == self.ptr(b)
    }

    /// Reads an own property descriptor. Never called on proxies (their trap would run).
    pub(crate) fn get_own(&self, obj: &Value<'js>, atom: qjs::JSAtom) -> Prop<'js> {
        if !self.is_object(obj) || self.is_proxy(obj) {
            return Prop::Missing;
        }
        let mut d = qjs::JSPropertyDescriptor {
            flags: 0,
            value: qjs::JS_UNDEFINED,
            getter: qjs::JS_UNDEFINED,
            setter: qjs::JS_UNDEFINED,
        };
        // SAFETY: `obj` is a live non-proxy object, so only built-in (C) lookups happen; on
        // success the descriptor holds three new references, which we take over below.
        let r = unsafe { qjs::JS_GetOwnProperty(self.p, &mut d, obj.as_raw(), atom) };
        if r < 0 {
            self.clear_exception();
            return Prop::Error;
        }
        if r == 0 {
            return Prop::Missing;
        }
        let value = self.own(d.value);
        let getter = self.own(d.getter);
        let setter = self.own(d.setter);
        if d.flags & qjs::JS_PROP_GETSET as i32 != 0 {
            Prop::Accessor { has_get: self.is_object(&getter), has_set: self.is_object(&setter), getter }
        } else {
            Prop::Data(value)
        }
    }

    fn data_prop(&self, obj: &Value<'js>, atom: &Atom<'js>) -> Option<Value<'js>> {
        match self.get_own(obj, atom.atom) {
            Prop::Data(v) => Some(v),
            // The lockdown turns some intrinsic data properties into accessors whose getter
            // only returns the original value: those (and only those) are read through.
            Prop::Accessor { has_get: true, getter, .. } if is_trusted_getter(&self.ctx, &getter) => {
                self.call(&getter, obj, &[])
            }
            _ => None,
        }
    }

    fn data_prop_str(&self, obj: &Value<'js>, name: &str) -> Option<Value<'js>> {
        let atom = self.atom(name)?;
        self.data_prop(obj, &atom)
    }

    fn getter_str(&self, obj: &Value<'js>, name: &str) -> Option<Value<'js>> {
        let atom = self.atom(name)?;
        match self.get_own(obj, atom.atom) {
            Prop::Accessor { has_get: true, getter, .. } => Some(getter),
            _ => None,
        }
    }

    /// The prototype of a non-proxy object (`None` for null, proxies, errors).
    pub(crate) fn proto(&self, obj: &Value<'js>) -> Option<Value<'js>> {
        if !self.is_object(obj) || self.is_proxy(obj) {
            return None;
        }
        // SAFETY: for a non-proxy object JS_GetPrototype just returns a new reference to
        // the shape's prototype (or JS_NULL); no JS code runs.
        let v = self.checked(unsafe { qjs::JS_GetPrototype(self.p, obj.as_raw()) })?;
        if self.is_object(&v) {
            Some(v)
        } else {
            None
        }
    }

    /// Own keys (strings and symbols, in engine order: indices, strings, symbols).
    fn own_keys(&self, obj: &Value<'js>, enum_only: bool) -> Vec<Key<'js>> {
        let mut flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_SYMBOL_MASK) as i32;
        if enum_only {
            flags |= qjs::JS_GPN_ENUM_ONLY as i32;
        }
        self.keys_with(obj, flags)
    }

    /// Own string keys, enumerable or not (no symbols), in engine order.
    pub(crate) fn own_string_keys(&self, obj: &Value<'js>) -> Vec<Key<'js>> {
        self.keys_with(obj, qjs::JS_GPN_STRING_MASK as i32)
    }

    /// Own keys selected by `JS_GPN_*` flags; empty for a non-object or a Proxy.
    fn keys_with(&self, obj: &Value<'js>, flags: i32) -> Vec<Key<'js>> {
        if !self.is_object(obj) || self.is_proxy(obj) {
            return Vec::new();
        }
        let mut tab: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
        let mut len: u32 = 0;
        // SAFETY: `obj` is a live non-proxy object; on success `tab` points to `len`
        // entries that we release with JS_FreePropertyEnum after duplicating the atoms.
        let r = unsafe { qjs::JS_GetOwnPropertyNames(self.p, &mut tab, &mut len, obj.as_raw(), flags) };
        if r < 0 || tab.is_null() {
            self.clear_exception();
            return Vec::new();
        }
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len as usize {
            // SAFETY: `i < len`, inside the array the engine gave us.
            let e = unsafe { *tab.add(i) };
            // SAFETY: duplicating an atom the engine just handed out (still owned by `tab`).
            let atom = unsafe { qjs::JS_DupAtom(self.p, e.atom) };
            out.push(Key { atom: Atom { p: self.p, atom, _marker: PhantomData }, enumerable: e.is_enumerable });
        }
        // SAFETY: releases the table (and its atom references) exactly once.
        unsafe { qjs::JS_FreePropertyEnum(self.p, tab, len) };
        out
    }

    /// Calls a captured native builtin. Returns `None` (exception cleared) on failure.
    fn call(&self, f: &Value<'js>, this: &Value<'js>, args: &[&Value<'js>]) -> Option<Value<'js>> {
        let mut argv: Vec<qjs::JSValue> = args.iter().map(|a| a.as_raw()).collect();
        // SAFETY: `f` is one of the engine's own C builtins captured before guest code ran;
        // `this` and the arguments are live values borrowed for the duration of the call.
        let r = unsafe { qjs::JS_Call(self.p, f.as_raw(), this.as_raw(), argv.len() as _, argv.as_mut_ptr()) };
        self.checked(r)
    }

    /// `%MapIteratorPrototype%.next` (or Set's): creates a fresh collection with the
    /// captured constructor at install time and reads `next` off its iterator's prototype.
    fn iterator_next_of(&self, ctor: &Value<'js>, iter_method: &Value<'js>) -> Option<Value<'js>> {
        // SAFETY: at install time `ctor` is the original Map/Set constructor (native).
        let coll = self.checked(unsafe { qjs::JS_CallConstructor(self.p, ctor.as_raw(), 0, std::ptr::null_mut()) })?;
        let it = self.call(iter_method, &coll, &[])?;
        let proto = self.proto(&it)?;
        self.data_prop_str(&proto, "next").filter(|f| self.is_function(f))
    }

    /// The target of a proxy, or `None` if it is revoked. Reads the engine's proxy record
    /// directly: `JS_GetProxyTarget` would *throw* for a revoked proxy, and building an
    /// error runs guest code (`Error.prepareStackTrace`, `Error.stackTraceLimit`).
    fn proxy_target(&self, v: &Value<'js>) -> Option<Value<'js>> {
        /// Mirror of quickjs-ng's `JSProxyData` (quickjs.c); checked by tests.
        #[repr(C)]
        struct ProxyData {
            target: qjs::JSValue,
            handler: qjs::JSValue,
            is_func: u8,
            is_revoked: u8,
        }
        if !self.is_proxy(v) {
            return None;
        }
        // SAFETY: `v` is a live object of class JS_CLASS_PROXY, whose opaque pointer is its
        // `JSProxyData` record (layout mirrored above); we only read it, and duplicate the
        // target before wrapping it in an owning `Value`.
        unsafe {
            let data = qjs::JS_GetOpaque(v.as_raw(), class_id::PROXY) as *const ProxyData;
            if data.is_null() || (*data).is_revoked != 0 {
                return None;
            }
            let t = (*data).target;
            if !qjs::JS_IsObject(t) {
                return None;
            }
            Some(self.own(qjs::JS_DupValue(self.p, t)))
        }
    }

    /// The UTF-16 code units of a string value (the whole string).
    fn string_units(&self, s: &Value<'js>) -> Vec<u16> {
        let mut len: qjs::size_t = 0;
        // SAFETY: for a string (or number/bool/null/undefined/bigint) value no JS code
        // runs; the returned buffer is released with JS_FreeCString below.
        let ptr = unsafe { qjs::JS_ToCStringLen2(self.p, &mut len, s.as_raw(), false) };
        if ptr.is_null() {
            self.clear_exception();
            return Vec::new();
        }
        // SAFETY: the engine guarantees `len` readable bytes at `ptr`.
        let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize) };
        let units = wtf8_to_utf16(bytes);
        // SAFETY: `ptr` came from JS_ToCStringLen2 and is freed once.
        unsafe { qjs::JS_FreeCString(self.p, ptr) };
        units
    }

    /// Lossy Rust string of a primitive (non-symbol) value.
    fn lossy(&self, s: &Value<'js>) -> String {
        String::from_utf16_lossy(&self.string_units(s))
    }

    /// `Symbol(description)` for a symbol value, or a symbol-keyed atom.
    fn symbol_string_atom(&self, atom: qjs::JSAtom) -> String {
        // SAFETY: JS_AtomToString returns a new reference (the description for symbols).
        match self.checked(unsafe { qjs::JS_AtomToString(self.p, atom) }) {
            Some(d) => format!("Symbol({})", self.lossy(&d)),
            None => "Symbol()".to_string(),
        }
    }

    fn symbol_string(&self, sym: &Value<'js>) -> String {
        // SAFETY: JS_ValueToAtom on a symbol returns a new atom reference (or JS_ATOM_NULL).
        let atom = unsafe { qjs::JS_ValueToAtom(self.p, sym.as_raw()) };
        if atom == 0 {
            self.clear_exception();
            return "Symbol()".to_string();
        }
        let a = Atom { p: self.p, atom, _marker: PhantomData };
        self.symbol_string_atom(a.atom)
    }

    /// Engine string of an atom key (for string / index atoms).
    pub(crate) fn atom_units(&self, atom: qjs::JSAtom) -> Vec<u16> {
        // SAFETY: JS_AtomToString returns a new string reference.
        match self.checked(unsafe { qjs::JS_AtomToString(self.p, atom) }) {
            Some(s) => self.string_units(&s),
            None => Vec::new(),
        }
    }

    fn atom_is_symbol(&self, atom: qjs::JSAtom) -> bool {
        if atom & ATOM_TAG_INT != 0 {
            return false;
        }
        // SAFETY: JS_AtomToValue returns a new reference (a string or a symbol).
        match self.checked(unsafe { qjs::JS_AtomToValue(self.p, atom) }) {
            // SAFETY: tag inspection.
            Some(v) => unsafe { qjs::JS_IsSymbol(v.as_raw()) },
            None => false,
        }
    }

    fn number(&self, v: &Value<'js>) -> Option<f64> {
        // SAFETY: tag inspection / reading number payloads.
        unsafe {
            let raw = v.as_raw();
            if qjs::JS_VALUE_GET_TAG(raw) == qjs::JS_TAG_INT {
                Some(qjs::JS_VALUE_GET_INT(raw) as f64)
            } else if qjs::JS_IsNumber(raw) {
                Some(qjs::JS_VALUE_GET_FLOAT64(raw))
            } else {
                None
            }
        }
    }
}

/// Decodes the engine's (WTF-8: UTF-8 that may contain encoded lone surrogates) bytes into
/// UTF-16 code units. Never fails; malformed bytes become U+FFFD.
fn wtf8_to_utf16(b: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (cp, n) = if c < 0x80 {
            (c as u32, 1)
        } else if c & 0xE0 == 0xC0 && i + 1 < b.len() {
            (((c as u32 & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
        } else if c & 0xF0 == 0xE0 && i + 2 < b.len() {
            (((c as u32 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F), 3)
        } else if c & 0xF8 == 0xF0 && i + 3 < b.len() {
            (
                ((c as u32 & 0x07) << 18)
                    | ((b[i + 1] as u32 & 0x3F) << 12)
                    | ((b[i + 2] as u32 & 0x3F) << 6)
                    | (b[i + 3] as u32 & 0x3F),
                4,
            )
        } else {
            (0xFFFD, 1)
        };
        if cp >= 0x10000 {
            let c = cp.min(0x10FFFF) - 0x10000;
            out.push(0xD800 | (c >> 10) as u16);
            out.push(0xDC00 | (c & 0x3FF) as u16);
        } else {
            out.push(cp as u16);
        }
        i += n;
    }
    out
}

// ---------------------------------------------------------------------------------------
// String helpers (Node's strEscape and friends)
// ---------------------------------------------------------------------------------------

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Length without ANSI colour sequences (Node's `removeColors(s).length`).
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            for c2 in it.by_ref() {
                if c2 == 'm' {
                    break;
                }
            }
            continue;
        }
        n += c.len_utf16();
    }
    n
}

fn meta_escape(u: u16, out: &mut String) {
    match u {
        0x08 => out.push_str("\\b"),
        0x09 => out.push_str("\\t"),
        0x0A => out.push_str("\\n"),
        0x0C => out.push_str("\\f"),
        0x0D => out.push_str("\\r"),
        0x27 => out.push_str("\\'"),
        0x5C => out.push_str("\\\\"),
        _ => out.push_str(&format!("\\x{:02X}", u)),
    }
}

/// Escapes control characters, backslashes, `quote` (if any) and lone surrogates.
fn escape_units(units: &[u16], quote: Option<u16>) -> String {
    let mut out = String::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if Some(u) == quote || u == 0x5C || u < 0x20 || (0x7F..0xA0).contains(&u) {
            meta_escape(u, &mut out);
        } else if (0xD800..0xE000).contains(&u) {
            if u <= 0xDBFF && i + 1 < units.len() && (0xDC00..0xE000).contains(&units[i + 1]) {
                let cp = 0x10000 + (((u as u32) - 0xD800) << 10) + ((units[i + 1] as u32) - 0xDC00);
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                i += 2;
                continue;
            }
            out.push_str(&format!("\\u{:x}", u));
        } else {
            out.push(char::from_u32(u as u32).unwrap_or('\u{FFFD}'));
        }
        i += 1;
    }
    out
}

/// Node's `strEscape`: picks the quote (' then " then `) and escapes.
fn str_escape(units: &[u16]) -> String {
    let has = |c: u16| units.contains(&c);
    let has_dollar_brace = units.windows(2).any(|w| w == [b'$' as u16, b'{' as u16]);
    let (open, quote) = if has(b'\'' as u16) {
        if !has(b'"' as u16) {
            ('"', None)
        } else if !has(b'`' as u16) && !has_dollar_brace {
            ('`', None)
        } else {
            ('\'', Some(b'\'' as u16))
        }
    } else {
        ('\'', Some(b'\'' as u16))
    };
    let mut s = String::with_capacity(units.len() + 2);
    s.push(open);
    s.push_str(&escape_units(units, quote));
    s.push(open);
    s
}

fn is_ident_key(units: &[u16]) -> bool {
    match units.first() {
        Some(&f) if (f as u8 as u16 == f) && ((f as u8).is_ascii_alphabetic() || f == b'_' as u16) => {}
        _ => return false,
    }
    units.iter().all(|&u| u < 0x80 && ((u as u8).is_ascii_alphanumeric() || u == b'_' as u16))
}

/// Canonical array index (`0`..`2^32-2`) of a key string.
fn array_index_of(units: &[u16]) -> Option<u32> {
    if units.is_empty() || units.len() > 10 {
        return None;
    }
    if units.len() > 1 && units[0] == b'0' as u16 {
        return None;
    }
    let mut n: u64 = 0;
    for &u in units {
        if !(b'0' as u16..=b'9' as u16).contains(&u) {
            return None;
        }
        n = n * 10 + (u - b'0' as u16) as u64;
    }
    if n <= 0xFFFF_FFFE {
        Some(n as u32)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Styles
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Style {
    Special,
    Number,
    BigInt,
    Boolean,
    Undefined,
    Null,
    String,
    Symbol,
    Date,
    RegExp,
}

fn stylize_with(colors: bool, s: &str, style: Style) -> String {
    if !colors {
        return s.to_string();
    }
    let (a, b) = match style {
        Style::Special => (36, 39),
        Style::Number | Style::BigInt | Style::Boolean => (33, 39),
        Style::Undefined => (90, 39),
        Style::Null => (1, 22),
        Style::String | Style::Symbol => (32, 39),
        Style::Date => (35, 39),
        Style::RegExp => (31, 39),
    };
    format!("\x1b[{a}m{s}\x1b[{b}m")
}

fn remaining_text(n: usize) -> String {
    format!("... {} more item{}", n, if n > 1 { "s" } else { "" })
}

/// Node's `getPrefix`.
fn get_prefix(constructor: &Option<String>, tag: &str, fallback: &str, size: &str) -> String {
    match constructor {
        None => {
            if !tag.is_empty() && fallback != tag {
                format!("[{fallback}{size}: null prototype] [{tag}] ")
            } else {
                format!("[{fallback}{size}: null prototype] ")
            }
        }
        Some(c) => {
            if !tag.is_empty() && c != tag {
                format!("{c}{size} [{tag}] ")
            } else {
                format!("{c}{size} ")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The inspector
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Extras {
    Object,
    Array,
}

/// A key to render: an own property (by atom) or a synthetic entry (`byteLength`, ...).
enum EntryKey<'js> {
    Own(Key<'js>),
    Synthetic(&'static str, Value<'js>),
}

struct Inspector<'a, 'js> {
    r: Raw<'js>,
    intr: Option<&'a Intrinsics<'js>>,
    opts: InspectOptions,
    depth: usize,
    seen: Vec<*mut c_void>,
    circular: HashMap<*mut c_void, usize>,
    indentation_lvl: usize,
    current_depth: usize,
    emitted: usize,
    exhausted: bool,
    a_constructor: Option<Atom<'js>>,
    a_name: Option<Atom<'js>>,
    a_prototype: Option<Atom<'js>>,
    a_length: Option<Atom<'js>>,
    a_message: Option<Atom<'js>>,
    a_stack: Option<Atom<'js>>,
    a_cause: Option<Atom<'js>>,
    a_errors: Option<Atom<'js>>,
    a_done: Option<Atom<'js>>,
    a_value: Option<Atom<'js>>,
    a_tag: Option<Atom<'js>>,
}

impl<'a, 'js> Inspector<'a, 'js> {
    fn new(ctx: &Ctx<'js>, intr: Option<&'a Intrinsics<'js>>, opts: &InspectOptions) -> Self {
        let r = Raw::new(ctx);
        let a_tag = intr.and_then(|i| i.to_string_tag.as_ref()).and_then(|sym| {
            // SAFETY: JS_ValueToAtom on a symbol returns a new atom reference.
            let atom = unsafe { qjs::JS_ValueToAtom(r.p, sym.as_raw()) };
            if atom == 0 {
                r.clear_exception();
                None
            } else {
                Some(Atom { p: r.p, atom, _marker: PhantomData })
            }
        });
        Inspector {
            a_constructor: r.atom("constructor"),
            a_name: r.atom("name"),
            a_prototype: r.atom("prototype"),
            a_length: r.atom("length"),
            a_message: r.atom("message"),
            a_stack: r.atom("stack"),
            a_cause: r.atom("cause"),
            a_errors: r.atom("errors"),
            a_done: r.atom("done"),
            a_value: r.atom("value"),
            a_tag,
            r,
            intr,
            opts: *opts,
            depth: opts.depth.min(MAX_DEPTH),
            seen: Vec::new(),
            circular: HashMap::new(),
            indentation_lvl: 0,
            current_depth: 0,
            emitted: 0,
            exhausted: false,
        }
    }

    fn stylize(&self, s: &str, style: Style) -> String {
        stylize_with(self.opts.colors, s, style)
    }

    /// Accounts for produced output; flips `exhausted` once the cap is reached.
    fn emit(&mut self, s: String) -> String {
        self.emitted += s.len();
        if self.emitted > MAX_OUTPUT {
            self.exhausted = true;
        }
        s
    }

    fn data(&self, obj: &Value<'js>, atom: &Option<Atom<'js>>) -> Option<Value<'js>> {
        atom.as_ref().and_then(|a| self.r.data_prop(obj, a))
    }

    /// A data property looked up along the prototype chain (stops at accessors / proxies).
    fn data_in_chain(&self, obj: &Value<'js>, atom: &Option<Atom<'js>>) -> Option<Value<'js>> {
        let atom = atom.as_ref()?;
        let mut cur = obj.clone();
        for _ in 0..MAX_PROTO_WALK {
            match self.r.get_own(&cur, atom.atom) {
                Prop::Data(v) => return Some(v),
                Prop::Accessor { .. } | Prop::Error => return None,
                Prop::Missing => {}
            }
            cur = self.r.proto(&cur)?;
        }
        None
    }

    fn string_of(&self, v: &Value<'js>) -> Option<String> {
        if v.is_string() {
            Some(self.r.lossy(v))
        } else {
            None
        }
    }

    /// String units of a string value, cut to `max` units; returns (units, total length).
    fn string_prefix(&self, s: &Value<'js>, max: usize) -> (Vec<u16>, usize) {
        if let (Some(sub), Some(len_atom)) =
            (self.intr.and_then(|i| i.string_substring.as_ref()), self.a_length.as_ref())
        {
            // SAFETY: `length` of a string primitive is answered by the engine directly
            // (JS_GetPropertyInternal's string case); no JS code runs.
            let len = self
                .r
                .checked(unsafe { qjs::JS_GetProperty(self.r.p, s.as_raw(), len_atom.atom) })
                .and_then(|l| self.r.number(&l));
            if let Some(len) = len {
                let len = len as usize;
                if len > max {
                    let end = self.r.own(qjs::JS_NewFloat64(max as f64));
                    let zero = self.r.own(qjs::JS_NewFloat64(0.0));
                    if let Some(part) = self.r.call(sub, s, &[&zero, &end]) {
                        return (self.r.string_units(&part), len);
                    }
                }
            }
        }
        let mut u = self.r.string_units(s);
        let total = u.len();
        u.truncate(max);
        (u, total)
    }

    // -- primitives --------------------------------------------------------------------

    fn format_number(&self, v: &Value<'js>) -> String {
        let n = self.r.number(v).unwrap_or(f64::NAN);
        let s = if n == 0.0 && n.is_sign_negative() { "-0".to_string() } else { self.r.lossy(v) };
        self.stylize(&s, Style::Number)
    }

    fn format_bigint(&self, v: &Value<'js>) -> String {
        let s = format!("{}n", self.r.lossy(v));
        self.stylize(&s, Style::BigInt)
    }

    fn format_string(&self, v: &Value<'js>) -> String {
        let (units, total) = self.string_prefix(v, self.opts.max_string_length);
        let mut trailer = String::new();
        if total > units.len() {
            let remaining = total - units.len();
            trailer = format!("... {} more character{}", remaining, if remaining > 1 { "s" } else { "" });
        }
        let len = units.len();
        if len > 16 && len as isize > self.opts.break_length as isize - self.indentation_lvl as isize - 4 {
            // Split after each newline, like Node's extractedSplitNewLines.
            let mut lines: Vec<&[u16]> = Vec::new();
            let mut start = 0;
            for (i, &u) in units.iter().enumerate() {
                if u == b'\n' as u16 && i + 1 < len {
                    lines.push(&units[start..=i]);
                    start = i + 1;
                }
            }
            lines.push(&units[start..]);
            let sep = format!(" +\n{}", " ".repeat(self.indentation_lvl + 2));
            let parts: Vec<String> = lines.iter().map(|l| self.stylize(&str_escape(l), Style::String)).collect();
            return parts.join(&sep) + &trailer;
        }
        self.stylize(&str_escape(&units), Style::String) + &trailer
    }

    fn format_primitive(&self, v: &Value<'js>) -> String {
        let raw = v.as_raw();
        // SAFETY: tag inspection only.
        let tag = unsafe { qjs::JS_VALUE_GET_NORM_TAG(raw) };
        if v.is_string() {
            self.format_string(v)
        } else if v.is_number() {
            self.format_number(v)
        } else if v.is_bool() {
            let b = v.as_bool().unwrap_or(false);
            self.stylize(if b { "true" } else { "false" }, Style::Boolean)
        } else if v.is_undefined() {
            self.stylize("undefined", Style::Undefined)
        } else if v.is_null() {
            self.stylize("null", Style::Null)
        } else if tag == qjs::JS_TAG_BIG_INT || tag == qjs::JS_TAG_SHORT_BIG_INT {
            self.format_bigint(v)
        } else if v.is_symbol() {
            let s = escape_units(&self.r.symbol_string(v).encode_utf16().collect::<Vec<_>>(), None);
            self.stylize(&s, Style::Symbol)
        } else {
            // Uninitialized / other internal tags never reach guest-visible values.
            self.stylize("undefined", Style::Undefined)
        }
    }

    // -- objects ------------------------------------------------------------------------

    fn format_value(&mut self, v: &Value<'js>, recurse_times: usize, typed_array: bool) -> String {
        if self.exhausted {
            return "…".to_string();
        }
        if !self.r.is_object(v) {
            let s = self.format_primitive(v);
            return self.emit(s);
        }
        // Never touch proxy traps: render the (innermost) target.
        let mut value = v.clone();
        let mut hops = 0;
        while self.r.is_proxy(&value) {
            hops += 1;
            match self.r.proxy_target(&value) {
                Some(t) if hops < 100_000 => value = t,
                _ => {
                    let s = self.stylize("<Revoked Proxy>", Style::Special);
                    return self.emit(s);
                }
            }
        }
        let ptr = self.r.ptr(&value);
        if self.seen.contains(&ptr) {
            let next = self.circular.len() + 1;
            let idx = *self.circular.entry(ptr).or_insert(next);
            let s = self.stylize(&format!("[Circular *{idx}]"), Style::Special);
            return self.emit(s);
        }
        self.format_raw(&value, recurse_times, typed_array)
    }

    /// Node's getConstructorName: `None` means a null prototype.
    fn constructor_name(&mut self, obj: &Value<'js>, recurse_times: usize, nesting: usize) -> Option<String> {
        let mut cur = obj.clone();
        let mut first_proto: Option<Option<Value<'js>>> = None;
        for _ in 0..MAX_PROTO_WALK {
            if let Some(ctor) = self.data(&cur, &self.a_constructor) {
                if self.r.is_function(&ctor) {
                    if let Some(name) = self.data(&ctor, &self.a_name).and_then(|n| self.string_of(&n)) {
                        if !name.is_empty() && self.is_instance(obj, &ctor) {
                            return Some(name);
                        }
                    }
                }
            }
            let p = self.r.proto(&cur);
            if first_proto.is_none() {
                first_proto = Some(p.clone());
            }
            match p {
                Some(p) => cur = p,
                None => break,
            }
        }
        let first_proto = match first_proto {
            Some(Some(p)) => p,
            _ => return None,
        };
        let res = if self.r.is_function(obj) {
            "Function"
        // SAFETY: JS_IsArray only reads the class id.
        } else if unsafe { qjs::JS_IsArray(obj.as_raw()) } {
            "Array"
        } else {
            "Object"
        };
        if recurse_times > self.depth || nesting > 8 {
            return Some(format!("{res} <Complex prototype>"));
        }
        match self.constructor_name(&first_proto, recurse_times + 1, nesting + 1) {
            Some(pc) => Some(format!("{res} <{pc}>")),
            None => {
                let has_keys = !self.r.own_keys(&first_proto, true).is_empty();
                if has_keys {
                    Some(format!("{res} <[Object: null prototype]>"))
                } else {
                    Some(format!("{res} <[Object: null prototype] {{}}>"))
                }
            }
        }
    }

    /// `obj instanceof ctor` without running code: ctor.prototype (data) in obj's chain.
    fn is_instance(&self, obj: &Value<'js>, ctor: &Value<'js>) -> bool {
        let Some(proto) = self.data(ctor, &self.a_prototype) else {
            return false;
        };
        if !self.r.is_object(&proto) {
            return false;
        }
        self.chain_contains(obj, &proto)
    }

    fn chain_contains(&self, obj: &Value<'js>, target: &Value<'js>) -> bool {
        let mut cur = self.r.proto(obj);
        for _ in 0..MAX_PROTO_WALK {
            match cur {
                Some(p) => {
                    if self.r.same(&p, target) {
                        return true;
                    }
                    cur = self.r.proto(&p);
                }
                None => return false,
            }
        }
        false
    }

    /// `Symbol.toStringTag` as a data property in the chain, unless own and enumerable.
    fn to_string_tag(&self, obj: &Value<'js>) -> String {
        let Some(atom) = self.a_tag.as_ref() else {
            return String::new();
        };
        if let Prop::Data(_) = self.r.get_own(obj, atom.atom) {
            // Own: shown as a key if enumerable; Node only uses it as tag if not enumerable.
            let keys = self.r.own_keys(obj, true);
            if keys.iter().any(|k| k.atom.atom == atom.atom) {
                return String::new();
            }
        }
        self.data_in_chain(obj, &self.a_tag).and_then(|t| self.string_of(&t)).unwrap_or_default()
    }

    /// Splits own enumerable keys into (index keys, other keys, count of other keys beyond
    /// the limit).
    fn split_keys(&self, keys: Vec<Key<'js>>) -> (Vec<u32>, Vec<Key<'js>>) {
        let mut idx = Vec::new();
        let mut other = Vec::new();
        for k in keys {
            if k.atom.atom & ATOM_TAG_INT != 0 {
                idx.push(k.atom.atom & !ATOM_TAG_INT);
                continue;
            }
            if !self.r.atom_is_symbol(k.atom.atom) {
                if let Some(i) = array_index_of(&self.r.atom_units(k.atom.atom)) {
                    idx.push(i);
                    continue;
                }
            }
            other.push(k);
        }
        (idx, other)
    }

    fn format_raw(&mut self, value: &Value<'js>, recurse_times: usize, typed_array: bool) -> String {
        let r_cls = self.r.class_id(value);
        let constructor = self.constructor_name(value, recurse_times, 0);
        let tag = self.to_string_tag(value);
        let mut base = String::new();
        let mut braces: [String; 2] = ["{".to_string(), "}".to_string()];
        let mut extras = Extras::Object;
        let mut keys: Vec<EntryKey<'js>> = Vec::new();
        let mut more_keys = 0usize;
        let mut numeric_group = false;

        enum Fmt {
            None,
            Array { length: u64, indices: Vec<u32> },
            Set,
            Map,
            Typed { length: usize },
            ArrayBuffer,
            Promise,
            Weak,
            ItemsUnknown,
        }
        let mut formatter = Fmt::None;

        let push_keys = |this: &Self, list: Vec<Key<'js>>, keys: &mut Vec<EntryKey<'js>>, more: &mut usize| {
            let _ = this;
            let total = list.len();
            for k in list.into_iter().take(MAX_OBJECT_KEYS) {
                keys.push(EntryKey::Own(k));
            }
            *more = total.saturating_sub(MAX_OBJECT_KEYS);
        };

        let v = value.as_raw();
        let is_array = self.r.check(value, qjs::JS_IsArray);
        let typed_type = self.r.typed_array_type(value);

        if is_array {
            let length = self.data(value, &self.a_length).and_then(|l| self.r.number(&l)).unwrap_or(0.0) as u64;
            let prefix = if constructor.as_deref() != Some("Array") || !tag.is_empty() {
                get_prefix(&constructor, &tag, "Array", &format!("({length})"))
            } else {
                String::new()
            };
            let (indices, other) = self.split_keys(self.r.own_keys(value, true));
            push_keys(self, other, &mut keys, &mut more_keys);
            braces = [format!("{prefix}["), "]".to_string()];
            if length == 0 && keys.is_empty() {
                return self.emit(format!("{}]", braces[0]));
            }
            extras = Extras::Array;
            numeric_group = true;
            formatter = Fmt::Array { length, indices };
        } else if self.r.check(value, qjs::JS_IsSet) || self.r.check(value, qjs::JS_IsMap) {
            let is_map = self.r.check(value, qjs::JS_IsMap);
            let size_getter = self.intr.and_then(|i| if is_map { i.map_size.as_ref() } else { i.set_size.as_ref() });
            let size = size_getter.and_then(|g| self.r.call(g, value, &[])).and_then(|s| self.r.number(&s));
            let fallback = if is_map { "Map" } else { "Set" };
            let size_str = size.map(|s| format!("({s})")).unwrap_or_default();
            let prefix = get_prefix(&constructor, &tag, fallback, &size_str);
            let list = self.r.own_keys(value, true);
            push_keys(self, list, &mut keys, &mut more_keys);
            if size == Some(0.0) && keys.is_empty() {
                return self.emit(format!("{prefix}{{}}"));
            }
            braces = [format!("{prefix}{{"), "}".to_string()];
            formatter = match size {
                Some(_) if is_map => Fmt::Map,
                Some(_) => Fmt::Set,
                None => Fmt::ItemsUnknown,
            };
        } else if typed_type >= 0 {
            // The original %TypedArray%.prototype.length getter: 0 when detached or out of
            // bounds, never throws (JS_GetTypedArrayBuffer would throw when detached).
            let length = self
                .intr
                .and_then(|i| i.typed_array_length.as_ref())
                .and_then(|g| self.r.call(g, value, &[]))
                .and_then(|n| self.r.number(&n))
                .unwrap_or(0.0) as usize;
            if length <= MAX_TYPED_ARRAY_KEY_SCAN {
                let (_, other) = self.split_keys(self.r.own_keys(value, true));
                push_keys(self, other, &mut keys, &mut more_keys);
            }
            let fallback = typed_array_name(typed_type);
            let prefix = get_prefix(&constructor, &tag, fallback, &format!("({length})"));
            braces = [format!("{prefix}["), "]".to_string()];
            if length == 0 && keys.is_empty() {
                return self.emit(format!("{}]", braces[0]));
            }
            extras = Extras::Array;
            numeric_group = true;
            formatter = Fmt::Typed { length };
        } else {
            let list = self.r.own_keys(value, true);
            let is_fn = self.r.is_function(value);
            if r_cls == class_id::STRING {
                // Boxed strings: drop the index keys.
                let (_, other) = self.split_keys(list);
                push_keys(self, other, &mut keys, &mut more_keys);
            } else {
                push_keys(self, list, &mut keys, &mut more_keys);
            }
            if is_fn {
                base = self.function_base(value, &constructor, &tag);
                if keys.is_empty() {
                    let s = self.stylize(&base, Style::Special);
                    return self.emit(s);
                }
            } else if (r_cls == class_id::ARGUMENTS || r_cls == class_id::MAPPED_ARGUMENTS)
                && constructor.as_deref() == Some("Object")
            {
                braces[0] = "[Arguments] {".to_string();
                if keys.is_empty() {
                    return self.emit("[Arguments] {}".to_string());
                }
            } else if self.r.check(value, qjs::JS_IsRegExp) {
                base = self.regexp_string(value);
                let prefix = get_prefix(&constructor, &tag, "RegExp", "");
                if prefix != "RegExp " {
                    base = format!("{prefix}{base}");
                }
                if keys.is_empty() || recurse_times > self.depth {
                    let s = self.stylize(&base, Style::RegExp);
                    return self.emit(s);
                }
            } else if self.r.check(value, qjs::JS_IsDate) {
                base = self.date_string(value);
                let prefix = get_prefix(&constructor, &tag, "Date", "");
                if prefix != "Date " {
                    base = format!("{prefix}{base}");
                }
                if keys.is_empty() {
                    let s = self.stylize(&base, Style::Date);
                    return self.emit(s);
                }
            } else if self.is_error(value) {
                base = self.format_error(value, &constructor, &tag, &mut keys);
                if keys.is_empty() {
                    return self.emit(base);
                }
            } else if r_cls == class_id::ARRAY_BUFFER || r_cls == class_id::SHARED_ARRAY_BUFFER {
                let name = if r_cls == class_id::ARRAY_BUFFER { "ArrayBuffer" } else { "SharedArrayBuffer" };
                let prefix = get_prefix(&constructor, &tag, name, "");
                let size = if self.buffer_detached(value) {
                    0
                } else {
                    let mut size: qjs::size_t = 0;
                    // SAFETY: a live, not detached (Shared)ArrayBuffer: no exception; only the
                    // size is used here.
                    let ptr = unsafe { qjs::JS_GetArrayBuffer(self.r.p, &mut size, v) };
                    if ptr.is_null() {
                        self.r.clear_exception();
                    }
                    size
                };
                let bl = self.r.own(qjs::JS_NewFloat64(size as f64));
                if typed_array {
                    if keys.is_empty() {
                        let n = self.format_number(&bl);
                        return self.emit(format!("{prefix}{{ byteLength: {n} }}"));
                    }
                } else {
                    formatter = Fmt::ArrayBuffer;
                }
                braces[0] = format!("{prefix}{{");
                keys.insert(0, EntryKey::Synthetic("byteLength", bl));
            } else if self.r.check(value, qjs::JS_IsDataView) {
                braces[0] = format!("{}{{", get_prefix(&constructor, &tag, "DataView", ""));
                let mut syn = Vec::new();
                if let Some(i) = self.intr {
                    let buffer = i.dataview_buffer.as_ref().and_then(|g| self.r.call(g, value, &[]));
                    // byteLength/byteOffset throw for a detached or out-of-bounds view (and a
                    // thrown error runs guest hooks): only ask when neither can happen.
                    let safe =
                        buffer.as_ref().map(|b| !self.buffer_detached(b) && !self.buffer_resizable(b)).unwrap_or(false);
                    if safe {
                        for (name, g) in
                            [("byteLength", &i.dataview_byte_length), ("byteOffset", &i.dataview_byte_offset)]
                        {
                            if let Some(val) = g.as_ref().and_then(|g| self.r.call(g, value, &[])) {
                                syn.push(EntryKey::Synthetic(name, val));
                            }
                        }
                    }
                    if let Some(b) = buffer {
                        syn.push(EntryKey::Synthetic("buffer", b));
                    }
                }
                for (n, s) in syn.into_iter().enumerate() {
                    keys.insert(n, s);
                }
            } else if self.r.check(value, qjs::JS_IsPromise) {
                braces[0] = format!("{}{{", get_prefix(&constructor, &tag, "Promise", ""));
                formatter = Fmt::Promise;
            } else if self.r.check(value, qjs::JS_IsWeakSet) {
                braces[0] = format!("{}{{", get_prefix(&constructor, &tag, "WeakSet", ""));
                formatter = Fmt::Weak;
            } else if self.r.check(value, qjs::JS_IsWeakMap) {
                braces[0] = format!("{}{{", get_prefix(&constructor, &tag, "WeakMap", ""));
                formatter = Fmt::Weak;
            } else if r_cls == class_id::MODULE_NS {
                braces[0] = format!("{}{{", get_prefix(&constructor, &tag, "Module", ""));
            } else if let Some(b) = self.boxed_base(value, r_cls, &constructor, &tag, keys.is_empty()) {
                base = b;
                if keys.is_empty() {
                    return self.emit(base);
                }
            } else if constructor.as_deref() == Some("Object") {
                if !tag.is_empty() {
                    braces[0] = format!("{}{{", get_prefix(&constructor, &tag, "Object", ""));
                }
                if keys.is_empty() {
                    return self.emit(format!("{}}}", braces[0]));
                }
            } else {
                let prefix = get_prefix(&constructor, &tag, "Object", "");
                if keys.is_empty() {
                    return self.emit(format!("{prefix}{{}}"));
                }
                braces[0] = format!("{prefix}{{");
            }
        }

        if recurse_times > self.depth {
            let name = get_prefix(&constructor, &tag, "Object", "");
            let name = name.trim_end_matches(' ');
            let s = if constructor.is_some() { format!("[{name}]") } else { name.to_string() };
            let s = self.stylize(&s, Style::Special);
            return self.emit(s);
        }
        let recurse_times = recurse_times + 1;
        let ptr = self.r.ptr(value);
        self.seen.push(ptr);
        self.current_depth = recurse_times;

        let mut output: Vec<String> = match formatter {
            Fmt::None => Vec::new(),
            Fmt::Array { length, indices } => self.format_array(value, length, &indices, recurse_times),
            Fmt::Set => self.format_set(value, recurse_times),
            Fmt::Map => self.format_map(value, recurse_times),
            Fmt::Typed { length } => self.format_typed(value, length),
            Fmt::ArrayBuffer => self.format_array_buffer(value),
            Fmt::Promise => self.format_promise(value, recurse_times),
            Fmt::Weak | Fmt::ItemsUnknown => vec![self.stylize("<items unknown>", Style::Special)],
        };
        for k in &keys {
            if self.exhausted {
                break;
            }
            let s = self.format_property(value, k, recurse_times, false);
            output.push(s);
        }
        if more_keys > 0 {
            output.push(format!("... {} more propert{}", more_keys, if more_keys > 1 { "ies" } else { "y" }));
        }
        if let Some(idx) = self.circular.get(&ptr) {
            let reference = self.stylize(&format!("<ref *{idx}>"), Style::Special);
            base = if base.is_empty() { reference } else { format!("{reference} {base}") };
        }
        self.seen.pop();
        let numeric = numeric_group && self.all_numeric(value, output.len());
        let res = self.reduce_to_single_string(output, &base, &braces, extras, recurse_times, numeric);
        self.emit(res)
    }

    fn is_error(&self, value: &Value<'js>) -> bool {
        // SAFETY: class id check only.
        if unsafe { qjs::JS_IsError(value.as_raw()) } {
            return true;
        }
        match self.intr.and_then(|i| i.error_proto.as_ref()) {
            Some(p) => self.chain_contains(value, p),
            None => false,
        }
    }

    /// Whether `value[i]` is a number/bigint data property for every i < n (Node's check
    /// deciding between padStart and padEnd in array grouping).
    fn all_numeric(&self, value: &Value<'js>, n: usize) -> bool {
        for i in 0..n {
            let Some(a) = self.r.index_atom(i as u32) else {
                return false;
            };
            match self.r.get_own(value, a.atom) {
                Prop::Data(v) => {
                    if !(v.is_number() || v.is_big_int()) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// Node's formatProperty; `value_only` is its `kArrayType` (array elements).
    fn format_property(
        &mut self,
        obj: &Value<'js>,
        key: &EntryKey<'js>,
        recurse_times: usize,
        value_only: bool,
    ) -> String {
        let (prop, enumerable, atom) = match key {
            EntryKey::Own(k) => (self.r.get_own(obj, k.atom.atom), k.enumerable, Some(k.atom.atom)),
            EntryKey::Synthetic(_, v) => (Prop::Data(v.clone()), true, None),
        };
        let s = match prop {
            Prop::Data(v) => {
                self.indentation_lvl += 2;
                let s = self.format_value(&v, recurse_times, false);
                self.indentation_lvl -= 2;
                s
            }
            Prop::Accessor { has_get, has_set, .. } => {
                let label = match (has_get, has_set) {
                    (true, true) => "[Getter/Setter]",
                    (true, false) => "[Getter]",
                    (false, true) => "[Setter]",
                    (false, false) => "undefined",
                };
                self.stylize(label, Style::Special)
            }
            Prop::Missing => self.stylize("undefined", Style::Undefined),
            Prop::Error => self.stylize("<uninitialized>", Style::Special),
        };
        if value_only {
            return s;
        }
        let name = match (key, atom) {
            (EntryKey::Synthetic(n, _), _) => n.to_string(),
            (_, Some(a)) if self.r.atom_is_symbol(a) => {
                let units: Vec<u16> = self.r.symbol_string_atom(a).encode_utf16().collect();
                format!("[{}]", self.stylize(&escape_units(&units, None), Style::Symbol))
            }
            (_, Some(a)) => {
                let units = self.r.atom_units(a);
                if units.iter().copied().eq("__proto__".encode_utf16()) {
                    "['__proto__']".to_string()
                } else if !enumerable {
                    format!("[{}]", escape_units(&units, None))
                } else if is_ident_key(&units) {
                    String::from_utf16_lossy(&units)
                } else {
                    self.stylize(&str_escape(&units), Style::String)
                }
            }
            _ => String::new(),
        };
        self.emit(format!("{name}: {s}"))
    }

    fn format_array(&mut self, value: &Value<'js>, length: u64, indices: &[u32], recurse_times: usize) -> Vec<String> {
        let max = self.opts.max_array_length;
        let mut output = Vec::new();
        let dense = indices.len() as u64 == length;
        if dense {
            let len = (max as u64).min(length) as usize;
            for &i in indices.iter().take(len) {
                if self.exhausted {
                    break;
                }
                output.push(self.format_index(value, i, recurse_times));
            }
            let remaining = length - len as u64;
            if remaining > 0 {
                output.push(remaining_text(remaining as usize));
            }
            return output;
        }
        // Node's formatSpecialArray.
        let max_length = (max as u64).min(length) as usize;
        let mut index: u64 = 0;
        for &k in indices {
            if output.len() >= max_length || self.exhausted {
                break;
            }
            let k = k as u64;
            if k >= length {
                break;
            }
            if index != k {
                let empty = k - index;
                let msg = format!("<{} empty item{}>", empty, if empty > 1 { "s" } else { "" });
                output.push(self.stylize(&msg, Style::Undefined));
                index = k;
                if output.len() == max_length {
                    break;
                }
            }
            output.push(self.format_index(value, k as u32, recurse_times));
            index += 1;
        }
        let remaining = length.saturating_sub(index);
        if output.len() != max_length {
            if remaining > 0 {
                let msg = format!("<{} empty item{}>", remaining, if remaining > 1 { "s" } else { "" });
                output.push(self.stylize(&msg, Style::Undefined));
            }
        } else if remaining > 0 {
            output.push(remaining_text(remaining as usize));
        }
        output
    }

    fn format_index(&mut self, value: &Value<'js>, i: u32, recurse_times: usize) -> String {
        match self.r.index_atom(i) {
            Some(a) => {
                let key = EntryKey::Own(Key { atom: a, enumerable: true });
                self.format_property(value, &key, recurse_times, true)
            }
            None => self.stylize("undefined", Style::Undefined),
        }
    }

    fn format_typed(&mut self, value: &Value<'js>, length: usize) -> Vec<String> {
        let max = self.opts.max_array_length.min(length);
        let mut output = Vec::with_capacity(max + 1);
        for i in 0..max {
            let s = match self.r.index_atom(i as u32).map(|a| self.r.get_own(value, a.atom)) {
                Some(Prop::Data(v)) if v.is_number() => self.format_number(&v),
                Some(Prop::Data(v)) => self.format_primitive(&v),
                _ => self.stylize("undefined", Style::Undefined),
            };
            output.push(self.emit(s));
        }
        if length > max {
            output.push(remaining_text(length - max));
        }
        output
    }

    /// Whether an (Shared)ArrayBuffer is detached, asked without any throwing call. If we
    /// cannot tell (no intrinsics), it is assumed detached so nothing can throw.
    fn buffer_detached(&self, buf: &Value<'js>) -> bool {
        if self.r.class_id(buf) == class_id::SHARED_ARRAY_BUFFER {
            return false;
        }
        self.intr
            .and_then(|i| i.array_buffer_detached.as_ref())
            .and_then(|g| self.r.call(g, buf, &[]))
            .and_then(|b| b.as_bool())
            .unwrap_or(true)
    }

    fn buffer_resizable(&self, buf: &Value<'js>) -> bool {
        self.intr
            .and_then(|i| i.array_buffer_resizable.as_ref())
            .and_then(|g| self.r.call(g, buf, &[]))
            .and_then(|b| b.as_bool())
            .unwrap_or(true)
    }

    fn format_array_buffer(&mut self, value: &Value<'js>) -> Vec<String> {
        if self.buffer_detached(value) {
            return vec![self.stylize("(detached)", Style::Special)];
        }
        let mut size: qjs::size_t = 0;
        // SAFETY: `value` is an ArrayBuffer/SharedArrayBuffer; the returned pointer is valid
        // for `size` bytes until JS code runs again, and we copy the bytes right away.
        let ptr = unsafe { qjs::JS_GetArrayBuffer(self.r.p, &mut size, value.as_raw()) };
        if ptr.is_null() {
            self.r.clear_exception();
            return vec![self.stylize("(detached)", Style::Special)];
        }
        let size = size as usize;
        let n = size.min(self.opts.max_array_length);
        // SAFETY: see above; `n <= size`.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, n) };
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut s = hex.join(" ");
        if size > self.opts.max_array_length {
            let rem = size - self.opts.max_array_length;
            s.push_str(&format!(" ... {} more byte{}", rem, if rem > 1 { "s" } else { "" }));
        }
        vec![format!("{}: <{}>", self.stylize("[Uint8Contents]", Style::Special), s)]
    }

    /// Iterates a Map/Set with the captured native iterator, at most `limit` steps.
    fn collection_items(&self, value: &Value<'js>, is_map: bool, limit: usize) -> Vec<Value<'js>> {
        let mut out = Vec::new();
        let Some(i) = self.intr else { return out };
        let (start, next) = if is_map {
            (i.map_entries.as_ref(), i.map_iter_next.as_ref())
        } else {
            (i.set_values.as_ref(), i.set_iter_next.as_ref())
        };
        let (Some(start), Some(next)) = (start, next) else {
            return out;
        };
        let Some(it) = self.r.call(start, value, &[]) else {
            return out;
        };
        while out.len() < limit {
            let Some(res) = self.r.call(next, &it, &[]) else {
                break;
            };
            let done = self.data(&res, &self.a_done).and_then(|d| d.as_bool()).unwrap_or(true);
            if done {
                break;
            }
            match self.data(&res, &self.a_value) {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out
    }

    fn collection_size(&self, value: &Value<'js>, is_map: bool) -> usize {
        self.intr
            .and_then(|i| if is_map { i.map_size.as_ref() } else { i.set_size.as_ref() })
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|s| self.r.number(&s))
            .unwrap_or(0.0) as usize
    }

    fn format_set(&mut self, value: &Value<'js>, recurse_times: usize) -> Vec<String> {
        let size = self.collection_size(value, false);
        let max = self.opts.max_array_length.min(size);
        let items = self.collection_items(value, false, max);
        self.indentation_lvl += 2;
        let mut output = Vec::new();
        for v in &items {
            if self.exhausted {
                break;
            }
            output.push(self.format_value(v, recurse_times, false));
        }
        if size > max {
            output.push(remaining_text(size - max));
        }
        self.indentation_lvl -= 2;
        output
    }

    fn format_map(&mut self, value: &Value<'js>, recurse_times: usize) -> Vec<String> {
        let size = self.collection_size(value, true);
        let max = self.opts.max_array_length.min(size);
        let items = self.collection_items(value, true, max);
        self.indentation_lvl += 2;
        let mut output = Vec::new();
        for e in &items {
            if self.exhausted {
                break;
            }
            let k = self.r.index_atom(0).and_then(|a| self.r.data_prop(e, &a));
            let v = self.r.index_atom(1).and_then(|a| self.r.data_prop(e, &a));
            let undef = self.r.own(qjs::JS_UNDEFINED);
            let ks = self.format_value(k.as_ref().unwrap_or(&undef), recurse_times, false);
            let vs = self.format_value(v.as_ref().unwrap_or(&undef), recurse_times, false);
            output.push(format!("{ks} => {vs}"));
        }
        if size > max {
            output.push(remaining_text(size - max));
        }
        self.indentation_lvl -= 2;
        output
    }

    fn format_promise(&mut self, value: &Value<'js>, recurse_times: usize) -> Vec<String> {
        // SAFETY: JS_PromiseState reads the promise's internal state.
        let state = unsafe { qjs::JS_PromiseState(self.r.p, value.as_raw()) };
        if state == qjs::JSPromiseStateEnum_JS_PROMISE_PENDING || state < 0 {
            return vec![self.stylize("<pending>", Style::Special)];
        }
        // SAFETY: JS_PromiseResult returns a new reference to the settled value.
        let result = self.r.own(unsafe { qjs::JS_PromiseResult(self.r.p, value.as_raw()) });
        self.indentation_lvl += 2;
        let s = self.format_value(&result, recurse_times, false);
        self.indentation_lvl -= 2;
        if state == qjs::JSPromiseStateEnum_JS_PROMISE_REJECTED {
            vec![format!("{} {}", self.stylize("<rejected>", Style::Special), s)]
        } else {
            vec![s]
        }
    }

    fn function_base(&mut self, value: &Value<'js>, constructor: &Option<String>, tag: &str) -> String {
        let src = self
            .intr
            .and_then(|i| i.fn_to_string.as_ref())
            .and_then(|f| self.r.call(f, value, &[]))
            .map(|s| self.string_prefix(&s, 4096).0)
            .map(|u| String::from_utf16_lossy(&u))
            .unwrap_or_default();
        let name = self.data(value, &self.a_name).and_then(|n| self.string_of(&n)).unwrap_or_default();
        if is_class_source(&src) {
            let mut base = format!("class {}", if name.is_empty() { "(anonymous)" } else { &name });
            if constructor.as_deref() != Some("Function") {
                if let Some(c) = constructor {
                    base.push_str(&format!(" [{c}]"));
                }
            }
            if !tag.is_empty() && constructor.as_deref() != Some(tag) {
                base.push_str(&format!(" [{tag}]"));
            }
            if constructor.is_some() {
                let sup = self
                    .r
                    .proto(value)
                    .and_then(|p| self.data(&p, &self.a_name))
                    .and_then(|n| self.string_of(&n))
                    .unwrap_or_default();
                if !sup.is_empty() {
                    base.push_str(&format!(" extends {sup}"));
                }
            } else {
                base.push_str(" extends [null prototype]");
            }
            return format!("[{base}]");
        }
        let cls = self.r.class_id(value);
        let mut ty = "Function".to_string();
        if cls == class_id::GENERATOR_FUNCTION || cls == class_id::ASYNC_GENERATOR_FUNCTION {
            ty = format!("Generator{ty}");
        }
        if cls == class_id::ASYNC_FUNCTION || cls == class_id::ASYNC_GENERATOR_FUNCTION {
            ty = format!("Async{ty}");
        }
        let mut base = format!("[{ty}");
        if constructor.is_none() {
            base.push_str(" (null prototype)");
        }
        if name.is_empty() {
            base.push_str(" (anonymous)");
        } else {
            base.push_str(&format!(": {name}"));
        }
        base.push(']');
        if let Some(c) = constructor {
            if *c != ty {
                base.push_str(&format!(" {c}"));
            }
        }
        if !tag.is_empty() && constructor.as_deref() != Some(tag) {
            base.push_str(&format!(" [{tag}]"));
        }
        base
    }

    fn regexp_string(&self, value: &Value<'js>) -> String {
        let Some(i) = self.intr else {
            return "/(?:)/".to_string();
        };
        let source = i
            .re_source
            .as_ref()
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|s| self.string_of(&s))
            .unwrap_or_else(|| "(?:)".to_string());
        let mut flags = String::new();
        for (c, g) in &i.re_flags {
            if self.r.call(g, value, &[]).and_then(|b| b.as_bool()) == Some(true) {
                flags.push(*c);
            }
        }
        format!("/{source}/{flags}")
    }

    fn date_string(&self, value: &Value<'js>) -> String {
        let Some(i) = self.intr else {
            return "Date".to_string();
        };
        let t = i
            .date_get_time
            .as_ref()
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|t| self.r.number(&t))
            .unwrap_or(f64::NAN);
        if t.is_nan() {
            return "Invalid Date".to_string();
        }
        i.date_to_iso
            .as_ref()
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|s| self.string_of(&s))
            .unwrap_or_else(|| "Invalid Date".to_string())
    }

    fn boxed_base(
        &mut self,
        value: &Value<'js>,
        cls: u32,
        constructor: &Option<String>,
        tag: &str,
        no_keys: bool,
    ) -> Option<String> {
        let i = self.intr;
        let (ty, f, style) = match cls {
            class_id::NUMBER => ("Number", i.and_then(|i| i.number_value_of.as_ref()), Style::Number),
            class_id::STRING => ("String", i.and_then(|i| i.string_value_of.as_ref()), Style::String),
            class_id::BOOLEAN => ("Boolean", i.and_then(|i| i.boolean_value_of.as_ref()), Style::Boolean),
            class_id::BIG_INT => ("BigInt", i.and_then(|i| i.bigint_value_of.as_ref()), Style::BigInt),
            class_id::SYMBOL => ("Symbol", i.and_then(|i| i.symbol_value_of.as_ref()), Style::Symbol),
            _ => return None,
        };
        let prim = f.and_then(|f| self.r.call(f, value, &[]));
        let mut base = format!("[{ty}");
        match constructor {
            None => base.push_str(" (null prototype)"),
            Some(c) if c != ty => base.push_str(&format!(" ({c})")),
            _ => {}
        }
        let inner = match prim {
            Some(p) => {
                let colors = self.opts.colors;
                self.opts.colors = false;
                let saved = self.indentation_lvl;
                // Avoid the long-string line splitting for the boxed value.
                self.indentation_lvl = 0;
                let s = if p.is_string() {
                    let (units, _) = self.string_prefix(&p, self.opts.max_string_length);
                    str_escape(&units)
                } else {
                    self.format_primitive(&p)
                };
                self.indentation_lvl = saved;
                self.opts.colors = colors;
                s
            }
            None => "?".to_string(),
        };
        base.push_str(&format!(": {inner}]"));
        if !tag.is_empty() && constructor.as_deref() != Some(tag) {
            base.push_str(&format!(" [{tag}]"));
        }
        if !no_keys || !self.opts.colors {
            return Some(base);
        }
        Some(self.stylize(&base, style))
    }

    fn format_error(
        &mut self,
        err: &Value<'js>,
        constructor: &Option<String>,
        tag: &str,
        keys: &mut Vec<EntryKey<'js>>,
    ) -> String {
        let name = match self.data_in_chain(err, &self.a_name) {
            Some(n) if n.is_string() => self.r.lossy(&n),
            _ => "Error".to_string(),
        };
        let message = self.data_in_chain(err, &self.a_message).and_then(|m| self.string_of(&m)).unwrap_or_default();
        let header = if message.is_empty() {
            name.clone()
        } else if name.is_empty() {
            message.clone()
        } else {
            format!("{name}: {message}")
        };
        let own_stack = self.data(err, &self.a_stack);
        let stack_val = match own_stack {
            Some(s) => Some(s),
            None => {
                // SAFETY: class id check only.
                if unsafe { qjs::JS_IsError(err.as_raw()) } {
                    self.intr.and_then(|i| i.error_stack.as_ref()).and_then(|g| self.r.call(g, err, &[]))
                } else {
                    None
                }
            }
        };
        let mut stack = match stack_val {
            Some(s) if s.is_string() => {
                let (u, _) = self.string_prefix(&s, self.opts.max_string_length);
                String::from_utf16_lossy(&u)
            }
            _ => String::new(),
        };
        if stack.is_empty() {
            stack = header.clone();
        } else if stack.starts_with("    at ") {
            // quickjs-ng stacks carry frames only; add V8's "Name: message" header.
            stack = format!("{header}\n{stack}");
        }
        while stack.ends_with('\n') {
            stack.pop();
        }
        // removeDuplicateErrorKeys
        let mut removed = Vec::new();
        for (idx, k) in keys.iter().enumerate() {
            if let EntryKey::Own(k) = k {
                let kn = String::from_utf16_lossy(&self.r.atom_units(k.atom.atom));
                if kn == "name" || kn == "message" || kn == "stack" {
                    if let Some(Prop::Data(v)) = Some(self.r.get_own(err, k.atom.atom)) {
                        if let Some(s) = self.string_of(&v) {
                            if stack.contains(&s) {
                                removed.push(idx);
                            }
                        }
                    }
                }
            }
        }
        for idx in removed.into_iter().rev() {
            keys.remove(idx);
        }
        for (atom, want_array) in [(&self.a_cause, false), (&self.a_errors, true)] {
            let Some(a) = atom.as_ref() else { continue };
            let present = keys.iter().any(|k| matches!(k, EntryKey::Own(k) if k.atom.atom == a.atom));
            if present {
                continue;
            }
            if let Prop::Data(v) | Prop::Accessor { getter: v, .. } = self.r.get_own(err, a.atom) {
                // SAFETY: class id check only.
                if want_array && !unsafe { qjs::JS_IsArray(v.as_raw()) } {
                    continue;
                }
                // SAFETY: duplicating an atom we hold.
                let dup = unsafe { qjs::JS_DupAtom(self.r.p, a.atom) };
                keys.push(EntryKey::Own(Key {
                    atom: Atom { p: self.r.p, atom: dup, _marker: PhantomData },
                    enumerable: false,
                }));
            }
        }
        let stack = improve_stack(stack, constructor, &name, tag);
        let mut pos: Option<usize> = None;
        if !message.is_empty() {
            if let Some(p) = stack.find(&message) {
                if p != 0 {
                    pos = Some(p + message.len());
                }
            }
        }
        let from = pos.unwrap_or(0).min(stack.len());
        let has_frames = stack.get(from..).map(|s| s.contains("\n    at")).unwrap_or(false);
        let mut stack = if has_frames { stack } else { format!("[{stack}]") };
        if self.indentation_lvl != 0 {
            let ind = " ".repeat(self.indentation_lvl);
            stack = stack.replace('\n', &format!("\n{ind}"));
        }
        stack
    }

    fn reduce_to_single_string(
        &mut self,
        mut output: Vec<String>,
        base: &str,
        braces: &[String; 2],
        extras: Extras,
        recurse_times: usize,
        numeric: bool,
    ) -> String {
        let entries = output.len();
        if extras == Extras::Array && entries > 6 {
            output = self.group_array_elements(output, numeric);
        }
        if self.current_depth.saturating_sub(recurse_times) < 3 && entries == output.len() {
            let start = output.len() + self.indentation_lvl + utf16_len(&braces[0]) + utf16_len(base) + 10;
            if self.is_below_break_length(&output, start, base) {
                let joined = output.join(", ");
                if !joined.contains('\n') {
                    let b = if base.is_empty() { String::new() } else { format!("{base} ") };
                    return format!("{b}{} {joined} {}", braces[0], braces[1]);
                }
            }
        }
        let ind = format!("\n{}", " ".repeat(self.indentation_lvl));
        let b = if base.is_empty() { String::new() } else { format!("{base} ") };
        format!("{b}{}{ind}  {}{ind}{}", braces[0], output.join(&format!(",{ind}  ")), braces[1])
    }

    fn is_below_break_length(&self, output: &[String], start: usize, base: &str) -> bool {
        let mut total = output.len() + start;
        if total + output.len() > self.opts.break_length {
            return false;
        }
        for o in output {
            total += if self.opts.colors { visible_len(o) } else { utf16_len(o) };
            if total > self.opts.break_length {
                return false;
            }
        }
        base.is_empty() || !base.contains('\n')
    }

    /// Node's groupArrayElements.
    fn group_array_elements(&self, output: Vec<String>, numeric: bool) -> Vec<String> {
        let mut total_length = 0usize;
        let mut max_length = 0usize;
        let mut output_length = output.len();
        if self.opts.max_array_length < output.len() {
            // Keep the "... more items" entry out of the grouping.
            output_length -= 1;
        }
        let separator_space = 2;
        let mut data_len = Vec::with_capacity(output_length);
        for o in output.iter().take(output_length) {
            let len = if self.opts.colors { visible_len(o) } else { utf16_len(o) };
            data_len.push(len);
            total_length += len + separator_space;
            max_length = max_length.max(len);
        }
        let actual_max = max_length + separator_space;
        if actual_max * 3 + self.indentation_lvl < self.opts.break_length
            && (total_length as f64 / actual_max as f64 > 5.0 || max_length <= 6)
        {
            let approx_char_heights = 2.5;
            let average_bias = (actual_max as f64 - total_length as f64 / output.len() as f64).sqrt();
            let biased_max = (actual_max as f64 - 3.0 - average_bias).max(1.0);
            let columns = ((approx_char_heights * biased_max * output_length as f64).sqrt() / biased_max)
                .round()
                .min(((self.opts.break_length - self.indentation_lvl) / actual_max) as f64)
                .min(12.0)
                .min(15.0);
            let columns = if columns.is_nan() { 0 } else { columns as usize };
            if columns <= 1 {
                return output;
            }
            let mut max_line_length = Vec::with_capacity(columns);
            for i in 0..columns {
                let mut line_length = 0;
                let mut j = i;
                while j < output.len() {
                    if let Some(&d) = data_len.get(j) {
                        line_length = line_length.max(d);
                    }
                    j += columns;
                }
                max_line_length.push(line_length + separator_space);
            }
            let mut tmp = Vec::new();
            let mut i = 0;
            while i < output_length {
                let max = (i + columns).min(output_length);
                let mut s = String::new();
                let mut j = i;
                while j < max - 1 {
                    let cell = format!("{}, ", output[j]);
                    let padding = max_line_length[j - i] + utf16_len(&output[j]) - data_len[j];
                    s.push_str(&pad(&cell, padding, numeric));
                    j += 1;
                }
                if numeric {
                    let padding =
                        (max_line_length[j - i] + utf16_len(&output[j])).saturating_sub(data_len[j] + separator_space);
                    s.push_str(&pad(&output[j], padding, true));
                } else {
                    s.push_str(&output[j]);
                }
                tmp.push(s);
                i += columns;
            }
            if self.opts.max_array_length < output.len() {
                if let Some(last) = output.last() {
                    tmp.push(last.clone());
                }
            }
            return tmp;
        }
        output
    }
}

fn pad(s: &str, width: usize, start: bool) -> String {
    let len = utf16_len(s);
    if len >= width {
        return s.to_string();
    }
    let fill = " ".repeat(width - len);
    if start {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// Node's class detection on `Function.prototype.toString` output.
fn is_class_source(src: &str) -> bool {
    if !(src.starts_with("class") && src.ends_with('}')) {
        return false;
    }
    let slice = &src[5..src.len() - 1];
    match slice.find('{') {
        Some(b) => {
            !slice[..b].contains('(') || slice.chars().next().map(|c| c.is_whitespace() || c == '{').unwrap_or(false)
        }
        None => false,
    }
}

/// Node's improveStack.
fn improve_stack(stack: String, constructor: &Option<String>, name: &str, tag: &str) -> String {
    let mut len = name.len();
    let looks_normal = name.ends_with("Error")
        && stack.starts_with(name)
        && (stack.len() == len || matches!(stack.as_bytes().get(len), Some(b':') | Some(b'\n')));
    if constructor.is_none() || looks_normal {
        let mut fallback = "Error".to_string();
        if constructor.is_none() {
            // ^([A-Z][a-z_ A-Z0-9[\]()-]+)(?::|\n\s+at)  or  ^([a-z_A-Z0-9-]*Error)$
            let bytes = stack.as_bytes();
            let mut found = String::new();
            if bytes.first().is_some_and(|b| b.is_ascii_uppercase()) {
                let end = bytes
                    .iter()
                    .position(|&b| !(b.is_ascii_alphanumeric() || b" _[]()-".contains(&b)))
                    .unwrap_or(bytes.len());
                let rest = &stack[end..];
                if end > 1 && (rest.starts_with(':') || rest.starts_with("\n")) {
                    found = stack[..end].to_string();
                }
            }
            if found.is_empty()
                && stack.ends_with("Error")
                && stack.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                found = stack.clone();
            }
            len = found.len();
            fallback = if found.is_empty() { "Error".to_string() } else { found };
        }
        let prefix = get_prefix(constructor, tag, &fallback, "");
        let prefix = prefix.trim_end_matches(' ');
        if name != prefix {
            let rest = stack.get(len..).unwrap_or("");
            if prefix.contains(name) {
                if len == 0 {
                    return format!("{prefix}: {stack}");
                }
                return format!("{prefix}{rest}");
            }
            return format!("{prefix} [{name}]{rest}");
        }
    }
    stack
}

fn typed_array_name(t: i32) -> &'static str {
    match t {
        0 => "Uint8ClampedArray",
        1 => "Int8Array",
        2 => "Uint8Array",
        3 => "Int16Array",
        4 => "Uint16Array",
        5 => "Int32Array",
        6 => "Uint32Array",
        7 => "BigInt64Array",
        8 => "BigUint64Array",
        9 => "Float16Array",
        10 => "Float32Array",
        11 => "Float64Array",
        _ => "TypedArray",
    }
}

/// Cuts `s` to [`MAX_OUTPUT`] bytes (at a char boundary) and appends `…` if it was cut or
/// the renderer ran out of budget.
fn cap_output(mut s: String, exhausted: bool) -> String {
    if s.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    } else if exhausted && !s.ends_with('…') {
        s.push('…');
    }
    s
}

/// Like Node's `util.inspect(value, opts)`, without ever running guest code.
pub fn inspect<'js>(ctx: &Ctx<'js>, value: &Value<'js>, opts: &InspectOptions) -> String {
    let guard = ctx.userdata::<Intrinsics>();
    let intr: Option<&Intrinsics<'js>> = guard.as_deref();
    let run = std::panic::AssertUnwindSafe(|| {
        let mut ins = Inspector::new(ctx, intr, opts);
        let s = ins.format_value(value, 0, false);
        cap_output(s, ins.exhausted)
    });
    std::panic::catch_unwind(run).unwrap_or_else(|_| "[object]".to_string())
}

/// Like Node's `util.format(...args)` (console.log formatting): `%s %d %i %f %j %o %O %c %%`,
/// then the remaining args joined by spaces: strings raw, everything else `inspect()`ed.
///
/// Differences from Node (no guest code may run): `%s` on an object always inspects it
/// (depth 0) instead of calling a user `toString`; `%d`/`%i`/`%f` give `NaN` for objects
/// instead of calling `valueOf`; `%j` is a safe JSON rendering (data properties only, no
/// `toJSON`, proxies show their target, `[Circular]` on cycles); `%o` is `%O` with depth 4
/// (no hidden properties).
pub fn format_args<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let guard = ctx.userdata::<Intrinsics>();
    let intr: Option<&Intrinsics<'js>> = guard.as_deref();
    let run = std::panic::AssertUnwindSafe(|| format_args_inner(ctx, intr, args));
    std::panic::catch_unwind(run).unwrap_or_else(|_| "[object]".to_string())
}

fn format_args_inner<'js>(ctx: &Ctx<'js>, intr: Option<&Intrinsics<'js>>, args: &[Value<'js>]) -> String {
    let opts = InspectOptions::default();
    let r = Raw::new(ctx);
    let insp = |v: &Value<'js>, o: &InspectOptions| {
        let mut ins = Inspector::new(ctx, intr, o);
        let s = ins.format_value(v, 0, false);
        cap_output(s, ins.exhausted)
    };
    let mut out = String::new();
    let mut a = 0usize;
    let mut join = "";
    if let Some(first) = args.first().filter(|f| f.is_string()) {
        let units = r.string_units(first);
        if args.len() == 1 {
            return cap_output(String::from_utf16_lossy(&units), false);
        }
        let mut last_pos = 0usize;
        let mut i = 0usize;
        let n = units.len();
        while i + 1 < n {
            if out.len() > MAX_OUTPUT {
                break;
            }
            if units[i] == b'%' as u16 {
                i += 1;
                let next = units[i];
                if a + 1 != args.len() {
                    let temp: String = match next as u8 {
                        b's' if next < 0x80 => {
                            a += 1;
                            let v = &args[a];
                            if v.is_object() {
                                insp(v, &InspectOptions { depth: 0, colors: false, ..opts })
                            } else if v.is_symbol() {
                                r.symbol_string(v)
                            } else if v.is_string() {
                                r.lossy(v)
                            } else {
                                // numbers (incl. -0), bigint, bool, null, undefined
                                let mut s = insp(v, &opts);
                                if v.is_number() && s == "-0" {
                                    s = "-0".to_string();
                                }
                                s
                            }
                        }
                        b'j' if next < 0x80 => {
                            a += 1;
                            let mut j =
                                SafeJson { r: &r, intr, stack: Vec::new(), out: String::new(), circular: false };
                            j.value(&args[a], true);
                            if j.circular {
                                "[Circular]".to_string()
                            } else {
                                j.out
                            }
                        }
                        b'd' if next < 0x80 => {
                            a += 1;
                            number_conv(&r, intr, &args[a], NumConv::Number)
                        }
                        b'i' if next < 0x80 => {
                            a += 1;
                            number_conv(&r, intr, &args[a], NumConv::Int)
                        }
                        b'f' if next < 0x80 => {
                            a += 1;
                            number_conv(&r, intr, &args[a], NumConv::Float)
                        }
                        b'O' if next < 0x80 => {
                            a += 1;
                            insp(&args[a], &opts)
                        }
                        b'o' if next < 0x80 => {
                            a += 1;
                            insp(&args[a], &InspectOptions { depth: 4, ..opts })
                        }
                        b'c' if next < 0x80 => {
                            a += 1;
                            String::new()
                        }
                        b'%' if next < 0x80 => {
                            out.push_str(&String::from_utf16_lossy(&units[last_pos..i]));
                            last_pos = i + 1;
                            i += 1;
                            continue;
                        }
                        _ => {
                            i += 1;
                            continue;
                        }
                    };
                    if last_pos + 1 != i {
                        out.push_str(&String::from_utf16_lossy(&units[last_pos..i - 1]));
                    }
                    out.push_str(&temp);
                    last_pos = i + 1;
                } else if next == b'%' as u16 {
                    out.push_str(&String::from_utf16_lossy(&units[last_pos..i]));
                    last_pos = i + 1;
                }
            }
            i += 1;
        }
        if last_pos != 0 {
            a += 1;
            join = " ";
            if last_pos < n {
                out.push_str(&String::from_utf16_lossy(&units[last_pos..]));
            }
        }
    }
    while a < args.len() {
        if out.len() > MAX_OUTPUT {
            break;
        }
        let v = &args[a];
        out.push_str(join);
        if v.is_string() {
            out.push_str(&r.lossy(v));
        } else {
            out.push_str(&insp(v, &opts));
        }
        join = " ";
        a += 1;
    }
    cap_output(out, false)
}

enum NumConv {
    Number,
    Int,
    Float,
}

/// `%d` / `%i` / `%f` on primitives only (objects would need `valueOf`: `NaN`).
fn number_conv<'js>(r: &Raw<'js>, intr: Option<&Intrinsics<'js>>, v: &Value<'js>, kind: NumConv) -> String {
    let fmt_num = |n: &Value<'js>| -> String {
        match r.number(n) {
            Some(x) if x == 0.0 && x.is_sign_negative() => "-0".to_string(),
            Some(_) => r.lossy(n),
            None => "NaN".to_string(),
        }
    };
    if v.is_big_int() {
        return match kind {
            NumConv::Float => r.lossy(v),
            _ => format!("{}n", r.lossy(v)),
        };
    }
    if v.is_symbol() || v.is_object() {
        return "NaN".to_string();
    }
    match kind {
        NumConv::Number => {
            let mut d = 0.0f64;
            // SAFETY: ToNumber of a primitive (non-symbol) value never runs JS code.
            let rc = unsafe { qjs::JS_ToFloat64(r.p, &mut d, v.as_raw()) };
            if rc < 0 {
                r.clear_exception();
                return "NaN".to_string();
            }
            fmt_num(&r.own(qjs::JS_NewFloat64(d)))
        }
        NumConv::Int | NumConv::Float => {
            let f =
                intr.and_then(
                    |i| {
                        if matches!(kind, NumConv::Int) {
                            i.parse_int.as_ref()
                        } else {
                            i.parse_float.as_ref()
                        }
                    },
                );
            let undef = r.own(qjs::JS_UNDEFINED);
            match f.and_then(|f| r.call(f, &undef, &[v])) {
                Some(n) => fmt_num(&n),
                None => "NaN".to_string(),
            }
        }
    }
}

/// A JSON rendering that never runs guest code (for `%j`).
struct SafeJson<'a, 'js> {
    r: &'a Raw<'js>,
    intr: Option<&'a Intrinsics<'js>>,
    stack: Vec<*mut c_void>,
    out: String,
    circular: bool,
}

impl<'js> SafeJson<'_, 'js> {
    fn quote(&mut self, units: &[u16]) {
        self.out.push('"');
        let mut i = 0;
        while i < units.len() {
            let u = units[i];
            match u {
                0x22 => self.out.push_str("\\\""),
                0x5C => self.out.push_str("\\\\"),
                0x08 => self.out.push_str("\\b"),
                0x0C => self.out.push_str("\\f"),
                0x0A => self.out.push_str("\\n"),
                0x0D => self.out.push_str("\\r"),
                0x09 => self.out.push_str("\\t"),
                u if u < 0x20 => self.out.push_str(&format!("\\u{u:04x}")),
                0xD800..=0xDBFF if i + 1 < units.len() && (0xDC00..0xE000).contains(&units[i + 1]) => {
                    let cp = 0x10000 + (((u as u32) - 0xD800) << 10) + ((units[i + 1] as u32) - 0xDC00);
                    self.out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                    i += 1;
                }
                0xD800..=0xDFFF => self.out.push_str(&format!("\\u{u:04x}")),
                u => self.out.push(char::from_u32(u as u32).unwrap_or('\u{FFFD}')),
            }
            i += 1;
        }
        self.out.push('"');
    }

    /// Writes `v`; returns false if it is "not serializable" (undefined, function, symbol).
    fn value(&mut self, v: &Value<'js>, _top: bool) -> bool {
        if self.circular || self.out.len() > MAX_OUTPUT {
            return true;
        }
        if v.is_string() {
            let u = self.r.string_units(v);
            self.quote(&u);
            return true;
        }
        if let Some(n) = self.r.number(v) {
            if n.is_finite() {
                let s = if n == 0.0 { "0".to_string() } else { self.r.lossy(v) };
                self.out.push_str(&s);
            } else {
                self.out.push_str("null");
            }
            return true;
        }
        if let Some(b) = v.as_bool() {
            self.out.push_str(if b { "true" } else { "false" });
            return true;
        }
        if v.is_null() {
            self.out.push_str("null");
            return true;
        }
        if v.is_big_int() {
            // JSON.stringify throws here; print the digits instead.
            self.out.push_str(&self.r.lossy(v));
            return true;
        }
        if !self.r.is_object(v) || self.r.is_function(v) {
            return false;
        }
        let mut obj = v.clone();
        let mut hops = 0;
        while self.r.is_proxy(&obj) && hops < 100_000 {
            hops += 1;
            match self.r.proxy_target(&obj) {
                Some(t) => obj = t,
                None => {
                    self.out.push_str("{}");
                    return true;
                }
            }
        }
        if self.r.is_function(&obj) {
            return false;
        }
        let ptr = self.r.ptr(&obj);
        if self.stack.contains(&ptr) {
            self.circular = true;
            return true;
        }
        if self.stack.len() >= MAX_DEPTH {
            self.out.push_str("null");
            return true;
        }
        // Date: toJSON → toISOString (the original one); invalid → null.
        // SAFETY: class checks only.
        if unsafe { qjs::JS_IsDate(obj.as_raw()) } {
            let iso = self.intr.and_then(|i| i.date_to_iso.as_ref()).and_then(|f| self.r.call(f, &obj, &[]));
            match iso {
                Some(s) if s.is_string() => {
                    let u = self.r.string_units(&s);
                    self.quote(&u);
                }
                _ => self.out.push_str("null"),
            }
            return true;
        }
        let cls = self.r.class_id(&obj);
        let unbox = match cls {
            class_id::NUMBER => self.intr.and_then(|i| i.number_value_of.as_ref()),
            class_id::STRING => self.intr.and_then(|i| i.string_value_of.as_ref()),
            class_id::BOOLEAN => self.intr.and_then(|i| i.boolean_value_of.as_ref()),
            class_id::BIG_INT => self.intr.and_then(|i| i.bigint_value_of.as_ref()),
            _ => None,
        };
        if let Some(f) = unbox {
            if let Some(p) = self.r.call(f, &obj, &[]) {
                return self.value(&p, false);
            }
        }
        self.stack.push(ptr);
        // SAFETY: class id check only.
        if unsafe { qjs::JS_IsArray(obj.as_raw()) } {
            let len = self.r.data_prop_str(&obj, "length").and_then(|l| self.r.number(&l)).unwrap_or(0.0) as u64;
            self.out.push('[');
            for i in 0..len {
                if self.circular || self.out.len() > MAX_OUTPUT {
                    break;
                }
                if i > 0 {
                    self.out.push(',');
                }
                let item = self.r.index_atom(i as u32).and_then(|a| self.r.data_prop(&obj, &a));
                let ok = match item {
                    Some(item) => self.value(&item, false),
                    None => false,
                };
                if !ok {
                    self.out.push_str("null");
                }
            }
            self.out.push(']');
        } else {
            self.out.push('{');
            let mut first = true;
            for k in self.r.own_keys(&obj, true) {
                if self.circular || self.out.len() > MAX_OUTPUT {
                    break;
                }
                if self.r.atom_is_symbol(k.atom.atom) {
                    continue;
                }
                let Prop::Data(val) = self.r.get_own(&obj, k.atom.atom) else {
                    continue;
                };
                let mark = self.out.len();
                if !first {
                    self.out.push(',');
                }
                let name = self.r.atom_units(k.atom.atom);
                self.quote(&name);
                self.out.push(':');
                if self.value(&val, false) {
                    first = false;
                } else {
                    self.out.truncate(mark);
                }
            }
            self.out.push('}');
        }
        self.stack.pop();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Context, Runtime};
    use std::time::{Duration, Instant};

    /// Runs `f` on a fresh runtime/context (installed), then drops the runtime: a leaked
    /// JSValue would make quickjs abort on `JS_FreeRuntime`, failing the test binary.
    fn with_ctx<F: FnOnce(&Ctx<'_>)>(f: F) {
        let rt = Runtime::new().unwrap();
        let c = Context::full(&rt).unwrap();
        c.with(|ctx| {
            install(&ctx).unwrap();
            f(&ctx);
        });
        drop(c);
        drop(rt);
    }

    fn eval<'js>(ctx: &Ctx<'js>, src: &str) -> Value<'js> {
        ctx.eval(src).unwrap()
    }

    fn ins(ctx: &Ctx<'_>, src: &str) -> String {
        inspect(ctx, &eval(ctx, src), &InspectOptions::default())
    }

    fn ins_with(ctx: &Ctx<'_>, src: &str, opts: InspectOptions) -> String {
        inspect(ctx, &eval(ctx, src), &opts)
    }

    fn fmt(ctx: &Ctx<'_>, src: &str) -> String {
        let arr: rquickjs::Array = ctx.eval(src).unwrap();
        let args: Vec<Value> = arr.iter().map(|v| v.unwrap()).collect();
        format_args(ctx, &args)
    }

    fn counter(ctx: &Ctx<'_>) -> i32 {
        ctx.eval("globalThis.count").unwrap()
    }

    /// Expected strings are Node 20's `util.inspect(x, { breakLength: 80 })`.
    const NODE_CASES: &[(&str, &str)] = &[
        ("undefined", "undefined"),
        ("null", "null"),
        ("-0", "-0"),
        ("[-0, 0, 1.5, -2, 1e21, 1e-7, NaN, Infinity]", "[ -0, 0, 1.5, -2, 1e+21, 1e-7, NaN, Infinity ]"),
        ("1n", "1n"),
        ("'abc'", "'abc'"),
        ("\"a'b\"", "\"a'b\""),
        ("'a\\'b\"c'", "`a'b\"c`"),
        ("'\\x00\\x7f\\n\\t\\x1b'", "'\\x00\\x7F\\n\\t\\x1B'"),
        ("Symbol('a')", "Symbol(a)"),
        ("true", "true"),
        ("(function f(){})", "[Function: f]"),
        ("(function(){})", "[Function (anonymous)]"),
        ("(class A{})", "[class A]"),
        ("(class B extends Array{})", "[class B extends Array]"),
        ("(async function f(){})", "[AsyncFunction: f]"),
        ("(function*g(){})", "[GeneratorFunction: g]"),
        ("(async function*ag(){})", "[AsyncGeneratorFunction: ag]"),
        ("Object.assign(function f(){},{a:1})", "[Function: f] { a: 1 }"),
        ("[1,2,3]", "[ 1, 2, 3 ]"),
        ("[]", "[]"),
        ("({})", "{}"),
        ("[1,,3]", "[ 1, <1 empty item>, 3 ]"),
        ("new Array(5)", "[ <5 empty items> ]"),
        ("Object.assign([1,2],{foo:'bar'})", "[ 1, 2, foo: 'bar' ]"),
        ("({a:1,'b-c':2})", "{ a: 1, 'b-c': 2 }"),
        ("(() => { class Foo { constructor(){ this.x = 1 } }; return new Foo() })()", "Foo { x: 1 }"),
        ("Object.create(null)", "[Object: null prototype] {}"),
        ("Object.assign(Object.create(null),{a:1})", "[Object: null prototype] { a: 1 }"),
        ("Object.create(Object.create(null))", "Object <[Object: null prototype] {}> {}"),
        ("({a:{b:{c:{d:1}}}})", "{ a: { b: { c: [Object] } } }"),
        ("[[[[1]]]]", "[ [ [ [Array] ] ] ]"),
        ("(() => { const c={}; c.self=c; return c })()", "<ref *1> { self: [Circular *1] }"),
        ("new Map([['a',1]])", "Map(1) { 'a' => 1 }"),
        ("new Set([1,2])", "Set(2) { 1, 2 }"),
        ("new Map()", "Map(0) {}"),
        ("new Map([[1,{a:[1,{b:{c:1}}]}]])", "Map(1) { 1 => { a: [ 1, [Object] ] } }"),
        ("(() => { class M extends Map {}; return new M([[1,2]]) })()", "M(1) [Map] { 1 => 2 }"),
        ("new Date(0)", "1970-01-01T00:00:00.000Z"),
        ("new Date(NaN)", "Invalid Date"),
        ("/a\\/b/gimsuy", "/a\\/b/gimsuy"),
        ("Object.assign(/a/,{x:1})", "/a/ { x: 1 }"),
        ("new Number(3)", "[Number: 3]"),
        ("new String('ab')", "[String: 'ab']"),
        ("Object(Symbol('s'))", "[Symbol: Symbol(s)]"),
        ("Promise.resolve(1)", "Promise { 1 }"),
        ("new Promise(()=>{})", "Promise { <pending> }"),
        ("(() => { const p = Promise.reject(3); p.catch(()=>{}); return p })()", "Promise { <rejected> 3 }"),
        ("new Uint8Array([1,2,3])", "Uint8Array(3) [ 1, 2, 3 ]"),
        ("new BigInt64Array([1n,-2n])", "BigInt64Array(2) [ 1n, -2n ]"),
        ("new Uint8Array([1,2]).buffer", "ArrayBuffer { [Uint8Contents]: <01 02>, byteLength: 2 }"),
        ("new DataView(new ArrayBuffer(2))", "DataView {\n  byteLength: 2,\n  byteOffset: 0,\n  buffer: ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }\n}"),
        ("new WeakMap()", "WeakMap { <items unknown> }"),
        ("({get a(){return 1}, set b(v){}, get c(){return 1}, set c(v){}})", "{ a: [Getter], b: [Setter], c: [Getter/Setter] }"),
        ("({[Symbol('a')]:1, 'b-c':2, a:1})", "{ 'b-c': 2, a: 1, [Symbol(a)]: 1 }"),
        ("Object.defineProperty({}, 'hid', {value:1, enumerable:false})", "{}"),
        ("new Proxy({a:1},{})", "{ a: 1 }"),
        ("new Proxy(new Proxy([1],{}),{})", "[ 1 ]"),
        ("Array.from({length:120},(_, i)=>i)", "[\n   0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11,\n  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,\n  24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n  36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,\n  48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,\n  60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,\n  72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,\n  84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,\n  96, 97, 98, 99,\n  ... 20 more items\n]"),
        ("(function(){ return arguments })(1,2)", "[Arguments] { '0': 1, '1': 2 }"),
        ("(() => { const e = new Error('m'); e.stack = 'Error: m'; e.foo = 1; return [e] })()", "[ [Error: m] { foo: 1 } ]"),
        ("(() => { class Foo extends Error{}; const e = new Foo('x'); e.stack = 'Error: x'; return e })()", "[Foo [Error]: x]"),
        ("(() => { const e = new Error('a', { cause: 1 }); e.stack = 'Error: a'; return e })()", "[Error: a] { [cause]: 1 }"),
        ("Object.create(Error.prototype)", "[Error]"),
        ("{ const a = [1]; a[5] = 2; a }", "[ 1, <4 empty items>, 2 ]"),
        ("{ const b = []; b[2**32-2] = 1; b }", "[ <4294967294 empty items>, 1 ]"),
        ("({length: 2**32-1})", "{ length: 4294967295 }"),
        ("({ 'a b': 1, __proto__x: 2, ['__proto__']: 3 })", "{ 'a b': 1, __proto__x: 2, ['__proto__']: 3 }"),
        ("(() => { const m = new Map(); const o = {m}; m.set('o', o); return o })()", "<ref *1> { m: Map(1) { 'o' => [Circular *1] } }"),
        ("({ s: 'a\\nb'.repeat(3) })", "{ s: 'a\\nba\\nba\\nb' }"),
    ];

    #[test]
    fn matches_node() {
        with_ctx(|ctx| {
            for (src, want) in NODE_CASES {
                assert_eq!(ins(ctx, src), *want, "source: {src}");
            }
        });
    }

    #[test]
    fn class_ids_and_proxy_layout_match_engine() {
        with_ctx(|ctx| {
            let r = Raw::new(ctx);
            for (src, id) in [
                ("new Number(1)", class_id::NUMBER),
                ("new String('')", class_id::STRING),
                ("new Boolean(true)", class_id::BOOLEAN),
                ("Object(Symbol())", class_id::SYMBOL),
                ("(function(){ 'use strict'; return arguments })()", class_id::ARGUMENTS),
                ("new Function('a', 'return arguments')(1)", class_id::MAPPED_ARGUMENTS),
                ("(function*(){})", class_id::GENERATOR_FUNCTION),
                ("new ArrayBuffer(1)", class_id::ARRAY_BUFFER),
                ("new SharedArrayBuffer(1)", class_id::SHARED_ARRAY_BUFFER),
                ("Object(1n)", class_id::BIG_INT),
                ("new Proxy({}, {})", class_id::PROXY),
                ("(async function(){})", class_id::ASYNC_FUNCTION),
                ("(async function*(){})", class_id::ASYNC_GENERATOR_FUNCTION),
            ] {
                assert_eq!(r.class_id(&eval(ctx, src)), id, "{src}");
            }
            let t = eval(ctx, "globalThis.tgt = {}; new Proxy(tgt, {})");
            let target = r.proxy_target(&t).unwrap();
            assert!(r.same(&target, &eval(ctx, "tgt")));
            let rev = eval(ctx, "{ const r = Proxy.revocable({}, {}); r.revoke(); r.proxy }");
            assert!(r.proxy_target(&rev).is_none());
        });
    }

    #[test]
    fn top_level_and_nested_strings() {
        with_ctx(|ctx| {
            assert_eq!(fmt(ctx, "['abc']"), "abc");
            assert_eq!(fmt(ctx, "['a', 'b', {c:'d'}]"), "a b { c: 'd' }");
            let long = ins(ctx, "'x'.repeat(10010)");
            assert!(long.ends_with("'... 10 more characters"), "{}", &long[long.len() - 40..]);
            let short = ins_with(ctx, "'abcdef'", InspectOptions { max_string_length: 3, ..Default::default() });
            assert_eq!(short, "'abc'... 3 more characters");
        });
    }

    #[test]
    fn format_args_placeholders() {
        with_ctx(|ctx| {
            assert_eq!(fmt(ctx, "['a %s b', 'x']"), "a x b");
            assert_eq!(fmt(ctx, "['%d', '42']"), "42");
            assert_eq!(fmt(ctx, "['%i', '42.9px']"), "42");
            assert_eq!(fmt(ctx, "['%f', '1.5e1']"), "15");
            assert_eq!(fmt(ctx, "['%j', {a:[1,'x'],b:undefined}]"), "{\"a\":[1,\"x\"]}");
            assert_eq!(fmt(ctx, "['%%s %s', 1]"), "%s 1");
            assert_eq!(fmt(ctx, "['%c x', 'css']"), " x");
            assert_eq!(fmt(ctx, "['%s', -0]"), "-0");
            assert_eq!(fmt(ctx, "['%s', {a:{b:1}}]"), "{ a: [Object] }");
            assert_eq!(fmt(ctx, "['%s', 5n]"), "5n");
            assert_eq!(fmt(ctx, "['%d', 5n]"), "5n");
            assert_eq!(fmt(ctx, "['%O', {a:1}]"), "{ a: 1 }");
            assert_eq!(fmt(ctx, "['%s %s', 1]"), "1 %s");
            assert_eq!(fmt(ctx, "[1, 'x']"), "1 x");
            assert_eq!(fmt(ctx, "['%x', 1]"), "%x 1");
            assert_eq!(fmt(ctx, "['%s', Symbol('q')]"), "Symbol(q)");
            assert_eq!(fmt(ctx, "['%j', (()=>{const c={}; c.c=c; return c})()]"), "[Circular]");
            assert_eq!(fmt(ctx, "['%s:%s', 'a']"), "a:%s");
            assert_eq!(fmt(ctx, "['%', 1]"), "% 1");
            assert_eq!(fmt(ctx, "['%s', null, undefined]"), "null undefined");
        });
    }

    #[test]
    fn colors() {
        with_ctx(|ctx| {
            let o = InspectOptions { colors: true, ..Default::default() };
            assert_eq!(
                ins_with(ctx, "({a:1,s:'x',u:undefined,n:null,b:true,sym:Symbol('s'),f(){},d:new Date(0),r:/x/, big:1n})", o),
                "{\n  a: \x1b[33m1\x1b[39m,\n  s: \x1b[32m'x'\x1b[39m,\n  u: \x1b[90mundefined\x1b[39m,\n  n: \x1b[1mnull\x1b[22m,\n  b: \x1b[33mtrue\x1b[39m,\n  sym: \x1b[32mSymbol(s)\x1b[39m,\n  f: \x1b[36m[Function: f]\x1b[39m,\n  d: \x1b[35m1970-01-01T00:00:00.000Z\x1b[39m,\n  r: \x1b[31m/x/\x1b[39m,\n  big: \x1b[33m1n\x1b[39m\n}"
            );
        });
    }

    #[test]
    fn getters_and_hooks_never_run() {
        with_ctx(|ctx| {
            let src = "globalThis.count = 0;
                ({ get a() { count++; throw new Error('boom') },
                   toString() { count++; return 'x' }, valueOf() { count++; return 1 },
                   [Symbol.toPrimitive]() { count++; return 1 }, toJSON() { count++; return 1 },
                   [Symbol.for('nodejs.util.inspect.custom')]() { count++; return 'custom' } })";
            let v = eval(ctx, src);
            let out = inspect(ctx, &v, &InspectOptions::default());
            assert!(out.starts_with("{\n  a: [Getter],\n  toString: [Function: toString],"), "{out}");
            assert_eq!(fmt(ctx, "[globalThis.v2 = { get x() { count++; return 1 } }]"), "{ x: [Getter] }");
            assert_eq!(fmt(ctx, "['%s %d %j', v2, v2, v2]"), "{ x: [Getter] } NaN {}");
            // constructor / name / toStringTag / message / stack getters are not called either.
            let out = ins(
                ctx,
                "class K { static get name() { count++; return 'N' } get [Symbol.toStringTag]() { count++; return 'T' } };
                 Object.defineProperty(K.prototype, 'constructor', { get() { count++; return K } });
                 new K()",
            );
            assert_eq!(out, "{}");
            let e = ins(
                ctx,
                "{ const e = new Error('m'); Object.defineProperty(e, 'message', { get() { count++; return 'x' } });
                 Object.defineProperty(e, 'name', { get() { count++; return 'x' } }); e }",
            );
            assert!(e.starts_with("Error\n    at "), "{e}");
            assert_eq!(counter(ctx), 0);
        });
    }

    #[test]
    fn proxies_are_never_trapped() {
        with_ctx(|ctx| {
            let src = "globalThis.count = 0;
                const h = {};
                for (const t of ['get','set','has','ownKeys','getOwnPropertyDescriptor','getPrototypeOf',
                                 'defineProperty','deleteProperty','apply','construct','isExtensible',
                                 'preventExtensions','setPrototypeOf'])
                    h[t] = () => { count++; throw new Error('trap ' + t) };
                new Proxy({ a: 1, b: [new Proxy([2], h)] }, h)";
            assert_eq!(ins(ctx, src), "{ a: 1, b: [ [ 2 ] ] }");
            assert_eq!(ins(ctx, "new Proxy(function f() {}, h)"), "[Function: f]");
            assert_eq!(ins(ctx, "new Proxy(new Map([[1, 2]]), h)"), "Map(1) { 1 => 2 }");
            assert_eq!(ins(ctx, "{ const r = Proxy.revocable({}, h); r.revoke(); r.proxy }"), "<Revoked Proxy>");
            assert_eq!(fmt(ctx, "['%j', new Proxy({ a: 1 }, h)]"), "{\"a\":1}");
            assert_eq!(counter(ctx), 0);
        });
    }

    #[test]
    fn no_guest_code_via_engine_errors() {
        // Errors thrown by the engine call Error.prepareStackTrace / read
        // Error.stackTraceLimit: the renderer must not make the engine throw.
        with_ctx(|ctx| {
            let src = "globalThis.count = 0;
                Error.prepareStackTrace = () => { count++; return 'hooked' };
                Error.stackTraceLimit = { valueOf() { count++; return 10 } };
                const r = Proxy.revocable({}, {}); r.revoke();
                const ab = new ArrayBuffer(4); const ta = new Uint8Array(ab); const dv = new DataView(ab);
                ab.transfer();
                const rab = new ArrayBuffer(8, { maxByteLength: 16 }); const dv2 = new DataView(rab, 4); rab.resize(2);
                [r.proxy, ab, ta, dv, dv2]";
            let out = ins(ctx, src);
            assert!(out.contains("<Revoked Proxy>"), "{out}");
            assert!(out.contains("(detached)"), "{out}");
            assert!(out.contains("Uint8Array(0) []"), "{out}");
            assert_eq!(counter(ctx), 0);
        });
    }

    #[test]
    fn originals_are_used_after_guest_tampering() {
        with_ctx(|ctx| {
            let src = "globalThis.count = 0;
                const m = new Map([[1, 2]]); const s = new Set([3]);
                Object.getPrototypeOf(new Map().entries()).next = function () { count++; return { done: true } };
                Map.prototype.entries = function () { count++; return [][Symbol.iterator]() };
                Map.prototype[Symbol.iterator] = Map.prototype.entries;
                Object.defineProperty(Map.prototype, 'size', { get() { count++; return 99 } });
                Object.defineProperty(Set.prototype, 'size', { get() { count++; return 99 } });
                Set.prototype.values = function () { count++; return [][Symbol.iterator]() };
                Date.prototype.toISOString = function () { count++; return 'fake' };
                Date.prototype.getTime = function () { count++; return NaN };
                Object.defineProperty(RegExp.prototype, 'flags', { get() { count++; return 'zz' } });
                Object.defineProperty(RegExp.prototype, 'source', { get() { count++; return 'zz' } });
                Function.prototype.toString = function () { count++; return 'class X {}' };
                Number.prototype.valueOf = function () { count++; return 7 };
                [m, s, new Date(0), /a/g, function f() {}, new Number(1)]";
            assert_eq!(
                ins(ctx, src),
                "[\n  Map(1) { 1 => 2 },\n  Set(1) { 3 },\n  1970-01-01T00:00:00.000Z,\n  /a/g,\n  [Function: f],\n  [Number: 1]\n]"
            );
            assert_eq!(counter(ctx), 0);
        });
    }

    #[test]
    fn bounded_work() {
        with_ctx(|ctx| {
            let t = Instant::now();
            let big = ins(ctx, "{ const o = {}; for (let i = 0; i < 1e5; i++) o['k' + i] = i; o }");
            assert!(big.ends_with("k99: 99,\n  ... 99900 more properties\n}"), "{}", &big[big.len() - 60..]);
            assert_eq!(
                ins(ctx, "{ let a = []; for (let i = 0; i < 1e5; i++) a = [a]; globalThis.deep = a; a }"),
                "[ [ [ [Array] ] ] ]"
            );
            let deep = ins_with(ctx, "deep", InspectOptions { depth: usize::MAX, ..Default::default() });
            assert!(deep.contains("[Array]") && deep.len() < 10_000);
            let chain = ins(ctx, "{ let o = {}; for (let i = 0; i < 1e5; i++) o = Object.create(o); o }");
            assert!(chain.starts_with("Object <"), "{chain}");
            let huge = ins(ctx, "{ const a = new Array(2**32 - 1); a.x = 1; a }");
            assert_eq!(huge, "[ <4294967295 empty items>, x: 1 ]");
            let arr = ins(ctx, "Array.from({ length: 1e6 }, (_, i) => i)");
            assert!(arr.ends_with("... 999900 more items\n]"));
            let m = ins(ctx, "{ const m = new Map(); for (let i = 0; i < 1e5; i++) m.set(i, m); m }");
            assert!(m.starts_with("<ref *1> Map(100000) {\n  0 => [Circular *1],"), "{}", &m[..60]);
            assert!(m.ends_with("... 99900 more items\n}"));
            let s = ins(ctx, "'x'.repeat(1e7)");
            assert!(s.ends_with("... 9990000 more characters"));
            let ta = ins(ctx, "new Uint8Array(1e7)");
            assert!(ta.starts_with("Uint8Array(10000000) [") && ta.ends_with("... 9999900 more items\n]"));
            // Output cap: a wide object with long strings.
            let capped = ins_with(
                ctx,
                "{ const s = 'y'.repeat(9000); const a = []; for (let i = 0; i < 100; i++) a.push(Array(100).fill(s)); a }",
                InspectOptions {
                    depth: 5,
                    ..Default::default()
                },
            );
            assert!(capped.len() <= MAX_OUTPUT + 8 && capped.ends_with('…'));
            assert!(t.elapsed() < Duration::from_secs(20));
        });
    }

    #[test]
    fn lone_surrogates_never_panic() {
        with_ctx(|ctx| {
            assert_eq!(ins(ctx, "'\\ud800'"), "'\\ud800'");
            assert_eq!(ins(ctx, "({ '\\udc00': '\\ud83d\\ude00' })"), "{ '\\udc00': '😀' }");
            assert_eq!(fmt(ctx, "['\\ud800']"), "\u{FFFD}");
            assert_eq!(fmt(ctx, "['%s|%s', '\\ud800', Symbol('\\udfff')]"), "\u{FFFD}|Symbol(\u{FFFD})");
        });
    }

    #[test]
    fn works_without_install_and_across_contexts() {
        let rt = Runtime::new().unwrap();
        let c = Context::full(&rt).unwrap();
        c.with(|ctx| {
            // No install: coarser, but safe.
            let v: Value = ctx.eval("[new Map([[1, 2]]), { a: 1 }, new Date(0)]").unwrap();
            let out = inspect(&ctx, &v, &InspectOptions::default());
            assert!(out.contains("{ a: 1 }"), "{out}");
        });
        let c2 = Context::full(&rt).unwrap();
        c2.with(|ctx| install(&ctx).unwrap());
        c.with(|ctx| {
            install(&ctx).unwrap();
            let v: Value = ctx.eval("new Map([[1, new Set([2])]])").unwrap();
            assert_eq!(inspect(&ctx, &v, &InspectOptions::default()), "Map(1) { 1 => Set(1) { 2 } }");
        });
        drop(c);
        drop(c2);
        drop(rt);
    }
}
