//! A bytecode cache for scripts and modules: compiled once, stored authenticated in memory
//! and optionally on disk; a changed source, name, option or engine version misses, and a
//! tampered entry is rejected and recompiled, never loaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::script::{open, seal, source_hash, SourceKind};
use crate::{CacheKey, Error, Result, Script, ScriptOptions};

/// Hit and miss counters of a [`BytecodeCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing (the source was compiled).
    pub misses: u64,
    /// Entries found but rejected (tampered, truncated, foreign key or version) and recompiled.
    pub rejected: u64,
}

struct Inner {
    key: CacheKey,
    memory: Mutex<HashMap<[u8; 32], Arc<Vec<u8>>>>,
    dir: Option<PathBuf>,
    max_entries: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    rejected: AtomicU64,
}

/// A shared cache of compiled bytecode. Cheap to clone; usable from several threads.
///
/// ```
/// # fn main() -> sandvm::Result<()> {
/// let cache = sandvm::BytecodeCache::in_memory();
/// let a = cache.script("1 + 1", sandvm::ScriptOptions::default())?; // compiled
/// let b = cache.script("1 + 1", sandvm::ScriptOptions::default())?; // from the cache
/// assert_eq!(cache.stats().hits, 1);
/// # let _ = (a, b); Ok(()) }
/// ```
#[derive(Clone)]
pub struct BytecodeCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BytecodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BytecodeCache").field("dir", &self.inner.dir).field("stats", &self.stats()).finish()
    }
}

impl BytecodeCache {
    /// A cache in memory, authenticated with the process-wide key. By default it keeps up to
    /// 4,096 entries (then it starts over).
    pub fn in_memory() -> BytecodeCache {
        BytecodeCache::new(CacheKey::process_default().clone(), None)
    }

    /// A cache kept in memory and in `dir` (created if missing), authenticated with `key`.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created.
    pub fn on_disk(dir: impl AsRef<Path>, key: CacheKey) -> Result<BytecodeCache> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(BytecodeCache::new(key, Some(dir.to_path_buf())))
    }

    /// A disk cache in `dir` whose key is kept in `dir/cache.key` (32 random bytes, created
    /// with mode 0600 on first use). Anyone who can read that file can forge entries: protect
    /// the directory accordingly.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or the key file cannot be created or read,
    /// [`Error::InvalidArgument`] when the key file is not a key.
    pub fn on_disk_with_key_file(dir: impl AsRef<Path>) -> Result<BytecodeCache> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let key_path = dir.join("cache.key");
        let key = match std::fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(&bytes);
                CacheKey::new(k)
            }
            Ok(_) => return Err(Error::invalid(&key_path.display().to_string(), "not a 32-byte key")),
            Err(_) => {
                let mut k = [0u8; 32];
                getrandom::fill(&mut k).map_err(|e| Error::init("a random source", e))?;
                write_private(&key_path, &k)?;
                CacheKey::new(k)
            }
        };
        BytecodeCache::on_disk(dir, key)
    }

    fn new(key: CacheKey, dir: Option<PathBuf>) -> BytecodeCache {
        BytecodeCache {
            inner: Arc::new(Inner {
                key,
                memory: Mutex::new(HashMap::new()),
                dir,
                max_entries: 4096,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            }),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.inner.hits.load(Relaxed),
            misses: self.inner.misses.load(Relaxed),
            rejected: self.inner.rejected.load(Relaxed),
        }
    }

    /// A compiled script for `source`, from the cache when possible.
    ///
    /// # Errors
    /// As [`Script::with_options`].
    pub fn script(&self, source: &str, options: ScriptOptions) -> Result<Script> {
        let name = format!("{}\u{0}{}", options.filename, u8::from(options.strict));
        let hash = source_hash(source);
        if let Some(bytecode) = self.lookup(SourceKind::Script, &name, source, &hash) {
            return Ok(Script::from_parts((*bytecode).clone(), options, hash));
        }
        let script = Script::with_options(source, options)?;
        self.store(SourceKind::Script, &name, &hash, Arc::new(script.bytecode().to_vec()));
        Ok(script)
    }

    /// Bytecode for a module or script, when cached and authentic.
    pub(crate) fn get(&self, kind: SourceKind, name: &str, source: &str) -> Option<Arc<Vec<u8>>> {
        self.lookup(kind, name, source, &source_hash(source))
    }

    /// Stores freshly compiled bytecode.
    pub(crate) fn put(&self, kind: SourceKind, name: &str, source: &str, bytecode: &[u8]) {
        self.store(kind, name, &source_hash(source), Arc::new(bytecode.to_vec()));
    }

    fn id(kind: SourceKind, name: &str, hash: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([kind as u8]);
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(hash);
        h.finalize().into()
    }

    fn path(&self, id: &[u8; 32]) -> Option<PathBuf> {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        self.inner.dir.as_ref().map(|d| d.join(format!("{hex}.sbc")))
    }

    /// Memory holds bytecode this process compiled or verified; disk entries are verified
    /// (MAC, engine version, kind, source hash) before they are used, and removed when they fail.
    fn lookup(&self, kind: SourceKind, name: &str, source: &str, hash: &[u8; 32]) -> Option<Arc<Vec<u8>>> {
        let id = Self::id(kind, name, hash);
        if let Some(v) = self.inner.memory.lock().ok().and_then(|m| m.get(&id).cloned()) {
            self.inner.hits.fetch_add(1, Relaxed);
            return Some(v);
        }
        if let Some(path) = self.path(&id) {
            if let Ok(sealed) = std::fs::read(&path) {
                match open(&self.inner.key, kind, source, &sealed) {
                    Ok(o) => {
                        self.inner.hits.fetch_add(1, Relaxed);
                        let v = Arc::new(o.bytecode);
                        self.remember(id, v.clone());
                        return Some(v);
                    }
                    Err(_) => {
                        self.inner.rejected.fetch_add(1, Relaxed);
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
        }
        self.inner.misses.fetch_add(1, Relaxed);
        None
    }

    fn remember(&self, id: [u8; 32], v: Arc<Vec<u8>>) {
        if let Ok(mut m) = self.inner.memory.lock() {
            if m.len() >= self.inner.max_entries {
                m.clear();
            }
            m.insert(id, v);
        }
    }

    fn store(&self, kind: SourceKind, name: &str, hash: &[u8; 32], bytecode: Arc<Vec<u8>>) {
        let id = Self::id(kind, name, hash);
        if let Some(p) = self.path(&id) {
            let sealed = seal(&self.inner.key, kind, false, name, hash, &bytecode);
            let tmp = p.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, &sealed).is_ok() {
                let _ = std::fs::rename(&tmp, &p);
            }
        }
        self.remember(id, bytecode);
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))
}
