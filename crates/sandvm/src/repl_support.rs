//! What an interactive shell (`sandvm-repl`) needs from the engine, as safe APIs: evaluating a
//! line so that its real completion value is bound to `_` (an uncaught error to `_error`) and
//! rendered, and listing property names for completion without running guest code.
//!
//! A line runs inside the sandbox through a bridge function on the guest's global object
//! ([`ReplBridge::NAME`]: non-writable, non-enumerable, non-configurable, and callable only
//! while the host has armed it), so it runs under the runtime's limits like any other run.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rquickjs::function::This;
use rquickjs::{qjs, Ctx, Exception, Function, Object, Value};
use serde_json::json;

use crate::inspect::{class_id, InspectOptions, Prop, Raw};
use crate::raw;
use crate::script::{compile, SourceKind};
use crate::{Context, Error, Result};

/// What evaluating one REPL line produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplLine {
    /// The line ran; its completion value rendered like `util.inspect`.
    Value(String),
    /// The line does not parse, so nothing ran. [`Context::eval_with`] on the same source
    /// gives the exact [`Error::Syntax`] (it also tells whether the input is merely
    /// incomplete) without running anything.
    SyntaxError,
}

/// State shared between the host and the bridge function inside the sandbox.
#[derive(Debug)]
struct Slot {
    /// Set by the host right before it calls the bridge; the bridge clears it on entry, so
    /// the guest can never call the bridge itself (not even from inside a line).
    armed: Cell<bool>,
    /// What the last bridge call produced.
    outcome: RefCell<Option<ReplLine>>,
    /// How values are rendered.
    inspect: InspectOptions,
}

/// The REPL's evaluator for one session: evaluates lines as global scripts (so `let`,
/// `const` and `class` declarations persist, like in node's REPL), keeps the real last value
/// in `_` (same object, functions included) and the last uncaught error in `_error`.
///
/// One bridge serves the contexts it is used with; it puts its function on a context the
/// first time it evaluates there (and again after the core rebuilt a spent context).
#[derive(Debug)]
pub struct ReplBridge {
    slot: Rc<Slot>,
}

impl ReplBridge {
    /// Name of the bridge function on the guest's global object. Completion never offers it;
    /// a REPL may hide stack frames that name it.
    pub const NAME: &'static str = "__sandvm_repl__";

    /// A bridge that renders values with `inspect`.
    pub fn new(inspect: InspectOptions) -> ReplBridge {
        ReplBridge { slot: Rc::new(Slot { armed: Cell::new(false), outcome: RefCell::new(None), inspect }) }
    }

    /// Puts the bridge function on `ctx`'s global object unless it is already there, and
    /// records it in the context's setup, so that the core puts it back whenever it rebuilds
    /// the context on a fresh engine. Returns `true` when it was put there now.
    ///
    /// # Errors
    /// [`Error::EngineInit`] when the context cannot be set up or the function cannot be defined
    /// (say, the global object was made non-extensible); a limit error when the runtime is
    /// spent or saturated.
    pub fn install(&self, ctx: &Context) -> Result<bool> {
        if ctx.run_with_engine(has_bridge)? {
            return Ok(false);
        }
        let slot = self.slot.clone();
        let mode = Mode { strict: ctx.options().strict, eval_enabled: ctx.options().intrinsics.eval };
        let install: crate::context::Native = Rc::new(move |c| {
            if has_bridge(c) {
                return Ok(());
            }
            define_bridge(c, slot.clone(), mode).map_err(|e| {
                let _ = c.catch();
                Error::init("the REPL", e)
            })
        });
        ctx.add_native_setup(Self::NAME, install)?;
        Ok(true)
    }

    /// Evaluates one line in `ctx` as a global script (an async one with
    /// `top_level_await`), under the runtime's limits.
    ///
    /// # Errors
    /// As [`Context::eval`] for what the line does when it runs ([`Error::Exception`] for an
    /// uncaught error, which is also bound to `_error`; a limit), and as
    /// [`ReplBridge::install`].
    pub fn eval_line(&self, ctx: &Context, source: &str, filename: &str, top_level_await: bool) -> Result<ReplLine> {
        self.eval_js_line(ctx, source, filename, top_level_await)
    }

