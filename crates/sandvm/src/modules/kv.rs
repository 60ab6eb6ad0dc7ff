//! The host-side key/value store behind `sandvm:kv`, capped in entries and bytes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use super::NativeFn;
use crate::context::HostThrow;
use crate::{Error, Result};

/// Default [`KvStore::max_entries`]: 10,000 keys.
pub const KV_DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Default [`KvStore::max_bytes`]: 16 MiB of keys plus JSON-encoded values.
pub const KV_DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<String, Json>,
    /// Sum of [`entry_bytes`] over `map`.
    bytes: usize,
}

/// A host-side key/value store shared with guests through [`crate::HostModule::kv`]. Cheap to
/// clone (a shared handle); safe to use from several threads.
///
/// It lives outside every guest's memory limit, so it is capped on its own: at most
/// [`KvStore::max_entries`] keys (by default 10,000) and [`KvStore::max_bytes`] bytes (by
/// default 16 MiB, counting each key's UTF-8 length plus its value's JSON text). A `set` past
/// either cap is refused (a guest `RangeError`; [`Error::StoreFull`] for the host) and the
/// store is left unchanged. Set the caps before sharing the handle: clones made earlier keep
/// the caps they had.
#[derive(Clone, Debug)]
pub struct KvStore {
    inner: Arc<Mutex<Inner>>,
    max_entries: usize,
    max_bytes: usize,
}

impl Default for KvStore {
    fn default() -> Self {
        KvStore { inner: Arc::default(), max_entries: KV_DEFAULT_MAX_ENTRIES, max_bytes: KV_DEFAULT_MAX_BYTES }
    }
}

/// What one entry costs against [`KvStore::max_bytes`].
fn entry_bytes(key: &str, value: &Json) -> usize {
    key.len().saturating_add(value.to_string().len())
}

impl KvStore {
    /// An empty store with the default caps (10,000 entries, 16 MiB).
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// An empty store that refuses new keys beyond `n` entries (and the default byte cap).
    pub fn with_max_entries(n: usize) -> KvStore {
        KvStore::default().max_entries(n)
    }

    /// Caps the number of keys. By default, 10,000.
    pub fn max_entries(mut self, n: usize) -> KvStore {
        self.max_entries = n;
        self
    }

    /// Caps the bytes held (keys plus JSON-encoded values). By default, 16 MiB.
    pub fn max_bytes(mut self, n: usize) -> KvStore {
        self.max_bytes = n;
        self
    }

    /// Bytes held now (keys plus JSON-encoded values).
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|m| m.bytes).unwrap_or(0)
    }

    /// Number of keys held now.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|m| m.map.len()).unwrap_or(0)
    }

    /// True when the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<Json> {
        self.inner.lock().ok()?.map.get(key).cloned()
    }

    /// Sets `key`, within the caps.
    ///
    /// # Errors
    /// [`Error::StoreFull`] when the new key would pass [`KvStore::max_entries`] or the new
    /// total would pass [`KvStore::max_bytes`] (the store is left unchanged);
    /// [`Error::EngineInit`] when the store's lock is poisoned.
    pub fn try_set(&self, key: &str, value: Json) -> Result<()> {
        let mut m = self.inner.lock().map_err(|_| Error::init("the sandvm:kv store", "its lock is poisoned"))?;
        let new = entry_bytes(key, &value);
        let old = m.map.get(key).map(|v| entry_bytes(key, v));
        if old.is_none() && m.map.len() >= self.max_entries {
            return Err(Error::StoreFull {
                store: "sandvm:kv".into(),
                message: format!("at most {} entries", self.max_entries),
            });
        }
        let total = m.bytes.saturating_sub(old.unwrap_or(0)).saturating_add(new);
        if total > self.max_bytes {
            return Err(Error::StoreFull {
                store: "sandvm:kv".into(),
                message: format!("at most {} bytes (this entry is {new} bytes)", self.max_bytes),
            });
        }
        m.map.insert(key.to_string(), value);
        m.bytes = total;
        Ok(())
    }

    /// Sets `key`, within the caps; [`KvStore::try_set`] with the error as its message.
    ///
    /// # Errors
    /// The message of [`KvStore::try_set`]'s error.
    pub fn set(&self, key: &str, value: Json) -> std::result::Result<(), String> {
        self.try_set(key, value).map_err(|e| e.to_string())
    }

    /// Removes `key`; true when it was there.
    pub fn delete(&self, key: &str) -> bool {
        let Ok(mut m) = self.inner.lock() else { return false };
        match m.map.remove(key) {
            Some(v) => {
                m.bytes = m.bytes.saturating_sub(entry_bytes(key, &v));
                true
            }
            None => false,
        }
    }

    /// All keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.inner.lock().map(|m| m.map.keys().cloned().collect()).unwrap_or_default()
    }
}

fn key_of(args: &Json) -> std::result::Result<String, HostThrow> {
    args.get(0)
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| HostThrow::TypeError("the key must be a string".into()))
}

/// The exports of `sandvm:kv` over `store`.
pub(super) fn exports(store: &KvStore) -> Vec<(&'static str, NativeFn)> {
    let (a, b, c, d, e) = (store.clone(), store.clone(), store.clone(), store.clone(), store.clone());
    vec![
        ("get", Arc::new(move |args: Json| Ok(a.get(&key_of(&args)?).unwrap_or(Json::Null))) as NativeFn),
        (
            "set",
            Arc::new(move |args: Json| {
                let k = key_of(&args)?;
                let v = args.get(1).cloned().unwrap_or(Json::Null);
                match b.try_set(&k, v) {
                    Ok(()) => Ok(Json::Null),
                    Err(Error::StoreFull { store, message }) => {
                        Err(HostThrow::RangeError(format!("{store} is full: {message}")))
                    }
                    Err(other) => Err(HostThrow::Error(other.to_string())),
                }
            }),
        ),
        ("has", Arc::new(move |args: Json| Ok(Json::Bool(c.get(&key_of(&args)?).is_some())))),
        ("delete", Arc::new(move |args: Json| Ok(Json::Bool(d.delete(&key_of(&args)?))))),
        ("keys", Arc::new(move |_| Ok(Json::Array(e.keys().into_iter().map(Json::String).collect())))),
    ]
}
