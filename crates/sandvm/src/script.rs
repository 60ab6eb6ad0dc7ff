//! Scripts compiled once and run many times, authenticated cached data, and the per-thread
//! compiler that turns source into bytecode.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use hmac::{Hmac, Mac};
use rquickjs::{qjs, Ctx};
use sha2::{Digest, Sha256};

use crate::error_info::exception_to_error;
use crate::{raw, Error, Result};

/// Memory the per-thread compiler may use for one compilation.
const COMPILER_MEMORY: usize = 1024 * 1024 * 1024;
/// Engine stack the per-thread compiler may use (deeply nested source ends in a syntax error).
const COMPILER_STACK: usize = 512 * 1024;
/// Largest source accepted, in bytes.
pub const MAX_SOURCE: usize = 256 * 1024 * 1024;

struct Compiler {
    // Field order matters: the context must go before the runtime.
    ctx: rquickjs::Context,
    rt: rquickjs::Runtime,
    heap: Arc<crate::alloc::HeapStats>,
}

impl Compiler {
    fn new() -> Result<Compiler> {
        let heap = crate::alloc::HeapStats::new(COMPILER_MEMORY);
        let rt = rquickjs::Runtime::new_with_alloc(crate::alloc::CountingAllocator(heap.clone(), None))
            .map_err(|e| Error::init("the compiler runtime", e))?;
        rt.set_max_stack_size(COMPILER_STACK);
        let ctx = rquickjs::Context::custom::<(
            rquickjs::context::intrinsic::Eval,
            rquickjs::context::intrinsic::RegExpCompiler,
        )>(&rt)
        .map_err(|e| Error::init("the compiler context", e))?;
        Ok(Compiler { ctx, rt, heap })
    }
}

thread_local! {
    static COMPILER: RefCell<Option<Compiler>> = const { RefCell::new(None) };
}

/// What kind of source to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// A classic script (global code).
    Script = 1,
    /// An ES module.
    Module = 2,
    /// A classic script with top-level `await` (it evaluates to a promise of `{ value }`).
    AsyncScript = 3,
}

/// Compiles `source` to bytecode on this thread's compiler (a context with `eval` enabled that
/// never runs guest code).
///
/// # Errors
/// [`Error::Syntax`] for a parse error, [`Error::MemoryLimit`] when the compiler runs out of
/// memory, [`Error::SourceTooLarge`] for a source over [`MAX_SOURCE`].
pub(crate) fn compile(source: &str, filename: &str, strict: bool, kind: SourceKind) -> Result<Vec<u8>> {
    if source.len() > MAX_SOURCE {
        return Err(Error::SourceTooLarge { len: source.len(), max: MAX_SOURCE });
    }
    COMPILER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Compiler::new()?);
        }
        let Some(compiler) = slot.as_ref() else {
            return Err(Error::Reentrant { what: "the compiler".into() });
        };
        compiler.heap.begin_run();
        compiler.rt.set_max_stack_size(crate::runtime::stack_for_this_thread(COMPILER_STACK));
        let mut flags = qjs::JS_EVAL_FLAG_COMPILE_ONLY as i32;
        flags |= match kind {
            SourceKind::Script => qjs::JS_EVAL_TYPE_GLOBAL as i32,
            SourceKind::Module => qjs::JS_EVAL_TYPE_MODULE as i32,
            SourceKind::AsyncScript => (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_ASYNC) as i32,
        };
        if strict {
            flags |= qjs::JS_EVAL_FLAG_STRICT as i32;
        }
        let result = compiler.ctx.with(|ctx: Ctx<'_>| {
            raw::update_stack_top(&ctx);
            match raw::eval(&ctx, source, filename, flags) {
                Ok(func) => raw::write_bytecode(&ctx, &func).map_err(|e| exception_to_error(&ctx, e, true)),
                Err(e) => Err(exception_to_error(&ctx, e, true)),
            }
        });
        let refused = compiler.heap.refused();
        if refused {
            // An engine that ran out of memory is not trusted again.
            *slot = None;
            return Err(Error::MemoryLimit);
        }
        if matches!(result, Err(Error::StackOverflow)) {
            *slot = None;
        }
        result.map_err(|e| crate::error_info::with_source(e, source))
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Options for compiling a [`Script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOptions {
    /// The file name shown in stack traces and errors. By default, `"<script>"`.
    pub filename: String,
    /// Compile in strict mode. By default, `false` (sloppy, like node:vm).
    pub strict: bool,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        ScriptOptions { filename: "<script>".into(), strict: false }
    }
}

pub(crate) struct ScriptInner {
    pub(crate) id: u64,
    pub(crate) bytecode: Vec<u8>,
    pub(crate) options: ScriptOptions,
    source_hash: [u8; 32],
}

/// A script compiled once and run many times, in any context of any runtime
/// (like node's `vm.Script`).
///
/// Compiling does not run anything. The compiled form is engine bytecode, held in memory and
/// shared by clones; it is loaded into a context on first use there and kept for later runs.
///
/// ```
/// # fn main() -> sandvm::Result<()> {
/// let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
/// let script = sandvm::Script::new("n = (typeof n === 'number' ? n : 0) + 1", "counter.js")?;
/// let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default())?;
/// script.run_in(&ctx)?;
/// assert_eq!(script.run_in(&ctx)?.value, Some(serde_json::json!(2)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Script {
    pub(crate) inner: Arc<ScriptInner>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("filename", &self.inner.options.filename)
            .field("strict", &self.inner.options.strict)
            .field("bytecode_len", &self.inner.bytecode.len())
            .finish()
    }
}