    /// [`ReplBridge::eval_line`] of a line in `language`. TypeScript has its types stripped
    /// first (a line that does not parse is [`ReplLine::SyntaxError`], and
    /// [`Context::eval_with`] with the same language gives the exact error, TypeScript
    /// positions and `incomplete_input` included); errors of the running line point into
    /// the TypeScript line.
    ///
    /// # Errors
    /// As [`ReplBridge::eval_line`]; [`Error::Host`] for TypeScript without the `typescript`
    /// cargo feature.
    pub fn eval_line_in(
        &self,
        ctx: &Context,
        source: &str,
        filename: &str,
        top_level_await: bool,
        language: crate::Language,
    ) -> Result<ReplLine> {
        match language {
            crate::Language::JavaScript => self.eval_js_line(ctx, source, filename, top_level_await),
            #[cfg(feature = "typescript")]
            crate::Language::TypeScript => {
                let out = match crate::language::transpile_script(source, filename, top_level_await) {
                    Ok(out) => out,
                    Err(Error::Syntax { .. }) => return Ok(ReplLine::SyntaxError),
                    Err(e) => return Err(e),
                };
                self.eval_js_line(ctx, &out.code, filename, top_level_await)
                    .map_err(|e| crate::language::remap(e, &out.map, filename))
            }
            #[cfg(not(feature = "typescript"))]
            crate::Language::TypeScript => Err(crate::language::unavailable()),
        }
    }

    fn eval_js_line(&self, ctx: &Context, source: &str, filename: &str, top_level_await: bool) -> Result<ReplLine> {
        self.install(ctx)?;
        *self.slot.outcome.borrow_mut() = None;
        self.slot.armed.set(true);
        let r = ctx.call(Self::NAME, &[json!(source), json!(filename), json!(top_level_await)]);
        self.slot.armed.set(false);
        let outcome = self.slot.outcome.borrow_mut().take();
        match (r, outcome) {
            (Ok(_), Some(line)) => Ok(line),
            (Ok(c), None) => Ok(ReplLine::Value(c.display)),
            (Err(e), _) => Err(e),
        }
    }
}

impl Context {
    /// Names of the properties reachable from the value that `path` (dotted identifiers
    /// from the global object, e.g. `["Math"]`) resolves to: own string-keyed properties
    /// first, then up the prototype chain, unsorted and possibly repeated. Empty when the
    /// path cannot be resolved without running guest code.
    ///
    /// Nothing in the sandbox runs: names are resolved through own *data* properties only
    /// (a getter or a Proxy on the way ends the walk), and a top-level `let`/`const`/`class`
    /// binding is read only when the context has the `eval` intrinsic and the global object
    /// and its whole prototype chain are plain objects without that name. Long arrays,
    /// typed arrays and `String` objects contribute only `length`. [`ReplBridge::NAME`] is
    /// never listed.
    ///
    /// # Errors
    /// [`Error::EngineInit`] when the context cannot be set up, [`Error::Reentrant`] when it is
    /// already running; a limit
    /// error when the runtime is spent or saturated.
    pub fn property_names(&self, path: &[String]) -> Result<Vec<String>> {
        let lexical = self.options().intrinsics.eval;
        let mut names = self.run_with_engine(|c| property_names(c, path, lexical))?;
        names.retain(|n| n != ReplBridge::NAME);
        Ok(names)
    }
}

// ---------------------------------------------------------------------------------------
// The bridge
// ---------------------------------------------------------------------------------------

/// How the bridge compiles.
#[derive(Debug, Clone, Copy)]
struct Mode {
    strict: bool,
    /// The context has the `eval` intrinsic, so it can parse for itself; otherwise the
    /// per-thread compiler makes bytecode that is loaded into the context's realm.
    eval_enabled: bool,
}

/// True when the bridge is already defined on this context's global object.
fn has_bridge(ctx: &Ctx<'_>) -> bool {
    let global = ctx.globals();
    matches!(own_data(ctx, global.as_value(), ReplBridge::NAME), Own::Data(v) if v.is_function())
}

