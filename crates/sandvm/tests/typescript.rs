//! TypeScript in the core (`typescript` feature): type stripping, positions in the TypeScript
//! source, `.ts` modules under the module policy, the bytecode cache, hostile input.
#![cfg(feature = "typescript")]

use sandvm::{BytecodeCache, Context, ContextOptions, Error, EvalOptions, Language, Limits, ModuleConfig, Runtime};

fn ctx_with(options: ContextOptions) -> Context {
    let rt = Runtime::new(Limits::default()).expect("runtime");
    Context::new(&rt, options).expect("context")
}

fn ts(ctx: &Context, src: &str) -> sandvm::Result<sandvm::Completion> {
    let opts = EvalOptions { filename: Some("app.ts".into()), language: Language::TypeScript, ..Default::default() };
    ctx.eval_with(src, &opts)
}

/// The column the engine reports for an exception thrown by `line` in plain JavaScript (after
/// `setup` on the lines before): the TypeScript run must report the same column on the `.ts` line.
fn js_column(setup: &str, line: &str) -> u32 {
    let ctx = ctx_with(ContextOptions::default());
    match ctx.eval(&format!("{setup}\n{line}")) {
        Err(Error::Exception { column: Some(c), .. }) => c,
        other => panic!("{other:?}"),
    }
}

const AFTER_TYPES: &str = "interface Order {\n  id: number;\n  items: {\n    sku: string;\n    qty: number;\n  }[];\n}\ntype Total = number;\nfunction total(o: Order): Total {\n  return o.items.reduce((s, i) => s + i.qty, 0);\n}\nconst o: Order = { id: 1, items: [] };\nif (total(o) === 0) throw new TypeError(`empty order ${o.id}`);\n";

#[test]
fn runs_typescript_and_keeps_the_completion_value() {
    let ctx = ctx_with(ContextOptions::default());
    let done = ts(
        &ctx,
        "enum E { A = 2 }\nconst x: number = 20;\nfunction f<T>(v: T): T { return v; }\nf<number>(x) * E.A + 2",
    )
    .unwrap();
    assert_eq!(done.value, Some(serde_json::json!(42)));
    // `var`-like globals stay in the context, as for JavaScript.
    assert_eq!(ts(&ctx, "x as number").unwrap().value, Some(serde_json::json!(20)));
}

