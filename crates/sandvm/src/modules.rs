//! ES modules and CommonJS `require` under a deny-by-default policy.
//!
//! A context loads modules only from what its [`ModuleConfig`] names: an in-memory module map,
//! an explicit root directory, and synthetic host modules written in Rust that the host
//! allow-lists by name. Everything else is refused with a typed error naming the specifier.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::function::Rest;
use rquickjs::{qjs, Ctx, Function, Object, Persistent, Value};
use serde_json::Value as Json;

use crate::cache::BytecodeCache;
use crate::context::HostThrow;
use crate::script::SourceKind;
use crate::{raw, Error, Result};

mod beneath;
mod kv;
mod specifier;

pub use kv::{KvStore, KV_DEFAULT_MAX_BYTES, KV_DEFAULT_MAX_ENTRIES};

/// A function exported by a host module: JSON arguments (an array) in, JSON out; an `Err`
/// becomes a guest exception.
pub type HostModuleFn = Arc<dyn Fn(Json) -> std::result::Result<Json, String> + Send + Sync>;

/// One export of a [`HostModule`].
#[derive(Clone)]
enum HostExport {
    Value(Json),
    Function(HostModuleFn),
    /// A built-in export that can throw typed guest errors (`RangeError` when a store is full).
    Native(NativeFn),
}

/// A built-in host export: like [`HostModuleFn`], but its errors say which guest error to throw.
type NativeFn = Arc<dyn Fn(Json) -> std::result::Result<Json, HostThrow> + Send + Sync>;

/// A synthetic module implemented by the host (`import { sha256 } from 'sandvm:crypto'`).
///
/// Its exports are host functions (arguments and results are copied as JSON) and constant JSON
/// values. A guest can import it only when the host allow-lists its name.
#[derive(Clone, Default)]
pub struct HostModule {
    exports: BTreeMap<String, HostExport>,
    /// The host-side stores behind its exports, counted in [`crate::Stats::host_bytes`].
    stores: Vec<KvStore>,
}

impl std::fmt::Debug for HostModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostModule").field("exports", &self.exports.keys().collect::<Vec<_>>()).finish()
    }
}

impl HostModule {
    /// An empty module.
    pub fn new() -> HostModule {
        HostModule::default()
    }

    /// Exports a host function `name`. It receives the guest's arguments as a JSON array.
    pub fn function(
        mut self,
        name: &str,
        f: impl Fn(Json) -> std::result::Result<Json, String> + Send + Sync + 'static,
    ) -> HostModule {
        self.exports.insert(name.to_string(), HostExport::Function(Arc::new(f)));
        self
    }

    /// Exports a constant (a fresh copy per importing context).
    pub fn value(mut self, name: &str, value: Json) -> HostModule {
        self.exports.insert(name.to_string(), HostExport::Value(value));
        self
    }

    /// `sandvm:crypto`: `randomUUID()` (a version 4 UUID from the OS random source) and
    /// `sha256(text)` (lowercase hex of the UTF-8 bytes).
    pub fn crypto() -> HostModule {
        use sha2::Digest;
        HostModule::new()
            .function("randomUUID", |_| {
                let mut b = [0u8; 16];
                getrandom::fill(&mut b).map_err(|e| format!("no random source: {e}"))?;
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                Ok(Json::String(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])))
            })
            .function("sha256", |args| {
                let text = args.get(0).and_then(Json::as_str).ok_or("sha256: expected a string")?;
                let d = sha2::Sha256::digest(text.as_bytes());
                Ok(Json::String(d.iter().map(|x| format!("{x:02x}")).collect()))
            })
    }

    /// `sandvm:kv`: a key/value map kept by the host: `get(key)`, `set(key, value)`,
    /// `has(key)`, `delete(key)`, `keys()`. Values are copied as JSON. `set` throws a guest
    /// `RangeError` when the store is at its caps (see [`KvStore`]); the bytes it holds are
    /// counted in the run's [`crate::Stats::host_bytes`].
    pub fn kv(store: KvStore) -> HostModule {
        let mut m = HostModule::new();
        for (name, f) in kv::exports(&store) {
            m.exports.insert(name.to_string(), HostExport::Native(f));
        }
        m.stores.push(store);
        m
    }

    /// Bytes held by the host-side stores behind this module's exports.
    fn host_bytes(&self) -> usize {
        self.stores.iter().map(KvStore::bytes).sum()
    }
}

