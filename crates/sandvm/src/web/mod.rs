//! Host-backed web APIs of the capability packs: `URL`/`URLSearchParams` on the `url` crate
//! (the WHATWG URL parser of Servo, with IDNA) and `TextEncoder`/`TextDecoder` on `encoding_rs`
//! (every encoding of the WHATWG Encoding standard, streaming, exact replacement).
//!
//! Each pack is a JavaScript prelude that builds the WebIDL face (prototype accessors, brand
//! checks through private fields, `Symbol.toStringTag`) and receives the host functions it needs
//! as arguments: they are never globals. The Rust state behind an object (a parsed URL, a
//! streaming decoder) lives in an inert class object with a null prototype, kept in a private
//! field: guest code cannot reach it, and the garbage collector frees it with its owner.

pub(crate) mod encoding;
pub(crate) mod url;

use rquickjs::class::{JsClass, Trace, Tracer, Writable};
use rquickjs::{Class, Ctx, Exception, Value};

/// Rust state held by an inert guest object (`T` owns no JavaScript value).
pub(crate) struct Host<T: 'static>(pub(crate) T);

impl<'js, T: 'static> Trace<'js> for Host<T> {
    fn trace<'a>(&self, _tracer: Tracer<'a, 'js>) {}
}

// SAFETY: `Host<T>` holds no JavaScript value and no `'js` lifetime (`T: 'static`), so
// changing the lifetime parameter changes nothing.
unsafe impl<'js, T: 'static> rquickjs::JsLifetime<'js> for Host<T> {
    type Changed<'to> = Host<T>;
}

impl<'js, T: 'static> JsClass<'js> for Host<T> {
    const NAME: &'static str = "HostState";
    type Mutable = Writable;

    fn prototype(_ctx: &Ctx<'js>) -> rquickjs::Result<Option<rquickjs::Object<'js>>> {
        Ok(None)
    }

    fn constructor(_ctx: &Ctx<'js>) -> rquickjs::Result<Option<rquickjs::function::Constructor<'js>>> {
        Ok(None)
    }
}

/// The state behind `v`, or a `TypeError` if `v` is not a state object of this kind.
pub(crate) fn state<'js, T: 'static>(ctx: &Ctx<'js>, v: &Value<'js>) -> rquickjs::Result<Class<'js, Host<T>>> {
    Class::<Host<T>>::from_value(v).map_err(|_| Exception::throw_type(ctx, "Illegal invocation"))
}

/// A guest string as a Rust string, lone surrogates replaced by U+FFFD (WebIDL's USVString).
pub(crate) fn usv(ctx: &Ctx<'_>, v: &Value<'_>) -> String {
    crate::raw::to_string_lossy(ctx, v)
}
