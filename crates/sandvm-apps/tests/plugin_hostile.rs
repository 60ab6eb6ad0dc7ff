//! Plugins that fill host-side stores, call the internal hook, or ask for more than the host
//! allows.

use std::path::{Path, PathBuf};

use sandvm_apps::plugin::{HostOptions, PluginHost, Quota};
use sandvm_apps::Error;
use serde_json::json;

fn write_plugin(root: &Path, name: &str, manifest_extra: &str, code: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plugin.toml"), format!("name = \"{name}\"\nversion = \"0.1.0\"\n{manifest_extra}\n"))
        .unwrap();
    std::fs::write(dir.join("index.js"), code).unwrap();
    dir
}

fn small_host() -> PluginHost {
    let mut o = HostOptions::default().grant("kv").grant("emit");
    o.kv_max_bytes = 10_000;
    o.kv_max_entries = 50;
    o.max_messages_per_call = 20;
    o.max_message_bytes_per_call = 5_000;
    PluginHost::new(o).unwrap()
}

const FILLER: &str = r#"
import { kvSet, kvGet, emit, log } from 'sandvm:host';
import * as kv from 'sandvm:kv';
const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.message; } };
export function fillKvBytes() { return attempt(() => { for (let i = 0; i < 100; i++) kvSet('k' + (i % 3), 'x'.repeat(4000)); }); }
export function fillKvEntries() { return attempt(() => { for (let i = 0; i < 1000; i++) kv.set('e' + i, i); }); }
export function fillEmit() { return attempt(() => { for (;;) emit('big', 'y'.repeat(1000)); }); }
export function fillLog() { return attempt(() => { for (;;) log('line'); }); }
export function uncaught() { for (;;) emit('big', 'y'.repeat(1000)); }
export function overwrite() { for (const k of kv.keys()) kv.delete(k); for (let i = 0; i < 100; i++) kvSet('same', 'z'.repeat(3000)); return kvGet('same').length; }
export function callHook() { try { return String(globalThis.__sandvm_plugin_call('fillLog', [])); } catch (e) { return e.name; } }
"#;

#[test]
fn host_side_stores_are_capped_with_typed_errors_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_plugin(dir.path(), "filler", "capabilities = [\"kv\", \"emit\"]", FILLER);
    let mut h = small_host();
    h.load_dir(&p).unwrap();
    let r = h.call_hook("filler", "fillKvBytes", &[]).unwrap();
    assert_eq!(r, Some(json!("quota exceeded: key/value bytes (at most 10000)")));
    let r = h.call_hook("filler", "fillKvEntries", &[]).unwrap();
    assert_eq!(r, Some(json!("quota exceeded: key/value entries (at most 50)")));
    let r = h.call_hook("filler", "fillEmit", &[]).unwrap();
    assert_eq!(r, Some(json!("emit: quota exceeded: message bytes per call (at most 5000)")));
    let r = h.call_hook("filler", "fillLog", &[]).unwrap();
    assert_eq!(r, Some(json!("log: quota exceeded: messages per call (at most 20)")));
    let info = h.plugins().into_iter().next().unwrap();
    assert!(info.usage.kv_bytes <= 10_000, "{:?}", info.usage);
    assert_eq!(info.usage.kv_entries, 50);
    assert_eq!(info.usage.refused, 4);
    // Deleting frees bytes; overwriting a key does not count its old bytes twice.
    assert_eq!(h.call_hook("filler", "overwrite", &[]).unwrap(), Some(json!(3000)));
    let usage = h.plugins().into_iter().next().unwrap().usage;
    assert_eq!((usage.kv_entries, usage.kv_bytes), (1, "same".len() + 3002));
    let (events, logs) = h.take_messages();
    assert_eq!(events.len(), 4);
    assert_eq!(logs.len(), 20);
    // An uncaught refusal is a typed error for the host, and a limit for the CLI.
    let e = h.call_hook("filler", "uncaught", &[]).unwrap_err();
    assert_eq!(e, Error::QuotaExceeded { plugin: "filler".into(), quota: Quota::MessageBytes, limit: 5000 });
    assert_eq!(e.exit_code(), 3);
    let d = {
        let (_, _) = h.take_messages();
        h.plugins().into_iter().next().unwrap().usage
    };
    assert_eq!(d.refused, 5);
}

