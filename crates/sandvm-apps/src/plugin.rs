//! A plugin host: untrusted ES-module plugins with explicit capabilities.
//!
//! A plugin is a directory with a `plugin.toml` manifest and ES module code:
//!
//! ```toml
//! name = "greeter"                 # [a-z0-9._-]+, unique in a host
//! version = "1.0.0"
//! entry = "index.js"               # by default, index.js; must stay inside the directory
//! description = "Says hello"
//! capabilities = ["kv", "emit"]    # what it asks for; the host must have granted each
//! hooks = ["user.created", "order.*"]   # events it handles (exact, or a prefix ending in *)
//!
//! [limits]                         # what it asks for; at most the host's maximum
//! timeout_ms = 100
//! memory_mb = 16
//! ```
//!
//! ```js
//! import { log, emit, kvGet, kvSet } from 'sandvm:host';
//! export function activate(info) { log(`hello from ${info.name}`); }
//! export async function onEvent(name, payload) {
//!   kvSet('seen', (kvGet('seen') ?? 0) + 1);
//!   emit('greeted', { user: payload.user });
//!   return { ok: true };
//! }
//! export function deactivate() {}
//! ```
//!
//! **Capabilities.** `kv` (a key/value store scoped to the plugin: `kvGet`, `kvSet`, `kvHas`,
//! `kvDelete`, `kvKeys` from `sandvm:host`, and the same store as the `sandvm:kv` module),
//! `emit` (`emit(name, payload)`), the sandbox packs ([`sandvm::PACK_NAMES`]: `timers`,
//! `text`, `base64`, `url`, `structured-clone`, `queue-microtask`), and every function the
//! host exposes with [`PluginHost::expose_fn`] (by its name). Logging (`log`, `info`, `warn`,
//! `error`, and `console`) and the `plugin` value (`{ name, version }`) need no capability.
//! Asking for a capability the host has not granted fails the load with
//! [`Error::CapabilityNotGranted`]. A plugin cannot name another plugin anywhere in this API,
//! so it cannot reach another plugin's store.
//!
//! **Lifecycle.** [`PluginHost::load_dir`] compiles the plugin and runs its top level under its
//! limits; [`PluginHost::activate`] calls its `activate(info)` export; [`PluginHost::dispatch`]
//! calls `onEvent(name, payload)` (sync or async) on every active plugin whose `hooks` match;
//! [`PluginHost::deactivate`] calls `deactivate()`; [`PluginHost::unload`] drops it. Every call
//! is bounded by the plugin's limits. A plugin that fails [`HostOptions::max_failures`] times
//! (exceptions, timeouts, memory) is disabled; the host and the other plugins go on. After a
//! limit the plugin's sandbox is reset: it is loaded again (top level and `activate` run
//! again) before its next call; its module state is lost, its key/value store is kept.
//!
//! **Quotas.** Everything a plugin can make the host keep is capped: its key/value store in
//! entries and bytes ([`HostOptions::kv_max_entries`], [`HostOptions::kv_max_bytes`]), its
//! events and log lines per call in count and bytes ([`HostOptions::max_messages_per_call`],
//! [`HostOptions::max_message_bytes_per_call`]). A write past a cap throws in the plugin
//! (`quota exceeded: ...`), is counted in [`PluginInfo::usage`], and a call that fails after
//! it is reported as [`Error::QuotaExceeded`]. Limits a manifest asks for above
//! [`HostOptions::max_limits`] are refused ([`Error::LimitsNotAllowed`] naming the field),
//! never clamped.
//!
//! **Isolation.** By default each plugin has its own runtime (heap, limits, engine):
//! [`Isolation::RuntimePerPlugin`], for plugins that do not trust each other. With
//! [`Isolation::SharedRuntime`] plugins are separate contexts (realms) of one runtime: cheaper,
//! but a plugin that hits a limit resets the shared runtime, so every plugin in it is reloaded,
//! and the memory limit counts all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::read_text;
use crate::plugin_store::{Caps, Stores};
pub use crate::plugin_store::{Quota, Usage};
use crate::{Error, Result};

/// What a plugin asks for in the `[limits]` table of its manifest. Anything left out takes
/// the host's default ([`HostOptions::default_limits`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsRequest {
    /// Wall-clock milliseconds per call.
    pub timeout_ms: Option<u64>,
    /// Engine heap in MiB.
    pub memory_mb: Option<usize>,
    /// Engine stack in KiB.
    pub stack_kb: Option<usize>,
    /// Output bytes per call (console plus result).
    pub max_output: Option<usize>,
}

