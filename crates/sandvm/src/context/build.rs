//! Building a fresh engine context from a [`Context`]'s options: intrinsics, the built-in
//! preludes (inspect, console, capability packs, determinism, lockdown) and the host's setup.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::function::Rest;
use rquickjs::{qjs, Ctx, Function, Object, Persistent, Value};
use serde_json::Value as Json;

use super::host_fn::call_host;
use super::{host, Context, CtxState, HostFn, HostThrow, Loaded};
use crate::console;
use crate::error_info::exception_to_error;
use crate::inspect;
use crate::options::Clock;
use crate::raw;
use crate::script::{compile, SourceKind};
use crate::{lockdown, Error, Result};

impl Context {
    pub(super) fn build(&self, generation: u64) -> Result<CtxState> {
        let engine = self.runtime.engine();
        let heap = engine.heap.clone();
        let qctx = rquickjs::Context::base(&engine.rt).map_err(|_| {
            if heap.refused() {
                Error::MemoryLimit
            } else {
                Error::init("a context", "the engine refused")
            }
        })?;
        drop(engine);
        let i = self.options.intrinsics;
        let p = qctx.as_raw().as_ptr();
        // SAFETY: `p` is a live context that no guest code has touched yet; these calls only
        // add built-in objects to its global object.
        let failed = unsafe {
            let mut rc = 0;
            if i.date {
                rc |= qjs::JS_AddIntrinsicDate(p);
            }
            if i.eval {
                rc |= qjs::JS_AddIntrinsicEval(p);
            }
            if i.regexp {
                qjs::JS_AddIntrinsicRegExpCompiler(p);
                rc |= qjs::JS_AddIntrinsicRegExp(p);
            }
            rc |= qjs::JS_AddIntrinsicJSON(p);
            if i.proxy {
                rc |= qjs::JS_AddIntrinsicProxy(p);
            }
            if i.map_set {
                rc |= qjs::JS_AddIntrinsicMapSet(p);
            }
            if i.typed_arrays {
                rc |= qjs::JS_AddIntrinsicTypedArrays(p);
            }
            if i.promise {
                rc |= qjs::JS_AddIntrinsicPromise(p);
            }
            if i.weak_ref {
                rc |= qjs::JS_AddIntrinsicWeakRef(p);
            }
            if i.performance {
                rc |= qjs::JS_AddPerformance(p);
            }
            if i.dom_exception {
                rc |= qjs::JS_AddIntrinsicDOMException(p);
            }
            if self.options.capabilities.base64 {
                rc |= qjs::JS_AddIntrinsicAToB(p);
            }
            rc != 0
        };
        if failed {
            return Err(if heap.refused() {
                Error::MemoryLimit
            } else {
                Error::init("a context", "cannot add intrinsics")
            });
        }
        let watch = self.runtime.watch().clone();
        let mut loaded = Loaded::default();
        let mut guard = None;
        qctx.with(|ctx| -> Result<()> {
            raw::update_stack_top(&ctx);
            guard = Some(crate::modules::register(&ctx, self.options.modules.clone()));
            let r = self.prepare(&ctx, &watch, &mut loaded);
            r.map_err(|e| if heap.refused() { Error::MemoryLimit } else { e })
        })?;
        let _modules = guard.ok_or_else(|| Error::init("a context", "module state missing"))?;
        Ok(CtxState { loaded, _modules, ctx: qctx, generation })
    }