/// Where a context may load modules from. Nothing by default: without a `ModuleConfig` every
/// `import`, `import()` and `require` fails with [`Error::ModuleNotAllowed`].
///
/// ```
/// # fn main() -> sandvm::Result<()> {
/// use sandvm::{ModuleConfig, HostModule};
/// let modules = ModuleConfig::new()
///     .module("math", "export const add = (a, b) => a + b;")
///     .host_module("sandvm:crypto", HostModule::crypto())
///     .allow("sandvm:crypto");
/// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
/// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default().modules(modules))?;
/// let done = ctx.run_module("import { add } from 'math'; export const three = add(1, 2);", "main.mjs")?;
/// assert_eq!(done.value, Some(serde_json::json!({"three": 3})));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ModuleConfig {
    sources: BTreeMap<String, Arc<str>>,
    root: Option<PathBuf>,
    root_dir: Option<Arc<beneath::RootDir>>,
    allow: Vec<String>,
    host: BTreeMap<String, HostModule>,
    commonjs: bool,
    max_module_bytes: usize,
    max_modules: usize,
    cache: Option<BytecodeCache>,
    /// TypeScript modules loaded under this policy, for mapping error positions back.
    #[cfg(feature = "typescript")]
    pub(crate) ts: crate::language::TsModules,
}

impl std::fmt::Debug for ModuleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleConfig")
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .field("root", &self.root)
            .field("allow", &self.allow)
            .field("host", &self.host.keys().collect::<Vec<_>>())
            .field("commonjs", &self.commonjs)
            .field("max_module_bytes", &self.max_module_bytes)
            .field("max_modules", &self.max_modules)
            .finish_non_exhaustive()
    }
}

impl Default for ModuleConfig {
    fn default() -> Self {
        ModuleConfig {
            sources: BTreeMap::new(),
            root: None,
            root_dir: None,
            allow: Vec::new(),
            host: BTreeMap::new(),
            commonjs: true,
            max_module_bytes: 16 * 1024 * 1024,
            max_modules: 10_000,
            cache: None,
            #[cfg(feature = "typescript")]
            ts: Default::default(),
        }
    }
}

impl ModuleConfig {
    /// An empty policy: nothing can be imported until the host adds sources.
    pub fn new() -> ModuleConfig {
        ModuleConfig::default()
    }

    /// Registers an in-memory module `name` (imported by exactly that specifier, and by
    /// relative specifiers from its neighbours: `lib/a.js` can `import './b.js'` for `lib/b.js`).
    pub fn module(mut self, name: &str, source: &str) -> ModuleConfig {
        self.sources.insert(name.to_string(), source.into());
        self
    }

    /// Allows relative imports of regular files under `dir` (and only there): `..` above the
    /// root, absolute paths, non-UTF-8 files and FIFOs or devices are refused, and so is
    /// **every symlink under the root**, wherever it points (the root itself may be reached
    /// through links). Bare specifiers are not looked up on disk.
    ///
    /// The directory is opened once, here; each module is then opened relative to that handle
    /// without following links (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, or a
    /// per-component `O_NOFOLLOW` walk on kernels without it) and read from the descriptor
    /// that was opened, so nothing swapped in between a check and the read can redirect it.
    ///
    /// # Errors
    /// [`Error::Io`] when `dir` is not a readable directory.
    pub fn root(mut self, dir: impl AsRef<Path>) -> Result<ModuleConfig> {
        let dir = dir.as_ref();
        let canon = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        let handle = beneath::RootDir::open(&canon).map_err(|e| Error::io(dir, e))?;
        self.root = Some(canon);
        self.root_dir = Some(Arc::new(handle));
        Ok(self)
    }

