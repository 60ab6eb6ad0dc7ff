//! Compile-time bounds on hostile template text: nesting depth, source size and generated
//! code size are typed errors ([`TemplateError::TooComplex`]), never a host stack overflow,
//! and code generation is linear in the source.

use sandvm_template::{
    check, compile_to_js, CompileLimit, Mode, TemplateError, TemplateOptions, Templates, MAX_NESTING, MAX_SOURCE_BYTES,
};
use serde_json::json;

const OPEN_IF: &str = "{{#if a}}";

fn nested_ifs(n: usize) -> String {
    format!("{}x{}", OPEN_IF.repeat(n), "{{/if}}".repeat(n))
}

fn mustache() -> TemplateOptions {
    TemplateOptions { mode: Mode::Mustache, ..Default::default() }
}

/// Asserts a nesting error at 1-based `column` of line 1.
fn assert_nesting(r: Result<impl std::fmt::Debug, TemplateError>, column: u32, name: &str) {
    match r {
        Err(TemplateError::TooComplex { limit: CompileLimit::Nesting, max, name: n, line: 1, column: c }) => {
            assert_eq!(max, MAX_NESTING);
            assert_eq!(c, column);
            assert_eq!(n, name);
        }
        other => panic!("expected a nesting error at 1:{column}, got {other:?}"),
    }
}

/// The root program is level 1 and each block's tag a level deeper than its parent's body:
/// the block whose tag would be level `MAX_NESTING + 1` is refused, at its tag.
fn first_refused_block_column() -> u32 {
    ((MAX_NESTING - 1) * OPEN_IF.len() + 1) as u32
}

#[test]
fn five_thousand_nested_ifs_are_a_typed_error() {
    let src = nested_ifs(5000);
    assert!(src.len() > 50_000);
    let col = first_refused_block_column();
    assert_nesting(check(&src, Mode::Handlebars), col, "<template>");
    assert_nesting(compile_to_js(&src, &TemplateOptions::default()), col, "<template>");
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    assert_nesting(t.register_template("deep", &src), col, "deep");
    assert_nesting(t.render_str(&src, &json!({})), col, "<inline>");
    let e = t.render_str(&src, &json!({})).unwrap_err();
    assert_eq!(e.kind(), "too_complex");
    assert_eq!(
        e.to_string(),
        format!("<inline>:1:{col}: the template exceeds the nesting depth limit ({MAX_NESTING})")
    );
    // Nothing was registered; the set still works.
    assert!(matches!(t.render("deep", &json!({})), Err(TemplateError::UnknownTemplate(_))));
    assert_eq!(t.render_str("{{#if a}}ok{{/if}}", &json!({"a": 1})).unwrap(), "ok");
}

#[test]
fn nesting_just_under_the_limit_renders() {
    let n = MAX_NESTING - 1;
    let mut t = Templates::new(sandvm::Limits::default()).unwrap();
    assert_eq!(t.render_str(&nested_ifs(n), &json!({"a": true})).unwrap(), "x");
    assert!(t.render_str(&nested_ifs(n + 1), &json!({"a": true})).is_err());
}

