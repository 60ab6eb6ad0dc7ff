//! A TypeScript REPL session without a terminal (what `sandvm repl --ts` does per input):
//! types are stripped, declarations persist, an unfinished input asks for more lines, and an
//! error points at its TypeScript line.
//!
//! `cargo run -p sandvm-repl --example typescript_repl`

use sandvm_repl::{LineResult, Session, SessionConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut s = Session::new(SessionConfig { language: sandvm::Language::TypeScript, ..SessionConfig::default() })?;
    let lines = [
        "interface Point {",
        "  x: number;",
        "  y: number;",
        "}",
        "const norm = (p: Point): number => Math.hypot(p.x, p.y)",
        "norm({ x: 3, y: 4 } satisfies Point)",
        "enum Dir { Up = 1, Down }",
        "Dir.Down as number",
        "let broken: = 1",
    ];
    let mut pending = String::new();
    let mut shown = Vec::new();
    for line in lines {
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(line);
        let out = s.eval(&pending);
        match out.result {
            LineResult::Incomplete => {
                println!("... {line}");
                continue;
            }
            LineResult::Value(v) => {
                println!("> {pending}\n{v}");
                shown.push(v);
            }
            LineResult::Error { error, .. } => {
                println!("> {pending}\nUncaught {error}");
                shown.push(error.kind().to_string());
            }
        }
        pending.clear();
    }
    assert_eq!(shown, ["undefined", "undefined", "5", "undefined", "2", "syntax"], "{shown:?}");
    Ok(())
}
