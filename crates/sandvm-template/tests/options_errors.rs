//! Options (`strict`, `noEscape`, Mustache mode), helper registration forms, and error
//! reporting (parse errors with line/column, missing helpers and partials).

use sandvm_template::{check, Mode, TemplateError, TemplateOptions, Templates};
use serde_json::json;

fn with(options: TemplateOptions) -> Templates {
    Templates::with_options(sandvm::Limits::default(), options).expect("templates")
}

#[test]
fn no_escape_option() {
    let mut t = with(TemplateOptions { no_escape: true, ..Default::default() });
    let out = t.render_str("{{a}} {{{a}}} {{b.c}}", &json!({"a": "<x & y>", "b": {"c": "'q'"}})).unwrap();
    // Expected output of handlebars.js 4.7 with `noEscape: true`.
    assert_eq!(out, "<x & y> <x & y> 'q'");
}

#[test]
fn strict_option() {
    let mut t = with(TemplateOptions { strict: true, ..Default::default() });
    let data = json!({"a": "A", "b": {"c": "C"}});
    assert_eq!(t.render_str("{{a}} {{#if missing}}x{{/if}} {{b.c}}", &data).unwrap(), "A  C");
    // As handlebars.js: the last segment of a value must exist; a lookup through a missing
    // object is a TypeError.
    for (tpl, want) in [
        ("{{missing}}", "\"missing\" not defined in [object Object] - 1:2"),
        ("{{b.d}}", "\"d\" not defined in [object Object] - 1:2"),
        ("x\n  {{b.d.e}}", "\"e\" not defined in undefined - 2:4"),
        ("{{#if nope.x}}{{/if}}", "Cannot read properties of undefined (reading 'x')"),
    ] {
        match t.render_str(tpl, &data) {
            Err(TemplateError::Template { message, line, .. }) => {
                assert!(message.contains(want), "{tpl}: {message}");
                assert!(line.is_some(), "{tpl}: no line");
            }
            other => panic!("{tpl}: expected a strict error, got {other:?}"),
        }
    }
    // A registered helper is still found in strict mode.
    t.register_helper_js("now", "function () { return 'H'; }").unwrap();
    assert_eq!(t.render_str("{{now}}", &data).unwrap(), "H");
}