/// A plugin's `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name: lowercase letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Its version (free text, e.g. `1.2.0`).
    pub version: String,
    /// The entry module, relative to the plugin directory. By default, `index.js`.
    #[serde(default = "default_entry")]
    pub entry: String,
    /// Free text. By default, empty.
    #[serde(default)]
    pub description: String,
    /// Capabilities it asks for. By default, none.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Events it handles: exact names or prefixes ending in `*` (`*` alone is every event).
    /// By default, none.
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Limits it asks for. By default, the host's defaults.
    #[serde(default)]
    pub limits: LimitsRequest,
}

fn default_entry() -> String {
    "index.js".into()
}

impl Manifest {
    /// Parses and validates a manifest.
    ///
    /// # Errors
    /// [`Error::TooLarge`]/[`Error::TooDeep`] past the bounds of [`crate::input`],
    /// [`Error::Parse`] for bad TOML or unknown fields, [`Error::Invalid`] for a bad name or
    /// an entry that leaves the plugin directory.
    pub fn from_toml(text: &str, what: &str) -> Result<Manifest> {
        crate::input::check_text(text, what)?;
        let m: Manifest = toml::from_str(text).map_err(|e| Error::parse(what, e))?;
        let ok_name = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok_name {
            return Err(Error::invalid(
                what,
                format!("invalid plugin name {:?} (use a-z, 0-9, '.', '_', '-')", m.name),
            ));
        }
        let entry = Path::new(&m.entry);
        if m.entry.is_empty()
            || m.entry.contains('\\')
            || m.entry.contains('\'')
            || entry.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(Error::invalid(what, format!("entry {:?} must be a relative path inside the plugin", m.entry)));
        }
        Ok(m)
    }

    /// Reads `DIR/plugin.toml`.
    ///
    /// # Errors
    /// [`Error::Io`], or as [`Manifest::from_toml`].
    pub fn read_dir(dir: impl AsRef<Path>) -> Result<Manifest> {
        let path = dir.as_ref().join("plugin.toml");
        let text = read_text(&path)?;
        Manifest::from_toml(&text, &path.display().to_string())
    }

    /// True when the plugin handles `event`.
    pub fn handles(&self, event: &str) -> bool {
        self.hooks.iter().any(|h| match h.strip_suffix('*') {
            Some(prefix) => event.starts_with(prefix),
            None => h == event,
        })
    }
}

/// How plugins are separated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// One runtime per plugin: separate heaps, limits and engines. For mutually untrusted
    /// plugins. The default.
    #[default]
    RuntimePerPlugin,
    /// One context per plugin in a single shared runtime.
    SharedRuntime,
}

/// How the host treats its plugins.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Capabilities the host grants (see the module docs). By default, none.
    pub granted: BTreeSet<String>,
    /// By default, [`Isolation::RuntimePerPlugin`].
    pub isolation: Isolation,
    /// Failures (exceptions, limits) after which a plugin is disabled. By default, 3.
    pub max_failures: u32,
    /// Limits of a plugin that does not ask for any. By default, 250 ms, 32 MiB, 256 KiB of
    /// stack, 1 MiB of output.
    pub default_limits: sandvm::Limits,
    /// The most a plugin may ask for. By default, 5 s, 256 MiB, 1 MiB of stack, 8 MiB of
    /// output.
    pub max_limits: sandvm::Limits,
    /// Most keys in one plugin's store. By default, 10,000.
    pub kv_max_entries: usize,
    /// Most bytes (keys plus values as JSON text) in one plugin's store. By default, 4 MiB.
    pub kv_max_bytes: usize,
    /// Most events and log lines one plugin may produce in one call. By default, 1,000.
    pub max_messages_per_call: usize,
    /// Most bytes of event payloads (as JSON text) plus log text one plugin may produce in one
    /// call. By default, 1 MiB.
    pub max_message_bytes_per_call: usize,
    /// Most bytes of events and log lines (of all plugins) the host keeps until it takes them
    /// ([`PluginHost::take_messages`], or a [`PluginHost::dispatch`]). By default, 16 MiB.
    pub max_pending_message_bytes: usize,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            granted: BTreeSet::new(),
            isolation: Isolation::default(),
            max_failures: 3,
            default_limits: sandvm::Limits {
                timeout: Some(Duration::from_millis(250)),
                memory: 32 * 1024 * 1024,
                ..Default::default()
            },
            max_limits: sandvm::Limits {
                timeout: Some(Duration::from_secs(5)),
                memory: 256 * 1024 * 1024,
                stack: 1024 * 1024,
                max_output: 8 * 1024 * 1024,
                ..Default::default()
            },
            kv_max_entries: 10_000,
            kv_max_bytes: 4 * 1024 * 1024,
            max_messages_per_call: 1000,
            max_message_bytes_per_call: 1024 * 1024,
            max_pending_message_bytes: 16 * 1024 * 1024,
        }
    }
}