#[test]
fn the_loader_hook_is_not_callable_by_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_plugin(dir.path(), "filler", "capabilities = [\"kv\", \"emit\"]", FILLER);
    let mut h = small_host();
    h.load_dir(&p).unwrap();
    assert_eq!(h.call_hook("filler", "callHook", &[]).unwrap(), Some(json!("TypeError")));
}

#[test]
fn a_thrown_object_shaped_like_a_quota_error_is_an_exception() {
    let dir = tempfile::tempdir().unwrap();
    let code = "export function f() { const e = new Error('quota exceeded: key/value bytes (at most 1)'); e.name = 'QuotaExceeded'; throw e; }";
    let p = write_plugin(dir.path(), "forger", "", code);
    let mut h = small_host();
    h.load_dir(&p).unwrap();
    let e = h.call_hook("forger", "f", &[]).unwrap_err();
    assert!(matches!(&e, Error::Plugin { source, .. } if source.kind() == "exception"), "{e:?}");
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn manifests_cannot_ask_for_more_than_the_host_maximum() {
    let dir = tempfile::tempdir().unwrap();
    // Older keys and keys with units name the same fields (the one `sandvm::Limits` type).
    for (name, limits, field) in [
        ("slow", "timeout_ms = 999999999", "timeout"),
        ("slower", "timeout = \"3h\"", "timeout"),
        ("unbounded", "timeout = \"none\"", "timeout"),
        ("huge", "memory_mb = 100000", "memory"),
        ("huger", "memory = \"64 GiB\"", "memory"),
        ("deep", "stack_kb = 1000000", "stack"),
        ("loud", "max_output = 1000000000", "max_output"),
    ] {
        let p = write_plugin(dir.path(), name, &format!("[limits]\n{limits}"), "export const x = 1;");
        let mut h = small_host();
        match h.load_dir(&p) {
            Err(Error::LimitsNotAllowed { plugin, message }) => {
                assert_eq!(plugin, name);
                assert!(message.starts_with(&format!("asks for {field} ")), "{message}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn manifest_limits_that_are_not_limits_are_parse_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (name, limits, key) in [
        ("overflow", "memory_mb = 9223372036854775807", "memory_mb"),
        ("negative", "timeout_ms = -5", "timeout_ms"),
        ("nonsense", "memory = \"lots\"", "memory"),
        ("unknown", "heap = 5", "heap"),
        ("twice", "memory = 5\nmemory_mb = 5", "memory_mb"),
    ] {
        let p = write_plugin(dir.path(), name, &format!("[limits]\n{limits}"), "export const x = 1;");
        match small_host().load_dir(&p) {
            Err(e @ Error::Parse { .. }) => assert!(e.to_string().contains(key), "{name}: {e}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn messages_the_host_has_not_taken_are_capped_across_calls() {
    let dir = tempfile::tempdir().unwrap();
    let code = "import { emit } from 'sandvm:host';\nexport function burst() { for (let i = 0; i < 4; i++) emit('e', 'p'.repeat(900)); }\nexport function shout() { console.log('c'.repeat(5000)); }";
    let p = write_plugin(dir.path(), "burst", "capabilities = [\"emit\"]", code);
    let mut o = HostOptions::default().grant("emit");
    o.max_pending_message_bytes = 10_000;
    let mut h = PluginHost::new(o).unwrap();
    h.load_dir(&p).unwrap();
    // Events of 903 bytes: the fourth of the third call passes the 10,000 pending bytes.
    h.call_hook("burst", "burst", &[]).unwrap();
    h.call_hook("burst", "burst", &[]).unwrap();
    let e = h.call_hook("burst", "burst", &[]).unwrap_err();
    assert_eq!(e, Error::QuotaExceeded { plugin: "burst".into(), quota: Quota::PendingMessageBytes, limit: 10_000 });
    // Console lines past the cap are dropped and counted.
    h.call_hook("burst", "shout", &[]).unwrap();
    let usage = h.plugins().into_iter().next().unwrap().usage;
    assert_eq!(usage.refused, 2);
    let (events, logs) = h.take_messages();
    assert_eq!((events.len(), logs.len()), (11, 0));
    // Taking them frees the room.
    h.call_hook("burst", "burst", &[]).unwrap();
    h.call_hook("burst", "shout", &[]).unwrap();
    let (events, logs) = h.take_messages();
    assert_eq!((events.len(), logs.len()), (4, 1));
}