/// Defines the bridge `(source, filename, tla)` on the global object of `ctx`.
fn define_bridge<'js>(ctx: &Ctx<'js>, slot: Rc<Slot>, mode: Mode) -> rquickjs::Result<()> {
    let bridge = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, source: String, filename: String, tla: bool| -> rquickjs::Result<Value<'js>> {
            bridge_call(&ctx, &slot, mode, &source, &filename, tla)
        },
    )?;
    let name = raw::c_name(ReplBridge::NAME);
    let global = ctx.globals();
    let p = ctx.as_raw().as_ptr();
    // SAFETY: `p` is the live context of `global` and `bridge`; JS_DefinePropertyValueStr
    // takes ownership of the value it is given, so it gets a fresh reference (dup) and ours
    // is freed when `bridge` drops. Without WRITABLE/ENUMERABLE/CONFIGURABLE flags the guest
    // can neither replace nor delete the property; `name` outlives the call.
    let rc = unsafe {
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

/// Why compiling failed.
enum CompileFail<'js> {
    /// A syntax error (or any failure of the parser, e.g. out of memory): nothing ran.
    Syntax,
    /// Another exception, taken off the context.
    Other(Value<'js>),
}

/// Compiles `source` as a global script of `ctx`'s realm without running it.
fn compile_line<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    filename: &str,
    tla: bool,
    mode: Mode,
) -> std::result::Result<Value<'js>, CompileFail<'js>> {
    if !mode.eval_enabled {
        let kind = if tla { SourceKind::AsyncScript } else { SourceKind::Script };
        let bytes = compile(source, filename, mode.strict, kind).map_err(|_| CompileFail::Syntax)?;
        return raw::read_bytecode(ctx, &bytes).map_err(CompileFail::Other);
    }
    let mut flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    if tla {
        flags |= qjs::JS_EVAL_FLAG_ASYNC as i32;
    }
    if mode.strict {
        flags |= qjs::JS_EVAL_FLAG_STRICT as i32;
    }
    match raw::eval(ctx, source, filename, flags) {
        Ok(f) => Ok(f),
        Err(e) if is_syntax_error(&e) => Err(CompileFail::Syntax),
        Err(e) => Err(CompileFail::Other(e)),
    }
}

fn is_syntax_error(e: &Value<'_>) -> bool {
    e.is_error()
        && e.as_object().and_then(|o| o.get::<_, Option<String>>("name").ok().flatten()).as_deref()
            == Some("SyntaxError")
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

/// `globalThis._ = v`, and renders `v` into the slot.
fn record_value<'js>(ctx: &Ctx<'js>, slot: &Slot, v: Value<'js>) {
    if ctx.globals().set("_", v.clone()).is_err() {
        let _ = ctx.catch();
    }
    let shown = crate::inspect::inspect(ctx, &v, &slot.inspect);
    *slot.outcome.borrow_mut() = Some(ReplLine::Value(shown));
}

/// The bridge: compiles the line, runs it, stores the completion value in `_` (an uncaught
/// error in `_error`) and renders it into the slot. With `tla` the script is async and the
/// bridge returns its promise (which the core awaits).
fn bridge_call<'js>(
    ctx: &Ctx<'js>,
    slot: &Rc<Slot>,
    mode: Mode,
    source: &str,
    filename: &str,
    tla: bool,
) -> rquickjs::Result<Value<'js>> {
    if !slot.armed.replace(false) {
        return Err(Exception::throw_type(ctx, "this function is reserved for the REPL"));
    }
    let undefined = Value::new_undefined(ctx.clone());
    let func = match compile_line(ctx, source, filename, tla, mode) {
        Ok(f) => f,
        Err(CompileFail::Syntax) => {
            *slot.outcome.borrow_mut() = Some(ReplLine::SyntaxError);
            return Ok(undefined);
        }
        Err(CompileFail::Other(e)) => return Err(ctx.throw(e)),
    };
    let result = match raw::eval_function(ctx, &func) {
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
            Some(o) => data_value(&ctx, o),
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
fn data_value<'js>(ctx: &Ctx<'js>, o: &Object<'js>) -> Value<'js> {
    match own_data(ctx, o.as_value(), "value") {
        Own::Data(v) => v,
        _ => Value::new_undefined(ctx.clone()),
    }
}

// ---------------------------------------------------------------------------------------
// Completion: property names without running guest code (through inspect/raw.rs's descriptor
// walk, which never asks a Proxy and never calls a getter)
// ---------------------------------------------------------------------------------------

/// How far completion follows prototype chains.
const MAX_CHAIN: usize = 64;
/// Indexed objects longer than this contribute only `length`.
const MAX_INDEXED: f64 = 256.0;

/// What a lookup through own data properties found (of one object, or along a chain).
enum Own<'js> {
    /// A data property and its value.
    Data(Value<'js>),
    /// No such property (along a chain: and the whole chain was plain objects).
    Missing,
    /// An accessor (reading it would run a getter), a Proxy (a lookup would run a trap), a
    /// primitive, or a failed lookup.
    Blocked,
}

/// Looks up an own property of `obj` without running guest code.
fn own_data<'js>(ctx: &Ctx<'js>, obj: &Value<'js>, name: &str) -> Own<'js> {
    let r = Raw::new(ctx);
    if !r.is_object(obj) || r.is_proxy(obj) {
        return Own::Blocked;
    }
    let Some(atom) = r.atom(name) else { return Own::Blocked };
    match r.get_own(obj, atom.atom) {
        Prop::Data(v) => Own::Data(v),
        Prop::Missing => Own::Missing,
        Prop::Accessor { .. } | Prop::Error => Own::Blocked,
    }
}

/// The prototype of `v` (for primitives, their wrapper's prototype), or `None` at the end
/// of the chain, for a Proxy (whose `getPrototypeOf` trap is guest code) or on failure.
fn prototype<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Option<Value<'js>> {
    let r = Raw::new(ctx);
    if r.is_object(v) {
        return r.proto(v);
    }
    if v.is_null() || v.is_undefined() {
        return None;
    }
    // SAFETY: `v` is a live primitive of `ctx`: JS_GetPrototype returns a new reference to
    // the realm's intrinsic prototype for its type (no guest code runs), or JS_EXCEPTION,
    // which `wrap` turns into the pending exception taken off the context.
    let proto = unsafe { qjs::JS_GetPrototype(ctx.as_raw().as_ptr(), v.as_raw()) };
    match raw::wrap(ctx, proto) {
        Ok(p) if p.is_object() => Some(p),
        _ => None,
    }
}

