//! TypeScript helpers files (`helpers.ts`): types stripped on the host, positions of load-time
//! errors in the TypeScript source.

use sandvm_template::{TemplateError, Templates};
use serde_json::json;

const HELPERS: &str = "interface Money {\n  amount: number;\n  currency: string;\n}\n\
enum Style { Short = 'short', Long = 'long' }\n\
function money(m: Money, style?: Style): string {\n  return `${m.amount.toFixed(2)} ${m.currency}`;\n}\n\
Handlebars.registerHelper('money', (m: Money) => money(m));\n\
module.exports = { shout: (s: string): string => s.toUpperCase() + '!' as string };\n";

#[test]
fn a_typescript_helpers_file_registers_helpers() {
    let mut t = Templates::new(Default::default()).expect("templates");
    let n = t.register_helpers_typescript(HELPERS, "helpers.ts").expect("helpers.ts");
    assert_eq!(n, 1, "module.exports has one helper");
    t.register_template("page", "{{shout name}} owes {{money bill}}").expect("template");
    let out = t.render("page", &json!({"name": "ada", "bill": {"amount": 4.5, "currency": "EUR"}})).expect("render");
    assert_eq!(out, "ADA! owes 4.50 EUR");
    // The same file as JavaScript does not parse.
    let mut js = Templates::new(Default::default()).expect("templates");
    // (The guest's `eval` runs helpers files, so the engine's SyntaxError arrives as an exception.)
    match js.register_helpers_script(HELPERS) {
        Err(TemplateError::Sandbox(sandvm::Error::Exception { name, .. })) => {
            assert_eq!(name.as_deref(), Some("SyntaxError"))
        }
        other => panic!("expected a SyntaxError, got {other:?}"),
    }
}

#[test]
fn typescript_helpers_errors_point_into_the_typescript_source() {
    let mut t = Templates::new(Default::default()).expect("templates");
    let bad = "type A = {\n  a: number;\n};\nconst x: A = { a: 1 ;\n";
    match t.register_helpers_typescript(bad, "helpers.ts") {
        Err(TemplateError::Sandbox(sandvm::Error::Syntax { line, column, .. })) => {
            assert_eq!((line, column), (Some(4), Some(21)))
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    let throws = "type Opts = {\n  strict: boolean;\n};\nconst o: Opts = { strict: true };\nif (o.strict) throw new RangeError('no helpers today');\n";
    match t.register_helpers_typescript(throws, "helpers.ts") {
        Err(TemplateError::Sandbox(sandvm::Error::Exception { name, line, stack, .. })) => {
            assert_eq!((name.as_deref(), line), (Some("RangeError"), Some(5)), "{stack:?}");
            assert!(stack.is_some_and(|s| s.contains("helpers.ts:5:")));
        }
        other => panic!("expected an exception, got {other:?}"),
    }
    // The set still works after both failures.
    t.register_template("ok", "{{x}}").expect("template");
    assert_eq!(t.render("ok", &json!({"x": 1})).expect("render"), "1");
}