#[test]
fn missing_helper_and_partial_have_positions() {
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    match t.render_str("ok\n  {{foo bar}}", &json!({"bar": 1})) {
        Err(TemplateError::UnknownHelper { name, line, column }) => {
            assert_eq!(name, "foo");
            assert_eq!((line, column), (Some(2), Some(3)));
        }
        other => panic!("{other:?}"),
    }
    match t.render_str("{{> nope}}", &json!({})) {
        Err(TemplateError::UnknownPartial { name, line, .. }) => {
            assert_eq!(name, "nope");
            assert_eq!(line, Some(1));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(t.render("never-registered", &json!({})), Err(TemplateError::UnknownTemplate(_))));
}

#[test]
fn parse_errors_have_line_and_column() {
    let cases: &[(&str, Mode, u32, u32, &str)] = &[
        ("a\n{{#if x}}\nb", Mode::Handlebars, 2, 1, "{{/if}}"),
        ("{{#if x}}{{/each}}", Mode::Handlebars, 1, 13, "doesn't match"),
        ("line 1\nline {{ 2", Mode::Handlebars, 2, 6, "unclosed mustache"),
        ("{{a b}c}}", Mode::Handlebars, 1, 6, "unexpected character"),
        ("{{foo.this}}", Mode::Handlebars, 1, 3, "Invalid path"),
        ("x\n\n  {{else}}", Mode::Handlebars, 3, 3, "else"),
        ("{{{{raw}}}} never closed", Mode::Handlebars, 1, 1, "raw block"),
        ("{{foo bar=}}", Mode::Handlebars, 1, 11, "expected"),
        ("a {{#s}}\n{{/t}}", Mode::Mustache, 2, 1, "closing tag of `s`"),
        ("{{=<% %>=}}\n<% x", Mode::Mustache, 2, 1, "%>"),
        ("ab\n cd {{#x}}", Mode::Mustache, 2, 5, "unclosed section"),
    ];
    for (src, mode, line, column, needle) in cases {
        match check(src, *mode) {
            Err(TemplateError::Parse { message, line: l, column: c, .. }) => {
                assert_eq!((l, c), (*line, *column), "{src:?}: {message}");
                assert!(message.contains(needle), "{src:?}: {message}");
            }
            other => panic!("{src:?}: expected a parse error, got {other:?}"),
        }
    }
    // Registration reports the template name too.
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    let e = t.register_template("page", "ok\n{{#each}}").unwrap_err();
    assert!(e.to_string().starts_with("page:2:1:"), "{e}");
}

#[test]
fn helpers_script_forms() {
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    // 1. registerHelper / registerPartial calls.
    t.register_helpers_script(
        "Handlebars.registerHelper('shout', function (s) { return String(s).toUpperCase() + '!'; });\n\
         Handlebars.registerPartial('sig', '-- {{shout name}}');",
    )
    .unwrap();
    // 2. The completion value is an object of helpers (regexp literals are fine).
    let n = t
        .register_helpers_script(
            "var x = 1;\n({ trim: function (s) { return s.replace(/^\\s+|\\s+$/g, ''); }, one: () => x })",
        )
        .unwrap();
    assert_eq!(n, 2);
    // 3. module.exports.
    let n = t.register_helpers_script("module.exports = { twice: function (s) { return s + s; } };").unwrap();
    assert_eq!(n, 1);
    let out = t
        .render_str(
            "{{shout name}} [{{trim pad}}] {{one}} {{twice name}} {{> sig}}",
            &json!({"name": "ada", "pad": "  p  "}),
        )
        .unwrap();
    assert_eq!(out, "ADA! [p] 1 adaada -- ADA!");
    // A helper that is not a function.
    assert!(matches!(t.register_helper_js("bad", "42"), Err(TemplateError::InvalidHelper(_))));
    assert!(matches!(t.register_helper_js("bad", "function ( {"), Err(TemplateError::InvalidHelper(_))));
}

#[test]
fn helper_exception_is_a_template_error_with_position() {
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    t.register_helper_js("boom", "function () { throw new TypeError('bad input'); }").unwrap();
    match t.render_str("a\n {{boom 1}}", &json!({})) {
        Err(TemplateError::Template { message, line, column }) => {
            assert!(message.contains("TypeError: bad input"), "{message}");
            assert_eq!((line, column), (Some(2), Some(2)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mustache_mode_basics() {
    let mut t = with(TemplateOptions { mode: Mode::Mustache, ..Default::default() });
    t.register_partial("item", "<li>{{name}}</li>\n").unwrap();
    t.register_helper_js("bold", "function (text) { return '<b>' + text + '</b>'; }").unwrap();
    let out = t
        .render_str(
            "{{#people}}\n  {{> item}}\n{{/people}}\n{{#bold}}{{title}}{{/bold}} {{^none}}empty{{/none}}",
            &json!({"people": [{"name": "a"}, {"name": "b&c"}], "title": "T", "none": []}),
        )
        .unwrap();
    assert_eq!(out, "  <li>a</li>\n  <li>b&amp;c</li>\n<b>T</b> empty");
    // Missing partials render as nothing in Mustache.
    assert_eq!(t.render_str("[{{> nope}}]", &json!({})).unwrap(), "[]");
}

#[test]
fn compiled_templates_are_cached_and_render_repeatedly() {
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    for i in 0..50 {
        assert_eq!(t.render_str("n={{n}}", &json!({ "n": i })).unwrap(), format!("n={i}"));
    }
}

/// Random template-like inputs never panic the parsers (they parse or return an error).
#[test]
fn parsers_never_panic_on_random_input() {
    const PIECES: &[&str] = &[
        "{{", "}}", "{{{", "}}}", "{{{{", "}}}}", "{{#", "{{/", "{{^", "{{>", "{{<", "{{$", "{{!", "{{!--", "--}}",
        "{{=", "=}}", "{{&", "~", "else", "if", "each", " ", "\n", "\r\n", "\\", "a", ".", "..", "/", "[", "]", "(",
        ")", "\"", "'", "=", "|", "as |x|", "@", "*", "é", "☃", "x.y", "this", "1", "-2.5", "true", "<%", "%>",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = (next() % 24) as usize;
        let src: String = (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        for mode in [Mode::Handlebars, Mode::Mustache] {
            let _ = check(&src, mode);
            let _ = sandvm_template::compile_to_js(&src, &TemplateOptions { mode, ..Default::default() });
        }
    }
}
