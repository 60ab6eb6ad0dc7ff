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

mod format;
mod inspector;
mod intrinsics;
mod kinds;
mod layout;
mod raw;
#[cfg(test)]
mod tests;
mod text;

use format::*;
use inspector::*;
use intrinsics::*;
use raw::*;
use text::*;

pub use intrinsics::{install, trust_getters};
pub(crate) use raw::{class_id, Prop, Raw};

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
    /// Also list non-enumerable own properties, as `[key]: value` (Node's `showHidden`, which
    /// `%o` turns on; default `false`). Node's extra entries for typed arrays and buffers
    /// (`[BYTES_PER_ELEMENT]`, ...) and V8's own `arguments`/`caller` function properties
    /// are not shown.
    pub show_hidden: bool,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            depth: 2,
            colors: false,
            max_array_length: 100,
            max_string_length: 10_000,
            break_length: 80,
            show_hidden: false,
        }
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
/// and hidden properties ([`InspectOptions::show_hidden`]).
// The hook-free variant: no caller in the library since console formatting runs in the guest
// (`format_console_args`); kept for host-side rendering and exercised by the unit tests.
#[cfg_attr(not(test), allow(dead_code))]
pub fn format_args<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let guard = ctx.userdata::<Intrinsics>();
    let intr: Option<&Intrinsics<'js>> = guard.as_deref();
    let run = std::panic::AssertUnwindSafe(|| format_args_inner(ctx, intr, args, false));
    std::panic::catch_unwind(run).unwrap_or_else(|_| "[object]".to_string())
}

/// `console.log` formatting, called from inside the guest's own run: like [`format_args`], but
/// as in Node `%s` uses a user-defined `toString` (and prints functions as their source),
/// `%d`/`%i`/`%f` convert objects, and `%j` runs `toJSON`. Guest code may run here, under the
/// run's limits; a guest exception falls back to the hook-free rendering.
pub(crate) fn format_console_args<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let guard = ctx.userdata::<Intrinsics>();
    let intr: Option<&Intrinsics<'js>> = guard.as_deref();
    let run = std::panic::AssertUnwindSafe(|| format_args_inner(ctx, intr, args, true));
    std::panic::catch_unwind(run).unwrap_or_else(|_| "[object]".to_string())
}
