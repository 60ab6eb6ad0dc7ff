//! Host-side stores a plugin can fill, each capped in entries and bytes: its key/value store
//! and the events and log lines it produces per call. A write past a cap is refused (the guest
//! gets an exception), counted in the plugin's [`Usage`], and remembered so that the host can
//! report the failed call as [`crate::Error::QuotaExceeded`].

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Which host-side store was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Quota {
    /// Keys in the plugin's key/value store ([`crate::plugin::HostOptions::kv_max_entries`]).
    KvEntries,
    /// Bytes (keys plus values as JSON) in the key/value store
    /// ([`crate::plugin::HostOptions::kv_max_bytes`]).
    KvBytes,
    /// Events plus log lines in one call
    /// ([`crate::plugin::HostOptions::max_messages_per_call`]).
    Messages,
    /// Bytes of event payloads plus log text in one call
    /// ([`crate::plugin::HostOptions::max_message_bytes_per_call`]).
    MessageBytes,
    /// Bytes of events and log lines of all plugins that the host has not taken yet
    /// ([`crate::plugin::HostOptions::max_pending_message_bytes`]).
    PendingMessageBytes,
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Quota::KvEntries => "key/value entries",
            Quota::KvBytes => "key/value bytes",
            Quota::Messages => "messages per call",
            Quota::MessageBytes => "message bytes per call",
            Quota::PendingMessageBytes => "message bytes not yet taken by the host",
        })
    }
}

/// What a plugin holds in host-side stores, and how many of its writes were refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Keys in its key/value store.
    pub kv_entries: usize,
    /// Bytes in its key/value store (keys plus values as JSON text).
    pub kv_bytes: usize,
    /// Events and log lines it produced, over its lifetime.
    pub messages: u64,
    /// Bytes of those events' payloads and log lines.
    pub message_bytes: u64,
    /// Writes refused because a store was full, over its lifetime.
    pub refused: u64,
}

/// The caps of one plugin's stores.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub kv_entries: usize,
    pub kv_bytes: usize,
    pub messages: usize,
    pub message_bytes: usize,
}

#[derive(Debug, Default)]
struct Meter {
    usage: Usage,
    /// Messages and bytes in the current call.
    call_messages: usize,
    call_bytes: usize,
    /// The first quota hit in the current call.
    hit: Option<(Quota, usize)>,
}

/// The accounting of one plugin's stores (shared by its host functions).
#[derive(Debug, Clone)]
pub(crate) struct Stores {
    caps: Caps,
    meter: Arc<Mutex<Meter>>,
    kv: sandvm::KvStore,
}

fn json_len(v: &Json) -> usize {
    serde_json::to_string(v).map(|s| s.len()).unwrap_or(usize::MAX)
}

impl Stores {
    pub fn new(caps: Caps) -> Stores {
        Stores { caps, meter: Arc::default(), kv: sandvm::KvStore::with_max_entries(caps.kv_entries) }
    }

    /// The key/value store itself (the host's handle; its writes are not counted).
    pub fn kv(&self) -> &sandvm::KvStore {
        &self.kv
    }

    fn refuse(&self, m: &mut Meter, quota: Quota, limit: usize) -> String {
        m.usage.refused += 1;
        m.hit.get_or_insert((quota, limit));
        format!("quota exceeded: {quota} (at most {limit})")
    }

    /// Starts a call: per-call counts go back to zero, the remembered quota hit is cleared.
    pub fn begin_call(&self) {
        if let Ok(mut m) = self.meter.lock() {
            m.call_messages = 0;
            m.call_bytes = 0;
            m.hit = None;
        }
    }

    /// The first quota hit since [`Stores::begin_call`].
    pub fn hit(&self) -> Option<(Quota, usize)> {
        self.meter.lock().ok().and_then(|m| m.hit)
    }

    /// The plugin's usage now.
    pub fn usage(&self) -> Usage {
        let mut u = self.meter.lock().map(|m| m.usage.clone()).unwrap_or_default();
        u.kv_entries = self.kv.keys().len();
        u
    }

