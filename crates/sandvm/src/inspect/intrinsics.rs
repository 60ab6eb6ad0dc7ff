//! Original native builtins captured before any guest code runs, and the trusted lockdown getters.

use super::*;

/// Original native builtins captured on a fresh context, stored in the runtime's userdata.
/// All of these are C functions of the engine that never call back into JS code when given
/// the receivers we give them.
#[derive(Default)]
pub(crate) struct Intrinsics<'js> {
    pub(crate) map_entries: Option<Value<'js>>,
    pub(crate) map_iter_next: Option<Value<'js>>,
    pub(crate) map_size: Option<Value<'js>>,
    pub(crate) set_values: Option<Value<'js>>,
    pub(crate) set_iter_next: Option<Value<'js>>,
    pub(crate) set_size: Option<Value<'js>>,
    pub(crate) date_get_time: Option<Value<'js>>,
    pub(crate) date_to_iso: Option<Value<'js>>,
    pub(crate) re_source: Option<Value<'js>>,
    pub(crate) re_flags: Vec<(char, Value<'js>)>,
    pub(crate) fn_to_string: Option<Value<'js>>,
    pub(crate) error_stack: Option<Value<'js>>,
    pub(crate) error_proto: Option<Value<'js>>,
    pub(crate) number_value_of: Option<Value<'js>>,
    pub(crate) string_value_of: Option<Value<'js>>,
    pub(crate) boolean_value_of: Option<Value<'js>>,
    pub(crate) bigint_value_of: Option<Value<'js>>,
    pub(crate) symbol_value_of: Option<Value<'js>>,
    pub(crate) to_string_tag: Option<Value<'js>>,
    pub(crate) string_substring: Option<Value<'js>>,
    pub(crate) parse_int: Option<Value<'js>>,
    pub(crate) parse_float: Option<Value<'js>>,
    pub(crate) dataview_byte_length: Option<Value<'js>>,
    pub(crate) dataview_byte_offset: Option<Value<'js>>,
    pub(crate) dataview_buffer: Option<Value<'js>>,
    pub(crate) typed_array_length: Option<Value<'js>>,
    pub(crate) array_buffer_detached: Option<Value<'js>>,
    pub(crate) array_buffer_resizable: Option<Value<'js>>,
}

// SAFETY: `Intrinsics<'js>` only holds `Value<'js>`s, whose lifetime is the only lifetime
// parameter; changing it is exactly what `Value`'s own `JsLifetime` impl does.
unsafe impl<'js> JsLifetime<'js> for Intrinsics<'js> {
    type Changed<'to> = Intrinsics<'to>;
}

/// Getters made by the host's own lockdown (see `lockdown.rs`), which return a captured value
/// and run no guest code. Kept alive here so their identity cannot be reused.
pub(crate) struct TrustedGetters<'js>(std::cell::RefCell<Vec<Value<'js>>>);

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

pub(crate) fn is_trusted_getter<'js>(ctx: &Ctx<'js>, getter: &Value<'js>) -> bool {
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

pub(crate) fn capture<'js>(r: &Raw<'js>) -> Intrinsics<'js> {
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
