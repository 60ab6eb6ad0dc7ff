//! The inspector: state, primitives, dispatch by kind (`formatValue`/`formatRaw`) and properties.

use super::*;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Extras {
    Object,
    Array,
}

/// A key to render: an own property (by atom) or a synthetic entry (`byteLength`, ...).
pub(crate) enum EntryKey<'js> {
    Own(Key<'js>),
    Synthetic(&'static str, Value<'js>),
}

pub(crate) struct Inspector<'a, 'js> {
    pub(crate) r: Raw<'js>,
    pub(crate) intr: Option<&'a Intrinsics<'js>>,
    pub(crate) opts: InspectOptions,
    pub(crate) depth: usize,
    pub(crate) seen: Vec<*mut c_void>,
    pub(crate) circular: HashMap<*mut c_void, usize>,
    pub(crate) indentation_lvl: usize,
    pub(crate) current_depth: usize,
    pub(crate) emitted: usize,
    pub(crate) exhausted: bool,
    /// Console mode (inside the guest's own run): a `Symbol.toStringTag` getter may be called,
    /// as Node does. Off for host-side rendering.
    pub(crate) guest: bool,
    pub(crate) a_constructor: Option<Atom<'js>>,
    pub(crate) a_name: Option<Atom<'js>>,
    pub(crate) a_prototype: Option<Atom<'js>>,
    pub(crate) a_length: Option<Atom<'js>>,
    pub(crate) a_message: Option<Atom<'js>>,
    pub(crate) a_stack: Option<Atom<'js>>,
    pub(crate) a_cause: Option<Atom<'js>>,
    pub(crate) a_errors: Option<Atom<'js>>,
    pub(crate) a_done: Option<Atom<'js>>,
    pub(crate) a_value: Option<Atom<'js>>,
    pub(crate) a_tag: Option<Atom<'js>>,
}

