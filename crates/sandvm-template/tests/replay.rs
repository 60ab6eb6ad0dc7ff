//! After a render hits a limit the sandbox's engine is replaced; the core replays what the
//! template set installed (prelude, templates, partials, helpers) with no reload code here,
//! and what guest code stored on its own is gone.

use std::time::Duration;

use serde_json::json;

use sandvm_template::{TemplateError, Templates};

#[test]
fn the_next_render_after_each_limit_has_the_installed_state_and_not_the_guest_state() {
    let limits = sandvm::Limits {
        timeout: Some(Duration::from_millis(100)),
        memory: 16 * 1024 * 1024,
        ..sandvm::Limits::default()
    };
    let mut t = Templates::new(limits).expect("templates");
    t.register_partial("who", "<{{upper name}}>").expect("partial");
    t.register_helper_js("upper", "function (s) { return String(s).toUpperCase() }").expect("helper");
    // A helper that keeps state of its own on the global object (guest-made state).
    t.register_helper_js(
        "visits",
        "function () { globalThis.visits = (globalThis.visits || 0) + 1; return globalThis.visits }",
    )
    .expect("helper");
    t.register_helper_js("spin", "function () { for (;;) {} }").expect("helper");
    t.register_helper_js("hog", "function () { const a = []; for (;;) a.push(new Array(1e5).fill(1)) }")
        .expect("helper");
    t.register_helper_js("deep", "function () { const f = () => f(); return f() }").expect("helper");
    t.register_template("page", "{{> who}} #{{visits}}").expect("template");
    let data = json!({"name": "ada"});
    assert_eq!(t.render("page", &data).expect("render"), "<ADA> #1");
    assert_eq!(t.render("page", &data).expect("render"), "<ADA> #2");
    for (helper, expected) in
        [("spin", sandvm::Error::Timeout), ("hog", sandvm::Error::MemoryLimit), ("deep", sandvm::Error::StackOverflow)]
    {
        let r = t.render_str(&format!("{{{{{helper}}}}}"), &data);
        assert!(matches!(&r, Err(TemplateError::Sandbox(e)) if *e == expected), "{helper}: {r:?}");
        assert!(t.runtime().is_spent(), "{helper} spends the engine");
        // Templates, partials and helpers are back; the helper's own counter starts over.
        assert_eq!(t.render("page", &data).expect("render after a limit"), "<ADA> #1", "after {helper}");
    }
}