    /// Allow-lists host modules: an exact name (`sandvm:crypto`) or a prefix pattern ending in
    /// `*` (`sandvm:*`). Host modules that are registered but not allowed cannot be imported.
    pub fn allow(mut self, pattern: &str) -> ModuleConfig {
        self.allow.push(pattern.to_string());
        self
    }

    /// Registers a synthetic host module under `name` (it still needs [`ModuleConfig::allow`]).
    pub fn host_module(mut self, name: &str, module: HostModule) -> ModuleConfig {
        self.host.insert(name.to_string(), module);
        self
    }

    /// Gives the guest a CommonJS `require` obeying the same policy. By default, `true`.
    pub fn commonjs(mut self, on: bool) -> ModuleConfig {
        self.commonjs = on;
        self
    }

    /// Largest module source accepted, in bytes. By default, 16 MiB.
    pub fn max_module_bytes(mut self, n: usize) -> ModuleConfig {
        self.max_module_bytes = n;
        self
    }

    /// Most modules one context may load. By default, 10,000.
    pub fn max_modules(mut self, n: usize) -> ModuleConfig {
        self.max_modules = n;
        self
    }

    /// Caches compiled module bytecode (authenticated) in `cache`. By default, no cache beyond
    /// the context's own module table.
    pub fn cache(mut self, cache: BytecodeCache) -> ModuleConfig {
        self.cache = Some(cache);
        self
    }

    /// True when the CommonJS `require` is given to guests.
    pub(crate) fn has_commonjs(&self) -> bool {
        self.commonjs
    }

    /// Bytes held by the host-side stores of its host modules (`sandvm:kv`).
    pub(crate) fn host_bytes(&self) -> usize {
        self.host.values().map(HostModule::host_bytes).sum()
    }

    fn allowed(&self, name: &str) -> bool {
        self.allow.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => p == name,
        })
    }
}

/// A module-loading failure, thrown into the guest as an `Error` whose `name` is
/// `ModuleNotFound` or `ModuleNotAllowed` and whose `specifier` property names the import.
#[derive(Debug)]
enum ModError {
    NotFound(String, String),
    NotAllowed(String, String),
    Other(String),
}

/// Where a resolved module comes from.
enum Origin {
    Host(HostModule),
    Source(Arc<str>),
}

/// Per-context module state, found from the raw context pointer by the engine callbacks.
pub(crate) struct ModState {
    config: Arc<ModuleConfig>,
    loaded: Cell<usize>,
    cjs: RefCell<HashMap<String, Persistent<Value<'static>>>>,
}

thread_local! {
    static STATES: RefCell<HashMap<usize, Rc<ModState>>> = RefCell::new(HashMap::new());
}

/// Keeps a context's module state registered; unregisters (and frees the cached CommonJS
/// exports) when dropped, which must happen before the context is freed.
pub(crate) struct ModGuard(usize);

impl Drop for ModGuard {
    fn drop(&mut self) {
        let state = STATES.with(|s| s.borrow_mut().remove(&self.0));
        drop(state);
    }
}

/// Registers `config` for `ctx` and installs the module hooks on its runtime.
pub(crate) fn register(ctx: &Ctx<'_>, config: Option<Arc<ModuleConfig>>) -> ModGuard {
    let key = ctx.as_raw().as_ptr() as usize;
    // SAFETY: the callbacks are plain `extern "C"` functions that stay valid for the whole
    // program; the runtime pointer comes from a live context.
    unsafe {
        qjs::JS_SetModuleLoaderFunc(
            qjs::JS_GetRuntime(ctx.as_raw().as_ptr()),
            Some(normalize_cb),
            Some(loader_cb),
            std::ptr::null_mut(),
        );
    }
    if let Some(config) = config {
        let st = Rc::new(ModState { config, loaded: Cell::new(0), cjs: RefCell::new(HashMap::new()) });
        STATES.with(|s| s.borrow_mut().insert(key, st));
    }
    ModGuard(key)
}

