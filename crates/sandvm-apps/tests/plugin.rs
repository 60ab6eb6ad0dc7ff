//! The plugin host: lifecycle, capabilities, isolation of stores, disabling bad plugins.

use std::path::{Path, PathBuf};

use sandvm_apps::plugin::{self, HostOptions, Isolation, Manifest, PluginHost, PluginState};
use sandvm_apps::Error;
use serde_json::json;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plugins")
}

/// Writes a plugin directory: a manifest and `index.js`.
fn write_plugin(root: &Path, name: &str, manifest_extra: &str, code: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plugin.toml"), format!("name = \"{name}\"\nversion = \"0.1.0\"\n{manifest_extra}\n"))
        .unwrap();
    std::fs::write(dir.join("index.js"), code).unwrap();
    dir
}

fn host() -> PluginHost {
    PluginHost::new(HostOptions::default().grant("kv").grant("emit")).unwrap()
}

#[test]
fn the_example_greeter_runs_its_lifecycle() {
    let mut h = host();
    let name = h.load_dir(examples().join("greeter")).unwrap();
    assert_eq!(name, "greeter");
    assert_eq!(h.state("greeter"), Some(PluginState::Loaded));
    // Not active yet: it gets no events.
    let d = h.dispatch("user.created", &json!({"name": "Ada"}));
    assert_eq!(d.results[0].status, "inactive");
    h.activate("greeter").unwrap();
    let (_, logs) = h.take_messages();
    assert_eq!(logs[0].message, "greeter 1.0.0 activated");
    for i in 1..=3 {
        let d = h.dispatch("user.created", &json!({"name": "Ada"}));
        assert!(d.ok(), "{d:?}");
        assert_eq!(d.results[0].value, json!({"text": "Welcome, Ada!", "count": i}));
        assert_eq!(d.emitted[0].name, "greeting.sent");
        assert_eq!(d.emitted[0].plugin, "greeter");
    }
    assert_eq!(h.kv("greeter").unwrap().get("greeted"), Some(json!(3)));
    let d = h.dispatch("stats.requested", &json!(null));
    assert_eq!(d.results[0].value, json!({"plugin": "greeter", "greeted": 3}));
    // Events it does not hook never reach it.
    assert!(h.dispatch("order.created", &json!({})).results.is_empty());
    h.deactivate("greeter").unwrap();
    let (_, logs) = h.take_messages();
    assert_eq!(logs.last().unwrap().message, "bye");
    h.unload("greeter").unwrap();
    assert!(matches!(h.activate("greeter"), Err(Error::UnknownPlugin(_))));
}

#[test]
fn a_plugin_cannot_read_another_plugins_store() {
    let mut h = host();
    h.load_dir(examples().join("greeter")).unwrap();
    h.activate("greeter").unwrap();
    h.dispatch("user.created", &json!({"name": "Ada"}));
    let tmp = tempfile::tempdir().unwrap();
    let thief = write_plugin(
        tmp.path(),
        "thief",
        "capabilities = [\"kv\"]\nhooks = [\"steal\"]",
        r#"
import * as host from 'sandvm:host';
import * as kv from 'sandvm:kv';
export async function onEvent() {
  const tries = {};
  tries.hostKeys = host.kvKeys();
  tries.kvKeys = kv.keys();
  tries.greeted = host.kvGet('greeted');
  tries.prefixed = host.kvGet('greeter:greeted');
  tries.exports = Object.keys(host).sort();
  for (const spec of ['sandvm:kv/greeter', 'sandvm:host/greeter', '../greeter/index.js', 'greeter']) {
    try { await import(spec); tries[spec] = 'imported'; } catch (e) { tries[spec] = e.name; }
  }
  host.kvSet('greeted', 'overwritten?');
  return tries;
}
"#,
    );
    h.load_dir(&thief).unwrap();
    h.activate("thief").unwrap();
    let d = h.dispatch("steal", &json!({}));
    assert!(d.ok(), "{d:?}");
    let v = &d.results[0].value;
    assert_eq!(v["hostKeys"], json!([]));
    assert_eq!(v["kvKeys"], json!([]));
    assert_eq!(v["greeted"], json!(null));
    assert_eq!(v["prefixed"], json!(null));
    assert_eq!(
        v["exports"],
        json!(["debug", "error", "info", "kvDelete", "kvGet", "kvHas", "kvKeys", "kvSet", "log", "plugin", "warn"])
    );
    assert_eq!(v["sandvm:kv/greeter"], json!("ModuleNotFound"));
    assert_eq!(v["sandvm:host/greeter"], json!("ModuleNotFound"));
    assert_eq!(v["../greeter/index.js"], json!("ModuleNotAllowed"));
    assert_eq!(v["greeter"], json!("ModuleNotFound"));
    // Its write went to its own store; the greeter's is untouched.
    assert_eq!(h.kv("greeter").unwrap().get("greeted"), Some(json!(1)));
    assert_eq!(h.kv("thief").unwrap().get("greeted"), Some(json!("overwritten?")));
}

