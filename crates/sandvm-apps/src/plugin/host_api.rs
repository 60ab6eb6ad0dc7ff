//! What a plugin sees of its host: the `sandvm:host` module (logging, `emit`, the key/value
//! store, host functions) and the message bus that collects what plugins emit and log.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::lifecycle::Plugin;
use super::store::Stores;
use super::{Manifest, PluginHost};
use crate::{Error, Result};

/// An event a plugin emitted with `emit(name, payload)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emitted {
    /// The emitting plugin.
    pub plugin: String,
    /// The event name.
    pub name: String,
    /// Its payload (JSON).
    pub payload: Json,
}

/// A line a plugin logged (through `sandvm:host` or `console`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The plugin.
    pub plugin: String,
    /// `log`, `info`, `warn`, `error` or `debug`.
    pub level: String,
    /// The text.
    pub message: String,
}

#[derive(Default)]
pub(super) struct Bus {
    events: Vec<Emitted>,
    logs: Vec<LogEntry>,
    /// Bytes of `events` and `logs`, as counted against
    /// [`HostOptions::max_pending_message_bytes`].
    bytes: usize,
}

pub(super) type SharedBus = Arc<Mutex<Bus>>;

/// Names of `sandvm:host` exports that host functions cannot take.
const RESERVED: &[&str] =
    &["plugin", "log", "info", "warn", "error", "debug", "emit", "kvGet", "kvSet", "kvHas", "kvDelete", "kvKeys", "kv"];

fn message_of(args: &Json) -> String {
    let parts: Vec<String> = match args {
        Json::Array(a) => a
            .iter()
            .map(|v| match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        other => vec![other.to_string()],
    };
    parts.join(" ")
}

impl PluginHost {
    /// Exposes a Rust function to plugins as export `name` of `sandvm:host`. Plugins that list
    /// `name` in their `capabilities` get it (exposing it grants it). Arguments arrive as a
    /// JSON array; an `Err` becomes an exception in the plugin.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `name` is not an identifier or is one of the built-in exports.
    pub fn expose_fn(
        &mut self,
        name: &str,
        f: impl Fn(Json) -> std::result::Result<Json, String> + Send + Sync + 'static,
    ) -> Result<()> {
        let ident = !name.is_empty()
            && name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if !ident || RESERVED.contains(&name) || sandvm::PACK_NAMES.contains(&name) {
            return Err(Error::invalid("expose_fn", format!("'{name}' cannot be a host function name")));
        }
        self.host_fns.insert(name.to_string(), Arc::new(f));
        Ok(())
    }

    /// Builds the `sandvm:host` module for one plugin.
    pub(super) fn host_module(&self, m: &Manifest, stores: &Stores) -> sandvm::HostModule {
        let caps: BTreeSet<&str> = m.capabilities.iter().map(String::as_str).collect();
        let pending_cap = self.opts.max_pending_message_bytes;
        let mut h =
            sandvm::HostModule::new().value("plugin", serde_json::json!({"name": m.name, "version": m.version}));
        for level in ["log", "info", "warn", "error", "debug"] {
            let bus = self.bus.clone();
            let plugin = m.name.clone();
            let stores = stores.clone();
            h = h.function(level, move |args| {
                let message = message_of(&args);
                let mut b = bus.lock().map_err(|_| "log: host unavailable".to_string())?;
                stores.message(message.len(), b.bytes, pending_cap).map_err(|e| format!("{level}: {e}"))?;
                b.bytes += message.len();
                b.logs.push(LogEntry { plugin: plugin.clone(), level: level.into(), message });
                Ok(Json::Null)
            });
        }
        if caps.contains("emit") {
            let bus = self.bus.clone();
            let plugin = m.name.clone();
            let stores = stores.clone();
            h = h.function("emit", move |args| {
                let name = args.get(0).and_then(Json::as_str).ok_or("emit: the event name must be a string")?;
                let payload = args.get(1).cloned().unwrap_or(Json::Null);
                let bytes = name.len().saturating_add(serde_json::to_string(&payload).map_or(usize::MAX, |t| t.len()));
                let mut b = bus.lock().map_err(|_| "emit: host unavailable".to_string())?;
                stores.message(bytes, b.bytes, pending_cap).map_err(|e| format!("emit: {e}"))?;
                b.bytes += bytes;
                b.events.push(Emitted { plugin: plugin.clone(), name: name.to_string(), payload });
                Ok(Json::Null)
            });
        }
        if caps.contains("kv") {
            h = stores.kv_functions(h, ["kvGet", "kvSet", "kvHas", "kvDelete", "kvKeys"]);
        }
        for (name, f) in &self.host_fns {
            if caps.contains(name.as_str()) {
                let f = f.clone();
                h = h.function(name, move |args| f(args));
            }
        }
        h
    }

    /// Moves the plugin's captured console output to the log.
    pub(super) fn drain_logs(&self, p: &Plugin) {
        let console = p.ctx.take_console();
        if console.is_empty() {
            return;
        }
        if let Ok(mut b) = self.bus.lock() {
            for c in console {
                if !p.stores.fits_pending(c.text.len(), b.bytes, self.opts.max_pending_message_bytes) {
                    continue;
                }
                b.bytes += c.text.len();
                let level = format!("{:?}", c.level).to_lowercase();
                b.logs.push(LogEntry { plugin: p.manifest.name.clone(), level, message: c.text });
            }
        }
    }

    /// Takes the events emitted and the lines logged since the last call (or dispatch).
    pub fn take_messages(&mut self) -> (Vec<Emitted>, Vec<LogEntry>) {
        match self.bus.lock() {
            Ok(mut b) => {
                b.bytes = 0;
                (std::mem::take(&mut b.events), std::mem::take(&mut b.logs))
            }
            Err(_) => (Vec::new(), Vec::new()),
        }
    }
}
