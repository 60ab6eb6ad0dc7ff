//! A plugin host: untrusted ES-module plugins with explicit capabilities.
//!
//! A plugin is a directory with a `plugin.toml` manifest and ES module code:
//!
//! ```toml
//! name = "greeter"                 # [a-z0-9._-]+, unique in a host
//! version = "1.0.0"
//! entry = "index.js"               # by default, index.js; index.ts is TypeScript; inside the directory
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

mod host_api;
mod lifecycle;
mod manifest;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use host_api::{Emitted, LogEntry};
pub use manifest::{find_plugin_dirs, Manifest};
pub use store::{Quota, Usage};

use host_api::SharedBus;
use lifecycle::Plugin;

use crate::{Error, Result};

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

    /// The host's options.
    pub fn options(&self) -> &HostOptions {
        &self.opts
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.plugins.iter().position(|p| p.manifest.name == name).ok_or_else(|| Error::UnknownPlugin(name.into()))
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