#[test]
fn every_nesting_construct_is_bounded() {
    let n = 5000;
    // `else if` chains nest in the tree although they look flat.
    let chain = format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if a}}".repeat(n));
    // Subexpressions.
    let subs = format!("{{{{x {}1{}}}}}", "(h ".repeat(n), ")".repeat(n));
    // Partial blocks and inline partials.
    let pblocks = format!("{}{}", "{{#> p}}".repeat(n), "{{/p}}".repeat(n));
    let inlines = format!("{}{}", "{{#*inline \"i\"}}".repeat(n), "{{/inline}}".repeat(n));
    let each = format!("{}{}", "{{#each xs as |x|}}".repeat(n), "{{/each}}".repeat(n));
    for src in [chain, subs, pblocks, inlines, each] {
        match compile_to_js(&src, &TemplateOptions::default()) {
            Err(TemplateError::TooComplex { limit: CompileLimit::Nesting, max: MAX_NESTING, .. }) => {}
            other => panic!("{}…: expected a nesting error, got {other:?}", &src[..40]),
        }
    }
    // Mustache sections, inverted sections, parents and blocks.
    let m = mustache();
    for (open, close) in
        [("{{#a}}", "{{/a}}"), ("{{^a}}", "{{/a}}"), ("{{<p}}{{$b}}", "{{/b}}{{/p}}"), ("{{$b}}", "{{/b}}")]
    {
        let src = format!("{}{}", open.repeat(n), close.repeat(n));
        match compile_to_js(&src, &m) {
            Err(TemplateError::TooComplex { limit: CompileLimit::Nesting, max: MAX_NESTING, line: 1, .. }) => {}
            other => panic!("{open}: expected a nesting error, got {other:?}"),
        }
    }
}

#[test]
fn each_construct_at_the_limit_compiles() {
    // Deepest allowed trees of each shape: parsing, whitespace control, code generation and
    // drop all recurse over them (on a stack of at least the compiler's red zone).
    let n = MAX_NESTING / 2 - 2;
    let shapes = [
        nested_ifs(MAX_NESTING - 1),
        format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if a}}".repeat(n)),
        format!("{{{{x {}1{}}}}}", "(h ".repeat(MAX_NESTING - 2), ")".repeat(MAX_NESTING - 2)),
        format!("{}{}", "{{#> p}}".repeat(MAX_NESTING - 1), "{{/p}}".repeat(MAX_NESTING - 1)),
    ];
    for src in &shapes {
        let js = compile_to_js(src, &TemplateOptions::default());
        assert!(js.is_ok(), "{}…: {js:?}", &src[..30]);
    }
    let src = format!("{}{}", "{{#a}}".repeat(MAX_NESTING - 1), "{{/a}}".repeat(MAX_NESTING - 1));
    assert!(compile_to_js(&src, &mustache()).is_ok());
}

#[test]
fn compiling_from_a_thread_with_a_tiny_stack_is_safe() {
    // The caller's stack does not matter: the compiler moves to a fresh stack segment.
    let r = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let ok = compile_to_js(&nested_ifs(MAX_NESTING - 1), &TemplateOptions::default()).map(|j| j.len());
            let deep = compile_to_js(&nested_ifs(50_000), &TemplateOptions::default()).map(|j| j.len());
            (ok, deep)
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(r.0.is_ok(), "{:?}", r.0);
    assert!(matches!(r.1, Err(TemplateError::TooComplex { limit: CompileLimit::Nesting, .. })), "{:?}", r.1);
}

#[test]
fn source_size_is_bounded() {
    let big = "x".repeat(MAX_SOURCE_BYTES + 1);
    for opts in [TemplateOptions::default(), mustache()] {
        match compile_to_js(&big, &opts) {
            Err(TemplateError::TooComplex { limit: CompileLimit::SourceSize, max: MAX_SOURCE_BYTES, .. }) => {}
            other => panic!("expected a source size error, got {:?}", other.map(|j| j.len())),
        }
    }
    assert!(compile_to_js(&"x".repeat(MAX_SOURCE_BYTES), &TemplateOptions::default()).is_ok());
}

#[test]
fn generated_code_size_is_bounded() {
    // Inlined `if`s are the most code per source byte; a source under the size bound that
    // would generate more than the code bound is refused.
    let src = "{{#if a}}{{#if b}}x{{/if}}{{/if}}".repeat(MAX_SOURCE_BYTES / 34);
    assert!(src.len() <= MAX_SOURCE_BYTES);
    match compile_to_js(&src, &TemplateOptions::default()) {
        Err(TemplateError::TooComplex { limit: CompileLimit::GeneratedSize, max, line: 1, column: 1, .. }) => {
            assert_eq!(max, sandvm_template::MAX_GENERATED_BYTES)
        }
        other => panic!("expected a generated size error, got {:?}", other.map(|j| j.len())),
    }
}