#[test]
fn ungranted_capabilities_fail_the_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_plugin(tmp.path(), "wants-timers", "capabilities = [\"kv\", \"timers\"]", "export const x = 1;");
    let mut h = host();
    match h.load_dir(&dir) {
        Err(Error::CapabilityNotGranted { plugin, capability }) => {
            assert_eq!((plugin.as_str(), capability.as_str()), ("wants-timers", "timers"));
        }
        other => panic!("{other:?}"),
    }
    assert!(h.plugins().is_empty());
    let e = plugin::check_dir(&dir, HostOptions::default().grant("kv")).unwrap_err();
    assert!(e.to_string().contains("requests capability 'timers', which the host has not granted"), "{e}");
    // Granted, it loads, and gets the pack.
    let dir = write_plugin(
        tmp.path(),
        "timed",
        "capabilities = [\"timers\"]\nhooks = [\"tick\"]",
        "export const onEvent = () => new Promise((r) => setTimeout(() => r('tock'), 5));",
    );
    let mut h = PluginHost::new(HostOptions::default().grant("timers")).unwrap();
    h.load_dir(&dir).unwrap();
    h.activate("timed").unwrap();
    assert_eq!(h.dispatch("tick", &json!(null)).results[0].value, json!("tock"));
    // Without the capability the import of the function is a link error.
    let dir = write_plugin(tmp.path(), "no-emit", "", "import { emit } from 'sandvm:host';");
    assert!(matches!(host().load_dir(&dir), Err(Error::Plugin { .. })));
    // Asking for more than the host allows.
    let dir = write_plugin(tmp.path(), "greedy", "[limits]\nmemory_mb = 100000", "");
    assert!(matches!(host().load_dir(&dir), Err(Error::LimitsNotAllowed { .. })));
    let dir = write_plugin(tmp.path(), "unknown-cap", "capabilities = [\"net\"]", "");
    assert!(matches!(host().load_dir(&dir), Err(Error::CapabilityNotGranted { .. })));
}

fn looping_host(isolation: Isolation) {
    let tmp = tempfile::tempdir().unwrap();
    let opts = HostOptions::default().grant("kv").grant("emit").isolation(isolation).max_failures(3);
    let mut h = PluginHost::new(opts).unwrap();
    let looper = write_plugin(
        tmp.path(),
        "looper",
        "hooks = [\"user.*\"]\n[limits]\ntimeout_ms = 30",
        "let calls = 0; export function onEvent() { calls++; for (;;) {} }",
    );
    let hog = write_plugin(
        tmp.path(),
        "hog",
        "hooks = [\"user.*\"]\n[limits]\nmemory_mb = 8\ntimeout_ms = 2000",
        "export function onEvent() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }",
    );
    let thrower = write_plugin(
        tmp.path(),
        "thrower",
        "hooks = [\"user.*\"]",
        "export function onEvent() { throw new Error('no'); }",
    );
    let greeter = examples().join("greeter");
    for d in [&greeter, &looper, &hog, &thrower] {
        let n = h.load_dir(d).unwrap();
        h.activate(&n).unwrap();
    }
    for round in 1..=5u32 {
        let d = h.dispatch("user.created", &json!({"name": "Bo"}));
        let by = |n: &str| d.results.iter().find(|r| r.plugin == n).unwrap().clone();
        let g = by("greeter");
        assert_eq!(g.status, "ok", "round {round}: {g:?}");
        assert_eq!(g.value["count"], json!(round), "the greeter's store survives resets (round {round})");
        for (name, kind) in [("looper", "timeout"), ("hog", "memory_limit"), ("thrower", "exception")] {
            let r = by(name);
            if round <= 3 {
                assert_eq!(r.status, "error", "{name} round {round}");
                assert_eq!(r.error.as_ref().unwrap().kind, kind, "{name} round {round}");
                assert_eq!(r.disabled_now, round == 3, "{name} round {round}");
            } else {
                assert_eq!(r.status, "disabled", "{name} round {round}");
            }
        }
    }
    for n in ["looper", "hog", "thrower"] {
        assert!(matches!(h.state(n), Some(PluginState::Disabled { .. })), "{n}");
        assert!(matches!(h.call_hook(n, "onEvent", &[]), Err(Error::PluginDisabled { .. })));
    }
    assert_eq!(h.state("greeter"), Some(PluginState::Active));
    assert_eq!(h.plugins().iter().find(|p| p.manifest.name == "looper").unwrap().failures, 3);
}

#[test]
fn bad_plugins_are_disabled_and_others_keep_working() {
    looping_host(Isolation::RuntimePerPlugin);
}

