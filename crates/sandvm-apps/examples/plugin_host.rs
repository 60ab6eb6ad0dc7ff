//! The plugin host: load the example plugins, give them events, watch the hostile one be
//! disabled while the greeter keeps working.
//!
//! `cargo run -p sandvm-apps --example plugin_host`

use std::path::Path;

use sandvm_apps::plugin::{find_plugin_dirs, HostOptions, PluginHost, PluginState};
use serde_json::json;

fn main() -> sandvm_apps::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plugins");
    // The host grants the key/value store and event emission, nothing else.
    let mut host = PluginHost::new(HostOptions::default().grant("kv").grant("emit").max_failures(2))?;
    // The host's own Rust functions, for plugins that ask for them by name.
    host.expose_fn("now", |_| Ok(json!(0)))?;
    for d in find_plugin_dirs(&dir)? {
        let name = host.load_dir(&d)?;
        host.activate(&name)?;
    }
    for round in 1..=3 {
        let d = host.dispatch("user.created", &json!({"name": "Ada"}));
        for r in &d.results {
            let err = r.error.as_ref().map(|e| e.kind.as_str()).unwrap_or("");
            println!("round {round}: {} -> {} {} {err}", r.plugin, r.status, r.value);
        }
        for e in &d.emitted {
            println!("round {round}: {} emitted {} {}", e.plugin, e.name, e.payload);
        }
    }
    assert!(matches!(host.state("hostile"), Some(PluginState::Disabled { .. })));
    assert_eq!(host.state("greeter"), Some(PluginState::Active));
    // The host can read a plugin's store; plugins cannot read each other's.
    println!("greeter's store: greeted = {:?}", host.kv("greeter").and_then(|kv| kv.get("greeted")));
    println!("hostile's store: keys = {:?}", host.kv("hostile").map(|kv| kv.keys()));
    Ok(())
}
