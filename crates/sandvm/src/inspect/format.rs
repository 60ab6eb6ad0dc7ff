//! `util.format`: placeholders, number conversions and the safe JSON of `%j`.
//!
//! Two modes. Hook-free (`guest == false`): no guest code runs, objects are only inspected.
//! Console (`guest == true`, inside the guest's own run and under its limits): like Node,
//! `%s` calls a user-defined `toString`/`Symbol.toPrimitive` and prints functions as their
//! source, `%d`/`%i`/`%f` convert objects with `valueOf`/`toString`, and `%j` is the engine's
//! `JSON.stringify` (`toJSON` and getters run). A guest exception in any of these is dropped and
//! the hook-free rendering is used instead.

use super::*;
use rquickjs::Object;

/// Names of the global constructors Node counts as built-in (its `builtInObjects`) for `%s`.
const BUILTIN_CTORS: &[&str] = &[
    "Object",
    "Function",
    "Array",
    "Number",
    "Boolean",
    "String",
    "Symbol",
    "Date",
    "Promise",
    "RegExp",
    "Error",
    "AggregateError",
    "EvalError",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    "TypeError",
    "URIError",
    "ArrayBuffer",
    "Uint8Array",
    "Int8Array",
    "Uint16Array",
    "Int16Array",
    "Uint32Array",
    "Int32Array",
    "Float32Array",
    "Float64Array",
    "Uint8ClampedArray",
    "BigUint64Array",
    "BigInt64Array",
    "DataView",
    "Map",
    "BigInt",
    "Set",
    "WeakMap",
    "WeakSet",
    "Proxy",
    "Reflect",
    "SharedArrayBuffer",
    "WeakRef",
    "FinalizationRegistry",
    "Iterator",
];

/// Node's `hasBuiltInToString`: false when `%s` should call the object's own conversion.
/// May run guest getters (console mode only).
fn has_builtin_to_string<'js>(ctx: &Ctx<'js>, r: &Raw<'js>, v: &Value<'js>) -> bool {
    if r.is_proxy(v) {
        return true;
    }
    let Some(obj) = v.as_object() else { return true };
    // An own Symbol.toPrimitive is a custom conversion (Date's inherited one is not).
    // (Console mode runs in the guest's realm: the global `Symbol` is the guest's.)
    let to_prim = ctx.globals().get::<_, Object>("Symbol").and_then(|s| s.get::<_, Value>("toPrimitive"));
    if to_prim.is_err() {
        let _ = ctx.catch();
    }
    if let Some(sym) = to_prim.ok().filter(Value::is_symbol) {
        // SAFETY: JS_ValueToAtom on a live symbol value returns a new atom reference, which the
        // `Atom` wrapper frees on drop (0 means failure, with an exception pending).
        let atom = unsafe { qjs::JS_ValueToAtom(r.p, sym.as_raw()) };
        if atom == 0 {
            r.clear_exception();
        } else {
            let atom = Atom { p: r.p, atom, _marker: PhantomData };
            if matches!(r.get_own(v, atom.atom), Prop::Data(_) | Prop::Accessor { .. }) {
                return false;
            }
        }
    }
    match obj.get::<_, Value>("toString") {
        Ok(f) if f.is_function() => {}
        Ok(_) => return true,
        Err(_) => {
            let _ = ctx.catch();
            return true;
        }
    }
    let Some(ts) = r.atom("toString") else { return true };
    let Some(ctor_atom) = r.atom("constructor") else { return true };
    let mut p = v.clone();
    for step in 0..MAX_PROTO_WALK {
        if matches!(r.get_own(&p, ts.atom), Prop::Data(_) | Prop::Accessor { .. }) {
            if step == 0 {
                return false;
            }
            return match r.data_prop(&p, &ctor_atom) {
                Some(c) if r.is_function(&c) => {
                    let name = r.atom("name").and_then(|n| r.data_prop(&c, &n));
                    name.is_some_and(|n| n.is_string() && BUILTIN_CTORS.contains(&r.lossy(&n).as_str()))
                }
                _ => false,
            };
        }
        match r.proto(&p) {
            Some(next) => p = next,
            None => return true,
        }
    }
    true
}

/// `String(v)` in the guest (runs `toString`/`Symbol.toPrimitive`); `None` if it threw.
fn guest_string<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Option<String> {
    // SAFETY: live value of `ctx`; JS_ToString returns a new reference (or an exception).
    let s = unsafe { qjs::JS_ToString(ctx.as_raw().as_ptr(), v.as_raw()) };
    match crate::raw::wrap(ctx, s) {
        Ok(s) => Some(crate::raw::to_string_lossy(ctx, &s)),
        Err(_) => None,
    }
}

