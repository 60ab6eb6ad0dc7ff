//! Classifying input lines, and the few source heuristics the REPL needs.
//!
//! Whether a line is *complete* is never decided here: the engine's parser tells that
//! ([`sandvm::Error::Syntax`] with `incomplete_input`). This module only sorts out REPL
//! commands, decides whether to try an object literal first (`{ a: 1 }`), whether a line
//! needs the top-level-`await` mode, and which names it declares (for completion).

use crate::command::COMMANDS;

/// What one physical input line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Only whitespace (ignored at the primary prompt; kept as a line break in continuation).
    Empty,
    /// A REPL command such as `.help` or `.load file.js`.
    Command,
    /// JavaScript source.
    Code,
}

/// Classifies a line typed at the prompt. `continuing` tells that earlier lines of an
/// unfinished statement are buffered: then only known commands (such as `.break`) count as
/// commands, so that a line starting a method chain (`.map(f)`) stays code.
///
/// Like node, a line is a command when it starts with `.` followed by a letter (`.5 + 1` and
/// `...xs` are code).
pub fn classify_line(line: &str, continuing: bool) -> LineKind {
    let t = line.trim();
    if t.is_empty() {
        return LineKind::Empty;
    }
    let mut chars = t.chars();
    let is_cmd_shape = chars.next() == Some('.') && chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !is_cmd_shape {
        return LineKind::Code;
    }
    if continuing {
        let word = t.split_whitespace().next().unwrap_or("");
        if !COMMANDS.iter().any(|(name, _)| *name == word) {
            return LineKind::Code;
        }
    }
    LineKind::Command
}

/// True when node would first try the input as an expression in parentheses: it starts with
/// `{` and does not end with `;` (so `{ a: 1 }` shows an object, not a block). When the
/// wrapped form does not parse, the input is run as written.
pub fn looks_like_object_literal(src: &str) -> bool {
    let t = src.trim();
    t.starts_with('{') && !t.ends_with(';')
}

/// True when the source contains the word `await` outside comments and strings: it is then
/// run as an async script (top-level `await`). A false positive is harmless (async scripts
/// keep `let`/`const` declarations too); a false negative only fails to parse.
pub fn mentions_await(src: &str) -> bool {
    words(src).into_iter().any(|(w, _)| w == "await")
}

/// Names declared at the top level of `src` by `let`, `const`, `var`, `class` or `function`
/// (first binding of each declaration; destructuring patterns are skipped). Used to offer
/// global lexical bindings in Tab completion, which are not properties of the global object.
pub fn declared_names(src: &str) -> Vec<String> {
    let ws = words(src);
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < ws.len() {
        let (w, depth) = &ws[i];
        if *depth == 0 && matches!(w.as_str(), "let" | "const" | "var" | "class" | "function") {
            let (next, d2) = &ws[i + 1];
            if *d2 == 0 && crate::complete::is_identifier(next) && !crate::complete::KEYWORDS.contains(&next.as_str()) {
                out.push(next.clone());
            }
        }
        i += 1;
    }
    out.dedup();
    out
}

/// Splits source into identifier-like words with their bracket depth, skipping strings,
/// template literals and comments. Deliberately simple: it only feeds heuristics. Words
/// separated by anything but whitespace or `*` (as in `function* g`) are not adjacent.
fn words(src: &str) -> Vec<(String, u32)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out: Vec<(String, u32)> = Vec::new();
    let mut depth: u32 = 0;
    let mut i = 0;
    // Set when something other than whitespace / `*` separates two words.
    let mut broken = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '\'' || c == '"' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            broken = true;
            continue;
        }
        if c == '_' || c == '$' || c.is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i] == '_' || chars[i] == '$' || chars[i].is_alphanumeric()) {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            if broken {
                // Mark the separation with an empty word so that the two are not adjacent.
                out.push((String::new(), depth));
            }
            out.push((w, depth));
            broken = false;
            continue;
        }
        match c {
            '{' | '(' | '[' => {
                depth += 1;
                broken = true;
            }
            '}' | ')' | ']' => {
                depth = depth.saturating_sub(1);
                broken = true;
            }
            c if c.is_whitespace() || c == '*' => {}
            _ => broken = true,
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_code() {
        assert_eq!(classify_line("", false), LineKind::Empty);
        assert_eq!(classify_line("   \t", true), LineKind::Empty);
        assert_eq!(classify_line(".help", false), LineKind::Command);
        assert_eq!(classify_line("  .load x.js", false), LineKind::Command);
        assert_eq!(classify_line(".nosuch", false), LineKind::Command);
        assert_eq!(classify_line(".5 + 1", false), LineKind::Code);
        assert_eq!(classify_line("...xs", false), LineKind::Code);
        assert_eq!(classify_line("1 + 1", false), LineKind::Code);
        // In continuation only known commands are commands.
        assert_eq!(classify_line(".break", true), LineKind::Command);
        assert_eq!(classify_line(".map(x => x)", true), LineKind::Code);
    }

    #[test]
    fn object_literal_heuristic() {
        assert!(looks_like_object_literal("{ a: 1 }"));
        assert!(looks_like_object_literal("  {}"));
        assert!(!looks_like_object_literal("{ a(); };"));
        assert!(!looks_like_object_literal("x = { a: 1 }"));
    }

    #[test]
    fn await_detection() {
        assert!(mentions_await("await 1"));
        assert!(mentions_await("const x = await fetchIt()"));
        assert!(!mentions_await("'await'"));
        assert!(!mentions_await("// await\n1"));
        assert!(!mentions_await("awaiting + 1"));
    }

    #[test]
    fn declarations() {
        assert_eq!(declared_names("let a = 1; const b = 2"), vec!["a", "b"]);
        assert_eq!(declared_names("class Foo {}"), vec!["Foo"]);
        assert_eq!(declared_names("function* gen() {}"), vec!["gen"]);
        assert_eq!(declared_names("function f() { let inner = 1 }"), vec!["f"]);
        assert_eq!(declared_names("const {a, b} = o"), Vec::<String>::new());
        assert_eq!(declared_names("'let x = 1'"), Vec::<String>::new());
        assert_eq!(declared_names("let = 5"), Vec::<String>::new());
    }
}