impl Script {
    /// Compiles a sloppy-mode classic script.
    ///
    /// # Errors
    /// [`Error::Syntax`] when the source does not parse; [`Error::MemoryLimit`] or
    /// [`Error::SourceTooLarge`] for sources too large to compile.
    pub fn new(source: &str, filename: &str) -> Result<Script> {
        Script::with_options(source, ScriptOptions { filename: filename.into(), ..Default::default() })
    }

    /// Compiles a classic script with options.
    ///
    /// # Errors
    /// As [`Script::new`].
    pub fn with_options(source: &str, options: ScriptOptions) -> Result<Script> {
        let bytecode = compile(source, &options.filename, options.strict, SourceKind::Script)?;
        Ok(Script::from_parts(bytecode, options, source_hash(source)))
    }

    pub(crate) fn bytecode(&self) -> &[u8] {
        &self.inner.bytecode
    }

    pub(crate) fn from_parts(bytecode: Vec<u8>, options: ScriptOptions, source_hash: [u8; 32]) -> Script {
        Script { inner: Arc::new(ScriptInner { id: NEXT_ID.fetch_add(1, Relaxed), bytecode, options, source_hash }) }
    }

    /// Runs the script in `ctx` (same as [`crate::Context::run`]).
    ///
    /// # Errors
    /// Any run error: see [`crate::Context::eval`].
    pub fn run_in(&self, ctx: &crate::Context) -> Result<crate::Completion> {
        ctx.run(self)
    }

    /// The file name given at compile time.
    pub fn filename(&self) -> &str {
        &self.inner.options.filename
    }

    /// The compiled script as authenticated bytes, signed with the process-wide default key
    /// (see [`CacheKey::process_default`]), for [`Script::with_cached_data`].
    pub fn cached_data(&self) -> Vec<u8> {
        self.cached_data_with(CacheKey::process_default())
    }

    /// The compiled script as bytes authenticated with `key`.
    pub fn cached_data_with(&self, key: &CacheKey) -> Vec<u8> {
        seal(
            key,
            SourceKind::Script,
            self.inner.options.strict,
            &self.inner.options.filename,
            &self.inner.source_hash,
            &self.inner.bytecode,
        )
    }

    /// Rebuilds a script from [`Script::cached_data`] bytes, checked against the process-wide
    /// default key. `source` must be the source the data was made from.
    ///
    /// # Errors
    /// [`Error::CachedDataRejected`] when the bytes are truncated, tampered with, signed with
    /// another key, made by another engine or sandvm version, or made from another source. The
    /// bytes are never given to the engine unless they pass these checks.
    pub fn with_cached_data(source: &str, data: &[u8]) -> Result<Script> {
        Script::with_cached_data_keyed(source, data, CacheKey::process_default())
    }

    /// As [`Script::with_cached_data`], with an explicit key.
    ///
    /// # Errors
    /// As [`Script::with_cached_data`].
    pub fn with_cached_data_keyed(source: &str, data: &[u8], key: &CacheKey) -> Result<Script> {
        let opened = open(key, SourceKind::Script, source, data)?;
        Ok(Script::from_parts(
            opened.bytecode,
            ScriptOptions { filename: opened.name, strict: opened.strict },
            source_hash(source),
        ))
    }
}

/// What [`open`] found in sealed bytes.
pub(crate) struct Opened {
    pub(crate) name: String,
    pub(crate) strict: bool,
    pub(crate) bytecode: Vec<u8>,
}