    /// Counts one message of `bytes` bytes against the per-call caps and against
    /// `pending_cap` for the `pending` bytes the host has not taken yet.
    ///
    /// # Errors
    /// The guest-facing message when a cap is reached.
    pub fn message(&self, bytes: usize, pending: usize, pending_cap: usize) -> Result<(), String> {
        let mut m = self.meter.lock().map_err(|_| "host unavailable".to_string())?;
        if pending.saturating_add(bytes) > pending_cap {
            return Err(self.refuse(&mut m, Quota::PendingMessageBytes, pending_cap));
        }
        if m.call_messages >= self.caps.messages {
            return Err(self.refuse(&mut m, Quota::Messages, self.caps.messages));
        }
        if m.call_bytes.saturating_add(bytes) > self.caps.message_bytes {
            return Err(self.refuse(&mut m, Quota::MessageBytes, self.caps.message_bytes));
        }
        m.call_messages += 1;
        m.call_bytes += bytes;
        m.usage.messages += 1;
        m.usage.message_bytes += bytes as u64;
        Ok(())
    }

    /// Whether `bytes` more fit under `pending_cap` with `pending` bytes not yet taken; a
    /// refusal is counted (console lines, which the sandbox's output limit already bounds per
    /// call, only count against this cap).
    pub fn fits_pending(&self, bytes: usize, pending: usize, pending_cap: usize) -> bool {
        if pending.saturating_add(bytes) <= pending_cap {
            return true;
        }
        if let Ok(mut m) = self.meter.lock() {
            self.refuse(&mut m, Quota::PendingMessageBytes, pending_cap);
        }
        false
    }

    /// `set(key, value)` within the caps.
    ///
    /// # Errors
    /// The guest-facing message when a cap is reached.
    pub fn kv_set(&self, key: &str, value: Json) -> Result<(), String> {
        let mut m = self.meter.lock().map_err(|_| "kv: host unavailable".to_string())?;
        let new = key.len().saturating_add(json_len(&value));
        let old = self.kv.get(key).map(|v| key.len() + json_len(&v)).unwrap_or(0);
        if m.usage.kv_bytes.saturating_sub(old).saturating_add(new) > self.caps.kv_bytes {
            return Err(self.refuse(&mut m, Quota::KvBytes, self.caps.kv_bytes));
        }
        // The store itself refuses a new key past its entry cap.
        if self.kv.set(key, value).is_err() {
            return Err(self.refuse(&mut m, Quota::KvEntries, self.caps.kv_entries));
        }
        m.usage.kv_bytes = m.usage.kv_bytes.saturating_sub(old).saturating_add(new);
        Ok(())
    }

    /// `delete(key)`; true when it was there.
    pub fn kv_delete(&self, key: &str) -> bool {
        let old = self.kv.get(key).map(|v| key.len() + json_len(&v));
        let gone = self.kv.delete(key);
        if let (true, Some(old), Ok(mut m)) = (gone, old, self.meter.lock()) {
            m.usage.kv_bytes = m.usage.kv_bytes.saturating_sub(old);
        }
        gone
    }

    /// The key/value functions under `names` (get, set, has, delete, keys) of a host module.
    pub fn kv_functions(&self, mut h: sandvm::HostModule, names: [&str; 5]) -> sandvm::HostModule {
        let key = |args: &Json| -> Result<String, String> {
            args.get(0).and_then(Json::as_str).map(str::to_string).ok_or_else(|| "kv: the key must be a string".into())
        };
        let (a, b, c, d, e) = (self.clone(), self.clone(), self.clone(), self.clone(), self.clone());
        h = h
            .function(names[0], move |args| Ok(a.kv.get(&key(&args)?).unwrap_or(Json::Null)))
            .function(names[1], move |args| {
                b.kv_set(&key(&args)?, args.get(1).cloned().unwrap_or(Json::Null))?;
                Ok(Json::Null)
            })
            .function(names[2], move |args| Ok(Json::Bool(c.kv.get(&key(&args)?).is_some())))
            .function(names[3], move |args| Ok(Json::Bool(d.kv_delete(&key(&args)?))))
            .function(names[4], move |_| Ok(Json::Array(e.kv.keys().into_iter().map(Json::String).collect())));
        h
    }
}