    /// Built-in setup of a fresh context, before any guest code.
    pub(super) fn prepare<'js>(
        &self,
        ctx: &Ctx<'js>,
        watch: &Arc<crate::runtime::Watch>,
        loaded: &mut Loaded,
    ) -> Result<()> {
        let g = ctx.globals();
        // Error.stackTraceLimit's engine setter leaks the value it replaces, which makes the
        // engine abort when the runtime is freed: make it a plain data property.
        if let Ok(err) = g.get::<_, Object>("Error") {
            // SAFETY: live object of `ctx`; an int carries no reference, so passing it by value
            // (the call takes ownership) is sound.
            unsafe {
                qjs::JS_DefinePropertyValueStr(
                    ctx.as_raw().as_ptr(),
                    err.as_raw(),
                    c"stackTraceLimit".as_ptr(),
                    Value::new_int(ctx.clone(), 10).as_raw(),
                    (qjs::JS_PROP_WRITABLE | qjs::JS_PROP_CONFIGURABLE) as i32,
                );
            }
        }
        inspect::install(ctx).map_err(host)?;
        if self.options.console {
            console::install(ctx, &self.console, watch).map_err(host)?;
        }
        self.grant_packs(ctx, loaded)?;
        if self.options.modules.as_ref().is_some_and(|m| m.has_commonjs()) {
            crate::modules::install_require(ctx).map_err(host)?;
        }
        if !self.options.intrinsics.eval {
            // Without the intrinsic the global `eval` only throws; remove it altogether.
            g.remove("eval").map_err(host)?;
        }
        if !self.options.intrinsics.math_random {
            if let Ok(math) = g.get::<_, Object>("Math") {
                math.remove("random").map_err(host)?;
            }
        }
        if let Some(det) = &self.options.deterministic {
            let f = self.prelude(ctx, lockdown::DETERMINISTIC, "<deterministic>")?;
            let now = match &det.clock {
                Clock::Fixed(ms) => {
                    let ms = *ms;
                    Function::new(ctx.clone(), move || ms).map_err(host)?
                }
                Clock::Host(clock) => {
                    let clock = clock.clone();
                    Function::new(ctx.clone(), move || clock()).map_err(host)?
                }
            };
            let lo = (det.seed & 0xffff_ffff) as f64;
            let hi = (det.seed >> 32) as f64;
            f.call::<_, Value>((lo, hi, now)).map_err(|e| self.setup_error(ctx, e))?;
        }
        if self.options.freeze {
            let f = self.prelude(ctx, lockdown::FREEZE, "<lockdown>")?;
            let trusted: Vec<Value> = f.call(()).map_err(|e| self.setup_error(ctx, e))?;
            inspect::trust_getters(ctx, trusted);
        }
        Ok(())
    }

    /// Installs the capability packs the options grant.
    pub(super) fn grant_packs<'js>(&self, ctx: &Ctx<'js>, loaded: &mut Loaded) -> Result<()> {
        let caps = &self.options.capabilities;
        if !caps.queue_microtask {
            ctx.globals().remove("queueMicrotask").map_err(host)?;
        }
        if caps.structured_clone {
            let f = self.prelude(ctx, crate::packs::STRUCTURED_CLONE, "<structured-clone>")?;
            let is_proxy = Function::new(ctx.clone(), |v: Value<'js>| v.is_proxy()).map_err(host)?;
            let tracks = Function::new(ctx.clone(), |ctx: Ctx<'js>, v: Value<'js>| {
                crate::inspect::Raw::new(&ctx).view_tracks_length(&v)
            })
            .map_err(host)?;
            f.call::<_, Value>((is_proxy, tracks)).map_err(|e| self.setup_error(ctx, e))?;
        }
        if caps.base64 {
            // The engine's atob/btoa convert a missing argument to "undefined"; WebIDL wants
            // a TypeError.
            let f = self.prelude(ctx, crate::packs::BASE64, "<base64>")?;
            f.call::<_, Value>(()).map_err(|e| self.setup_error(ctx, e))?;
        }
        if caps.text_encoding {
            let f = self.prelude(ctx, crate::packs::TEXT, "<text-encoding>")?;
            let h = crate::web::encoding::host_functions(ctx).map_err(host)?;
            f.call::<_, Value>(h).map_err(|e| self.setup_error(ctx, e))?;
        }
        if caps.url {
            let f = self.prelude(ctx, crate::packs::URL, "<url>")?;
            let h = crate::web::url::host_functions(ctx).map_err(host)?;
            f.call::<_, Value>(h).map_err(|e| self.setup_error(ctx, e))?;
        }
        if caps.timers {
            let clock = self.clock.clone();
            let now = Function::new(ctx.clone(), move || clock.now()).map_err(host)?;
            let f = self.prelude(ctx, crate::packs::TIMERS, "<timers>")?;
            let control: Object = f.call((now,)).map_err(|e| self.setup_error(ctx, e))?;
            loaded.timers = Some(Persistent::save(ctx, control));
        }
        if let Some(handler) = &caps.fetch {
            let handler = handler.clone();
            let erased: HostFn = Rc::new(move |args: Json| {
                let req = args.get(0).cloned().unwrap_or(Json::Null);
                let req: crate::packs::FetchRequest =
                    serde_json::from_value(req).map_err(|e| format!("fetch: bad request: {e}"))?;
                let resp = handler(req).map_err(|e| format!("fetch failed: {e}"))?;
                serde_json::to_value(resp).map_err(|e| HostThrow::Error(e.to_string()))
            });
            let call = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
                call_host(&ctx, "fetch", &erased, args.0)
            })
            .map_err(host)?;
            let f = self.prelude(ctx, crate::packs::FETCH, "<fetch>")?;
            f.call::<_, Value>((call,)).map_err(|e| self.setup_error(ctx, e))?;
        }
        Ok(())
    }

    pub(super) fn setup_error(&self, ctx: &Ctx<'_>, e: rquickjs::Error) -> Error {
        match e {
            rquickjs::Error::Exception => {
                let exc = ctx.catch();
                host(exception_to_error(ctx, exc, false))
            }
            other => host(other),
        }
    }

    /// Loads a built-in prelude (compiled once per thread) and returns its function.
    pub(super) fn prelude<'js>(&self, ctx: &Ctx<'js>, source: &'static str, name: &str) -> Result<Function<'js>> {
        thread_local! {
            static PRELUDES: RefCell<HashMap<usize, Vec<u8>>> = RefCell::new(HashMap::new());
        }
        let key = source.as_ptr() as usize;
        let bytes = match PRELUDES.with(|p| p.borrow().get(&key).cloned()) {
            Some(b) => b,
            None => {
                let b = compile(source, name, true, SourceKind::Script)?;
                PRELUDES.with(|p| p.borrow_mut().insert(key, b.clone()));
                b
            }
        };
        let func = raw::read_bytecode(ctx, &bytes).map_err(|e| host(exception_to_error(ctx, e, false)))?;
        let v = raw::eval_function(ctx, &func).map_err(|e| host(exception_to_error(ctx, e, false)))?;
        v.into_function().ok_or_else(|| Error::NotAFunction { what: format!("prelude {name}") })
    }
}
