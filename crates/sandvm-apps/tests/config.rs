//! The config evaluator: env passing, hostile configs, schema validation, formats, determinism.

use std::path::{Path, PathBuf};

use sandvm_apps::config::{self, ConfigOptions, Format};
use sandvm_apps::Error;
use serde_json::json;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config").join(name)
}

#[test]
fn the_example_evaluates_validates_and_renders() {
    let opts = ConfigOptions::default().env_var("STAGE", "prod").env_var("PORT", "9000");
    let v = config::evaluate_file(example().join("app.config.js"), &opts).unwrap();
    assert_eq!(v["server"], json!({"host": "0.0.0.0", "port": 9000, "timeout_ms": 30000}));
    assert_eq!(v["replicas"], json!(3));
    let schema = config::read_schema(example().join("schema.json")).unwrap();
    config::validate(&v, &schema).unwrap();
    let dev = config::evaluate_file(example().join("app.config.js"), &ConfigOptions::default()).unwrap();
    assert_eq!(dev["stage"], json!("dev"));
    assert_eq!(dev["features"], json!(["search", "cart", "debug-toolbar"]));
    for f in [Format::Json, Format::Yaml, Format::Toml] {
        let out = config::render(&v, f).unwrap();
        assert!(out.contains("9000"), "{out}");
        assert!(out.ends_with('\n'));
    }
    let toml = config::render(&v, Format::Toml).unwrap();
    assert!(toml.contains("[server]"), "{toml}");
    let yaml = config::render(&v, Format::Yaml).unwrap();
    assert!(yaml.starts_with("name: shop\n"), "{yaml}");
}

#[test]
fn output_is_deterministic_byte_for_byte() {
    let src = "export default () => ({ id: Math.random(), at: new Date().toISOString(), n: [3, 1, 2].sort() });";
    let a = config::evaluate_source(src, "c.js", &ConfigOptions::default()).unwrap();
    let b = config::evaluate_source(src, "c.js", &ConfigOptions::default()).unwrap();
    assert_eq!(config::render(&a, Format::Json).unwrap(), config::render(&b, Format::Json).unwrap());
    assert_eq!(a["at"], json!("1970-01-01T00:00:00.000Z"));
    let opts = ConfigOptions { deterministic: false, ..Default::default() };
    let c = config::evaluate_source(src, "c.js", &opts).unwrap();
    assert_ne!(c["at"], json!("1970-01-01T00:00:00.000Z"));
}

#[test]
fn env_is_only_what_the_host_passes() {
    std::env::set_var("SANDVM_APPS_TEST_SECRET", "s3cret");
    let src = "import { env as e2 } from 'sandvm:env';\nexport default (env) => ({ keys: Object.keys(env), same: JSON.stringify(env) === JSON.stringify(e2), secret: env.SANDVM_APPS_TEST_SECRET ?? null });";
    let v = config::evaluate_source(src, "c.js", &ConfigOptions::default().env_var("A", "1")).unwrap();
    assert_eq!(v, json!({"keys": ["A"], "same": true, "secret": null}));
    let named = ConfigOptions::default().env_from_process(&["SANDVM_APPS_TEST_SECRET", "SANDVM_APPS_UNSET_VAR"]);
    let v = config::evaluate_source(src, "c.js", &named).unwrap();
    assert_eq!(v["secret"], json!("s3cret"));
    assert_eq!(v["keys"], json!(["SANDVM_APPS_TEST_SECRET"]));
    // The env object is frozen.
    let err = config::evaluate_source("export default (env) => { env.X = 1; return {} }", "c.js", &named).unwrap_err();
    assert!(matches!(err, Error::Sandbox(sandvm::Error::Exception { .. })), "{err:?}");
}

#[test]
fn configs_cannot_reach_the_environment_or_the_file_system() {
    let opts = ConfigOptions::default();
    match config::evaluate_file(fixture("env.config.js"), &opts) {
        Err(Error::Sandbox(sandvm::Error::Exception { name, message, .. })) => {
            assert_eq!(name.as_deref(), Some("ReferenceError"));
            assert!(message.contains("process"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    for file in ["require.config.js", "import.config.js"] {
        match config::evaluate_file(fixture(file), &opts) {
            Err(Error::Sandbox(sandvm::Error::ModuleNotFound { specifier, .. })) => assert_eq!(specifier, "fs"),
            other => panic!("{file}: {other:?}"),
        }
    }
    match config::evaluate_file(fixture("escape.config.js"), &opts) {
        Err(Error::Sandbox(sandvm::Error::ModuleNotAllowed { specifier, .. })) => {
            assert!(specifier.contains("etc/passwd"))
        }
        other => panic!("{other:?}"),
    }
    match config::evaluate_source("export default { a: await import('node:fs') }", "c.js", &opts) {
        Err(Error::Sandbox(e)) => assert_eq!(e.kind(), "module_not_allowed"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schema_errors_carry_instance_paths() {
    let v = config::evaluate_file(fixture("bad-port.config.js"), &ConfigOptions::default()).unwrap();
    let schema = config::read_schema(example().join("schema.json")).unwrap();
    match config::validate(&v, &schema) {
        Err(Error::Schema { violations }) => {
            let paths: Vec<&str> = violations.iter().map(|v| v.instance_path.as_str()).collect();
            assert!(paths.contains(&"/server/port"), "{violations:?}");
            assert!(paths.contains(&"/stage"), "{violations:?}");
            assert!(paths.contains(&"/name"), "{violations:?}");
            let port = violations.iter().find(|v| v.instance_path == "/server/port").unwrap();
            assert!(port.message.contains("65535"), "{port:?}");
            assert!(port.schema_path.ends_with("/maximum"), "{port:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(config::validate(&json!({}), &json!({"type": 12})), Err(Error::Invalid { .. })));
}

#[test]
fn bad_configs_give_typed_errors() {
    let opts = ConfigOptions::default();
    let e = config::evaluate_source("export const x = 1;", "c.js", &opts).unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    let e = config::evaluate_source("export default 42;", "c.js", &opts).unwrap_err();
    assert!(e.to_string().contains("must be an object, not number"), "{e}");
    let e = config::evaluate_source("export default { a: 1n };", "c.js", &opts).unwrap_err();
    assert!(matches!(e, Error::Sandbox(sandvm::Error::Exception { .. })), "{e:?}");
    let e = config::evaluate_source("export default {", "c.js", &opts).unwrap_err();
    assert!(matches!(e, Error::Sandbox(sandvm::Error::Syntax { .. })), "{e:?}");
    let e = config::evaluate_source("for (;;) {}", "c.js", &opts).unwrap_err();
    assert_eq!(e, Error::Sandbox(sandvm::Error::Timeout));
    assert_eq!(e.exit_code(), 3);
    let e = config::evaluate_file(fixture("nope.config.js"), &opts).unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && e.exit_code() == 2, "{e:?}");
    let async_cfg = config::evaluate_source("export default async (env) => ({ ok: await 1 })", "c.js", &opts).unwrap();
    assert_eq!(async_cfg, json!({"ok": 1}));
}

#[test]
fn toml_refuses_what_it_cannot_write() {
    assert!(matches!(config::render(&json!([1]), Format::Toml), Err(Error::Output { .. })));
    match config::render(&json!({"a": {"b": null}}), Format::Toml) {
        Err(Error::Output { message, .. }) => assert!(message.contains("/a/b"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!("yml".parse::<Format>().unwrap(), Format::Yaml);
    assert!("xml".parse::<Format>().is_err());
}