impl HostOptions {
    /// Grants a capability.
    pub fn grant(mut self, capability: &str) -> HostOptions {
        self.granted.insert(capability.to_string());
        self
    }
    /// Sets the isolation.
    pub fn isolation(mut self, isolation: Isolation) -> HostOptions {
        self.isolation = isolation;
        self
    }
    /// Sets the number of failures after which a plugin is disabled.
    pub fn max_failures(mut self, n: u32) -> HostOptions {
        self.max_failures = n.max(1);
        self
    }
}

/// Where a plugin is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PluginState {
    /// Loaded (top level ran), not active: it receives no events.
    Loaded,
    /// Active: it receives the events it hooks.
    Active,
    /// Disabled after too many failures: it receives nothing more.
    Disabled {
        /// Why.
        reason: String,
    },
}

/// A summary of a loaded plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its state.
    pub state: PluginState,
    /// Failures so far.
    pub failures: u32,
    /// The names its entry module exports.
    pub exports: Vec<String>,
    /// What it holds in host-side stores and how many of its writes were refused.
    #[serde(default)]
    pub usage: Usage,
}

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

/// What one plugin did with one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookOutcome {
    /// The plugin.
    pub plugin: String,
    /// `ok`, `error`, `disabled` (it was already disabled) or `inactive` (loaded, not active).
    pub status: String,
    /// What its hook returned (`null` when nothing, or on error).
    pub value: Json,
    /// The error, when the hook failed.
    pub error: Option<sandvm::ErrorReport>,
    /// True when this failure disabled the plugin.
    pub disabled_now: bool,
}

/// The result of [`PluginHost::dispatch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    /// The event.
    pub event: String,
    /// One entry per plugin whose hooks match, in load order.
    pub results: Vec<HookOutcome>,
    /// Events the plugins emitted meanwhile (the host decides what to do with them).
    pub emitted: Vec<Emitted>,
    /// What they logged meanwhile.
    pub logs: Vec<LogEntry>,
}

impl Dispatch {
    /// True when every hook that ran succeeded.
    pub fn ok(&self) -> bool {
        self.results.iter().all(|r| r.status == "ok" || r.status == "inactive")
    }
}

#[derive(Default)]
struct Bus {
    events: Vec<Emitted>,
    logs: Vec<LogEntry>,
    /// Bytes of `events` and `logs`, as counted against
    /// [`HostOptions::max_pending_message_bytes`].
    bytes: usize,
}

type SharedBus = Arc<Mutex<Bus>>;

struct Plugin {
    manifest: Manifest,
    ctx: sandvm::Context,
    limits: sandvm::Limits,
    state: PluginState,
    failures: u32,
    stores: Stores,
    exports: Vec<String>,
    ready: u64,
    dirty: bool,
    /// The secret the loader's hook requires (see [`crate::secret_token`]).
    token: String,
}

