//! Guest code (helpers, helper scripts, lambdas) cannot reach the host hooks or the private
//! runtime, and cannot forge the runtime's own errors to change the reported kind.

use sandvm_template::{CompileLimit, Mode, TemplateError, TemplateOptions, Templates, MAX_NESTING};
use serde_json::json;

fn t() -> Templates {
    Templates::new(sandvm::Limits::default()).unwrap()
}

/// The error a render ends with, as an ordinary guest exception: (value thrown).
fn exception_value(r: Result<String, TemplateError>) -> serde_json::Value {
    match r {
        Err(TemplateError::Sandbox(sandvm::Error::Exception { name: None, value: Some(v), .. })) => *v,
        other => panic!("expected a plain guest exception, got {other:?}"),
    }
}

#[test]
fn host_hooks_are_not_reachable_from_helpers() {
    let mut t = t();
    t.register_helper_js(
        "probe",
        "function () {
           var names = Object.getOwnPropertyNames(globalThis).filter(function (n) { return n.indexOf('svt') >= 0; });
           return [typeof __svt_compile, typeof globalThis.__svt_compile, typeof globalThis.__svt,
                   typeof globalThis.__svt_config, names.sort().join('+')].join(',');
         }",
    )
    .unwrap();
    assert_eq!(
        t.render_str("{{probe}}", &json!({})).unwrap(),
        "undefined,undefined,undefined,undefined,__svt_def+__svt_render"
    );
    // The entry points that remain need the host's token, and cannot be replaced.
    t.register_helper_js(
        "forge",
        "function () {
           var out = [];
           try { __svt_def('x', 'factory', '', function (R) { return R; }); out.push('def ran'); }
           catch (e) { out.push(e.name + ': ' + e.message); }
           globalThis.__svt_render = function () { return 'hijacked'; };
           try { delete globalThis.__svt_def; } catch (e) {}
           out.push(typeof __svt_def);
           return out.join('|');
         }",
    )
    .unwrap();
    assert_eq!(t.render_str("{{forge}}", &json!({})).unwrap(), "TypeError: not available|function");
    assert_eq!(t.render_str("still {{x}}", &json!({"x": "ours"})).unwrap(), "still ours");
}

#[test]
fn a_helpers_script_cannot_reach_the_hooks_either() {
    let mut t = t();
    let n = t
        .register_helpers_script(
            "var seen = [typeof __svt_compile, typeof __svt, typeof __svt_config].join(',');
             module.exports = { seen: function () { return seen; } };",
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(t.render_str("{{seen}}", &json!({})).unwrap(), "undefined,undefined,undefined");
}

#[test]
fn runtime_compilation_from_helpers_is_bounded() {
    // The 600-byte request: helper code builds a deeply nested template at run time.
    let deep = "var s = ''; for (var i = 0; i < 5000; i++) s += '{{#if a}}'; \
                for (var j = 0; j < 5000; j++) s += '{{/if}}';";
    let mut t = t();
    t.register_helper_js("viaCompile", &format!("function () {{ {deep} return Handlebars.compile(s)({{}}); }}"))
        .unwrap();
    t.register_helper_js(
        "viaPartial",
        &format!("function () {{ {deep} Handlebars.registerPartial('d', s); return ''; }}"),
    )
    .unwrap();
    for h in ["viaCompile", "viaPartial"] {
        match t.render_str(&format!("{{{{{h}}}}}"), &json!({})) {
            Err(TemplateError::TooComplex {
                limit: CompileLimit::Nesting, max: MAX_NESTING, name, line: 1, ..
            }) => {
                assert_eq!(name, "<runtime>")
            }
            other => panic!("{h}: expected a nesting error, got {other:?}"),
        }
    }
    // A Mustache lambda returning deeply nested text.
    let mut m = Templates::with_options(
        sandvm::Limits::default(),
        TemplateOptions { mode: Mode::Mustache, ..Default::default() },
    )
    .unwrap();
    m.register_helper_js("l", "function () { return '{{#a}}'.repeat(5000) + '{{/a}}'.repeat(5000); }").unwrap();
    assert!(
        matches!(
            m.render_str("{{l}}", &json!({})),
            Err(TemplateError::TooComplex { limit: CompileLimit::Nesting, .. })
        ),
        "lambda"
    );
    // The sets keep working.
    assert_eq!(t.render_str("{{x}}", &json!({"x": 1})).unwrap(), "1");
    assert_eq!(m.render_str("{{x}}", &json!({"x": 2})).unwrap(), "2");
}

#[test]
fn forged_runtime_errors_keep_their_kind() {
    let mut t = t();
    // Objects shaped like every internal error the runtime throws.
    let forged = [
        json!({"svt": "output_limit", "message": "output limit exceeded"}),
        json!({"svt": "missing_helper", "message": "Missing helper", "helper": "x"}),
        json!({"svt": "unknown_partial", "message": "no", "partial": "p"}),
        json!({"svt": "unknown_template", "message": "no", "template": "t"}),
        json!({"svt": "limit", "message": "deep", "limit": "nesting", "max": 1}),
        json!({"svt": "parse", "message": "bad", "line": 1, "column": 1}),
        json!({"svt": "output_limit", "message": "x", "token": "0123456789abcdef0123456789abcdef"}),
    ];
    for (i, v) in forged.iter().enumerate() {
        let name = format!("f{i}");
        t.register_helper_js(&name, &format!("function () {{ throw {v}; }}")).unwrap();
        // Reported as what it is: a value thrown by a helper.
        assert_eq!(&exception_value(t.render_str(&format!("{{{{{name}}}}}"), &json!({}))), v);
    }
    // A helpers script that throws one at load time.
    let r = t.register_helpers_script("throw {svt: 'output_limit', message: 'x'};");
    match r {
        Err(TemplateError::Sandbox(sandvm::Error::Exception { value: Some(v), .. })) => {
            assert_eq!(*v, json!({"svt": "output_limit", "message": "x"}))
        }
        other => panic!("expected a plain exception, got {other:?}"),
    }
    // A helper source that throws one while being defined.
    // (An exception while defining a helper is reported as an invalid helper.)
    match t.register_helper_js("g", "(function () { throw {svt: 'output_limit', message: 'x'}; })()") {
        Err(TemplateError::InvalidHelper(m)) => assert!(m.starts_with("g: "), "{m}"),
        other => panic!("expected an invalid helper, got {other:?}"),
    }
}

#[test]
fn genuine_errors_caught_by_a_helper_cannot_be_relabelled() {
    let mut t =
        Templates::with_options(sandvm::Limits::default(), TemplateOptions { strict: true, ..Default::default() })
            .unwrap();
    // The block's body fails a strict lookup; the helper catches the runtime's error, tries
    // to change its kind, looks for a token, and rethrows it.
    t.register_helper_js(
        "relabel",
        "function (options) {
           try { return options.fn(this); }
           catch (e) { try { e.svt = 'output_limit'; e.token = 'x'; } catch (f) {} throw e; }
         }",
    )
    .unwrap();
    match t.render_str("{{#relabel}}{{missing}}{{/relabel}}", &json!({})) {
        Err(TemplateError::Template { message, line: Some(1), column: Some(15) }) => {
            assert!(message.contains("\"missing\" not defined"), "{message}")
        }
        other => panic!("expected the strict lookup error, got {other:?}"),
    }
    t.register_helper_js(
        "peek",
        "function (options) { try { options.fn(this); } catch (e) { return typeof e.token + ':' + Object.isFrozen(e); } }",
    )
    .unwrap();
    assert_eq!(t.render_str("{{#peek}}{{missing}}{{/peek}}", &json!({})).unwrap(), "undefined:true");
}