/// Finds `name` on `start` or its prototype chain, through own data properties only.
fn lookup_chain<'js>(ctx: &Ctx<'js>, start: &Value<'js>, name: &str) -> Own<'js> {
    let r = Raw::new(ctx);
    let mut cur = if start.is_object() { Some(start.clone()) } else { prototype(ctx, start) };
    let mut steps = 0;
    while let Some(obj) = cur {
        steps += 1;
        if steps > MAX_CHAIN || r.is_proxy(&obj) {
            return Own::Blocked;
        }
        match own_data(ctx, &obj, name) {
            Own::Missing => {}
            found => return found,
        }
        cur = prototype(ctx, &obj);
    }
    Own::Missing
}

/// The value of a global lexical binding (`let`/`const`/`class` at top level are not
/// properties of the global object). Only called when the global object and its whole
/// prototype chain are plain objects without `name`, and `name` is a plain identifier, so
/// resolving it reads the binding and cannot reach guest code.
fn lexical_binding<'js>(ctx: &Ctx<'js>, name: &str) -> Option<Value<'js>> {
    if !is_plain_identifier(name) {
        return None;
    }
    raw::eval(ctx, name, "<completion>", qjs::JS_EVAL_TYPE_GLOBAL as i32).ok()
}

/// An identifier that is not a reserved word or literal (evaluating it only reads a binding).
fn is_plain_identifier(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "undefined",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "arguments",
        "eval",
    ];
    let mut chars = s.chars();
    let head_ok = matches!(chars.next(), Some(c) if c == '_' || c == '$' || c.is_alphabetic());
    head_ok && chars.all(|c| c == '_' || c == '$' || c.is_alphanumeric()) && !RESERVED.contains(&s)
}

/// Names of the own string-keyed properties of `obj` (not a Proxy). Long arrays, typed
/// arrays and String objects only contribute `length` (a huge array would make a huge list).
fn own_names<'js>(ctx: &Ctx<'js>, obj: &Value<'js>, out: &mut Vec<String>) {
    let r = Raw::new(ctx);
    let indexed = r.check(obj, qjs::JS_IsArray) || r.typed_array_type(obj) >= 0 || r.class_id(obj) == class_id::STRING;
    // Arrays, typed arrays and String objects have one own key per element. Short ones are
    // listed (`Array.prototype` and `String.prototype` are themselves such objects, empty).
    let long = indexed
        && match own_data(ctx, obj, "length") {
            Own::Data(n) => n.as_number().is_none_or(|n| n > MAX_INDEXED),
            _ => true,
        };
    if long {
        out.push("length".to_string());
        return;
    }
    for key in r.own_string_keys(obj) {
        out.push(String::from_utf16_lossy(&r.atom_units(key.atom.atom)));
    }
}

/// Property names reachable from the value `path` resolves to; see
/// [`Context::property_names`]. `lexical` allows resolving the first segment as a global
/// `let`/`const`/`class` binding (needs the `eval` intrinsic).
fn property_names(ctx: &Ctx<'_>, path: &[String], lexical: bool) -> Vec<String> {
    let r = Raw::new(ctx);
    let mut cur = ctx.globals().into_value();
    for (i, seg) in path.iter().enumerate() {
        cur = match lookup_chain(ctx, &cur, seg) {
            Own::Data(v) => v,
            Own::Missing if i == 0 && lexical => match lexical_binding(ctx, seg) {
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
        if steps > MAX_CHAIN || r.is_proxy(&o) {
            break;
        }
        own_names(ctx, &o, &mut out);
        obj = prototype(ctx, &o);
    }
    out
}
