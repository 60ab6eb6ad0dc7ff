//! What the host puts into a context (globals, host functions), kept as setup that is replayed
//! when the context is rebuilt, and the bridge that carries guest calls to Rust closures.

use std::fmt::Display;
use std::rc::Rc;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;

use super::{host, Context, Setup};
use crate::error_info::exception_to_error;
use crate::{convert, raw, Result};

pub(crate) type HostFn = Rc<dyn Fn(Json) -> std::result::Result<Json, HostThrow>>;

/// What a host function throws into the guest when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostThrow {
    /// A plain `Error` with this message.
    Error(String),
    /// A `TypeError`; the message is prefixed with the function's name.
    TypeError(String),
    /// A `RangeError` (a host-side store is full); the message is prefixed with the function's name.
    RangeError(String),
}

impl From<String> for HostThrow {
    fn from(message: String) -> HostThrow {
        HostThrow::Error(message)
    }
}

impl Context {
    pub(super) fn apply<'js>(&self, ctx: &Ctx<'js>, s: &Setup) -> Result<()> {
        match s {
            Setup::Global(name, value) => {
                let v = convert::from_json(ctx, value).map_err(|e| host(exception_to_error(ctx, e, false)))?;
                ctx.globals().set(name.as_str(), v).map_err(host)
            }
            Setup::HostFn(name, f) => {
                let f = f.clone();
                let fname = name.clone();
                let func = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
                    call_host(&ctx, &fname, &f, args.0)
                })
                .and_then(|func| func.with_name(name.as_str()))
                .map_err(host)?;
                ctx.globals().set(name.as_str(), func).map_err(host)
            }
            Setup::Native(_, f) => f(ctx),
            // Steps that run guest code are runs of their own (see `setup.rs`).
            Setup::Run(_) => Ok(()),
        }
    }

    pub(super) fn add_setup(&self, s: Setup) -> Result<()> {
        let mut st = self.state()?;
        let st = &mut *st;
        st.ctx.with(|ctx| self.apply(&ctx, &s))?;
        self.record(s);
        Ok(())
    }

    /// Sets a global variable to a deep copy of `value`. The copy survives a runtime reset.
    ///
    /// # Errors
    /// [`Error::EngineInit`](crate::Error::EngineInit) when the context cannot be set up, [`Error::MemoryLimit`](crate::Error::MemoryLimit) when the copy
    /// does not fit, [`Error::TooDeep`](crate::Error::TooDeep) when `value` nests deeper than [`crate::MAX_JSON_DEPTH`].
    pub fn set_global(&self, name: &str, value: &Json) -> Result<()> {
        convert::check_depth(value)?;
        self.add_setup(Setup::Global(name.to_string(), value.clone()))
    }

    /// Registers a host function callable from guest code as a global `name`.
    ///
    /// The guest's arguments arrive as a JSON array deserialized into `A` (use a tuple such as
    /// `(f64, f64)`, or `Vec<serde_json::Value>` for any arguments); the result `R` goes back as
    /// a copy. An `Err` becomes a guest `Error` with the message; a panic becomes a guest
    /// `InternalError` and never unwinds into the engine. Arguments that do not deserialize
    /// raise a guest `TypeError`.
    ///
    /// ```
    /// # fn main() -> sandvm::Result<()> {
    /// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    /// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
    /// ctx.register_fn("add", |(a, b): (f64, f64)| Ok::<_, String>(a + b))?;
    /// assert_eq!(ctx.eval("add(2, 3)")?.value, Some(serde_json::json!(5)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::EngineInit`](crate::Error::EngineInit) when the context cannot be set up.
    pub fn register_fn<A, R, E, F>(&self, name: &str, f: F) -> Result<()>
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: Display + 'static,
        F: Fn(A) -> std::result::Result<R, E> + 'static,
    {
        let erased: HostFn = Rc::new(move |args: Json| {
            let empty = args.as_array().is_some_and(|a| a.is_empty());
            let a: A = match serde_json::from_value::<A>(args) {
                Ok(a) => Ok(a),
                // `()` and `Option<_>` take no arguments as `null`.
                Err(_) if empty => serde_json::from_value::<A>(Json::Null),
                Err(e) => Err(e),
            }
            .map_err(|e| HostThrow::TypeError(format!("invalid arguments: {e}")))?;
            let r = f(a).map_err(|e| HostThrow::Error(e.to_string()))?;
            serde_json::to_value(r).map_err(|e| HostThrow::Error(format!("host function result is not JSON: {e}")))
        });
        self.add_setup(Setup::HostFn(name.to_string(), erased))
    }
}

/// The body of every host function: copy the arguments out, call the host closure (never
/// letting a panic unwind into the engine), copy the result in.
pub(crate) fn call_host<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    f: &HostFn,
    args: Vec<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let arr = rquickjs::Array::new(ctx.clone())?;
    for (i, a) in args.into_iter().enumerate() {
        arr.set(i, a)?;
    }
    let json = match raw::json_stringify(ctx, arr.as_value()) {
        Ok(Some(text)) => match serde_json::from_str::<Json>(&text) {
            Ok(j) => j,
            Err(_) => return Err(rquickjs::Exception::throw_type(ctx, "host function arguments are not JSON")),
        },
        Ok(None) => Json::Array(Vec::new()),
        Err(exc) => return Err(ctx.throw(exc)),
    };
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(json)));
    match out {
        Ok(Ok(v)) => match convert::from_json(ctx, &v) {
            Ok(v) => Ok(v),
            Err(exc) => Err(ctx.throw(exc)),
        },
        Ok(Err(HostThrow::TypeError(m))) => Err(rquickjs::Exception::throw_type(ctx, &format!("{name}: {m}"))),
        Ok(Err(HostThrow::RangeError(m))) => Err(rquickjs::Exception::throw_range(ctx, &format!("{name}: {m}"))),
        Ok(Err(HostThrow::Error(msg))) => Err(rquickjs::Exception::throw_message(ctx, &msg)),
        Err(_) => Err(rquickjs::Exception::throw_internal(ctx, &format!("host function '{name}' panicked"))),
    }
}
