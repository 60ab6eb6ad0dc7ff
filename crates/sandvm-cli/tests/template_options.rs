//! `sandvm template render` with the handlebars.js option flags, JavaScript data files,
//! runtime data and decorators.

use std::path::Path;
use std::process::{Command, Output};

fn sandvm(args: &[&str], dir: &Path) -> (String, String, i32) {
    let o: Output =
        Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).current_dir(dir).output().expect("run sandvm");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

fn render(dir: &Path, tpl: &str, args: &[&str]) -> (String, String, i32) {
    std::fs::write(dir.join("t.hbs"), tpl).unwrap();
    let mut all = vec!["template", "render", "t.hbs"];
    all.extend_from_slice(args);
    sandvm(&all, dir)
}

#[test]
fn compile_option_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("d.json"), r#"{"a": {}, "b": "B", "foo": "ctx"}"#).unwrap();
    std::fs::write(d.join("h.js"), "({ foo: function () { return 'helper'; } })").unwrap();
    let with = "{{#with a}}{{b}}{{/with}}";
    assert_eq!(render(d, with, &["--data", "d.json"]).0, "");
    assert_eq!(render(d, with, &["--data", "d.json", "--compat"]).0, "B");
    let known = ["--data", "d.json", "--helpers", "h.js", "--known-helpers-only"];
    assert_eq!(render(d, "{{foo}}", &known).0, "ctx");
    let (_, err, code) = render(d, "{{foo 1}}", &known);
    assert_eq!(code, 1);
    assert!(err.contains("You specified knownHelpersOnly, but used the unknown helper foo"), "{err}");
    assert_eq!(render(d, "{{foo}}", &["--helpers", "h.js", "--known-helper", "foo"]).0, "helper");
    let (_, err, code) = render(d, "{{x.y}}", &["--assume-objects"]);
    assert_eq!(code, 1);
    assert!(err.contains("Cannot read properties of undefined (reading 'y')"), "{err}");
    assert_eq!(render(d, "a\n{{#if b}}\nb\n{{/if}}\n", &["--data", "d.json", "--ignore-standalone"]).0, "a\n\nb\n\n");
    std::fs::create_dir(d.join("p")).unwrap();
    std::fs::write(d.join("p/x.hbs"), "[{{b}}]\n1\n").unwrap();
    let partial = ["--data", "d.json", "--partials", "p"];
    assert_eq!(render(d, "  {{> x}}", &partial).0, "  [B]\n  1\n");
    let mut prevent = partial.to_vec();
    prevent.push("--prevent-indent");
    assert_eq!(render(d, "  {{> x}}", &prevent).0, "  [B]\n1\n");
    let mut explicit = partial.to_vec();
    explicit.push("--explicit-partial-context");
    assert_eq!(render(d, "{{> x}}", &explicit).0, "[]\n1\n");
    std::fs::write(d.join("h2.js"), "({ hd: function (o) { return typeof o.data; } })").unwrap();
    assert_eq!(render(d, "{{hd}}", &["--helpers", "h2.js", "--no-data"]).0, "undefined");
}

#[test]
fn runtime_flags_js_data_and_decorators() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("data.js"),
        "class P { constructor(n) { this.n = n; } get up() { return this.n.toUpperCase(); } }
         ({ p: new P('ada'), f: function () { return 'F'; }, u: undefined })",
    )
    .unwrap();
    let tpl = "{{p.up}}|{{f}}|{{u}}|{{@site}}";
    assert_eq!(render(d, tpl, &["--data", "data.js"]).0, "|F||");
    std::fs::write(d.join("site.json"), r#"{"site": "S"}"#).unwrap();
    let all = ["--data", "data.js", "--runtime-data", "site.json", "--allow-proto-properties-by-default"];
    assert_eq!(render(d, tpl, &all).0, "ADA|F||S");
    assert_eq!(render(d, tpl, &["--data", "data.js", "--allow-proto-property", "up"]).0, "ADA|F||");
    std::fs::write(d.join("bad.js"), "throw new Error('broken data')").unwrap();
    let (_, err, code) = render(d, "x", &["--data", "bad.js"]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.js") && err.contains("broken data"), "{err}");
    std::fs::write(
        d.join("dec.js"),
        "({ wrap: function (fn) { return function (c, o) { return '<' + fn(c, o) + '>'; }; } })",
    )
    .unwrap();
    assert_eq!(render(d, "{{*wrap}}body", &["--decorators", "dec.js"]).0, "<body>");
}