fn state_of(ctx: *mut qjs::JSContext) -> Option<Rc<ModState>> {
    STATES.with(|s| s.borrow().get(&(ctx as usize)).cloned())
}

/// Joins `base`'s directory and a relative `spec`, normalising `.` and `..`. `None` when the
/// path climbs above the top.
fn join_relative(base: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop(); // the importer's own file name
    for seg in spec.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    parts.retain(|p| !p.is_empty() && *p != ".");
    Some(parts.join("/"))
}

impl ModState {
    fn not_allowed(spec: &str, why: &str) -> ModError {
        ModError::NotAllowed(spec.to_string(), format!("import of '{spec}' is not allowed: {why}"))
    }

    /// Resolves `spec` imported from `base` to a module name, applying the policy.
    ///
    /// Host modules are reached only by their exact registered (and allow-listed) name: a
    /// relative specifier never resolves to one (`./sandvm:kv` is refused), nor does a
    /// case, percent-encoding, query or scheme variant (those are simply other names).
    fn resolve(&self, base: &str, spec: &str) -> std::result::Result<String, ModError> {
        let c = &self.config;
        if spec.is_empty() || spec.contains('\\') || spec.contains('\0') {
            return Err(Self::not_allowed(spec, "malformed specifier"));
        }
        if c.host.contains_key(spec) || spec.starts_with("sandvm:") {
            if !c.host.contains_key(spec) {
                return Err(ModError::NotFound(spec.into(), format!("no host module '{spec}'")));
            }
            if !c.allowed(spec) {
                return Err(Self::not_allowed(spec, "the host has not allow-listed it"));
            }
            return Ok(spec.to_string());
        }
        if spec.starts_with('/') || spec.contains("://") || spec.starts_with("file:") || spec.starts_with("node:") {
            return Err(Self::not_allowed(spec, "absolute paths and URLs are refused"));
        }
        if spec.starts_with("./") || spec.starts_with("../") {
            let base = if c.host.contains_key(base) { "" } else { base };
            let name = join_relative(base, spec)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Self::not_allowed(spec, "it leaves the module root"))?;
            if c.host.contains_key(&name) || name.starts_with("sandvm:") {
                return Err(Self::not_allowed(spec, "a relative specifier cannot name a host module"));
            }
            return Ok(name);
        }
        if c.sources.contains_key(spec) {
            return Ok(spec.to_string());
        }
        Err(ModError::NotFound(spec.into(), format!("cannot find module '{spec}'")))
    }

    /// Finds the source (or host module) of a resolved name. A host module is handed out only
    /// under an allow-listed name, whatever [`ModState::resolve`] let through.
    fn origin(&self, name: &str) -> std::result::Result<Origin, ModError> {
        let c = &self.config;
        if let Some(h) = c.host.get(name) {
            if !c.allowed(name) {
                return Err(Self::not_allowed(name, "the host has not allow-listed it"));
            }
            return Ok(Origin::Host(h.clone()));
        }
        if let Some(src) = c.sources.get(name) {
            if src.len() > c.max_module_bytes {
                return Err(Self::not_allowed(name, &format!("larger than {} bytes", c.max_module_bytes)));
            }
            return Ok(Origin::Source(src.clone()));
        }
        let Some(root) = &c.root_dir else {
            return Err(ModError::NotFound(name.into(), format!("cannot find module '{name}'")));
        };
        if Path::new(name).components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(Self::not_allowed(name, "it leaves the module root"));
        }
        let bytes = root.read(name, c.max_module_bytes).map_err(|e| match e {
            beneath::OpenError::NotFound => ModError::NotFound(name.into(), format!("cannot find module '{name}'")),
            beneath::OpenError::NotAFile => ModError::NotFound(name.into(), format!("'{name}' is not a regular file")),
            beneath::OpenError::Symlink => Self::not_allowed(name, "symlinks under the module root are not followed"),
            beneath::OpenError::TooLarge(max) => Self::not_allowed(name, &format!("larger than {max} bytes")),
            beneath::OpenError::Io(msg) => ModError::NotFound(name.into(), format!("{name}: {msg}")),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| Self::not_allowed(name, "the file is not valid UTF-8"))?;
        Ok(Origin::Source(text.into()))
    }

    fn count_load(&self, name: &str) -> std::result::Result<(), ModError> {
        let n = self.loaded.get() + 1;
        if n > self.config.max_modules {
            return Err(Self::not_allowed(name, &format!("more than {} modules loaded", self.config.max_modules)));
        }
        self.loaded.set(n);
        Ok(())
    }
}