pub(crate) fn format_args_inner<'js>(
    ctx: &Ctx<'js>,
    intr: Option<&Intrinsics<'js>>,
    args: &[Value<'js>],
    guest: bool,
) -> String {
    let opts = InspectOptions::default();
    let r = Raw::new(ctx);
    let insp = |v: &Value<'js>, o: &InspectOptions| {
        let mut ins = Inspector::new(ctx, intr, o);
        ins.guest = guest;
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
                            let own = if guest
                                && (v.is_function() || (v.is_object() && !has_builtin_to_string(ctx, &r, v)))
                            {
                                guest_string(ctx, v)
                            } else {
                                None
                            };
                            if let Some(own) = own {
                                own
                            } else if v.is_object() {
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
                            let via_engine = if guest {
                                match crate::raw::json_stringify(ctx, &args[a]) {
                                    Ok(Some(s)) => Some(s),
                                    Ok(None) => Some("undefined".to_string()),
                                    Err(e) => {
                                        let msg = crate::raw::to_string_lossy(ctx, &e);
                                        msg.contains("circular").then(|| "[Circular]".to_string())
                                    }
                                }
                            } else {
                                None
                            };
                            if let Some(s) = via_engine {
                                s
                            } else {
                                let mut j =
                                    SafeJson { r: &r, intr, stack: Vec::new(), out: String::new(), circular: false };
                                j.value(&args[a], true);
                                if j.circular {
                                    "[Circular]".to_string()
                                } else if j.out.is_empty() {
                                    "undefined".to_string()
                                } else {
                                    j.out
                                }
                            }
                        }
                        b'd' if next < 0x80 => {
                            a += 1;
                            number_conv(ctx, &r, intr, &args[a], NumConv::Number, guest)
                        }
                        b'i' if next < 0x80 => {
                            a += 1;
                            number_conv(ctx, &r, intr, &args[a], NumConv::Int, guest)
                        }
                        b'f' if next < 0x80 => {
                            a += 1;
                            number_conv(ctx, &r, intr, &args[a], NumConv::Float, guest)
                        }
                        b'O' if next < 0x80 => {
                            a += 1;
                            insp(&args[a], &opts)
                        }
                        b'o' if next < 0x80 => {
                            a += 1;
                            insp(&args[a], &InspectOptions { depth: 4, show_hidden: true, ..opts })
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

pub(crate) enum NumConv {
    Number,
    Int,
    Float,
}

/// `%d` / `%i` / `%f`. Objects give `NaN` in hook-free mode; in console mode they are converted
/// like Node does (`Number(v)` for `%d`, `parseInt`/`parseFloat` of `String(v)` otherwise).
pub(crate) fn number_conv<'js>(
    ctx: &Ctx<'js>,
    r: &Raw<'js>,
    intr: Option<&Intrinsics<'js>>,
    v: &Value<'js>,
    kind: NumConv,
    guest: bool,
) -> String {
    if guest && v.is_object() {
        let prim = match kind {
            NumConv::Number => {
                let mut d = 0.0f64;
                // SAFETY: live value of `ctx`; ToNumber may run guest `valueOf` (console mode runs
                // inside the guest's run); an exception is taken off below.
                let rc = unsafe { qjs::JS_ToFloat64(r.p, &mut d, v.as_raw()) };
                if rc < 0 {
                    let _ = ctx.catch();
                    None
                } else {
                    Some(Value::new_float(ctx.clone(), d))
                }
            }
            _ => guest_string(ctx, v)
                .map(|s| rquickjs::String::from_str(ctx.clone(), &s).map(|s| s.into_value()))
                .and_then(|x| x.ok()),
        };
        return match prim {
            Some(p) => number_conv(ctx, r, intr, &p, kind, false),
            None => "NaN".to_string(),
        };
    }
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
pub(crate) struct SafeJson<'a, 'js> {
    pub(crate) r: &'a Raw<'js>,
    pub(crate) intr: Option<&'a Intrinsics<'js>>,
    pub(crate) stack: Vec<*mut c_void>,
    pub(crate) out: String,
    pub(crate) circular: bool,
}

impl<'js> SafeJson<'_, 'js> {
    pub(crate) fn quote(&mut self, units: &[u16]) {
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
    pub(crate) fn value(&mut self, v: &Value<'js>, _top: bool) -> bool {
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
