//! Raw engine access: property descriptors, atoms, keys and string units, read without running guest code.

use super::*;

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
    pub const UINT8C_ARRAY: u32 = 22;
    pub const DATAVIEW: u32 = 34;
    pub const BIG_INT: u32 = 35;
    pub const MAP: u32 = 36;
    pub const SET: u32 = 37;
    pub const MAP_ITERATOR: u32 = 44;
    pub const SET_ITERATOR: u32 = 45;
    pub const PROXY: u32 = 51;
    pub const ASYNC_FUNCTION: u32 = 55;
    pub const ASYNC_GENERATOR_FUNCTION: u32 = 59;
}

/// Atoms with this bit set are array indices stored inline (`JS_ATOM_TAG_INT` in quickjs.c).
pub(crate) const ATOM_TAG_INT: u32 = 1 << 31;

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
    pub(crate) p: *mut qjs::JSContext,
    pub(crate) atom: qjs::JSAtom,
    pub(crate) _marker: PhantomData<&'js ()>,
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
    pub(crate) enumerable: bool,
}

/// Thin wrapper around the raw context pointer with safe helper methods.
pub(crate) struct Raw<'js> {
    pub(crate) ctx: Ctx<'js>,
    pub(crate) p: *mut qjs::JSContext,
}

impl<'js> Raw<'js> {
    pub(crate) fn new(ctx: &Ctx<'js>) -> Self {
        Raw { ctx: ctx.clone(), p: ctx.as_raw().as_ptr() }
    }

