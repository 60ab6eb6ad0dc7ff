use super::*;

fn js(src: &str) -> String {
    transform(src, "t.ts", &Options::default()).expect("transforms").code
}

#[test]
fn strips_annotations_interfaces_and_aliases() {
    let out = js("interface A { x: number }\ntype B = A | null;\nlet a: A = { x: 1 } as A;\na.x!");
    assert!(!out.contains("interface") && !out.contains("type B") && !out.contains(" as "), "{out}");
    assert!(out.contains("let a = { x: 1 }"), "{out}");
}

#[test]
fn enums_and_namespaces_become_objects() {
    let out = js("enum Color { Red, Green = 5 }\nnamespace N { export const x = 1; }\nColor.Green + N.x");
    assert!(out.contains("Color[Color[\"Green\"] = 5]"), "{out}");
    assert!(out.contains("N.x = 1") || out.contains("_N.x = 1"), "{out}");
}

#[test]
fn syntax_errors_have_typescript_positions() {
    let src = "interface Big {\n  a: string;\n  b: number;\n}\nconst x: Big = ;\n";
    match transform(src, "t.ts", &Options::default()) {
        Err(Error::Syntax { line, column, .. }) => assert_eq!((line, column), (5, 16)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn incomplete_input_is_flagged() {
    match transform("function f(a: number) {", "t.ts", &Options::default()) {
        Err(Error::Syntax { incomplete_input, .. }) => assert!(incomplete_input),
        other => panic!("{other:?}"),
    }
}

#[test]
fn positions_map_back_past_type_declarations() {
    let src = "type T = {\n  a: number;\n  b: string;\n};\ninterface I {\n  c: T;\n}\nconst v: T = { a: 1, b: 'x' };\nthrow new Error(v.b);\n";
    let out = transform(src, "t.ts", &Options::default()).expect("transforms");
    // Find the generated position of `throw` and map it back.
    let (gl, line) = out.code.lines().enumerate().find(|(_, l)| l.contains("throw")).expect("throw line");
    let gc = line.find("throw").expect("column") as u32 + 1;
    assert_eq!(out.map.original(gl as u32 + 1, gc), Some((9, 1)));
    let stack = format!("    at <eval> (t.ts:{}:{})\n", gl + 1, gc);
    assert_eq!(out.map.remap_stack(&stack, "t.ts"), "    at <eval> (t.ts:9:1)\n");
    assert_eq!(out.map.remap_stack("    at f (other.js:3:4)\n", "t.ts"), "    at f (other.js:3:4)\n");
}

#[test]
fn too_large_and_too_deep_are_typed() {
    let big = "let x: number = 1;\n".repeat(300_000);
    assert!(matches!(transform(&big, "t.ts", &Options::default()), Err(Error::TooLarge { .. })));
    let deep = format!("type T = {}number{};", "Array<".repeat(5000), ">".repeat(5000));
    assert!(matches!(transform(&deep, "t.ts", &Options::default()), Err(Error::TooDeep { .. })));
    let parens = format!("let x = {}1{};", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(transform(&parens, "t.ts", &Options::default()), Err(Error::TooDeep { .. })));
}

#[test]
fn allowed_depth_does_not_overflow_the_stack() {
    // Just under the nesting limit, on a small thread: the transform grows its own stack.
    let src = format!(
        "type T = {}number{};\nlet x = {}1{};\nlet y = 1{};",
        "Array<".repeat(990),
        ">".repeat(990),
        "(".repeat(990),
        ")".repeat(990),
        " + 1".repeat(100_000)
    );
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || transform(&src, "t.ts", &Options::default()).map(|o| o.code.len()))
        .expect("spawn");
    assert!(h.join().expect("no overflow").is_ok());
}

#[test]
fn type_only_imports_vanish_in_modules() {
    let out = transform(
        "import type { A } from './a';\nimport { b, type C } from './b';\nexport type D = A;\nexport const e: C = b;",
        "m.ts",
        &Options::kind(SourceKind::Module),
    )
    .expect("transforms");
    assert!(!out.code.contains("./a") && out.code.contains("import { b } from \"./b\""), "{}", out.code);
}

#[test]
fn typescript_paths() {
    assert!(is_typescript_path("a/b.ts") && is_typescript_path("x.MTS") && is_typescript_path("y.cts"));
    assert!(!is_typescript_path("a.d.ts") && !is_typescript_path("a.js") && !is_typescript_path("ts"));
}

#[test]
fn accessor_fields_are_lowered_keeping_positions() {
    let src = "class A {\n  static accessor n: number = 1;\n  accessor #p = 2;\n  public accessor x: string = 'x';\n}\nthrow new Error('line 6');\n";
    let out = transform(src, "t.ts", &Options::default()).expect("transforms");
    assert!(!out.code.contains("accessor "), "{}", out.code);
    assert!(
        out.code.contains("static get n()") && out.code.contains("get #p()") && out.code.contains("set x(v)"),
        "{}",
        out.code
    );
    // The generated `throw` still maps to line 6, column 1.
    let line = out.code.lines().position(|l| l.contains("throw")).expect("throw") as u32 + 1;
    let col = out.code.lines().nth(line as usize - 1).and_then(|l| l.find("throw")).expect("col") as u32 + 1;
    assert_eq!(out.map.original(line, col), Some((6, 1)), "{}", out.code);
}

#[test]
fn accessor_fields_that_cannot_be_lowered_are_typed_syntax_errors() {
    for (src, line) in
        [("class A {\n  accessor ['k'] = 1;\n}", 2), ("class A {\n  x = 1;\n  accessor 'quoted' = 1;\n}", 3)]
    {
        match transform(src, "t.ts", &Options::default()) {
            Err(Error::Syntax { message, line: l, incomplete_input: false, .. }) => {
                assert!(message.contains("accessor"), "{message}");
                assert_eq!(l, line, "{src:?}");
            }
            other => panic!("{src:?}: {other:?}"),
        }
    }
    // The word elsewhere is left alone.
    let out = js("const accessor = 1;\nclass B { accessor() { return accessor } }\nnew B().accessor()");
    assert!(out.contains("accessor()"), "{out}");
}
