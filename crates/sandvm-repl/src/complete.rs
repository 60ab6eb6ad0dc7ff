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

/// What the cursor is on: `path` (the property keys leading from the global object to the
/// object whose properties are offered, possibly empty) and the `prefix` typed so far of the
/// last name. `start` is the byte offset where the whole member expression starts and `head`
/// its text before the prefix (`a[0].` or `obj?.`); candidates replace the text from `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Byte offset in the line where the completed expression starts.
    pub start: usize,
    /// Keys leading to the object whose properties are completed (`["Math"]` for `Math.P`,
    /// `["a", "0"]` for `a[0].x`).
    pub path: Vec<String>,
    /// The text from `start` up to the prefix (`"Math."`, `"a[0]."`, `"obj?."`; empty for a
    /// bare name).
    pub head: String,
    /// The partial name under the cursor (`"P"` for `Math.P`).
    pub prefix: String,
}

/// The identifier ending at byte `end` of `s`: its start, or `None` when there is none.
fn ident_back(s: &str, end: usize) -> Option<usize> {
    let start = s[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| *c == '_' || *c == '$' || c.is_alphanumeric())
        .last()
        .map(|(i, _)| i)?;
    is_identifier(&s[start..end]).then_some(start)
}

/// The key inside brackets: an array index (`0`) or a plain quoted string (`'k'`, `"k"`).
fn bracket_key(inner: &str) -> Option<String> {
    let t = inner.trim();
    if !t.is_empty() && t.len() <= 10 && t.bytes().all(|b| b.is_ascii_digit()) {
        // Canonical indices only: `01` is not the key `1`.
        let n: u32 = t.parse().ok()?;
        return (n.to_string() == t).then(|| t.to_string());
    }
    let q = t.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let body = t.strip_prefix(q)?.strip_suffix(q)?;
    (!body.contains([q, '\\', '\n'])).then(|| body.to_string())
}

/// Finds the completion target ending at byte `pos` of `line`, or `None` when the cursor is
/// somewhere completion does not apply (inside a string, after `)` or a number, ...).
///
/// The object part is a chain of plain member accesses from an identifier, as in node:
/// `a.b`, `a?.b`, `a[0]`, `a['k']`, `a?.[1]` (no calls, no computed expressions, so that
/// finding the object never needs to run code).
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
    let prefix_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| *c == '_' || *c == '$' || c.is_alphanumeric())
        .last()
        .map(|(i, _)| i)
        .unwrap_or(pos);
    let prefix = &before[prefix_start..];
    if !prefix.is_empty() && !is_identifier(prefix) {
        return None;
    }
    // Walk back over `.name`, `?.name`, `[key]`, `?.[key]` to the root identifier.
    let mut i = prefix_start;
    let mut keys = Vec::new();
    let mut member = false;
    if before[..i].ends_with("?.") {
        i -= 2;
        member = true;
    } else if before[..i].ends_with('.') {
        i -= 1;
        member = true;
    }
    while member {
        if before[..i].ends_with(']') {
            let open = before[..i - 1].rfind('[')?;
            keys.push(bracket_key(&before[open + 1..i - 1])?);
            i = open;
            if before[..i].ends_with("?.") {
                i -= 2;
            }
            continue;
        }
        let s = ident_back(before, i)?;
        keys.push(before[s..i].to_string());
        i = s;
        if before[..i].ends_with("?.") {
            i -= 2;
        } else if before[..i].ends_with('.') {
            i -= 1;
        } else {
            member = false;
        }
    }
    // `foo().x`, `a..b`, `1.x`, `[1][0].`: the object is not a plain chain of names.
    if !keys.is_empty() && before[..i].ends_with([')', ']', '.', '?']) {
        return None;
    }
    keys.reverse();
    Some(Target { start: i, path: keys, head: before[i..prefix_start].to_string(), prefix: prefix.to_string() })
}

/// Turns raw property names into sorted, de-duplicated candidates for `target`, each the
/// full text replacing `line[target.start..pos]` (`Math.PI`, `a[0].length`). Names that are
/// not plain identifiers and the REPL's own bridge are left out.
pub fn candidates(target: &Target, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with(&target.prefix) && is_identifier(n) && n != sandvm::ReplBridge::NAME)
        .collect();
    out.sort();
    out.dedup();
    out.into_iter().map(|n| format!("{}{n}", target.head)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start: usize, path: &[&str], prefix: &str) -> Option<Target> {
        let head = if path.is_empty() { String::new() } else { format!("{}.", path.join(".")) };
        Some(Target { start, path: path.iter().map(|s| s.to_string()).collect(), head, prefix: prefix.into() })
    }

    fn member(line: &str, path: &[&str], head: &str, prefix: &str) -> Option<Target> {
        let start = line.len() - head.len() - prefix.len();
        let path = path.iter().map(|s| s.to_string()).collect();
        Some(Target { start, path, head: head.into(), prefix: prefix.into() })
    }

    #[test]
    fn indexed_and_optional_members() {
        assert_eq!(completion_target("a[0].", 5), member("a[0].", &["a", "0"], "a[0].", ""));
        assert_eq!(completion_target("x = a[0].le", 11), member("x = a[0].le", &["a", "0"], "a[0].", "le"));
        assert_eq!(completion_target("obj?.", 5), member("obj?.", &["obj"], "obj?.", ""));
        assert_eq!(completion_target("obj?.in", 7), member("obj?.in", &["obj"], "obj?.", "in"));
        assert_eq!(
            completion_target("o?.a?.[12]['k'].b", 17),
            member("o?.a?.[12]['k'].b", &["o", "a", "12", "k"], "o?.a?.[12]['k'].", "b")
        );
        assert_eq!(
            completion_target("m[\"two words\"].", 15),
            member("m[\"two words\"].", &["m", "two words"], "m[\"two words\"].", "")
        );
        // Not a plain chain: a call, a computed key, an array literal, a non-canonical index.
        assert_eq!(completion_target("f()?.x", 6), None);
        assert_eq!(completion_target("a[i].", 5), None);
        assert_eq!(completion_target("[1][0].", 7), None);
        assert_eq!(completion_target("a[01].", 6), None);
        assert_eq!(completion_target("?.x", 3), None);
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
        assert_eq!(completion_target("a..b", 4), None);
        assert_eq!(completion_target("é", 1), None);
    }

    #[test]
    fn candidate_lists() {
        let target = Target { start: 0, path: vec!["Math".into()], head: "Math.".into(), prefix: "P".into() };
        let names = vec!["PI".to_string(), "pow".into(), "PI".into(), "0".into()];
        assert_eq!(candidates(&target, names), vec!["Math.PI".to_string()]);
        let global = Target { start: 0, path: vec![], head: String::new(), prefix: "__s".into() };
        let indexed = Target { start: 0, path: vec!["a".into(), "0".into()], head: "a[0].".into(), prefix: "l".into() };
        assert_eq!(candidates(&indexed, vec!["length".to_string()]), vec!["a[0].length".to_string()]);
        assert!(candidates(&global, vec![sandvm::ReplBridge::NAME.to_string()]).is_empty());
    }
}