/// Hosts plugins. Not `Send`: it owns sandboxes (make one per thread).
pub struct PluginHost {
    opts: HostOptions,
    shared: Option<sandvm::Runtime>,
    plugins: Vec<Plugin>,
    host_fns: BTreeMap<String, sandvm::HostModuleFn>,
    bus: SharedBus,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("options", &self.opts)
            .field("plugins", &self.plugins.iter().map(|p| &p.manifest.name).collect::<Vec<_>>())
            .field("host_fns", &self.host_fns.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Names of `sandvm:host` exports that host functions cannot take.
const RESERVED: &[&str] =
    &["plugin", "log", "info", "warn", "error", "debug", "emit", "kvGet", "kvSet", "kvHas", "kvDelete", "kvKeys", "kv"];

const CALL: &str = "__sandvm_plugin_call";

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
    /// Makes a host.
    ///
    /// # Errors
    /// [`Error::Sandbox`] when the shared runtime ([`Isolation::SharedRuntime`]) cannot be
    /// created.
    pub fn new(opts: HostOptions) -> Result<PluginHost> {
        let shared = match opts.isolation {
            Isolation::SharedRuntime => Some(sandvm::Runtime::new(opts.max_limits.clone())?),
            Isolation::RuntimePerPlugin => None,
        };
        Ok(PluginHost { opts, shared, plugins: Vec::new(), host_fns: BTreeMap::new(), bus: SharedBus::default() })
    }

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

    /// The host's options.
    pub fn options(&self) -> &HostOptions {
        &self.opts
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.plugins.iter().position(|p| p.manifest.name == name).ok_or_else(|| Error::UnknownPlugin(name.into()))
    }

    fn limits_for(&self, m: &Manifest) -> Result<sandvm::Limits> {
        let d = &self.opts.default_limits;
        let max = &self.opts.max_limits;
        let r = &m.limits;
        let too_much = |what: &str, asked: String, allowed: String| Error::LimitsNotAllowed {
            plugin: m.name.clone(),
            message: format!("asks for {what} {asked}, the host allows at most {allowed}"),
        };
        let mut l = d.clone();
        if let Some(ms) = r.timeout_ms {
            let t = Duration::from_millis(ms);
            if ms == 0 || max.timeout.is_some_and(|m| t > m) {
                return Err(too_much("timeout_ms", ms.to_string(), format!("{:?}", max.timeout)));
            }
            l.timeout = Some(t);
        }
        if let Some(mb) = r.memory_mb {
            if mb.saturating_mul(1024 * 1024) > max.memory {
                return Err(too_much("memory_mb", mb.to_string(), (max.memory / (1024 * 1024)).to_string()));
            }
            l.memory = mb * 1024 * 1024;
        }
        if let Some(kb) = r.stack_kb {
            if kb.saturating_mul(1024) > max.stack {
                return Err(too_much("stack_kb", kb.to_string(), (max.stack / 1024).to_string()));
            }
            l.stack = kb * 1024;
        }
        if let Some(n) = r.max_output {
            if n > max.max_output {
                return Err(too_much("max_output", n.to_string(), max.max_output.to_string()));
            }
            l.max_output = n;
        }
        Ok(l)
    }

    /// Builds the `sandvm:host` module for one plugin.
    fn host_module(&self, m: &Manifest, stores: &Stores) -> sandvm::HostModule {
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

    /// Loads the plugin in `dir`: checks its manifest against the host's grants and limits,
    /// compiles it and runs its top level under its limits. It is then
    /// [`PluginState::Loaded`]; call [`PluginHost::activate`] to give it events. Returns its
    /// name.
    ///
    /// # Errors
    /// [`Error::Io`]/[`Error::Parse`]/[`Error::Invalid`] for the manifest,
    /// [`Error::CapabilityNotGranted`], [`Error::LimitsNotAllowed`],
    /// [`Error::DuplicatePlugin`], [`Error::Plugin`] when its code fails to load (syntax
    /// error, exception, refused import, limit), [`Error::Invalid`] when it hooks events but
    /// exports no `onEvent`.
    pub fn load_dir(&mut self, dir: impl AsRef<Path>) -> Result<String> {
        let dir = dir.as_ref();
        let manifest = Manifest::read_dir(dir)?;
        self.load(manifest, dir)
    }

    /// As [`PluginHost::load_dir`] with a manifest already read; `dir` holds the code.
    ///
    /// # Errors
    /// As [`PluginHost::load_dir`].
    pub fn load(&mut self, manifest: Manifest, dir: &Path) -> Result<String> {
        let name = manifest.name.clone();
        if self.plugins.iter().any(|p| p.manifest.name == name) {
            return Err(Error::DuplicatePlugin(name));
        }
        let mut packs = sandvm::Capabilities::none();
        for cap in &manifest.capabilities {
            let host_fn = self.host_fns.contains_key(cap);
            if !host_fn && !self.opts.granted.contains(cap) {
                return Err(Error::CapabilityNotGranted { plugin: name, capability: cap.clone() });
            }
            if sandvm::PACK_NAMES.contains(&cap.as_str()) {
                packs = packs.grant(cap)?;
            } else if !host_fn && cap != "kv" && cap != "emit" {
                return Err(Error::invalid(format!("plugin '{name}'"), format!("unknown capability '{cap}'")));
            }
        }
        let limits = self.limits_for(&manifest)?;
        let entry_path = dir.join(&manifest.entry);
        if !entry_path.is_file() {
            return Err(Error::io(entry_path, "the entry module does not exist"));
        }
        let stores = Stores::new(Caps {
            kv_entries: self.opts.kv_max_entries,
            kv_bytes: self.opts.kv_max_bytes,
            messages: self.opts.max_messages_per_call,
            message_bytes: self.opts.max_message_bytes_per_call,
        });
        let mut modules = sandvm::ModuleConfig::new()
            .root(dir)?
            .commonjs(false)
            .host_module("sandvm:host", self.host_module(&manifest, &stores))
            .allow("sandvm:host");
        if manifest.capabilities.iter().any(|c| c == "kv") {
            let kv = stores.kv_functions(sandvm::HostModule::new(), ["get", "set", "has", "delete", "keys"]);
            modules = modules.host_module("sandvm:kv", kv).allow("sandvm:kv");
        }
        let opts = sandvm::ContextOptions::default()
            .strict(true)
            .modules(modules)
            .capabilities(packs)
            .filename(format!("plugin:{name}"));
        let rt = match &self.shared {
            Some(rt) => rt.clone(),
            None => sandvm::Runtime::new(limits.clone())?,
        };
        let ctx = sandvm::Context::new(&rt, opts)?;
        let mut p = Plugin {
            manifest,
            ctx,
            limits,
            state: PluginState::Loaded,
            failures: 0,
            stores,
            exports: Vec::new(),
            ready: 0,
            dirty: true,
            token: crate::secret_token(),
        };
        self.run_top_level(&mut p).map_err(|e| Error::Plugin { plugin: name.clone(), source: Box::new(e) })?;
        self.drain_logs(&p);
        if !p.manifest.hooks.is_empty() && !p.exports.iter().any(|e| e == "onEvent") {
            return Err(Error::invalid(
                format!("plugin '{name}'"),
                "it lists hooks but its entry module exports no onEvent function",
            ));
        }
        self.plugins.push(p);
        Ok(name)
    }

    /// Runs the plugin's loader: imports the entry, keeps its namespace on a hidden global.
    fn run_top_level(&self, p: &mut Plugin) -> std::result::Result<(), sandvm::Error> {
        let entry = p.manifest.entry.trim_start_matches("./");
        let token = serde_json::to_string(&p.token).unwrap_or_default();
        // The hook is a frozen arrow function that needs the plugin's secret token: the plugin
        // can see it on the global object but not call it.
        let loader = format!(
            "import * as plugin from './{entry}';\n\
             const TOKEN = {token};\n\
             const call = (token, name, args) => {{\n\
               if (token !== TOKEN) throw new TypeError('internal hook');\n\
               const f = plugin[name];\n\
               if (typeof f !== 'function') return {{ missing: true }};\n\
               const r = f(...args);\n\
               const wrap = (v) => ({{ value: v === undefined ? null : v }});\n\
               return r !== null && typeof r === 'object' && typeof r.then === 'function' ? Promise.resolve(r).then(wrap) : wrap(r);\n\
             }};\n\
             Object.defineProperty(globalThis, '{CALL}', {{ value: Object.freeze(call) }});\n\
             export const exports = Object.keys(plugin);\n"
        );
        let rt = p.ctx.runtime().clone();
        rt.set_limits(p.limits.clone());
        p.stores.begin_call();
        let done = p.ctx.run_module(&loader, "<plugin-loader>");
        if let Err(e) = &done {
            if e.is_limit() || matches!(e, sandvm::Error::Cancelled) {
                p.dirty = true;
                return Err(e.clone());
            }
        }
        let done = done?;
        p.exports = done
            .value
            .as_ref()
            .and_then(|v| v.get("exports"))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        p.ready = rt.generation();
        p.dirty = false;
        Ok(())
    }

    /// Moves the plugin's captured console output to the log.
    fn drain_logs(&self, p: &Plugin) {
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

    /// Calls export `hook` of plugin `i` with `args`. `Ok(None)` when it has no such export.
    fn call_index(&mut self, i: usize, hook: &str, args: &[Json]) -> Result<Option<Json>> {
        if let PluginState::Disabled { reason } = &self.plugins[i].state {
            return Err(Error::PluginDisabled {
                plugin: self.plugins[i].manifest.name.clone(),
                reason: reason.clone(),
            });
        }
        let name = self.plugins[i].manifest.name.clone();
        let result = self.call_raw(i, hook, args);
        let p = &self.plugins[i];
        self.drain_logs(p);
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                if e.is_limit() || matches!(e, sandvm::Error::Cancelled) {
                    // The runtime was reset: every plugin in it must load again.
                    match self.opts.isolation {
                        Isolation::SharedRuntime => self.plugins.iter_mut().for_each(|p| p.dirty = true),
                        Isolation::RuntimePerPlugin => self.plugins[i].dirty = true,
                    }
                }
                let p = &mut self.plugins[i];
                p.failures += 1;
                if p.failures >= self.opts.max_failures {
                    p.state = PluginState::Disabled { reason: format!("{} failures, the last: {e}", p.failures) };
                }
                // A call that failed with an exception after the host refused a write reports
                // the quota; the guest's exception alone never decides this.
                match (p.stores.hit(), &e) {
                    (Some((quota, limit)), sandvm::Error::Exception { .. }) => {
                        Err(Error::QuotaExceeded { plugin: name, quota, limit })
                    }
                    _ => Err(Error::Plugin { plugin: name, source: Box::new(e) }),
                }
            }
        }
    }

    fn call_raw(&mut self, i: usize, hook: &str, args: &[Json]) -> std::result::Result<Option<Json>, sandvm::Error> {
        let needs_reload = {
            let p = &self.plugins[i];
            p.dirty || p.ready != p.ctx.runtime().generation()
        };
        if needs_reload {
            let mut p = self.plugins.remove(i);
            let r = self.run_top_level(&mut p);
            let reactivate = r.is_ok() && p.state == PluginState::Active;
            self.plugins.insert(i, p);
            r?;
            if reactivate {
                let info = serde_json::json!({"name": self.plugins[i].manifest.name, "version": self.plugins[i].manifest.version});
                self.invoke(i, "activate", &[info])?;
            }
        }
        self.invoke(i, hook, args)
    }

    fn invoke(&self, i: usize, hook: &str, args: &[Json]) -> std::result::Result<Option<Json>, sandvm::Error> {
        let p = &self.plugins[i];
        p.ctx.runtime().set_limits(p.limits.clone());
        p.stores.begin_call();
        let done = p
            .ctx
            .call(CALL, &[Json::String(p.token.clone()), Json::String(hook.to_string()), Json::Array(args.to_vec())])?;
        let v = done.value.unwrap_or(Json::Null);
        if v.get("missing") == Some(&Json::Bool(true)) {
            return Ok(None);
        }
        Ok(Some(v.get("value").cloned().unwrap_or(Json::Null)))
    }

    /// Activates a loaded plugin: calls its `activate({ name, version })` export, if any.
    ///
    /// # Errors
    /// [`Error::UnknownPlugin`], [`Error::PluginDisabled`], or [`Error::Plugin`] when
    /// `activate` fails (which counts as a failure; the plugin stays loaded).
    pub fn activate(&mut self, name: &str) -> Result<()> {
        let i = self.index(name)?;
        if self.plugins[i].state == PluginState::Active {
            return Ok(());
        }
        let m = &self.plugins[i].manifest;
        let info = serde_json::json!({"name": m.name, "version": m.version});
        self.call_index(i, "activate", &[info])?;
        self.plugins[i].state = PluginState::Active;
        Ok(())
    }

    /// Deactivates a plugin: calls its `deactivate()` export, if any; it then gets no events.
    ///
    /// # Errors
    /// [`Error::UnknownPlugin`]; [`Error::Plugin`] when `deactivate` fails (the plugin is
    /// deactivated anyway).
    pub fn deactivate(&mut self, name: &str) -> Result<()> {
        let i = self.index(name)?;
        if self.plugins[i].state != PluginState::Active {
            return Ok(());
        }
        let r = self.call_index(i, "deactivate", &[]);
        if self.plugins[i].state == PluginState::Active {
            self.plugins[i].state = PluginState::Loaded;
        }
        r.map(|_| ())
    }

    /// Unloads a plugin (deactivating it first; errors of `deactivate` are ignored) and frees
    /// its sandbox. Its key/value store goes with it.
    ///
    /// # Errors
    /// [`Error::UnknownPlugin`].
    pub fn unload(&mut self, name: &str) -> Result<()> {
        let i = self.index(name)?;
        let _ = self.deactivate(name);
        self.plugins.remove(i);
        Ok(())
    }

    /// Calls export `hook` of plugin `name` with `args` (any export: the host decides its own
    /// hooks). `Ok(None)` when the plugin has no such export.
    ///
    /// # Errors
    /// [`Error::UnknownPlugin`], [`Error::PluginDisabled`], or [`Error::Plugin`] when the hook
    /// throws or hits a limit (a failure).
    pub fn call_hook(&mut self, name: &str, hook: &str, args: &[Json]) -> Result<Option<Json>> {
        let i = self.index(name)?;
        self.call_index(i, hook, args)
    }

    /// Sends an event to every active plugin whose `hooks` match, in load order: calls
    /// `onEvent(event, payload)` on each with its own copy of `payload`. A failing plugin never
    /// stops the others.
    pub fn dispatch(&mut self, event: &str, payload: &Json) -> Dispatch {
        let mut results = Vec::new();
        for i in 0..self.plugins.len() {
            let p = &self.plugins[i];
            if !p.manifest.handles(event) {
                continue;
            }
            let plugin = p.manifest.name.clone();
            let status = match &p.state {
                PluginState::Disabled { .. } => Some("disabled"),
                PluginState::Loaded => Some("inactive"),
                PluginState::Active => None,
            };
            if let Some(status) = status {
                results.push(HookOutcome {
                    plugin,
                    status: status.into(),
                    value: Json::Null,
                    error: None,
                    disabled_now: false,
                });
                continue;
            }
            let r = self.call_index(i, "onEvent", &[Json::String(event.to_string()), payload.clone()]);
            let disabled_now = matches!(self.plugins[i].state, PluginState::Disabled { .. });
            results.push(match r {
                Ok(v) => HookOutcome {
                    plugin,
                    status: "ok".into(),
                    value: v.unwrap_or(Json::Null),
                    error: None,
                    disabled_now: false,
                },
                Err(e) => {
                    let report = match &e {
                        Error::Plugin { source, .. } => sandvm::ErrorReport::from(source.as_ref()),
                        Error::QuotaExceeded { .. } => sandvm::ErrorReport {
                            kind: "quota_exceeded".into(),
                            name: None,
                            message: e.to_string(),
                            stack: None,
                            line: None,
                            column: None,
                        },
                        other => sandvm::ErrorReport {
                            kind: "host".into(),
                            name: None,
                            message: other.to_string(),
                            stack: None,
                            line: None,
                            column: None,
                        },
                    };
                    HookOutcome { plugin, status: "error".into(), value: Json::Null, error: Some(report), disabled_now }
                }
            });
        }
        let (emitted, logs) = self.take_messages();
        Dispatch { event: event.to_string(), results, emitted, logs }
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

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins
            .iter()
            .map(|p| PluginInfo {
                manifest: p.manifest.clone(),
                state: p.state.clone(),
                failures: p.failures,
                exports: p.exports.clone(),
                usage: p.stores.usage(),
            })
            .collect()
    }

    /// The state of plugin `name`.
    pub fn state(&self, name: &str) -> Option<PluginState> {
        self.plugins.iter().find(|p| p.manifest.name == name).map(|p| p.state.clone())
    }

    /// The key/value store of plugin `name` (the host may read and write it).
    pub fn kv(&self, name: &str) -> Option<sandvm::KvStore> {
        self.plugins.iter().find(|p| p.manifest.name == name).map(|p| p.stores.kv().clone())
    }
}

/// Finds plugin directories: `dir` itself when it has a `plugin.toml`, else its
/// subdirectories that have one, sorted by name.
///
/// # Errors
/// [`Error::Io`] when `dir` cannot be read; [`Error::Invalid`] when it holds no plugin.
pub fn find_plugin_dirs(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    if dir.join("plugin.toml").is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(Error::invalid(dir.display().to_string(), "no plugin.toml here or in its subdirectories"));
    }
    Ok(out)
}

/// Checks the plugin in `dir` as `host` options would load it: manifest, capabilities,
/// limits, compiling and running its top level, and its exports. Returns its summary.
///
/// # Errors
/// As [`PluginHost::load_dir`].
pub fn check_dir(dir: impl AsRef<Path>, opts: HostOptions) -> Result<PluginInfo> {
    let mut host = PluginHost::new(opts)?;
    let name = host.load_dir(dir)?;
    host.plugins().into_iter().find(|p| p.manifest.name == name).ok_or(Error::UnknownPlugin(name))
}