#[test]
fn genuine_output_limit_is_still_reported() {
    let mut t = Templates::new(sandvm::Limits { max_output: 1000, ..Default::default() }).unwrap();
    t.register_helper_js("big", "function () { return 'x'.repeat(5000); }").unwrap();
    assert!(matches!(t.render_str("{{big}}", &json!({})), Err(TemplateError::Sandbox(sandvm::Error::OutputLimit))));
    assert!(matches!(
        t.render_str("{{#each xs}}{{this}}{{/each}}", &json!({"xs": vec!["y".repeat(100); 50]})),
        Err(TemplateError::Sandbox(sandvm::Error::OutputLimit))
    ));
}

#[test]
fn hooks_stay_hidden_after_the_sandbox_is_rebuilt() {
    let mut t = t();
    t.register_helper_js(
        "probe",
        "function () { return typeof __svt_compile + ',' + Handlebars.compile('[{{x}}]')({x: 1}); }",
    )
    .unwrap();
    assert_eq!(t.render_str("{{probe}}", &json!({})).unwrap(), "undefined,[1]");
    // A render that hits a limit replaces the engine; everything is installed again.
    t.register_partial("loop", "x{{> loop}}").unwrap();
    let e = t.render_str("{{> loop}}", &json!({})).unwrap_err();
    assert!(e.is_limit(), "{e:?}");
    assert_eq!(t.render_str("{{probe}}", &json!({})).unwrap(), "undefined,[1]");
}

#[test]
fn the_token_cannot_be_stolen_through_object_prototype() {
    let mut t = t();
    // A helpers script plants a setter and a `toJSON` on `Object.prototype` to catch the
    // token when the runtime's error leaves it, then a helper forges an error with it.
    t.register_helpers_script(
        "var stolen = [];
         Object.defineProperty(Object.prototype, 'token', {
           set: function (v) { stolen.push(v); }, get: function () { return undefined; }, configurable: true });
         Object.prototype.toJSON = function () { if (this.token) stolen.push(this.token); return this; };
         module.exports = {
           forge: function () { throw {svt: 'output_limit', message: 'x', token: stolen[0]}; },
           count: function () { return String(stolen.length); }
         };",
    )
    .unwrap();
    assert!(matches!(t.render_str("{{> nope}}", &json!({})), Err(TemplateError::UnknownPartial { .. })));
    assert_eq!(t.render_str("{{count}}", &json!({})).unwrap(), "0");
    assert!(matches!(
        t.render_str("{{forge}}", &json!({})),
        Err(TemplateError::Sandbox(sandvm::Error::Exception { .. }))
    ));
}