#[test]
fn shared_runtime_reloads_the_others_after_a_limit() {
    looping_host(Isolation::SharedRuntime);
}

#[test]
fn host_functions_are_exposed_to_plugins_that_ask() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = host();
    h.expose_fn("price", |args| {
        let sku = args.get(0).and_then(|v| v.as_str()).ok_or("price: sku must be a string")?;
        Ok(json!(if sku == "pen" { 1.5 } else { 0.0 }))
    })
    .unwrap();
    assert!(h.expose_fn("log", |_| Ok(json!(null))).is_err());
    let dir = write_plugin(
        tmp.path(),
        "pricer",
        "capabilities = [\"price\"]\nhooks = [\"quote\"]",
        "import { price } from 'sandvm:host'; export const onEvent = (_, p) => { try { price(1) } catch (e) { return [price(p.sku), e.message] } };",
    );
    h.load_dir(&dir).unwrap();
    h.activate("pricer").unwrap();
    let d = h.dispatch("quote", &json!({"sku": "pen"}));
    assert_eq!(d.results[0].value, json!([1.5, "price: sku must be a string"]));
    // A plugin that did not ask does not get it.
    let dir = write_plugin(tmp.path(), "other", "", "import { price } from 'sandvm:host';");
    assert!(matches!(h.load_dir(&dir), Err(Error::Plugin { .. })));
}

