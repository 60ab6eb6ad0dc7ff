//! The options object of `new Sandbox(options)`, read into sandvm's limits and context options.

use std::time::Duration;

use serde_json::Value as Json;

/// A sandbox's limits and context options.
pub(crate) struct Options {
    pub(crate) limits: sandvm::Limits,
    pub(crate) context: sandvm::ContextOptions,
}

fn num(o: &Json, key: &str) -> Result<Option<f64>, String> {
    match o.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(format!("options.{key} must be a non-negative number")),
        },
        Some(_) => Err(format!("options.{key} must be a number")),
    }
}

fn boolean(o: &Json, key: &str) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("options.{key} must be a boolean")),
    }
}

fn strings(o: &Json, key: &str) -> Result<Vec<String>, String> {
    match o.get(key) {
        None | Some(Json::Null) => Ok(vec![]),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("options.{key} must hold strings")))
            .collect(),
        Some(_) => Err(format!("options.{key} must be an array of strings")),
    }
}

/// Reads `timeout` (ms), `memoryLimit` (MB), `stackSize` (KB), `maxOutput` (bytes),
/// `capabilities`, `freeze`, `deterministic` (bool or `{ seed }`) and `modules`
/// (`{ map, root, allow, commonjs }`); anything left out keeps sandvm's default.
pub(crate) fn parse(o: &Json) -> Result<Options, String> {
    if !o.is_object() && !o.is_null() {
        return Err("options must be an object".into());
    }
    let mut limits = sandvm::Limits::default();
    if let Some(ms) = num(o, "timeout")? {
        limits.timeout = Some(Duration::from_secs_f64(ms.min(1e9) / 1000.0));
    }
    if let Some(mb) = num(o, "memoryLimit")? {
        limits.memory = (mb.min(1e6) * 1024.0 * 1024.0) as usize;
    }
    if let Some(kb) = num(o, "stackSize")? {
        limits.stack = (kb.min(1e6) * 1024.0) as usize;
    }
    if let Some(b) = num(o, "maxOutput")? {
        limits.max_output = b.min(1e12) as usize;
    }
    let mut caps = sandvm::Capabilities::none();
    for name in strings(o, "capabilities")? {
        caps = caps.grant(&name).map_err(|e| e.to_string())?;
    }
    let mut context = sandvm::ContextOptions::default()
        .capabilities(caps)
        .freeze_intrinsics(boolean(o, "freeze")?)
        .filename("evalmachine.<anonymous>");
    match o.get("deterministic") {
        None | Some(Json::Null) | Some(Json::Bool(false)) => {}
        Some(Json::Bool(true)) => context = context.deterministic(Some(sandvm::Deterministic::default())),
        Some(d @ Json::Object(_)) => {
            let seed = match d.get("seed") {
                None | Some(Json::Null) => 0,
                Some(s) => s.as_u64().ok_or("options.deterministic.seed must be a non-negative integer")?,
            };
            context = context.deterministic(Some(sandvm::Deterministic { seed, ..Default::default() }));
        }
        Some(_) => return Err("options.deterministic must be a boolean or { seed }".into()),
    }
    if let Some(m) = o.get("modules").filter(|m| !m.is_null()) {
        if !m.is_object() {
            return Err("options.modules must be an object { map, root, allow }".into());
        }
        let mut config = sandvm::ModuleConfig::new();
        if let Some(map) = m.get("map").filter(|v| !v.is_null()) {
            let map = map.as_object().ok_or("options.modules.map must map names to sources")?;
            for (name, src) in map {
                let src = src.as_str().ok_or("options.modules.map values must be source strings")?;
                config = config.module(name, src);
            }
        }
        if let Some(root) = m.get("root").filter(|v| !v.is_null()) {
            let root = root.as_str().ok_or("options.modules.root must be a directory path")?;
            config = config.root(root).map_err(|e| e.to_string())?;
        }
        for pattern in strings(m, "allow")? {
            config = config.allow(&pattern);
        }
        if let Some(Json::Bool(on)) = m.get("commonjs") {
            config = config.commonjs(*on);
        }
        context = context.modules(config);
    }
    Ok(Options { limits, context })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn units_are_converted() {
        let o = parse(&json!({ "timeout": 250, "memoryLimit": 8, "stackSize": 512, "maxOutput": 100 })).unwrap();
        assert_eq!(o.limits.timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.limits.memory, 8 * 1024 * 1024);
        assert_eq!(o.limits.stack, 512 * 1024);
        assert_eq!(o.limits.max_output, 100);
        let d = parse(&json!({})).unwrap();
        assert_eq!(d.limits.timeout, sandvm::Limits::default().timeout);
    }

    #[test]
    fn bad_options_are_named() {
        for (bad, field) in [
            (json!({ "timeout": "soon" }), "timeout"),
            (json!({ "memoryLimit": -1 }), "memoryLimit"),
            (json!({ "capabilities": ["fs"] }), "unknown capability"),
            (json!({ "capabilities": "all" }), "capabilities"),
            (json!({ "deterministic": 3 }), "deterministic"),
            (json!({ "deterministic": { "seed": -2 } }), "seed"),
            (json!({ "modules": { "map": { "a.js": 1 } } }), "modules.map"),
            (json!({ "modules": { "root": "/nonexistent/sandvm" } }), "directory"),
            (json!(7), "options must be an object"),
        ] {
            let e = parse(&bad).err().unwrap_or_default();
            assert!(e.contains(field), "{bad}: {e}");
        }
    }
}