/// Compiles module source (through the bytecode cache when there is one).
fn compile_module<'js>(ctx: &Ctx<'js>, st: &ModState, name: &str, source: &str) -> raw::RawResult<'js> {
    #[cfg(feature = "typescript")]
    if crate::Language::from_path(name) == crate::Language::TypeScript {
        return compile_ts_module(ctx, st, name, source);
    }
    if let Some(cache) = &st.config.cache {
        if let Some(bytes) = cache.get(SourceKind::Module, name, source) {
            if let Ok(m) = raw::read_bytecode(ctx, bytes.as_slice()) {
                return Ok(m);
            }
        }
        let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
        let m = raw::eval(ctx, source, name, flags)?;
        if let Ok(bytes) = raw::write_bytecode(ctx, &m) {
            cache.put(SourceKind::Module, name, source, &bytes);
        }
        return Ok(m);
    }
    raw::eval(ctx, source, name, (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32)
}

/// Strips the types of a `.ts`/`.mts`/`.cts` module and compiles it. The bytecode cache keys
/// it by the TypeScript source's hash and the transformer's version: a hit skips the transform.
#[cfg(feature = "typescript")]
fn compile_ts_module<'js>(ctx: &Ctx<'js>, st: &ModState, name: &str, source: &str) -> raw::RawResult<'js> {
    let key = format!("{name}\u{0}{}", sandvm_typescript::TRANSFORMER_VERSION);
    let flags = (qjs::JS_EVAL_TYPE_MODULE | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    if let Some(bytes) = st.config.cache.as_ref().and_then(|c| c.get(SourceKind::Module, &key, source)) {
        if let Ok(m) = raw::read_bytecode(ctx, bytes.as_slice()) {
            st.config.ts.register(name, source.into(), None);
            return Ok(m);
        }
    }
    let out = transpile_for_guest(ctx, name, source, crate::language::TsKind::Module)?;
    st.config.ts.register(name, source.into(), Some(out.map));
    let m = raw::eval(ctx, &out.code, name, flags)?;
    if let Some(cache) = &st.config.cache {
        if let Ok(bytes) = raw::write_bytecode(ctx, &m) {
            cache.put(SourceKind::Module, &key, source, &bytes);
        }
    }
    Ok(m)
}

/// Transforms TypeScript for a module load; a failure becomes a guest `SyntaxError` (or
/// `RangeError` for limits) whose message carries the TypeScript position.
#[cfg(feature = "typescript")]
fn transpile_for_guest<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    source: &str,
    kind: crate::language::TsKind,
) -> std::result::Result<sandvm_typescript::Output, Value<'js>> {
    crate::language::transpile(source, name, kind).map_err(|e| {
        let (ctor, msg) = match &e {
            crate::Error::Syntax { message, line: Some(l), column: Some(c), .. } => {
                ("SyntaxError", format!("{message} (at {name}:{l}:{c})"))
            }
            other => ("RangeError", other.to_string()),
        };
        let made = ctx.globals().get::<_, Function>(ctor).and_then(|f| f.call::<_, Value>((msg.as_str(),)));
        match made {
            Ok(v) => v,
            Err(_) => Value::new_undefined(ctx.clone()),
        }
    })
}