#[test]
fn exception_positions_point_into_the_typescript_source() {
    let ctx = ctx_with(ContextOptions::default());
    match ts(&ctx, AFTER_TYPES) {
        Err(Error::Exception { name, line, column, stack, .. }) => {
            assert_eq!(name.as_deref(), Some("TypeError"));
            let col =
                js_column("var o = { id: 1 }; function total() { return 0 }", AFTER_TYPES.lines().nth(12).unwrap());
            assert_eq!((line, column), (Some(13), Some(col)), "stack: {stack:?}");
            assert!(stack.as_deref().unwrap_or_default().contains(&format!("app.ts:13:{col}")), "{stack:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn stack_frames_of_nested_calls_are_mapped() {
    let ctx = ctx_with(ContextOptions::default());
    let src = "type Fn = (n: number) => number;\ninterface Unused {\n  a: string;\n}\nconst inner: Fn = (n: number): number => {\n  throw new RangeError('bad ' + n);\n};\nfunction outer(n: number): number {\n  return inner(n as number) + 1;\n}\nouter(3);\n";
    match ts(&ctx, src) {
        Err(Error::Exception { line, column, stack, .. }) => {
            let stack = stack.unwrap_or_default();
            let col = js_column("var n = 3;", "  throw new RangeError('bad ' + n);");
            assert_eq!((line, column), (Some(6), Some(col)), "{stack}");
            assert!(stack.contains("app.ts:9:"), "{stack}");
            assert!(stack.contains("app.ts:11:"), "{stack}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn syntax_errors_have_typescript_positions() {
    let ctx = ctx_with(ContextOptions::default());
    let src = "interface A {\n  a: number;\n}\ntype B = A & {\n  b: string;\n};\nlet v: B = { a: 1, b: 'x' ;\n";
    match ts(&ctx, src) {
        Err(Error::Syntax { line, column, .. }) => assert_eq!((line, column), (Some(7), Some(27))),
        other => panic!("{other:?}"),
    }
    // A type error is not an error: no type checking.
    assert_eq!(ts(&ctx, "const n: number = 'str' as any as number; typeof n").unwrap().display, "'string'");
}

#[test]
fn size_and_depth_limits_are_typed() {
    let ctx = ctx_with(ContextOptions::default());
    let big = "let a: number = 1;\n".repeat(10 * 1024 * 1024 / 19 + 1);
    assert!(big.len() >= 10 * 1024 * 1024);
    assert!(matches!(ts(&ctx, &big), Err(Error::SourceTooLarge { max: sandvm::MAX_TYPESCRIPT_SOURCE, .. })));
    let deep = format!("type T = {}number{};\n1", "Promise<".repeat(100_000), ">".repeat(100_000));
    assert!(matches!(ts(&ctx, &deep), Err(Error::TooDeep { .. })));
    // The context still works afterwards.
    assert_eq!(ts(&ctx, "1 as number").unwrap().display, "1");
}

#[test]
fn typescript_modules_load_under_the_policy_and_map_positions() {
    let modules = ModuleConfig::new()
        .module("lib/math.ts", "export interface V {\n  x: number;\n}\nexport const add = (a: V, b: V): V => ({ x: a.x + b.x });\nexport function boom(): never {\n  throw new Error('boom');\n}\n")
        .module("lib/kinds.mts", "export enum Kind { A = 'a', B = 'b' }\n");
    let ctx = ctx_with(ContextOptions::default().modules(modules));
    let done = ctx
        .run_module(
            "import { add, type V } from './lib/math.ts';\nimport { Kind } from './lib/kinds.mts';\nconst v: V = add({ x: 1 }, { x: 2 });\nexport const out = `${v.x}${Kind.B}`;\n",
            "main.ts",
        )
        .unwrap();
    assert_eq!(done.value, Some(serde_json::json!({"out": "3b"})));
    match ctx.run_module("import { boom } from './lib/math.ts';\nboom();\n", "main2.ts") {
        Err(Error::Exception { stack, .. }) => {
            let stack = stack.unwrap_or_default();
            let col = js_column("", "  throw new Error('boom');");
            assert!(stack.contains(&format!("lib/math.ts:6:{col}")), "{stack}");
            assert!(stack.contains("main2.ts:2:1"), "{stack}");
        }
        other => panic!("{other:?}"),
    }
    // A syntax error in an imported TypeScript module names its TypeScript position.
    let bad = ModuleConfig::new().module("bad.ts", "interface I {\n  a: number\n}\nlet x: = 1;\n");
    let ctx = ctx_with(ContextOptions::default().modules(bad));
    match ctx.run_module("import './bad.ts';", "main.mjs") {
        Err(e) => assert!(e.to_string().contains("bad.ts:4:8"), "{e}"),
        Ok(v) => panic!("{v:?}"),
    }
}

#[test]
fn typescript_modules_go_through_the_bytecode_cache() {
    let cache = BytecodeCache::in_memory();
    let src = "export const n: number = 41 + 1;\n";
    for _ in 0..2 {
        let modules = ModuleConfig::new().module("lib.ts", src).cache(cache.clone());
        let ctx = ctx_with(ContextOptions::default().modules(modules));
        let done = ctx.run_module("import { n } from './lib.ts'; export const v = n;", "main.mjs").unwrap();
        assert_eq!(done.value, Some(serde_json::json!({"v": 42})));
    }
    let stats = cache.stats();
    assert!(stats.hits >= 1, "{stats:?}");
}

#[test]
fn language_parses_and_detects_by_extension() {
    assert_eq!("ts".parse::<Language>().unwrap(), Language::TypeScript);
    assert_eq!("JavaScript".parse::<Language>().unwrap(), Language::JavaScript);
    assert!("rust".parse::<Language>().is_err());
    assert_eq!(Language::from_path("a/b.mts"), Language::TypeScript);
    assert_eq!(Language::from_path("types.d.ts"), Language::JavaScript);
    assert!(Language::TypeScript.is_available());
}