/// Seals compiled bytecode: header (magic, engine and sandvm version, kind, strictness, name,
/// source hash, length), bytecode, HMAC-SHA256 of everything before it.
pub(crate) fn seal(
    key: &CacheKey,
    kind: SourceKind,
    strict: bool,
    name: &str,
    hash: &[u8; 32],
    bytecode: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytecode.len() + 128);
    out.extend_from_slice(MAGIC);
    let ver = version_tag();
    out.extend_from_slice(&(ver.len() as u32).to_le_bytes());
    out.extend_from_slice(ver.as_bytes());
    out.push(kind as u8);
    out.push(u8::from(strict));
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(hash);
    out.extend_from_slice(&(bytecode.len() as u64).to_le_bytes());
    out.extend_from_slice(bytecode);
    let tag = key.mac(&out);
    out.extend_from_slice(&tag);
    out
}

/// Checks sealed bytes against `key`, the expected kind and the source they were made from.
pub(crate) fn open(key: &CacheKey, kind: SourceKind, source: &str, data: &[u8]) -> Result<Opened> {
    let reject = |why: &str| Error::CachedDataRejected(why.to_string());
    if data.len() < MAGIC.len() + 32 {
        return Err(reject("too short"));
    }
    let (body, tag) = data.split_at(data.len() - 32);
    if !key.verify(body, tag) {
        return Err(reject("authentication failed (tampered, truncated or signed with another key)"));
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len()) != Some(MAGIC) {
        return Err(reject("not sandvm cached data"));
    }
    let ver_len = r.u32().ok_or_else(|| reject("truncated"))? as usize;
    if r.take(ver_len) != Some(version_tag().as_bytes()) {
        return Err(reject("made by another engine or sandvm version"));
    }
    let k = r.take(1).ok_or_else(|| reject("truncated"))?[0];
    if k != kind as u8 {
        return Err(reject("made for another kind of source (script or module)"));
    }
    let strict = r.take(1).ok_or_else(|| reject("truncated"))?[0] != 0;
    let name_len = r.u32().ok_or_else(|| reject("truncated"))? as usize;
    let name = r.take(name_len).ok_or_else(|| reject("truncated"))?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| reject("bad file name"))?;
    let hash = r.take(32).ok_or_else(|| reject("truncated"))?;
    if hash != source_hash(source) {
        return Err(reject("made from another source"));
    }
    let len = r.u64().ok_or_else(|| reject("truncated"))? as usize;
    let code = r.take(len).ok_or_else(|| reject("truncated"))?;
    if !r.0.is_empty() {
        return Err(reject("trailing bytes"));
    }
    Ok(Opened { name, strict, bytecode: code.to_vec() })
}

const MAGIC: &[u8] = b"SANDVM-CACHED-DATA\x02";

fn version_tag() -> String {
    // SAFETY: JS_GetVersion returns a pointer to a static NUL-terminated string.
    let engine = unsafe { std::ffi::CStr::from_ptr(qjs::JS_GetVersion()) }.to_string_lossy().into_owned();
    format!(
        "sandvm {} quickjs-ng {} {}-{}-{}",
        env!("CARGO_PKG_VERSION"),
        engine,
        std::env::consts::ARCH,
        std::mem::size_of::<usize>() * 8,
        if cfg!(target_endian = "little") { "le" } else { "be" }
    )
}

pub(crate) fn source_hash(source: &str) -> [u8; 32] {
    Sha256::digest(source.as_bytes()).into()
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    }
}

/// The secret key that authenticates cached data (HMAC-SHA256).
///
/// Cached data is engine bytecode, and the engine's bytecode reader is not safe on untrusted
/// bytes, so sandvm only loads cached data whose MAC checks out. By default
/// ([`CacheKey::process_default`]) the key is random per process: cached data is then valid only
/// in the process that made it. To keep cached data on disk across restarts, use a persistent
/// secret key ([`CacheKey::new`]) and keep it as secret as the bytes are sensitive.
#[derive(Clone)]
pub struct CacheKey([u8; 32]);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

impl CacheKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> CacheKey {
        CacheKey(bytes)
    }

    /// A fresh random key.
    ///
    /// # Errors
    /// [`Error::EngineInit`] when the operating system's random source cannot be read.
    pub fn random() -> Result<CacheKey> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| Error::init("a random source", e))?;
        Ok(CacheKey(b))
    }

    /// The process-wide default key, random and made on first use.
    pub fn process_default() -> &'static CacheKey {
        static KEY: OnceLock<CacheKey> = OnceLock::new();
        KEY.get_or_init(|| {
            CacheKey::random().unwrap_or_else(|_| {
                // No OS randomness: derive a key no other process shares.
                let seed = format!(
                    "{:?}{:?}{}",
                    std::time::SystemTime::now(),
                    std::thread::current().id(),
                    std::process::id()
                );
                CacheKey(Sha256::digest(seed.as_bytes()).into())
            })
        })
    }

    pub(crate) fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        m.update(data);
        m.finalize().into_bytes().into()
    }

    fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        m.update(data);
        m.verify_slice(tag).is_ok()
    }
}