/// Throws a module error into the guest.
fn throw_mod_error(ctx: &Ctx<'_>, e: ModError) -> rquickjs::Error {
    let (name, spec, msg) = match e {
        ModError::NotFound(s, m) => ("ModuleNotFound", s, m),
        ModError::NotAllowed(s, m) => ("ModuleNotAllowed", s, m),
        ModError::Other(m) => ("Error", String::new(), m),
    };
    let err = rquickjs::Exception::from_message(ctx.clone(), &msg).map(|e| e.into_object());
    match err {
        Ok(obj) => {
            let _ = obj.set("name", name);
            let _ = obj.set("specifier", spec);
            ctx.throw(obj.into_value())
        }
        Err(e) => e,
    }
}

fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the engine passes NUL-terminated strings valid for the callback's duration.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `JSModuleNormalizeFunc`: resolves a specifier; a null result leaves an exception pending.
unsafe extern "C" fn normalize_cb(
    ctx: *mut qjs::JSContext,
    base: *const c_char,
    name: *const c_char,
    _opaque: *mut c_void,
) -> *mut c_char {
    let base = cstr_lossy(base);
    let spec = cstr_lossy(name);
    // SAFETY: `ctx` is the live context the engine called us with.
    let c = unsafe { Ctx::from_raw(std::ptr::NonNull::new_unchecked(ctx)) };
    // SAFETY: the engine calls us with `name` made by JS_AtomToCString (static imports) or
    // JS_ToCString (`import()`); sandvm never calls JS_LoadModule (nor rquickjs'
    // `Module::import`) with a string of its own.
    let cut = if name.is_null() { Ok(false) } else { unsafe { specifier::was_cut_at_nul(&c, name) } };
    let result = std::panic::catch_unwind(|| match state_of(ctx) {
        _ if cut.is_err() => Err(ModState::not_allowed(&spec, "the specifier cannot be checked (out of memory)")),
        _ if matches!(cut, Ok(true)) => Err(ModState::not_allowed(&spec, "the specifier contains a NUL character")),
        Some(st) => st.resolve(&base, &spec),
        None => Err(ModState::not_allowed(&spec, "module loading is not enabled for this context")),
    });
    match result {
        Ok(Ok(resolved)) => match CString::new(resolved) {
            // SAFETY: js_strdup copies the string into engine memory, which the engine frees.
            Ok(cs) => unsafe { qjs::js_strdup(ctx, cs.as_ptr()) },
            Err(_) => {
                let _ = throw_mod_error(&c, ModState::not_allowed(&spec, "malformed specifier"));
                std::ptr::null_mut()
            }
        },
        Ok(Err(e)) => {
            let _ = throw_mod_error(&c, e);
            std::ptr::null_mut()
        }
        Err(_) => {
            let _ = throw_mod_error(&c, ModError::Other("internal error while resolving a module".into()));
            std::ptr::null_mut()
        }
    }
}

/// `JSModuleLoaderFunc`: compiles (or builds) the module named by a resolved name.
unsafe extern "C" fn loader_cb(
    ctx: *mut qjs::JSContext,
    name: *const c_char,
    _opaque: *mut c_void,
) -> *mut qjs::JSModuleDef {
    let name = cstr_lossy(name);
    // SAFETY: `ctx` is the live context the engine called us with.
    let c = unsafe { Ctx::from_raw(std::ptr::NonNull::new_unchecked(ctx)) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(&c, &name)));
    match result {
        Ok(Ok(m)) => m,
        Ok(Err(LoadFail::Mod(e))) => {
            let _ = throw_mod_error(&c, e);
            std::ptr::null_mut()
        }
        Ok(Err(LoadFail::Thrown)) => std::ptr::null_mut(),
        Err(_) => {
            let _ = throw_mod_error(&c, ModError::Other("internal error while loading a module".into()));
            std::ptr::null_mut()
        }
    }
}

enum LoadFail {
    Mod(ModError),
    /// An exception is already pending (a syntax error in the module).
    Thrown,
}