/// `size(2n) / size(n)` for the JavaScript generated from `make(n)`.
fn growth(make: impl Fn(usize) -> String, n: usize, opts: &TemplateOptions) -> f64 {
    let a = compile_to_js(&make(n), opts).unwrap().len() as f64;
    let b = compile_to_js(&make(2 * n), opts).unwrap().len() as f64;
    b / a
}

#[test]
fn generated_code_is_linear_in_nesting_and_width() {
    let hbs = TemplateOptions::default();
    let cases: Vec<(&str, f64)> = vec![
        ("hbs nesting", growth(nested_ifs, 50, &hbs)),
        ("hbs width", growth(|n| "{{#if a}}{{#if b}}{{#unless c}}x{{/unless}}{{/if}}{{/if}}".repeat(n), 500, &hbs)),
        ("hbs else-if chain", growth(|n| format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if b}}y".repeat(n)), 25, &hbs)),
        // Section bodies are given to lambdas: they used to be copied once per enclosing
        // section (quadratic).
        (
            "mustache nesting",
            growth(|n| format!("{}x{}", "{{#a}}some text ".repeat(n), "{{/a}}".repeat(n)), 60, &mustache()),
        ),
        ("mustache width", growth(|n| "{{#a}}{{#b}}t{{/b}}{{/a}}".repeat(n), 1000, &mustache())),
    ];
    for (what, g) in cases {
        assert!((1.8..2.2).contains(&g), "{what}: doubling the template multiplied the code by {g:.2}");
    }
    // The amplification is a constant: at most 40 bytes of code per byte of template.
    let src = nested_ifs(MAX_NESTING - 1);
    let js = compile_to_js(&src, &hbs).unwrap();
    assert!(js.len() <= 40 * src.len(), "{} bytes of code for {} bytes of template", js.len(), src.len());
}

#[test]
fn nested_standalone_blocks_are_parsed_a_bounded_number_of_times() {
    // Each standalone `{{$block}}` body is dedented and parsed again; nested ones used to
    // cascade (exponential in depth).
    let blocks = |d: usize| format!("{}x\n{}", "{{$b}}\n".repeat(d), "{{/b}}\n".repeat(d));
    let start = std::time::Instant::now();
    assert!(compile_to_js(&blocks(16), &mustache()).is_ok());
    match compile_to_js(&blocks(40), &mustache()) {
        Err(TemplateError::TooComplex { limit: CompileLimit::Nesting, max: 16, line: 1, column: 1, .. }) => {}
        other => panic!("expected a nesting error, got {other:?}"),
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "took {:?}", start.elapsed());
    let mut t = Templates::with_options(sandvm::Limits::default(), mustache()).unwrap();
    t.register_partial("p", "<{{$b}}d{{/b}}>").unwrap();
    let src = "{{<p}}\n{{$b}}\n  {{$c}}\n    inner\n  {{/c}}\n{{/b}}\n{{/p}}\n";
    assert_eq!(t.render_str(src, &json!({})).unwrap(), "<  inner\n>");
}

#[test]
fn many_tags_on_one_line_parse_in_linear_time() {
    // The standalone-line pass used to be quadratic in the tags of one line.
    let m = mustache();
    let small = "{{a}}".repeat(20_000) + "\n";
    let big = "{{a}}".repeat(80_000) + "\n";
    let t0 = std::time::Instant::now();
    compile_to_js(&small, &m).unwrap();
    let t_small = t0.elapsed();
    let t1 = std::time::Instant::now();
    compile_to_js(&big, &m).unwrap();
    let t_big = t1.elapsed();
    // 4x the tags: linear is ~4x; quadratic was ~16x. Generous for a loaded machine.
    assert!(t_big < t_small * 10 + std::time::Duration::from_millis(200), "{t_small:?} → {t_big:?}");
}