    /// Takes ownership of a raw value returned by the engine (a new reference).
    pub(crate) fn own(&self, v: qjs::JSValue) -> Value<'js> {
        // SAFETY: callers pass a value the engine returned as a new reference (or a
        // non-refcounted constant); `Value` frees it exactly once on drop.
        unsafe { Value::from_raw(self.ctx.clone(), v) }
    }

    /// Drops any pending exception.
    pub(crate) fn clear_exception(&self) {
        // SAFETY: JS_GetException returns (and clears) the pending exception as a new
        // reference (JS_UNINITIALIZED if none); `own` frees it.
        drop(self.own(unsafe { qjs::JS_GetException(self.p) }));
    }

    /// Wraps a returned value, turning JS_EXCEPTION into `None` (and clearing it).
    pub(crate) fn checked(&self, v: qjs::JSValue) -> Option<Value<'js>> {
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

    pub(crate) fn index_atom(&self, i: u32) -> Option<Atom<'js>> {
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

    pub(crate) fn is_function(&self, v: &Value<'js>) -> bool {
        // SAFETY: JS_IsFunction reads the class of the object (and, for a proxy, its
        // stored target); it never runs JS code.
        self.is_object(v) && unsafe { qjs::JS_IsFunction(self.p, v.as_raw()) }
    }

    /// Identity of an object (its address), for cycle detection and comparisons.
    pub(crate) fn ptr(&self, v: &Value<'js>) -> *mut c_void {
        // SAFETY: reading the pointer payload of an object value.
        unsafe { qjs::JS_VALUE_GET_PTR(v.as_raw()) }
    }

    pub(crate) fn same(&self, a: &Value<'js>, b: &Value<'js>) -> bool {
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

    pub(crate) fn data_prop(&self, obj: &Value<'js>, atom: &Atom<'js>) -> Option<Value<'js>> {
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

    pub(crate) fn data_prop_str(&self, obj: &Value<'js>, name: &str) -> Option<Value<'js>> {
        let atom = self.atom(name)?;
        self.data_prop(obj, &atom)
    }

    pub(crate) fn getter_str(&self, obj: &Value<'js>, name: &str) -> Option<Value<'js>> {
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
    pub(crate) fn own_keys(&self, obj: &Value<'js>, enum_only: bool) -> Vec<Key<'js>> {
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
    pub(crate) fn keys_with(&self, obj: &Value<'js>, flags: i32) -> Vec<Key<'js>> {
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
    pub(crate) fn call(&self, f: &Value<'js>, this: &Value<'js>, args: &[&Value<'js>]) -> Option<Value<'js>> {
        let mut argv: Vec<qjs::JSValue> = args.iter().map(|a| a.as_raw()).collect();
        // SAFETY: `f` is one of the engine's own C builtins captured before guest code ran;
        // `this` and the arguments are live values borrowed for the duration of the call.
        let r = unsafe { qjs::JS_Call(self.p, f.as_raw(), this.as_raw(), argv.len() as _, argv.as_mut_ptr()) };
        self.checked(r)
    }

    /// `%MapIteratorPrototype%.next` (or Set's): creates a fresh collection with the
    /// captured constructor at install time and reads `next` off its iterator's prototype.
    pub(crate) fn iterator_next_of(&self, ctor: &Value<'js>, iter_method: &Value<'js>) -> Option<Value<'js>> {
        // SAFETY: at install time `ctor` is the original Map/Set constructor (native).
        let coll = self.checked(unsafe { qjs::JS_CallConstructor(self.p, ctor.as_raw(), 0, std::ptr::null_mut()) })?;
        let it = self.call(iter_method, &coll, &[])?;
        let proto = self.proto(&it)?;
        self.data_prop_str(&proto, "next").filter(|f| self.is_function(f))
    }

    /// The target of a proxy, or `None` if it is revoked. Reads the engine's proxy record
    /// directly: `JS_GetProxyTarget` would *throw* for a revoked proxy, and building an
    /// error runs guest code (`Error.prepareStackTrace`, `Error.stackTraceLimit`).
    pub(crate) fn proxy_target(&self, v: &Value<'js>) -> Option<Value<'js>> {
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

    /// Whether `v` is a typed array or DataView that tracks the length of its (resizable)
    /// buffer, i.e. was made without a length: the engine's `track_rab` flag, which no
    /// property shows. Reads quickjs-ng 0.16.2's `JSTypedArray` (mirrored here, checked by
    /// `tests::typed_array_layout_matches_engine`).
    pub(crate) fn view_tracks_length(&self, v: &Value<'js>) -> bool {
        /// Mirror of `struct list_head` (list.h).
        #[repr(C)]
        struct ListHead {
            prev: *mut c_void,
            next: *mut c_void,
        }
        /// Mirror of `JSTypedArray` (quickjs.c).
        #[repr(C)]
        struct TypedArray {
            link: ListHead,
            obj: *mut c_void,
            buffer: *mut c_void,
            offset: u32,
            length: u32,
            track_rab: bool,
        }
        let cls = self.class_id(v);
        if !(class_id::UINT8C_ARRAY..=class_id::DATAVIEW).contains(&cls) {
            return false;
        }
        // SAFETY: `v` is a live object whose class is a typed array or DataView class, so its
        // opaque slot is its `JSTypedArray` record (layout mirrored above, never null for a
        // constructed view); we only read one flag.
        unsafe {
            let ta = qjs::JS_GetOpaque(v.as_raw(), cls) as *const TypedArray;
            !ta.is_null() && (*ta).track_rab
        }
    }

    /// The entries a Map or Set iterator has still to give, without advancing it (what
    /// Node's `previewEntries` shows): `None` when `v` is no such iterator, else whether it
    /// gives key/value pairs (`entries()`), and the values: the keys, the values, or
    /// `[key0, value0, key1, ...]` for pairs (a Set's pairs are `[v, v]`). At most `limit`
    /// entries are read; the third item is the number of entries left in all.
    ///
    /// Reads the engine's iterator and collection records directly (quickjs-ng 0.16.2's
    /// `JSMapIteratorData`, `JSMapState`, `JSMapRecord`, mirrored here and checked by
    /// `tests::map_iterator_layout_matches_engine`): the engine has no API to peek, and
    /// calling `next` would consume the guest's iterator.
    pub(crate) fn map_iterator_preview(&self, v: &Value<'js>, limit: usize) -> Option<(bool, Vec<Value<'js>>, usize)> {
        /// Mirror of `struct list_head` (list.h).
        #[repr(C)]
        struct ListHead {
            prev: *mut ListHead,
            next: *mut ListHead,
        }
        /// Mirror of `JSMapRecord` (quickjs.c).
        #[repr(C)]
        struct MapRecord {
            ref_count: i32,
            empty: bool,
            map: *mut c_void,
            link: ListHead,
            hash_link: ListHead,
            key: qjs::JSValue,
            value: qjs::JSValue,
        }
        /// Mirror of the head of `JSMapState` (quickjs.c).
        #[repr(C)]
        struct MapState {
            is_weak: bool,
            records: ListHead,
            record_count: u32,
        }
        /// Mirror of `JSMapIteratorData` (quickjs.c); `kind` is `JSIteratorKindEnum`.
        #[repr(C)]
        struct MapIteratorData {
            obj: qjs::JSValue,
            kind: i32,
            cur_record: *mut MapRecord,
        }
        /// `JS_ITERATOR_KIND_KEY`, `_VALUE`, `_KEY_AND_VALUE` (quickjs.c).
        const KIND_KEY: i32 = 0;
        const KIND_KEY_AND_VALUE: i32 = 2;
        let (iter_class, coll_class) = match self.class_id(v) {
            class_id::MAP_ITERATOR => (class_id::MAP_ITERATOR, class_id::MAP),
            class_id::SET_ITERATOR => (class_id::SET_ITERATOR, class_id::SET),
            _ => return None,
        };
        let is_set = coll_class == class_id::SET;
        // SAFETY: `v` is a live object of class JS_CLASS_MAP_ITERATOR/SET_ITERATOR, whose
        // opaque pointer is its `JSMapIteratorData` (layout mirrored above), and `it.obj` is
        // undefined (iteration finished) or the live Map/Set it iterates, whose opaque pointer
        // is its `JSMapState`. No JS code runs during the walk (only reads, then
        // `JS_DupValue`), so the record list cannot change under us; records are only freed
        // once unlinked, and `cur_record` holds a reference that keeps its record alive (its
        // `link.next` is still valid, the engine's own `next` relies on the same). The walk
        // ends at the list head or after the map's record count (plus deleted records, which
        // the count leaves out, bounded by a hard cap).
        unsafe {
            let it = qjs::JS_GetOpaque(v.as_raw(), iter_class) as *const MapIteratorData;
            if it.is_null() {
                return None;
            }
            let pairs = (*it).kind == KIND_KEY_AND_VALUE;
            let mut out = Vec::new();
            if !qjs::JS_IsObject((*it).obj) {
                return Some((pairs, out, 0));
            }
            let state = qjs::JS_GetOpaque((*it).obj, coll_class) as *const MapState;
            if state.is_null() {
                return Some((pairs, out, 0));
            }
            let head = std::ptr::addr_of!((*state).records) as *mut ListHead;
            let mut el = if (*it).cur_record.is_null() { (*head).next } else { (*(*it).cur_record).link.next };
            let cap = ((*state).record_count as usize).saturating_mul(2).saturating_add(1_000_000);
            let (mut left, mut steps) = (0usize, 0usize);
            while !el.is_null() && el != head && steps < cap {
                steps += 1;
                // `link` is a field of the record: step back to the record's start.
                let mr = (el as *mut u8).sub(std::mem::offset_of!(MapRecord, link)) as *const MapRecord;
                if !(*mr).empty {
                    if left < limit {
                        let key = (*mr).key;
                        let value = if is_set { key } else { (*mr).value };
                        let dup = |x: qjs::JSValue| self.own(qjs::JS_DupValue(self.p, x));
                        if pairs {
                            out.push(dup(key));
                            out.push(dup(value));
                        } else if (*it).kind == KIND_KEY {
                            out.push(dup(key));
                        } else {
                            out.push(dup(value));
                        }
                    }
                    left += 1;
                }
                el = (*el).next;
            }
            Some((pairs, out, left))
        }
    }

    /// The UTF-16 code units of a string value (the whole string).
    pub(crate) fn string_units(&self, s: &Value<'js>) -> Vec<u16> {
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
    pub(crate) fn lossy(&self, s: &Value<'js>) -> String {
        String::from_utf16_lossy(&self.string_units(s))
    }

    /// `Symbol(description)` for a symbol value, or a symbol-keyed atom.
    pub(crate) fn symbol_string_atom(&self, atom: qjs::JSAtom) -> String {
        // SAFETY: JS_AtomToString returns a new reference (the description for symbols).
        match self.checked(unsafe { qjs::JS_AtomToString(self.p, atom) }) {
            Some(d) => format!("Symbol({})", self.lossy(&d)),
            None => "Symbol()".to_string(),
        }
    }

    pub(crate) fn symbol_string(&self, sym: &Value<'js>) -> String {
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

    pub(crate) fn atom_is_symbol(&self, atom: qjs::JSAtom) -> bool {
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

    pub(crate) fn number(&self, v: &Value<'js>) -> Option<f64> {
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
pub(crate) fn wtf8_to_utf16(b: &[u8]) -> Vec<u16> {
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