fn load(ctx: &Ctx<'_>, name: &str) -> std::result::Result<*mut qjs::JSModuleDef, LoadFail> {
    let st = state_of(ctx.as_raw().as_ptr())
        .ok_or_else(|| LoadFail::Mod(ModState::not_allowed(name, "module loading is not enabled for this context")))?;
    st.count_load(name).map_err(LoadFail::Mod)?;
    match st.origin(name).map_err(LoadFail::Mod)? {
        Origin::Host(h) => {
            let cname = CString::new(name).map_err(|_| LoadFail::Mod(ModState::not_allowed(name, "malformed name")))?;
            // SAFETY: creates a C module in a live context; `host_init` runs when it is evaluated.
            let m = unsafe { qjs::JS_NewCModule(ctx.as_raw().as_ptr(), cname.as_ptr(), Some(host_init)) };
            if m.is_null() {
                return Err(LoadFail::Thrown);
            }
            for export in h.exports.keys() {
                let Ok(ce) = CString::new(export.as_str()) else { continue };
                // SAFETY: `m` is the module just created; the name is copied by the engine.
                if unsafe { qjs::JS_AddModuleExport(ctx.as_raw().as_ptr(), m, ce.as_ptr()) } < 0 {
                    return Err(LoadFail::Thrown);
                }
            }
            Ok(m)
        }
        Origin::Source(src) => match compile_module(ctx, &st, name, &src) {
            Ok(v) => {
                // SAFETY: a compiled module value holds a JSModuleDef pointer, which stays alive in
                // the context's module table after our reference (`v`) is dropped.
                let m = unsafe { qjs::JS_VALUE_GET_PTR(v.as_raw()) } as *mut qjs::JSModuleDef;
                Ok(m)
            }
            Err(exc) => {
                if let Some(obj) = exc.as_object().filter(|_| exc.is_error()) {
                    if let Ok(msg) = obj.get::<_, String>("message") {
                        let _ = obj.set("message", format!("{msg} (in module '{name}')"));
                    }
                }
                ctx.throw(exc);
                Err(LoadFail::Thrown)
            }
        },
    }
}

/// `JSModuleInitFunc` of host modules: sets every export.
unsafe extern "C" fn host_init(ctx: *mut qjs::JSContext, m: *mut qjs::JSModuleDef) -> c_int {
    // SAFETY: `ctx` is the live context the engine called us with.
    let c = unsafe { Ctx::from_raw(std::ptr::NonNull::new_unchecked(ctx)) };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Option<()> {
        // SAFETY: `m` is the module being initialised; the atom is freed after use.
        let name = unsafe {
            let atom = qjs::JS_GetModuleName(ctx, m);
            let v = Value::from_raw(c.clone(), qjs::JS_AtomToString(ctx, atom));
            qjs::JS_FreeAtom(ctx, atom);
            raw::to_string_lossy(&c, &v)
        };
        let st = state_of(ctx)?;
        let module = st.config.host.get(&name)?;
        for (export, value) in &module.exports {
            let v = export_value(&c, export, value).ok()?;
            let ce = CString::new(export.as_str()).ok()?;
            // SAFETY: JS_SetModuleExport takes ownership of the value we hand it (a fresh dup).
            let rc = unsafe { qjs::JS_SetModuleExport(ctx, m, ce.as_ptr(), qjs::JS_DupValue(ctx, v.as_raw())) };
            if rc < 0 {
                return None;
            }
        }
        Some(())
    }));
    match r {
        Ok(Some(())) => 0,
        _ => -1,
    }
}

fn export_value<'js>(ctx: &Ctx<'js>, name: &str, e: &HostExport) -> rquickjs::Result<Value<'js>> {
    let erased: crate::context::HostFn = match e {
        HostExport::Value(j) => return crate::convert::from_json(ctx, j).map_err(|exc| ctx.throw(exc)),
        HostExport::Function(f) => {
            let f = f.clone();
            Rc::new(move |args| f(args).map_err(HostThrow::Error))
        }
        HostExport::Native(f) => {
            let f = f.clone();
            Rc::new(move |args| f(args))
        }
    };
    let fname = name.to_string();
    let func = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        crate::context::call_host(&ctx, &fname, &erased, args.0)
    })?
    .with_name(name)?;
    Ok(func.into_value())
}

