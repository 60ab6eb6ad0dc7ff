//! Tab completion: what is being completed (pure text logic, here) and the names offered
//! (read inside the sandbox without running guest code, by `sandvm::Context::property_names`).

/// JavaScript keywords and literals offered when completing a bare word.
pub const KEYWORDS: &[&str] = &[
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "let",
    "new",
    "null",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// True for a plain identifier (`_`, `$`, letters, then also digits).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c == '$' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c == '$' || c.is_alphanumeric())
}

/// What the cursor is on: `path` (dotted identifiers from the global object, possibly
/// empty) and the `prefix` typed so far of the last name. `start` is the byte offset where
/// the whole dotted expression starts; candidates replace the text from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Byte offset in the line where the completed expression starts.
    pub start: usize,
    /// Names leading to the object whose properties are completed (`["Math"]` for `Math.P`).
    pub path: Vec<String>,
    /// The partial name under the cursor (`"P"` for `Math.P`).
    pub prefix: String,
}

/// Finds the completion target ending at byte `pos` of `line`, or `None` when the cursor is
/// somewhere completion does not apply (inside a string, after `)` or a number, ...).
pub fn completion_target(line: &str, pos: usize) -> Option<Target> {
    let before = line.get(..pos)?;
    // Inside a string literal (an odd number of unescaped quotes of one kind): no completion.
    for q in ['\'', '"', '`'] {
        let mut escaped = false;
        let mut n = 0;
        for c in before.chars() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                n += 1;
            }
        }
        if n % 2 == 1 {
            return None;
        }
    }
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| *c == '_' || *c == '$' || *c == '.' || c.is_alphanumeric())
        .last()
        .map(|(i, _)| i)
        .unwrap_or(pos);
    let expr = &before[start..];
    let mut segs: Vec<&str> = expr.split('.').collect();
    let prefix = segs.pop().unwrap_or("").to_string();
    if !prefix.is_empty() && !is_identifier(&prefix) {
        return None;
    }
    if segs.iter().any(|s| !is_identifier(s)) {
        return None;
    }
    // `?.` and `foo().` end with a non-identifier before the dotted part: skip them.
    if !segs.is_empty() && before[..start].ends_with([')', ']', '?']) {
        return None;
    }
    Some(Target { start, path: segs.into_iter().map(String::from).collect(), prefix })
}

/// Turns raw property names into sorted, de-duplicated candidates for `target`, each the
/// full text replacing `line[target.start..pos]` (`Math.PI`). Names that are not plain
/// identifiers and the REPL's own bridge are left out.
pub fn candidates(target: &Target, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with(&target.prefix) && is_identifier(n) && n != sandvm::ReplBridge::NAME)
        .collect();
    out.sort();
    out.dedup();
    if target.path.is_empty() {
        out
    } else {
        let head = target.path.join(".");
        out.into_iter().map(|n| format!("{head}.{n}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start: usize, path: &[&str], prefix: &str) -> Option<Target> {
        Some(Target { start, path: path.iter().map(|s| s.to_string()).collect(), prefix: prefix.into() })
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("_a$1"));
        assert!(is_identifier("é"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("a-b"));
    }

    #[test]
    fn targets() {
        assert_eq!(completion_target("Math.", 5), t(0, &["Math"], ""));
        assert_eq!(completion_target("Math.P", 6), t(0, &["Math"], "P"));
        assert_eq!(completion_target("x = foo.bar.b", 13), t(4, &["foo", "bar"], "b"));
        assert_eq!(completion_target("con", 3), t(0, &[], "con"));
        assert_eq!(completion_target("f(Obj", 5), t(2, &[], "Obj"));
        assert_eq!(completion_target("", 0), t(0, &[], ""));
        assert_eq!(completion_target("1 + ", 4), t(4, &[], ""));
        // Cursor in the middle: only the text before it counts.
        assert_eq!(completion_target("Math.Pxyz", 6), t(0, &["Math"], "P"));
    }

    #[test]
    fn no_target() {
        assert_eq!(completion_target("'Math.", 6), None);
        assert_eq!(completion_target("1.", 2), None);
        assert_eq!(completion_target("f().x", 5), None);
        assert_eq!(completion_target("a?.b", 4), None);
        assert_eq!(completion_target("a..b", 4), None);
        assert_eq!(completion_target("é", 1), None);
    }

    #[test]
    fn candidate_lists() {
        let target = Target { start: 0, path: vec!["Math".into()], prefix: "P".into() };
        let names = vec!["PI".to_string(), "pow".into(), "PI".into(), "0".into()];
        assert_eq!(candidates(&target, names), vec!["Math.PI".to_string()]);
        let global = Target { start: 0, path: vec![], prefix: "__s".into() };
        assert!(candidates(&global, vec![sandvm::ReplBridge::NAME.to_string()]).is_empty());
    }
}
