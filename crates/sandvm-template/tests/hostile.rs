//! Hostile templates and helpers: every one must end with a typed sandbox error (or be
//! contained), and the template set must keep working afterwards.

use std::time::Duration;

use sandvm_template::{TemplateError, Templates};
use serde_json::json;

fn limits() -> sandvm::Limits {
    sandvm::Limits {
        timeout: Some(Duration::from_millis(300)),
        memory: 32 * 1024 * 1024,
        max_output: 256 * 1024,
        ..Default::default()
    }
}

fn sandbox_err(r: Result<String, TemplateError>) -> sandvm::Error {
    match r {
        Err(TemplateError::Sandbox(e)) => e,
        other => panic!("expected a sandbox error, got {other:?}"),
    }
}

#[test]
fn recursive_partial_hits_a_limit() {
    let mut t = Templates::new(limits()).unwrap();
    t.register_partial("loop", "x{{> loop}}").unwrap();
    t.register_template("main", "{{> loop}}").unwrap();
    let e = sandbox_err(t.render("main", &json!({})));
    assert!(matches!(e, sandvm::Error::StackOverflow | sandvm::Error::MemoryLimit | sandvm::Error::Timeout), "{e:?}");
    // The set keeps working (the sandbox is rebuilt and everything reinstalled).
    t.register_template("ok", "fine {{x}}").unwrap();
    assert_eq!(t.render("ok", &json!({"x": 1})).unwrap(), "fine 1");
}

#[test]
fn recursive_mustache_parent_hits_a_limit() {
    let mut t = Templates::with_options(
        limits(),
        sandvm_template::TemplateOptions { mode: sandvm_template::Mode::Mustache, ..Default::default() },
    )
    .unwrap();
    t.register_partial("p", "{{<p}}{{/p}}").unwrap();
    let e = sandbox_err(t.render_str("{{>p}}", &json!({})));
    assert!(e.is_limit(), "{e:?}");
}

#[test]
fn looping_helper_times_out() {
    let mut t = Templates::new(limits()).unwrap();
    t.register_helper_js("spin", "function () { while (true) {} }").unwrap();
    let e = sandbox_err(t.render_str("{{spin}}", &json!({})));
    assert_eq!(e, sandvm::Error::Timeout);
    // try/catch in the helper cannot swallow the interrupt.
    t.register_helper_js("spin2", "function () { for (;;) { try { while (true) {} } catch (e) {} } }").unwrap();
    let e = sandbox_err(t.render_str("{{spin2}}", &json!({})));
    assert_eq!(e, sandvm::Error::Timeout);
    assert_eq!(t.render_str("{{a}}", &json!({"a": "still works"})).unwrap(), "still works");
}

#[test]
fn memory_bomb_helper_hits_the_memory_limit() {
    let mut t = Templates::new(limits()).unwrap();
    t.register_helper_js("bomb", "function () { var a = []; for (var i = 0; ; i++) a.push('x'.repeat(1 << 16) + i); }")
        .unwrap();
    let e = sandbox_err(t.render_str("{{bomb}}", &json!({})));
    assert_eq!(e, sandvm::Error::MemoryLimit);
    assert_eq!(t.render_str("ok", &json!({})).unwrap(), "ok");
}

#[test]
fn huge_output_hits_the_output_limit() {
    let mut t = Templates::new(limits()).unwrap();
    // A helper returning a string larger than the output limit.
    t.register_helper_js("big", "function () { return 'x'.repeat(1024 * 1024); }").unwrap();
    let e = sandbox_err(t.render_str("{{big}}", &json!({})));
    assert_eq!(e, sandvm::Error::OutputLimit);
    // Output built by the template itself (a loop over data).
    let mut t = Templates::new(sandvm::Limits { max_output: 16 * 1024, ..limits() }).unwrap();
    let rows: Vec<_> = (0..2000).map(|i| json!({"i": i})).collect();
    let e = sandbox_err(t.render_str("{{#each rows}}{{#each ../rows}}.{{/each}}{{/each}}", &json!({ "rows": rows })));
    assert_eq!(e, sandvm::Error::OutputLimit);
}

#[test]
fn helpers_get_no_host_access() {
    let mut t = Templates::new(limits()).unwrap();
    t.register_helper_js(
        "escape",
        "function () { try { return String(this.constructor.constructor('return process')()); } \
         catch (e) { return 'blocked: ' + e.name + ': ' + e.message; } }",
    )
    .unwrap();
    t.register_helper_js(
        "globals",
        "function () { return [typeof process, typeof require, typeof std, typeof os, typeof fetch].join(','); }",
    )
    .unwrap();
    let out = t.render_str("{{escape}}", &json!({})).unwrap();
    assert_eq!(out, "blocked: ReferenceError: process is not defined");
    let out = t.render_str("{{globals}}", &json!({})).unwrap();
    assert_eq!(out, "undefined,undefined,undefined,undefined,undefined");
    // Templates cannot walk to prototypes or constructors at all.
    let out = t
        .render_str(
            "[{{constructor}}][{{constructor.constructor}}][{{lookup this 'constructor'}}][{{__proto__}}]",
            &json!({}),
        )
        .unwrap();
    assert_eq!(out, "[][][][]");
}

#[test]
fn data_is_copied_per_render() {
    let mut t = Templates::new(limits()).unwrap();
    t.register_helper_js("mutate", "function (o) { o.x = 'changed'; return ''; }").unwrap();
    let data = json!({"o": {"x": "orig"}});
    assert_eq!(t.render_str("{{mutate o}}{{o.x}}", &data).unwrap(), "changed");
    assert_eq!(t.render_str("{{o.x}}", &data).unwrap(), "orig");
}