/// Installs the CommonJS `require` on the global object of `ctx`.
pub(crate) fn install_require(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let require = make_require(ctx, String::new())?;
    ctx.globals().set("require", require)
}

fn make_require<'js>(ctx: &Ctx<'js>, base: String) -> rquickjs::Result<Function<'js>> {
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, spec: Value<'js>| -> rquickjs::Result<Value<'js>> {
        let Some(spec) = spec.as_string().map(|s| raw::to_string_lossy(&ctx, s.as_value())) else {
            return Err(rquickjs::Exception::throw_type(&ctx, "require: the specifier must be a string"));
        };
        require(&ctx, &base, &spec)
    })?
    .with_name("require")
}

fn require<'js>(ctx: &Ctx<'js>, base: &str, spec: &str) -> rquickjs::Result<Value<'js>> {
    let Some(st) = state_of(ctx.as_raw().as_ptr()) else {
        return Err(throw_mod_error(
            ctx,
            ModState::not_allowed(spec, "module loading is not enabled for this context"),
        ));
    };
    let name = st.resolve(base, spec).map_err(|e| throw_mod_error(ctx, e))?;
    let cached = st.cjs.borrow().get(&name).cloned();
    if let Some(module) = cached {
        let module: Value = module.restore(ctx)?;
        return module.as_object().map(|o| o.get("exports")).unwrap_or_else(|| Ok(Value::new_undefined(ctx.clone())));
    }
    st.count_load(&name).map_err(|e| throw_mod_error(ctx, e))?;
    let module = Object::new(ctx.clone())?;
    match st.origin(&name).map_err(|e| throw_mod_error(ctx, e))? {
        Origin::Host(h) => {
            let exports = Object::new(ctx.clone())?;
            for (k, v) in &h.exports {
                exports.set(k.as_str(), export_value(ctx, k, v)?)?;
            }
            module.set("exports", exports)?;
            st.cjs.borrow_mut().insert(name, Persistent::save(ctx, module.clone().into_value()));
        }
        Origin::Source(src) if name.ends_with(".json") => {
            let v = raw::json_parse(ctx, &src).map_err(|exc| ctx.throw(exc))?;
            module.set("exports", v)?;
            st.cjs.borrow_mut().insert(name, Persistent::save(ctx, module.clone().into_value()));
        }
        Origin::Source(src) => {
            let exports = Object::new(ctx.clone())?;
            module.set("exports", exports.clone())?;
            module.set("id", name.as_str())?;
            module.set("filename", name.as_str())?;
            module.set("loaded", false)?;
            // Cached before running, so that require cycles see the partial exports (as in Node).
            st.cjs.borrow_mut().insert(name.clone(), Persistent::save(ctx, module.clone().into_value()));
            #[cfg(feature = "typescript")]
            let src: Arc<str> = if crate::Language::from_path(&name) == crate::Language::TypeScript {
                let out = transpile_for_guest(ctx, &name, &src, crate::language::TsKind::CommonJs)
                    .map_err(|exc| ctx.throw(exc))?;
                st.config.ts.register(&name, src.clone(), Some(out.map));
                out.code.into()
            } else {
                src
            };
            let wrapped = format!("(function (exports, require, module, __filename, __dirname) {{{src}\n}})");
            let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
            let compiled = raw::eval(ctx, &wrapped, &name, flags).map_err(|exc| ctx.throw(exc))?;
            let f = raw::eval_function(ctx, &compiled).map_err(|exc| ctx.throw(exc))?;
            let Some(f) = f.into_function() else {
                return Err(rquickjs::Exception::throw_internal(ctx, "require: module wrapper is not a function"));
            };
            let dir = name.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
            let child = make_require(ctx, name.clone())?;
            let this = rquickjs::function::This(exports.clone());
            f.call::<_, Value>((this, exports, child, module.clone(), name.as_str(), dir))?;
            module.set("loaded", true)?;
        }
    }
    module.get("exports")
}