impl<'a, 'js> Inspector<'a, 'js> {
    pub(crate) fn new(ctx: &Ctx<'js>, intr: Option<&'a Intrinsics<'js>>, opts: &InspectOptions) -> Self {
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
            guest: false,
        }
    }

    pub(crate) fn stylize(&self, s: &str, style: Style) -> String {
        stylize_with(self.opts.colors, s, style)
    }

    /// Accounts for produced output; flips `exhausted` once the cap is reached.
    pub(crate) fn emit(&mut self, s: String) -> String {
        self.emitted += s.len();
        if self.emitted > MAX_OUTPUT {
            self.exhausted = true;
        }
        s
    }

    pub(crate) fn data(&self, obj: &Value<'js>, atom: &Option<Atom<'js>>) -> Option<Value<'js>> {
        atom.as_ref().and_then(|a| self.r.data_prop(obj, a))
    }

    /// A data property looked up along the prototype chain (stops at accessors / proxies).
    pub(crate) fn data_in_chain(&self, obj: &Value<'js>, atom: &Option<Atom<'js>>) -> Option<Value<'js>> {
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

    pub(crate) fn string_of(&self, v: &Value<'js>) -> Option<String> {
        if v.is_string() {
            Some(self.r.lossy(v))
        } else {
            None
        }
    }

    /// String units of a string value, cut to `max` units; returns (units, total length).
    pub(crate) fn string_prefix(&self, s: &Value<'js>, max: usize) -> (Vec<u16>, usize) {
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

    pub(crate) fn format_number(&self, v: &Value<'js>) -> String {
        let n = self.r.number(v).unwrap_or(f64::NAN);
        let s = if n == 0.0 && n.is_sign_negative() { "-0".to_string() } else { self.r.lossy(v) };
        self.stylize(&s, Style::Number)
    }

    pub(crate) fn format_bigint(&self, v: &Value<'js>) -> String {
        let s = format!("{}n", self.r.lossy(v));
        self.stylize(&s, Style::BigInt)
    }

    pub(crate) fn format_string(&self, v: &Value<'js>) -> String {
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

    pub(crate) fn format_primitive(&self, v: &Value<'js>) -> String {
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

    pub(crate) fn format_value(&mut self, v: &Value<'js>, recurse_times: usize, typed_array: bool) -> String {
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
    pub(crate) fn constructor_name(
        &mut self,
        obj: &Value<'js>,
        recurse_times: usize,
        nesting: usize,
    ) -> Option<String> {
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
    pub(crate) fn is_instance(&self, obj: &Value<'js>, ctor: &Value<'js>) -> bool {
        let Some(proto) = self.data(ctor, &self.a_prototype) else {
            return false;
        };
        if !self.r.is_object(&proto) {
            return false;
        }
        self.chain_contains(obj, &proto)
    }

    pub(crate) fn chain_contains(&self, obj: &Value<'js>, target: &Value<'js>) -> bool {
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
    pub(crate) fn to_string_tag(&self, obj: &Value<'js>) -> String {
        let Some(atom) = self.a_tag.as_ref() else {
            return String::new();
        };
        if let Prop::Data(_) = self.r.get_own(obj, atom.atom) {
            // Own: shown as a key if enumerable (any own one with `show_hidden`); Node only
            // uses it as the tag otherwise.
            let keys = self.r.own_keys(obj, !self.opts.show_hidden);
            if keys.iter().any(|k| k.atom.atom == atom.atom) {
                return String::new();
            }
        }
        if self.guest {
            // Node reads `value[Symbol.toStringTag]`, getters included.
            let mut p = obj.clone();
            for _ in 0..MAX_PROTO_WALK {
                match self.r.get_own(&p, atom.atom) {
                    Prop::Data(t) => return self.string_of(&t).unwrap_or_default(),
                    Prop::Accessor { getter, .. } => {
                        return self.r.call(&getter, obj, &[]).and_then(|t| self.string_of(&t)).unwrap_or_default();
                    }
                    Prop::Missing | Prop::Error => match self.r.proto(&p) {
                        Some(next) => p = next,
                        None => return String::new(),
                    },
                }
            }
            return String::new();
        }
        self.data_in_chain(obj, &self.a_tag).and_then(|t| self.string_of(&t)).unwrap_or_default()
    }

    /// Splits own enumerable keys into (index keys, other keys, count of other keys beyond
    /// the limit).
    pub(crate) fn split_keys(&self, keys: Vec<Key<'js>>) -> (Vec<u32>, Vec<Key<'js>>) {
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

    pub(crate) fn format_raw(&mut self, value: &Value<'js>, recurse_times: usize, typed_array: bool) -> String {
        let r_cls = self.r.class_id(value);
        let constructor = self.constructor_name(value, recurse_times, 0);
        let tag = self.to_string_tag(value);
        let mut base = String::new();
        let mut braces: [String; 2] = ["{".to_string(), "}".to_string()];
        let mut extras = Extras::Object;
        let mut keys: Vec<EntryKey<'js>> = Vec::new();
        let mut more_keys = 0usize;
        let mut numeric_group = false;

        enum Fmt<'v> {
            None,
            Array {
                length: u64,
                indices: Vec<u32>,
            },
            Set,
            Map,
            Typed {
                length: usize,
            },
            ArrayBuffer,
            Promise,
            Weak,
            ItemsUnknown,
            /// A Map/Set iterator's preview: pairs?, the values read, the entries left.
            Iter(bool, Vec<Value<'v>>, usize),
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
            let (indices, other) = self.split_keys(self.r.own_keys(value, !self.opts.show_hidden));
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
            let list = self.r.own_keys(value, !self.opts.show_hidden);
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
                let (_, other) = self.split_keys(self.r.own_keys(value, !self.opts.show_hidden));
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
            let list = self.r.own_keys(value, !self.opts.show_hidden);
            let is_fn = self.r.is_function(value);
            let preview = self.r.map_iterator_preview(value, self.opts.max_array_length);
            if r_cls == class_id::STRING {
                // Boxed strings: drop the index keys.
                let (_, other) = self.split_keys(list);
                push_keys(self, other, &mut keys, &mut more_keys);
            } else {
                push_keys(self, list, &mut keys, &mut more_keys);
            }
            if let Some((pairs, items, left)) = preview {
                // Node's getIteratorBraces: `[Map Iterator] {`, `[Set Entries] {`, a custom
                // tag before it.
                let kind = if r_cls == class_id::MAP_ITERATOR { "Map" } else { "Set" };
                let own_tag = format!("{kind} Iterator");
                let mut t = tag.clone();
                if t != own_tag {
                    if !t.is_empty() {
                        t.push_str("] [");
                    }
                    t.push_str(&own_tag);
                }
                if pairs {
                    t = format!("{} Entries", t.strip_suffix(" Iterator").unwrap_or(&t));
                }
                braces[0] = format!("[{t}] {{");
                formatter = Fmt::Iter(pairs, items, left);
            } else if is_fn {
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
            Fmt::Iter(pairs, items, left) => self.format_iterator_preview(pairs, &items, left, recurse_times),
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

    pub(crate) fn is_error(&self, value: &Value<'js>) -> bool {
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
    pub(crate) fn all_numeric(&self, value: &Value<'js>, n: usize) -> bool {
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
    pub(crate) fn format_property(
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
}
