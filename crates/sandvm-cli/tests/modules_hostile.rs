//! Module-policy attacks through `sandvm run --module-root/--allow-module`: host-module
//! disguises, NUL-cut specifiers, symlinks under the root, and a guest filling `sandvm:kv`.

use std::process::Command;

use serde_json::{json, Value};

/// Runs `sandvm` in `cwd` (so that a script given by a relative name is the base of its own
/// relative imports).
fn json_run(cwd: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).current_dir(cwd).output().expect("spawn sandvm");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    (out.status.code().expect("exit code, not a signal"), v)
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sandvm-cli-modh-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A script that tries each specifier with `import()` and `require` and returns what
/// happened to each: the error name, or `loaded`.
fn probe(specs: &[&str]) -> String {
    let list = serde_json::to_string(specs).unwrap();
    format!(
        "(async () => {{ const out = []; for (const s of {list}) {{ \
           try {{ await import(s); out.push('loaded'); }} catch (e) {{ out.push(e.name); }} \
           try {{ require(s); out.push('loaded'); }} catch (e) {{ out.push(e.name); }} }} \
         return out; }})()"
    )
}

#[test]
fn module_policy_holds_through_the_cli() {
    let dir = tempdir("policy");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/ok.js"), "globalThis.hits = (globalThis.hits || 0) + 1;").unwrap();
    std::fs::write(dir.join("secret.js"), "globalThis.leaked = true;").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.js"), root.join("lib/link.js")).unwrap();
    std::os::unix::fs::symlink(root.join("lib/ok.js"), root.join("lib/inner-link.js")).unwrap();
    let specs = [
        "./lib/ok.js",
        "./sandvm:kv",
        "SANDVM:KV",
        "sandvm:kv?x",
        "./lib/ok.js\0/../../secret.js",
        "./lib/link.js",
        "./lib/inner-link.js",
        "../secret.js",
    ];
    std::fs::write(dir.join("main.js"), probe(&specs)).unwrap();
    let (code, v) = json_run(
        &dir,
        &["run", "--json", "main.js", "--module-root", root.to_str().unwrap(), "--allow-module", "sandvm:crypto"],
    );
    assert_eq!(code, 0, "{v}");
    let na = "ModuleNotAllowed";
    let nf = "ModuleNotFound";
    assert_eq!(v["value"], json!(["loaded", "loaded", na, na, nf, nf, nf, nf, na, na, na, na, na, na, na, na]), "{v}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_guest_cannot_fill_the_kv_store_past_its_cap_through_the_cli() {
    let dir = tempdir("kv");
    std::fs::write(
        dir.join("main.js"),
        "const kv = require('sandvm:kv'); const big = 'x'.repeat(1 << 20); let n = 0; \
         try { for (;;) { kv.set('k' + n, big); n++; } } catch (e) { [n, e.name] }",
    )
    .unwrap();
    let (code, v) = json_run(&dir, &["run", "--json", "main.js", "--allow-module", "sandvm:kv", "--memory", "32"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["value"], json!([15, "RangeError"]));
    std::fs::remove_dir_all(&dir).ok();
}
