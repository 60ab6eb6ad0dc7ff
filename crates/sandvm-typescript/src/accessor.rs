//! Class auto-accessors (`accessor x = 1`), lowered in the source before the transform.
//!
//! QuickJS-ng has no auto-accessors, and oxc 0.146 lowers them only together with every class
//! field (its ES2022 class-properties transform). So each `accessor` field whose key is a
//! name (`accessor x`, `static accessor y`, `accessor #z`) is rewritten in the TypeScript text,
//! keeping every line and every column up to the field's end:
//!
//! ```text
//! accessor count: number = 0;
//! #accessorcount: number = 0;; get count() { return this.#accessorcount; } set count(v) { this.#accessorcount = v; }
//! ```
//!
//! The storage field's name (`#accessor` + the key, padded with `_`) is exactly as long as the
//! `accessor count` it replaces, and the getter and setter go after the field on its last
//! line, so positions before them are unchanged. Modifiers a private name cannot have
//! (`public`, `private`, `protected`, `override`) are blanked with spaces. Keys that are not
//! names (computed, strings, numbers), decorated accessors, and an `accessor` keyword on
//! another line than its key are refused with a syntax error that says so.

use oxc_allocator::Allocator;
use oxc_ast::ast::{AccessorPropertyType, PropertyKey};
use oxc_ast::AstKind;
use oxc_parser::Parser;
use oxc_semantic::SemanticBuilder;
use oxc_span::{GetSpan, SourceType};

use crate::Error;

/// The source with its auto-accessors lowered, or `None` when it has none (or does not
/// parse: the real transform then reports the syntax error).
pub(crate) fn lower(source: &str, source_type: SourceType) -> Result<Option<String>, Error> {
    if !source.contains("accessor") {
        return Ok(None);
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, source_type).parse();
    if parsed.diagnostics.errors().next().is_some() || parsed.panicked {
        return Ok(None);
    }
    let semantic = SemanticBuilder::new().with_build_nodes(true).build(&parsed.program);
    let mut edits: Vec<Edit> = Vec::new();
    for node in semantic.semantic.nodes().iter() {
        let AstKind::AccessorProperty(p) = node.kind() else { continue };
        let at = p.span.start as usize;
        let unsupported = |what: &str| {
            crate::syntax_error_at(
                source,
                format!("`accessor` fields {what} are not supported (QuickJS-ng has no auto-accessors)"),
                at,
            )
        };
        if p.r#type == AccessorPropertyType::TSAbstractAccessorProperty {
            // Abstract: no storage, no accessors; the field goes, its lines stay.
            edits.push(Edit::Blank { start: at, end: p.span.end as usize });
            continue;
        }
        if !p.decorators.is_empty() {
            return Err(unsupported("with decorators"));
        }
        let (name, private) = match &p.key {
            PropertyKey::StaticIdentifier(id) if !p.computed => (id.name.as_str(), false),
            PropertyKey::PrivateIdentifier(id) => (id.name.as_str(), true),
            _ => return Err(unsupported("with a computed, string or numeric key")),
        };
        let key_start = p.key.span().start as usize;
        let key_end = p.key.span().end as usize;
        let head = source.get(at..key_start).unwrap_or("");
        let Some(kw) = head.rfind("accessor") else {
            return Err(unsupported("written this way"));
        };
        let kw = at + kw;
        if source.get(kw..key_end).is_none_or(|s| s.contains(['\n', '\r', '\u{2028}', '\u{2029}'])) {
            return Err(unsupported("split across lines"));
        }
        edits.push(Edit::Lower {
            modifiers: at,
            keyword: kw,
            key_end,
            end: p.span.end as usize,
            name: name.to_string(),
            private,
            is_static: p.r#static,
        });
    }
    if edits.is_empty() {
        return Ok(None);
    }
    edits.sort_by_key(Edit::start);
    let mut out = String::with_capacity(source.len() + edits.len() * 96);
    let mut done = 0;
    for e in &edits {
        if e.start() < done {
            // Nested in an edit already made (cannot happen for class members); leave it.
            continue;
        }
        out.push_str(&source[done..e.start()]);
        match e {
            Edit::Blank { start, end } => {
                out.extend(source[*start..*end].chars().map(|c| if c.is_whitespace() { c } else { ' ' }));
                done = *end;
            }
            Edit::Lower { modifiers, keyword, key_end, end, name, private, is_static } => {
                out.push_str(&blank_modifiers(&source[*modifiers..*keyword]));
                let width = key_end - keyword;
                let mut storage = format!("#accessor{name}");
                while storage.len() < width {
                    storage.push('_');
                }
                out.push_str(&storage);
                out.push_str(&source[*key_end..*end]);
                let key = if *private { format!("#{name}") } else { name.clone() };
                let st = if *is_static { "static " } else { "" };
                out.push_str(&format!(
                    "; {st}get {key}() {{ return this.{storage}; }} {st}set {key}(v) {{ this.{storage} = v; }}"
                ));
                done = *end;
            }
        }
    }
    out.push_str(&source[done..]);
    Ok(Some(out))
}

/// One rewrite, by byte offsets into the source.
enum Edit {
    /// An `accessor` field lowered to a private field, a getter and a setter.
    Lower {
        /// Where the member starts (its first modifier).
        modifiers: usize,
        /// Where the `accessor` keyword starts.
        keyword: usize,
        /// Where the key ends.
        key_end: usize,
        /// Where the member ends.
        end: usize,
        /// The key's name (without `#`).
        name: String,
        /// The key is a private name.
        private: bool,
        /// `static accessor`.
        is_static: bool,
    },
    /// An `abstract accessor`, blanked (whitespace kept, so lines stay).
    Blank {
        /// Where it starts.
        start: usize,
        /// Where it ends.
        end: usize,
    },
}

impl Edit {
    fn start(&self) -> usize {
        match self {
            Edit::Lower { modifiers, .. } => *modifiers,
            Edit::Blank { start, .. } => *start,
        }
    }
}

/// `public static ` → `       static ` (the modifiers a private name cannot have become
/// spaces, so every column stays where it was).
fn blank_modifiers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if matches!(word.as_str(), "public" | "private" | "protected" | "override") {
            out.extend(std::iter::repeat_n(' ', word.len()));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' || c == '$' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}
