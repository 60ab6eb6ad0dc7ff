//! The inlined built-ins (`#if`, `#unless`) and direct property reads must behave exactly as
//! the generic helper calls: overriding a built-in (before or during a render), values that
//! are functions, prototype names, block parameters and error positions.

use sandvm_template::Templates;
use serde_json::json;

fn t() -> Templates {
    Templates::new(sandvm::Limits::default()).unwrap()
}

#[test]
fn builtin_if_and_unless_inline() {
    let mut t = t();
    let src = "{{#if a}}A{{else}}B{{/if}}|{{#unless a}}U{{else}}V{{/unless}}";
    assert_eq!(t.render_str(src, &json!({"a": 0})).unwrap(), "B|U");
    assert_eq!(t.render_str(src, &json!({"a": []})).unwrap(), "B|U");
    assert_eq!(t.render_str(src, &json!({"a": [0]})).unwrap(), "A|V");
    assert_eq!(t.render_str(src, &json!({"a": {}})).unwrap(), "A|V");
    let src = "{{#each xs as |x i|}}{{#if x}}{{x}}{{i}}{{@index}}{{../t}}{{/if}}{{/each}}";
    assert_eq!(t.render_str(src, &json!({"xs": [1, 2], "t": "T"})).unwrap(), "100T211T");
    let src = "{{#if a}}{{#if b}}{{#unless c}}deep{{b}}{{/unless}}{{/if}}{{/if}}";
    assert_eq!(t.render_str(src, &json!({"a": 1, "b": "=`\"'", "c": false})).unwrap(), "deep&#x3D;&#x60;&quot;&#x27;");
    let src = "{{constructor}}{{toString}}{{__proto__}}{{#if constructor}}bad{{/if}}";
    assert_eq!(t.render_str(src, &json!({})).unwrap(), "");
    assert_eq!(t.render_str("{{length}}{{#if length}}L{{/if}}", &json!("str")).unwrap(), "3L");
}

#[test]
fn overridden_builtins_are_called() {
    let mut t = t();
    t.register_helper_js("if", "function (c, o) { return 'IF(' + c + ')' + o.fn(this) + '|' + o.inverse(this); }")
        .unwrap();
    let src = "{{#if a}}A{{else}}B{{/if}}|{{#unless a}}U{{else}}V{{/unless}}";
    assert_eq!(t.render_str(src, &json!({"a": 0})).unwrap(), "IF(0)A|B|IF(0)V|U");

    let mut t2 = self::t();
    t2.register_helpers_script("Handlebars.helpers['if'] = function () { return 'direct'; }; ({})").unwrap();
    assert_eq!(t2.render_str("{{#if a}}x{{/if}}", &json!({"a": 1})).unwrap(), "direct");

    // Replaced in the middle of a render: later uses call the new helper.
    let mut t3 = self::t();
    t3.register_helper_js(
        "reg",
        "function () { Handlebars.registerHelper('if', function () { return 'late'; }); return ''; }",
    )
    .unwrap();
    assert_eq!(t3.render_str("{{#if a}}x{{/if}}{{reg}}{{#if a}}x{{/if}}", &json!({"a": 1})).unwrap(), "xlate");

    // A helper with the name of a value wins over the value.
    let mut t4 = self::t();
    t4.register_helper_js("a", "function () { return 'helper a'; }").unwrap();
    assert_eq!(t4.render_str("{{a}}", &json!({"a": "value"})).unwrap(), "helper a");
}

#[test]
fn function_values_and_error_positions() {
    let mut t = t();
    t.register_helper_js(
        "mk",
        "function () { return { a: 1, b: { c: function () { throw new Error('inner'); } }, \
         f: function () { return this.a ? 'F' : ''; } }; }",
    )
    .unwrap();
    let src = "x\n {{#with (mk)}}{{#if f}}[{{f}}]{{/if}}{{#unless f}}no{{/unless}}{{/with}}";
    assert_eq!(t.render_str(src, &json!({})).unwrap(), "x\n [F]");
    let e = t.render_str("x\n {{#with (mk)}}{{#if a}}\n  {{b.c}}{{/if}}{{/with}}", &json!({})).unwrap_err();
    // The message has handlebars.js' 0-based column; the typed column is 1-based.
    assert!(e.to_string().contains(" - 2:15"), "{e}");
    assert!(matches!(e, sandvm_template::TemplateError::Template { line: Some(2), column: Some(16), .. }), "{e:?}");
}

#[test]
fn escaping() {
    let mut t = t();
    let data = json!({"s": "a&b<c>d\"e'f`g=h &lt; x", "n": 5, "z": 0, "e": "", "p": "plain"});
    assert_eq!(
        t.render_str("{{s}}|{{{s}}}|{{n}}{{z}}{{e}}{{p}}", &data).unwrap(),
        "a&amp;b&lt;c&gt;d&quot;e&#x27;f&#x60;g&#x3D;h &amp;lt; x|a&b<c>d\"e'f`g=h &lt; x|50plain"
    );
    t.register_helper_js("e", "function (s) { return Handlebars.escapeExpression(s); }").unwrap();
    assert_eq!(t.render_str("{{{e \"<=>\"}}}", &json!({})).unwrap(), "&lt;&#x3D;&gt;");
}