#[test]
fn manifests_are_validated() {
    assert!(matches!(Manifest::from_toml("name = \"x\"", "m"), Err(Error::Parse { .. })));
    assert!(matches!(Manifest::from_toml("name = \"X Y\"\nversion = \"1\"", "m"), Err(Error::Invalid { .. })));
    assert!(matches!(
        Manifest::from_toml("name = \"x\"\nversion = \"1\"\nentry = \"../x.js\"", "m"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        Manifest::from_toml("name = \"x\"\nversion = \"1\"\nentry = \"/etc/passwd\"", "m"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(Manifest::from_toml("name = \"x\"\nversion = \"1\"\nfoo = 1", "m"), Err(Error::Parse { .. })));
    let m = Manifest::from_toml("name = \"x\"\nversion = \"1\"\nhooks = [\"a.*\", \"b\"]", "m").unwrap();
    assert_eq!(m.entry, "index.js");
    assert!(m.handles("a.x") && m.handles("b") && !m.handles("bb") && !m.handles("c"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_plugin(tmp.path(), "no-on-event", "hooks = [\"x\"]", "export const y = 1;");
    assert!(matches!(host().load_dir(&dir), Err(Error::Invalid { .. })));
    let dir = write_plugin(tmp.path(), "top-loop", "[limits]\ntimeout_ms = 20", "for (;;) {}");
    match host().load_dir(&dir) {
        Err(e @ Error::Plugin { .. }) => assert_eq!(e.exit_code(), 3),
        other => panic!("{other:?}"),
    }
    let dirs = plugin::find_plugin_dirs(examples()).unwrap();
    assert_eq!(dirs.len(), 2);
    let mut h = host();
    h.load_dir(&dirs[0]).unwrap();
    assert!(matches!(h.load_dir(&dirs[0]), Err(Error::DuplicatePlugin(_))));
}

#[test]
fn the_example_hostile_plugin_is_contained() {
    let mut h = host();
    for d in plugin::find_plugin_dirs(examples()).unwrap() {
        let n = h.load_dir(d).unwrap();
        h.activate(&n).unwrap();
    }
    for _ in 0..3 {
        h.dispatch("user.created", &json!({"name": "Cy"}));
    }
    let d = h.dispatch("user.created", &json!({"name": "Cy"}));
    assert_eq!(d.results[0].value["count"], json!(4));
    assert_eq!(d.results[1].status, "disabled");
    let _ = h.take_messages();
    let mut h2 = host();
    for d in plugin::find_plugin_dirs(examples()).unwrap() {
        let n = h2.load_dir(d).unwrap();
        h2.activate(&n).unwrap();
    }
    let d = h2.dispatch("user.created", &json!({"name": "Cy"}));
    let logs: Vec<&str> = d.logs.iter().filter(|l| l.plugin == "hostile").map(|l| l.message.as_str()).collect();
    assert_eq!(logs[0], "keys I can see: [] greeted = null", "{logs:?}");
    assert!(logs.iter().all(|l| !l.starts_with("imported")), "{logs:?}");
    assert!(logs.contains(&"typeof process = undefined , typeof require = undefined"), "{logs:?}");
}

/// After a call hits a limit the core replays the plugin's setup (its top level, then its
/// activation) on a fresh engine: the next call works with no reload in the host, module
/// state the plugin built up is gone, what `activate` set up is back, and a deactivated
/// plugin's activation is no longer replayed.
#[test]
fn the_call_after_each_limit_finds_the_plugin_loaded_and_activated_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_plugin(
        tmp.path(),
        "stateful",
        "hooks = [\"go\"]\n[limits]\ntimeout_ms = 100\nmemory_mb = 16",
        "let loads = (globalThis.loads || 0) + 1; globalThis.loads = loads;\n\
         let activations = 0; let calls = 0;\n\
         export function activate() { activations++; }\n\
         export function deactivate() {}\n\
         export function onEvent(name, how) {\n\
           calls++;\n\
           if (how === 'spin') for (;;) {}\n\
           if (how === 'hog') { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }\n\
           if (how === 'deep') { const f = () => f(); f(); }\n\
           return { loads, activations, calls };\n\
         }",
    );
    let opts = HostOptions { max_failures: 100, ..HostOptions::default() };
    let mut h = PluginHost::new(opts).unwrap();
    let name = h.load_dir(&dir).unwrap();
    h.activate(&name).unwrap();
    let state = |h: &mut PluginHost| h.call_hook(&name, "onEvent", &[json!("go"), json!("ok")]).unwrap().unwrap();
    assert_eq!(state(&mut h), json!({"loads": 1, "activations": 1, "calls": 1}));
    assert_eq!(state(&mut h), json!({"loads": 1, "activations": 1, "calls": 2}));
    for (how, kind) in [("spin", "timeout"), ("hog", "memory_limit"), ("deep", "stack_overflow")] {
        let d = h.dispatch("go", &json!(how));
        assert_eq!(d.results[0].error.as_ref().map(|e| e.kind.as_str()), Some(kind), "{d:?}");
        // A fresh engine: loaded once and activated once again; the calls counter restarts.
        assert_eq!(state(&mut h), json!({"loads": 1, "activations": 1, "calls": 1}), "after {how}");
    }
    h.deactivate(&name).unwrap();
    assert_eq!(h.dispatch("go", &json!("spin")).results[0].status, "inactive");
    h.activate(&name).unwrap();
    h.deactivate(&name).unwrap();
    assert!(h.call_hook(&name, "onEvent", &[json!("go"), json!("spin")]).is_err());
    assert_eq!(state(&mut h), json!({"loads": 1, "activations": 0, "calls": 1}), "not activated after a deactivate");
}

#[cfg(feature = "typescript")]
#[test]
fn a_typescript_entry_loads_imports_typescript_and_maps_positions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("typed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        "name = \"typed\"\nversion = \"0.2.0\"\nentry = \"index.ts\"\ncapabilities = [\"kv\"]\nhooks = [\"order.*\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("money.ts"),
        "export interface Line {\n  sku: string;\n  cents: number;\n}\nexport const total = (lines: Line[]): number =>\n  lines.reduce((s, l) => s + l.cents, 0);\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("index.ts"),
        "import { kvGet, kvSet } from 'sandvm:host';\n\
         import { total, type Line } from './money.ts';\n\
         enum Kind { Created = 'order.created', Refused = 'order.refused' }\n\
         type Payload = {\n  lines: Line[];\n};\n\
         export function onEvent(name: string, payload: Payload): number {\n\
         \x20 if (name === Kind.Refused) {\n\
         \x20   throw new RangeError(`refused ${payload.lines.length}`);\n\
         \x20 }\n\
         \x20 const sum = total(payload.lines) + ((kvGet('sum') as number | undefined) ?? 0);\n\
         \x20 kvSet('sum', sum);\n\
         \x20 return sum;\n\
         }\n",
    )
    .unwrap();
    let mut h = host();
    assert_eq!(h.load_dir(&dir).unwrap(), "typed");
    h.activate("typed").unwrap();
    let lines = json!({"lines": [{"sku": "a", "cents": 250}, {"sku": "b", "cents": 125}]});
    let d = h.dispatch("order.created", &lines);
    assert!(d.ok(), "{d:?}");
    assert_eq!(d.results[0].value, json!(375));
    assert_eq!(h.dispatch("order.created", &lines).results[0].value, json!(750));
    // An error thrown by the hook points into index.ts (line 9), not into the JavaScript.
    let d = h.dispatch("order.refused", &lines);
    let e = d.results[0].error.as_ref().expect("an error");
    assert_eq!((e.name.as_deref(), e.line), (Some("RangeError"), Some(9)), "{e:?}");
    assert!(e.stack.as_deref().is_some_and(|s| s.contains("index.ts:9:")), "{e:?}");
    // A TypeScript syntax error fails the load with the TypeScript position.
    std::fs::write(dir.join("index.ts"), "type T = {\n  a: number;\n};\nexport const x: T = { a: 1 ;\n").unwrap();
    let mut h = host();
    let err = h.load_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("4:"), "{err}");
}
