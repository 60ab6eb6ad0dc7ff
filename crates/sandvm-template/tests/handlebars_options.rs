//! The handlebars.js compile and runtime options. Every expected output here was produced by
//! handlebars.js 4.7 on Node with the same template, data and options.

use std::collections::BTreeMap;

use sandvm_template::{RenderOptions, TemplateError, TemplateOptions, Templates};
use serde_json::{json, Value};

fn with(options: TemplateOptions) -> Templates {
    Templates::with_options(sandvm::Limits::default(), options).unwrap()
}

fn render(options: TemplateOptions, src: &str, data: Value) -> Result<String, TemplateError> {
    with(options).render_str(src, &data)
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn compat_looks_up_enclosing_contexts() {
    let data = json!({"a": {}, "b": "up"});
    let compat = TemplateOptions { compat: true, ..Default::default() };
    assert_eq!(render(compat.clone(), "{{#with a}}{{b}}{{/with}}", data.clone()).unwrap(), "up");
    assert_eq!(render(TemplateOptions::default(), "{{#with a}}{{b}}{{/with}}", data).unwrap(), "");
    let data = json!({"title": "T", "list": [{"name": "a"}, {"name": "b", "title": "own"}]});
    assert_eq!(render(compat, "{{#each list}}{{name}}-{{title}} {{/each}}", data).unwrap(), "a-T b-own ");
}

#[test]
fn known_helpers_and_known_helpers_only() {
    let mut t = with(TemplateOptions { known_helpers: vec!["foo".into()], ..Default::default() });
    t.register_helper_js("foo", "function () { return 'helper'; }").unwrap();
    assert_eq!(t.render_str("{{foo}}", &json!({"foo": "ctx"})).unwrap(), "helper");

    let only = TemplateOptions { known_helpers_only: true, ..Default::default() };
    let mut t = with(only.clone());
    t.register_helper_js("foo", "function () { return 'helper'; }").unwrap();
    // `{{foo}}` is a plain value: the helper is never consulted.
    assert_eq!(t.render_str("{{foo}}", &json!({"foo": "ctx"})).unwrap(), "ctx");
    assert_eq!(t.render_str("{{#if a}}y{{/if}}", &json!({"a": 1})).unwrap(), "y");
    match render(only, "{{foo 1}}", json!({})) {
        Err(TemplateError::Parse { message, line: 1, column: 1, .. }) => {
            assert_eq!(message, "You specified knownHelpersOnly, but used the unknown helper foo")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn data_false_gives_helpers_no_frame() {
    let helper = "function (o) { return typeof o.data; }";
    for (data, want) in [(true, "object"), (false, "undefined")] {
        let mut t = with(TemplateOptions { data, ..Default::default() });
        t.register_helper_js("hd", helper).unwrap();
        assert_eq!(t.render_str("{{hd}}", &json!({})).unwrap(), want);
    }
    // A template that reads `@` variables turns the frame back on (as in handlebars.js).
    let mut t = with(TemplateOptions { data: false, ..Default::default() });
    assert_eq!(t.render_str("{{#each a}}{{@index}}{{/each}}", &json!({"a": [1, 2]})).unwrap(), "01");
}

#[test]
fn assume_objects_throws_on_a_missing_object() {
    let o = TemplateOptions { assume_objects: true, ..Default::default() };
    assert_eq!(render(o.clone(), "{{a.b}}", json!({"a": {}})).unwrap(), "");
    assert_eq!(render(o.clone(), "{{a}}", json!({})).unwrap(), "");
    match render(o, "{{a.b}}", json!({})) {
        Err(TemplateError::Template { message, .. }) => {
            assert!(message.contains("Cannot read properties of undefined (reading 'b')"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(render(TemplateOptions::default(), "{{a.b}}", json!({})).unwrap(), "");
}

#[test]
fn prevent_indent_and_ignore_standalone() {
    let partial = |o: TemplateOptions| {
        let mut t = with(o);
        t.register_partial("p", "a\nb\n").unwrap();
        t.render_str("x\n  {{> p}}\ny", &json!({})).unwrap()
    };
    assert_eq!(partial(TemplateOptions::default()), "x\n  a\n  b\ny");
    assert_eq!(partial(TemplateOptions { prevent_indent: true, ..Default::default() }), "x\n  a\nb\ny");

    let src = "a\n{{#if x}}\nb\n{{/if}}\nc";
    assert_eq!(render(TemplateOptions::default(), src, json!({"x": 1})).unwrap(), "a\nb\nc");
    let ignore = TemplateOptions { ignore_standalone: true, ..Default::default() };
    assert_eq!(render(ignore.clone(), src, json!({"x": 1})).unwrap(), "a\n\nb\n\nc");
    assert_eq!(render(ignore, "a\n  {{!c}}\nc{{~x~}} d", json!({"x": 1})).unwrap(), "a\n  \nc1d");
}

#[test]
fn explicit_partial_context() {
    let mut t = with(TemplateOptions { explicit_partial_context: true, ..Default::default() });
    t.register_partial("p", "[{{n}}]").unwrap();
    let data = json!({"n": "top", "a": {"n": "inner"}});
    assert_eq!(t.render_str("{{> p}}|{{> p a}}", &data).unwrap(), "[]|[inner]");
    let mut t = with(TemplateOptions::default());
    t.register_partial("p", "[{{n}}]").unwrap();
    assert_eq!(t.render_str("{{> p}}|{{> p a}}", &data).unwrap(), "[top]|[inner]");
}

#[test]
fn runtime_data_frame() {
    let mut t = with(TemplateOptions::default());
    let o = RenderOptions { data: Some(json!({"site": "S"})), ..Default::default() };
    assert_eq!(t.render_str_with("{{@site}} {{@root.x}}", &json!({"x": 1}), &o).unwrap(), "S 1");
    let o = RenderOptions { data: Some(json!({"root": {"x": 2}})), ..Default::default() };
    assert_eq!(t.render_str_with("{{@root.x}}", &json!({"x": 1}), &o).unwrap(), "2");
}

#[test]
fn prototype_access_rules() {
    let mut t = with(TemplateOptions::default());
    t.register_template("t", "{{p.upper}}|{{p.greet}}|{{p.constructor}}|{{#with p}}{{upper}}{{/with}}").unwrap();
    let data = "class Person { constructor(n) { this.n = n; } get upper() { return this.n.toUpperCase(); } \
                greet() { return 'hi ' + this.n; } } ({ p: new Person('ada') })";
    let run = |t: &mut Templates, o: RenderOptions| t.render_js_data("t", data, &o).unwrap();
    assert_eq!(run(&mut t, RenderOptions::default()), "|||");
    let props = RenderOptions { allow_proto_properties_by_default: true, ..Default::default() };
    assert_eq!(run(&mut t, props), "ADA|||ADA");
    // Methods are called with the current context as `this` (as in handlebars.js).
    let methods = RenderOptions { allow_proto_methods_by_default: true, ..Default::default() };
    assert_eq!(run(&mut t, methods), "|hi undefined||");
    let listed = RenderOptions {
        allowed_proto_properties: [("upper".to_string(), true)].into(),
        allowed_proto_methods: [("greet".to_string(), true)].into(),
        ..Default::default()
    };
    assert_eq!(run(&mut t, listed), "ADA|hi undefined||ADA");
    // The rules last one render.
    assert_eq!(run(&mut t, RenderOptions::default()), "|||");
}

#[test]
fn per_render_helpers_and_partials() {
    let mut t = with(TemplateOptions::default());
    t.register_helper_js("up", "function (s) { return 'registered'; }").unwrap();
    let o = RenderOptions {
        helpers: map(&[("up", "function (s) { return s.toUpperCase(); }")]),
        partials: map(&[("p", "<{{n}}>")]),
        ..Default::default()
    };
    assert_eq!(t.render_str_with("{{up \"x\"}} {{> p}}", &json!({"n": 1}), &o).unwrap(), "X <1>");
    // Nothing stays registered after the render.
    assert_eq!(t.render_str("{{up \"x\"}}", &json!({})).unwrap(), "registered");
    assert!(matches!(t.render_str("{{> p}}", &json!({})), Err(TemplateError::UnknownPartial { .. })));
    let bad = RenderOptions { helpers: map(&[("h", "42")]), ..Default::default() };
    assert!(matches!(t.render_str_with("{{h}}", &json!({}), &bad), Err(TemplateError::InvalidHelper(_))));
}

#[test]
fn javascript_data() {
    let mut t = with(TemplateOptions::default());
    t.register_template("t", "{{name}} {{#lambda}}in{{/lambda}} [{{u}}] {{fn2}}").unwrap();
    let js = "({ name: 'ada', u: undefined, fn2: function () { return 'F'; }, \
              lambda: function (o) { return '<' + o.fn(this) + '>'; } })";
    assert_eq!(t.render_js_data("t", js, &RenderOptions::default()).unwrap(), "ada in [] F");
    assert!(matches!(
        t.render_js_data("t", "throw new Error('no data')", &RenderOptions::default()),
        Err(TemplateError::Sandbox(sandvm::Error::Exception { .. }))
    ));
}

#[test]
fn block_params_count_and_hooks_not_callable() {
    let mut t = with(TemplateOptions::default());
    t.register_helper_js("h", "function (o) { return String(o.fn.blockParams); }").unwrap();
    assert_eq!(t.render_str("{{#h}}{{/h}}", &json!({})).unwrap(), "0");
    assert_eq!(t.render_str("{{#h as |a b|}}{{/h}}", &json!({})).unwrap(), "2");
    for src in ["{{helperMissing 1}}", "{{helperMissing}}", "{{#blockHelperMissing 1}}x{{/blockHelperMissing}}"] {
        assert!(matches!(t.render_str(src, &json!({})), Err(TemplateError::UnknownHelper { .. })), "{src}");
    }
}

#[test]
fn handlebars_error_texts() {
    let e = render(TemplateOptions::default(), "{{foo 1}}", json!({})).unwrap_err();
    assert_eq!(e.to_string(), "Missing helper: \"foo\" - 1:0");
    let e = render(TemplateOptions::default(), "{{> nope}}", json!({})).unwrap_err();
    assert_eq!(e.to_string(), "The partial nope could not be found - 1:0");
    let strict = TemplateOptions { strict: true, ..Default::default() };
    let e = render(strict.clone(), "{{a.b}}", json!({"a": {}})).unwrap_err();
    assert_eq!(e.to_string(), "\"b\" not defined in [object Object] - 1:2");
    let e = render(strict, "\n  {{a.b}}", json!({})).unwrap_err();
    assert!(matches!(&e, TemplateError::Template { line: Some(2), column: Some(5), .. }), "{e:?}");
    assert_eq!(e.to_string(), "\"b\" not defined in undefined - 2:4");
}

#[test]
fn options_round_trip_as_handlebars_names() {
    let o: TemplateOptions = serde_json::from_value(json!({
        "compat": true, "knownHelpers": ["x"], "knownHelpersOnly": true, "data": false,
        "assumeObjects": true, "preventIndent": true, "ignoreStandalone": true,
        "explicitPartialContext": true, "strict": true, "noEscape": true, "mode": "handlebars"
    }))
    .unwrap();
    assert!(o.compat && o.known_helpers_only && !o.data && o.assume_objects && o.explicit_partial_context);
    assert!(serde_json::from_value::<TemplateOptions>(json!({"nope": 1})).is_err());
    assert_eq!(serde_json::from_value::<TemplateOptions>(json!({})).unwrap(), TemplateOptions::default());
    let r: RenderOptions = serde_json::from_value(json!({
        "data": {"a": 1}, "allowProtoPropertiesByDefault": true, "allowedProtoMethods": {"m": true},
        "helpers": {"h": "function () {}"}, "partials": {"p": "x"}
    }))
    .unwrap();
    assert!(r.allow_proto_properties_by_default && r.allowed_proto_methods["m"] && !r.is_default());
}

#[test]
fn decorators() {
    let mut t = with(TemplateOptions::default());
    let n = t
        .register_decorators_script(
            "({ decorator: function (fn) { fn.run = 'success'; return fn; },
                wrap: function (fn, props, container, o) {
                  return function (c, opts) { return '<' + o.args[0] + o.hash.n + fn(c, opts) + '>'; };
                },
                d: function (fn) { return function (c, opts) { return '(' + fn(c, opts) + ')'; }; } })",
        )
        .unwrap();
    assert_eq!(n, 3);
    t.register_helper_js("helper", "function (o) { return o.fn.run; }").unwrap();
    assert_eq!(t.render_str("{{#helper}}{{*decorator}}{{/helper}}", &json!({})).unwrap(), "success");
    assert_eq!(t.render_str("{{*wrap \"a\" n=1}}body {{x}}", &json!({"x": 2})).unwrap(), "<a1body 2>");
    assert_eq!(
        t.render_str("{{#each list}}{{*d}}[{{this}}]{{/each}}", &json!({"list": [1, 2]})).unwrap(),
        "([1])([2])"
    );
    assert_eq!(t.render_str("{{#if x}}{{*d}}y{{/if}}", &json!({"x": 1})).unwrap(), "(y)");
    let e = t.render_str("{{*nope}}", &json!({})).unwrap_err();
    assert_eq!(e.to_string(), "Missing decorator: \"nope\" - 1:0");
}
