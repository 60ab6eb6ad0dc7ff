//! A plugin's lifecycle in its host: load (compile, run the top level), activate, calls
//! and events, deactivate, unload; failures and disabling.

use std::path::Path;

use serde_json::Value as Json;

use super::manifest::limits_for;
use super::store::{Caps, Stores};
use super::{Dispatch, HookOutcome, Manifest, PluginHost, PluginState};
use crate::{Error, Result};

pub(super) struct Plugin {
    pub(super) manifest: Manifest,
    pub(super) ctx: sandvm::Context,
    pub(super) limits: sandvm::Limits,
    pub(super) state: PluginState,
    pub(super) failures: u32,
    pub(super) stores: Stores,
    pub(super) exports: Vec<String>,
    /// The secret the loader's hook requires (see [`crate::secret_token`]).
    pub(super) token: String,
}

const CALL: &str = "__sandvm_plugin_call";

/// The key of a plugin's activation in its context's setup.
const ACTIVATION: &str = "activate";

impl PluginHost {
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
        let limits = limits_for(&self.opts, &manifest)?;
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
        p.ctx.runtime().set_limits(p.limits.clone());
        p.stores.begin_call();
        // Recorded in the context's setup: after a limit the core runs it again (and the
        // activation after it) on the fresh engine before the plugin's next call.
        let done = p.ctx.run_setup(sandvm::SetupStep::module(&loader, "<plugin-loader>"))?;
        p.exports = done
            .value
            .as_ref()
            .and_then(|v| v.get("exports"))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Ok(())
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
        let result = self.invoke(i, hook, args);
        let p = &self.plugins[i];
        self.drain_logs(p);
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
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

    fn invoke(&self, i: usize, hook: &str, args: &[Json]) -> std::result::Result<Option<Json>, sandvm::Error> {
        let p = &self.plugins[i];
        p.ctx.runtime().set_limits(p.limits.clone());
        p.stores.begin_call();
        let args = [Json::String(p.token.clone()), Json::String(hook.to_string()), Json::Array(args.to_vec())];
        // An activation is part of the plugin's setup (replayed after a limit, until it is
        // deactivated); every other call is not.
        let done = match hook {
            "activate" => p.ctx.run_setup(sandvm::SetupStep::call(CALL, &args).key(ACTIVATION))?,
            _ => p.ctx.call(CALL, &args)?,
        };
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
        self.plugins[i].ctx.remove_setup(ACTIVATION);
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
}
