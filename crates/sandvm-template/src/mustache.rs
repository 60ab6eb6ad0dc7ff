//! Mustache parser: template text → [`MNode`] tree.
//!
//! Implements the official Mustache specification (v1.3): interpolation, sections,
//! inverted sections, comments, partials, set delimiters, standalone-line whitespace
//! rules, and the optional modules for lambdas (sections keep their raw text),
//! inheritance (`{{<parent}}` / `{{$block}}`, with block re-indentation) and dynamic names
//! (`{{>*name}}`).

use std::rc::Rc;

use crate::error::CompileLimit;
use crate::parse::{check_source, PError, PResult, MAX_NESTING};

/// Deepest nesting of standalone `{{$block}}` tags: the body of each one is dedented and
/// parsed again, so parsing costs at most this many passes over the source.
pub(crate) const MAX_BLOCK_REPARSE: usize = 16;

/// A node of a parsed Mustache template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MNode {
    /// Literal text.
    Text(String),
    /// The start of a template line: the current indentation (of an indented partial or
    /// block) is emitted here at render time.
    Indent,
    /// `{{name}}` (escaped) or `{{{name}}}` / `{{&name}}` (raw).
    Var {
        /// The dotted name, or `.`.
        name: String,
        /// True for `{{name}}`.
        escaped: bool,
    },
    /// `{{#name}}…{{/name}}` or `{{^name}}…{{/name}}`.
    Section {
        /// The dotted name, or `.`.
        name: String,
        /// True for `{{^name}}`.
        inverted: bool,
        /// The section body.
        children: Vec<MNode>,
        /// The unprocessed text of the body (given to lambdas): a range of the (shared)
        /// source it was parsed from, so nested sections do not copy their bodies.
        raw: Raw,
        /// The delimiters in effect at the section (lambda results are parsed with them).
        delims: (String, String),
    },
    /// `{{>name}}` or `{{>*name}}`.
    Partial {
        /// The partial name (or, when `dynamic`, the dotted name whose value is the name).
        name: String,
        /// True for `{{>*name}}`.
        dynamic: bool,
        /// The indentation of a standalone partial tag.
        indent: Option<String>,
    },
    /// `{{<name}}{{$block}}…{{/block}}{{/name}}`.
    Parent {
        /// The parent template name (or, when `dynamic`, the dotted name of its name).
        name: String,
        /// True for `{{<*name}}`.
        dynamic: bool,
        /// The indentation of a standalone parent tag.
        indent: Option<String>,
        /// The block arguments: name and content.
        blocks: Vec<(String, Vec<MNode>)>,
    },
    /// `{{$name}}default{{/name}}`.
    Block {
        /// The block (parameter) name.
        name: String,
        /// The default content.
        children: Vec<MNode>,
        /// For a standalone block: the indentation given to its content at render time.
        indent: Option<String>,
    },
}

/// A byte range of a shared source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raw {
    /// The text the range points into (one allocation per parse).
    pub src: Rc<str>,
    /// Start byte offset.
    pub start: usize,
    /// End byte offset.
    pub end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Var,
    Raw,
    Section,
    Inverted,
    Close,
    Comment,
    Partial,
    Parent,
    Block,
    Delim,
}

impl Kind {
    fn standalone_able(self) -> bool {
        !matches!(self, Kind::Var | Kind::Raw)
    }
    fn opens(self) -> bool {
        matches!(self, Kind::Section | Kind::Inverted | Kind::Parent | Kind::Block)
    }
}

#[derive(Debug, Clone)]
struct Tag {
    kind: Kind,
    name: String,
    dynamic: bool,
    /// Byte offsets of the tag in the source.
    start: usize,
    end: usize,
    /// Byte offsets of the tag's line (start, and end after the newline).
    line_start: usize,
    line_end: usize,
    /// Delimiters in effect at the tag.
    delims: (String, String),
    /// Set by the standalone pass.
    standalone: bool,
    before: String,
    /// For a `Close` tag: the kind of the tag it closes.
    closes: Option<Kind>,
}

#[derive(Debug, Clone)]
enum Item {
    Text(String),
    Indent,
    Tag(Box<Tag>),
}

fn is_ws(s: &str) -> bool {
    s.chars().all(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n')
}

/// Parses a Mustache template with the default delimiters.
pub(crate) fn parse(src: &str) -> PResult<Vec<MNode>> {
    parse_with(src, "{{", "}}")
}

/// Parses a Mustache template starting with the given delimiters.
pub(crate) fn parse_with(src: &str, otag: &str, ctag: &str) -> PResult<Vec<MNode>> {
    check_source(src)?;
    parse_nested(src, otag, ctag, Nest { depth: 0, reparse: 0 })
}

/// Where a (re)parse starts: the nesting depth of the enclosing sections and the number of
/// enclosing standalone blocks whose bodies are being parsed again.
#[derive(Debug, Clone, Copy)]
struct Nest {
    depth: usize,
    reparse: usize,
}

fn parse_nested(src: &str, otag: &str, ctag: &str, nest: Nest) -> PResult<Vec<MNode>> {
    let mut lines = tokenize(src, otag, ctag)?;
    match_sections(&mut lines)?;
    let items = standalone(src, lines);
    build(&Rc::from(src), items, nest)
}

fn tokenize(src: &str, otag0: &str, ctag0: &str) -> PResult<Vec<Vec<Item>>> {
    let mut otag = otag0.to_string();
    let mut ctag = ctag0.to_string();
    let mut lines: Vec<Vec<Item>> = Vec::new();
    let mut cur: Vec<Item> = Vec::new();
    let mut line_start = 0usize;
    let mut line_starts: Vec<(usize, usize)> = Vec::new(); // per finished line: start offset
    let mut pos = 0usize;
    loop {
        let next = src[pos..].find(otag.as_str()).map(|i| pos + i);
        let text_end = next.unwrap_or(src.len());
        let mut text = &src[pos..text_end];
        let mut text_pos = pos;
        while let Some(nl) = text.find('\n') {
            let piece = &text[..=nl];
            cur.push(Item::Text(piece.to_string()));
            let end = text_pos + nl + 1;
            // Every tag of `cur` is on the line that ends here.
            for t in cur.iter_mut() {
                if let Item::Tag(tag) = t {
                    tag.line_end = end;
                }
            }
            line_starts.push((line_start, end));
            lines.push(std::mem::take(&mut cur));
            line_start = end;
            text_pos = end;
            text = &text[nl + 1..];
        }
        if !text.is_empty() {
            cur.push(Item::Text(text.to_string()));
        }
        let Some(start) = next else { break };
        let after_open = start + otag.len();
        let rest = &src[after_open..];
        let first = rest.chars().next();
        let (kind, skip, close) = match first {
            Some('{') => (Kind::Raw, 1, format!("}}{ctag}")),
            Some('=') => (Kind::Delim, 1, format!("={ctag}")),
            Some('!') => (Kind::Comment, 1, ctag.clone()),
            Some('&') => (Kind::Raw, 1, ctag.clone()),
            Some('#') => (Kind::Section, 1, ctag.clone()),
            Some('^') => (Kind::Inverted, 1, ctag.clone()),
            Some('/') => (Kind::Close, 1, ctag.clone()),
            Some('>') => (Kind::Partial, 1, ctag.clone()),
            Some('<') => (Kind::Parent, 1, ctag.clone()),
            Some('$') => (Kind::Block, 1, ctag.clone()),
            _ => (Kind::Var, 0, ctag.clone()),
        };
        let content_start = after_open + skip;
        let Some(ci) = src[content_start..].find(close.as_str()) else {
            return Err(PError::new(format!("unclosed tag: expected `{close}` to close the tag opened here"), start));
        };
        let content_end = content_start + ci;
        let end = content_end + close.len();
        let content = src[content_start..content_end].trim();
        let mut name = content.to_string();
        let mut dynamic = false;
        let delims = (otag.clone(), ctag.clone());
        match kind {
            Kind::Comment => name.clear(),
            Kind::Delim => {
                let parts: Vec<&str> = content.split_whitespace().collect();
                if parts.len() != 2 || parts.iter().any(|p| p.contains('=')) {
                    return Err(PError::new(
                        "invalid set-delimiter tag: expected two delimiters separated by \
                         whitespace, e.g. `{{=<% %>=}}`",
                        start,
                    ));
                }
                otag = parts[0].to_string();
                ctag = parts[1].to_string();
                name.clear();
            }
            _ => {
                if matches!(kind, Kind::Partial | Kind::Parent) {
                    if let Some(r) = content.strip_prefix('*') {
                        dynamic = true;
                        name = r.trim().to_string();
                    }
                }
                if name.is_empty() {
                    return Err(PError::new("empty tag: expected a name between the delimiters", start));
                }
                if name.chars().any(char::is_whitespace) {
                    return Err(PError::new(
                        format!("invalid tag name `{name}`: names cannot contain whitespace"),
                        start,
                    ));
                }
            }
        }
        cur.push(Item::Tag(Box::new(Tag {
            kind,
            name,
            dynamic,
            start,
            end,
            line_start,
            line_end: src.len(),
            delims,
            standalone: false,
            before: String::new(),
            closes: None,
        })));
        pos = end;
    }
    lines.push(cur);
    Ok(lines)
}

/// Checks that sections nest properly and records on each close tag what it closes.
fn match_sections(lines: &mut [Vec<Item>]) -> PResult<()> {
    let mut stack: Vec<(Kind, String, usize)> = Vec::new();
    for line in lines.iter_mut() {
        for item in line.iter_mut() {
            let Item::Tag(tag) = item else { continue };
            if tag.kind.opens() {
                stack.push((tag.kind, tag.name.clone(), tag.start));
            } else if tag.kind == Kind::Close {
                match stack.pop() {
                    Some((k, n, _)) if n == tag.name => tag.closes = Some(k),
                    Some((_, n, _)) => {
                        return Err(PError::new(
                            format!("unexpected closing tag `{}`: expected the closing tag of `{n}`", tag.name),
                            tag.start,
                        ))
                    }
                    None => {
                        return Err(PError::new(
                            format!("unexpected closing tag `{}`: no section is open", tag.name),
                            tag.start,
                        ))
                    }
                }
            }
        }
    }
    if let Some((_, n, start)) = stack.pop() {
        return Err(PError::new(format!("unclosed section `{n}`: expected a closing tag for it"), start));
    }
    Ok(())
}

/// Applies the standalone-line rules and inserts line-start markers.
fn standalone(_src: &str, lines: Vec<Vec<Item>>) -> Vec<Item> {
    let mut out = Vec::new();
    for mut line in lines {
        let tag_idx: Vec<usize> =
            line.iter().enumerate().filter(|(_, i)| matches!(i, Item::Tag(_))).map(|(i, _)| i).collect();
        let all_ws = line.iter().all(|i| match i {
            Item::Text(t) => is_ws(t),
            _ => true,
        });
        let leading: String = line
            .iter()
            .take_while(|i| matches!(i, Item::Text(_)))
            .map(|i| match i {
                Item::Text(t) => t.as_str(),
                _ => "",
            })
            .collect();
        let mut is_standalone = false;
        let mut keep_newline = false;
        if all_ws && tag_idx.len() == 1 {
            if let Item::Tag(t) = &line[tag_idx[0]] {
                is_standalone = t.kind.standalone_able();
            }
        } else if all_ws && tag_idx.len() == 2 && tag_idx[1] == tag_idx[0] + 1 {
            if let (Item::Tag(a), Item::Tag(b)) = (&line[tag_idx[0]], &line[tag_idx[1]]) {
                match (a.kind, b.kind, b.closes) {
                    (Kind::Parent, Kind::Close, Some(Kind::Parent)) if a.name == b.name => is_standalone = true,
                    (Kind::Block, Kind::Close, Some(Kind::Block)) if a.name == b.name => {
                        is_standalone = true;
                        keep_newline = true;
                    }
                    (Kind::Parent, Kind::Block, _) => is_standalone = true,
                    (Kind::Close, Kind::Close, Some(Kind::Parent)) if a.closes == Some(Kind::Block) => {
                        is_standalone = true
                    }
                    _ => {}
                }
            }
        }
        if is_standalone {
            let newline = if keep_newline {
                line.last().and_then(|i| match i {
                    Item::Text(t) if t.ends_with('\n') => {
                        Some(if t.ends_with("\r\n") { "\r\n" } else { "\n" }.to_string())
                    }
                    _ => None,
                })
            } else {
                None
            };
            for item in line.drain(..) {
                if let Item::Tag(mut t) = item {
                    t.standalone = true;
                    t.before = leading.clone();
                    out.push(Item::Tag(t));
                }
            }
            if let Some(nl) = newline {
                out.push(Item::Text(nl));
            }
            continue;
        }
        let empty = match line.first() {
            None => true,
            Some(Item::Text(t)) => line.len() == 1 && (t == "\n" || t == "\r\n"),
            _ => false,
        };
        if !empty {
            out.push(Item::Indent);
        }
        out.extend(line);
    }
    out
}

struct Frame {
    tag: Box<Tag>,
    children: Vec<MNode>,
    /// A standalone `{{$block}}`: its body is parsed again (dedented) when it closes, so its
    /// items are skipped here; counts the sections opened inside it.
    skip: Option<usize>,
}

fn push_text(children: &mut Vec<MNode>, s: String) {
    if let Some(MNode::Text(t)) = children.last_mut() {
        t.push_str(&s);
    } else {
        children.push(MNode::Text(s));
    }
}

fn build(src: &Rc<str>, items: Vec<Item>, nest: Nest) -> PResult<Vec<MNode>> {
    let mut root: Vec<MNode> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in items {
        if let Some(Frame { skip: Some(inner), .. }) = stack.last_mut() {
            match &item {
                Item::Tag(t) if t.kind.opens() => {
                    *inner += 1;
                    continue;
                }
                Item::Tag(t) if t.kind == Kind::Close && *inner > 0 => {
                    *inner -= 1;
                    continue;
                }
                Item::Tag(t) if t.kind == Kind::Close => {}
                _ => continue,
            }
        }
        let children = match stack.last_mut() {
            Some(f) => &mut f.children,
            None => &mut root,
        };
        match item {
            Item::Text(s) => push_text(children, s),
            Item::Indent => children.push(MNode::Indent),
            Item::Tag(tag) => match tag.kind {
                Kind::Var => children.push(MNode::Var { name: tag.name, escaped: true }),
                Kind::Raw => children.push(MNode::Var { name: tag.name, escaped: false }),
                Kind::Comment | Kind::Delim => {}
                Kind::Partial => children.push(MNode::Partial {
                    name: tag.name,
                    dynamic: tag.dynamic,
                    indent: tag.standalone.then_some(tag.before),
                }),
                Kind::Section | Kind::Inverted | Kind::Parent | Kind::Block => {
                    if nest.depth + stack.len() >= MAX_NESTING {
                        return Err(PError::limit(CompileLimit::Nesting, MAX_NESTING, tag.start));
                    }
                    let skip = (tag.kind == Kind::Block && tag.standalone).then_some(0);
                    stack.push(Frame { tag, children: Vec::new(), skip })
                }
                Kind::Close => {
                    let Some(frame) = stack.pop() else {
                        return Err(PError::new("unexpected closing tag", tag.start));
                    };
                    let inner = Nest { depth: nest.depth + stack.len(), reparse: nest.reparse };
                    let node = close(src, frame, &tag, inner)?;
                    let children = match stack.last_mut() {
                        Some(f) => &mut f.children,
                        None => &mut root,
                    };
                    children.push(node);
                }
            },
        }
    }
    if let Some(f) = stack.pop() {
        return Err(PError::new(format!("unclosed section `{}`", f.tag.name), f.tag.start));
    }
    Ok(root)
}

/// Builds the node of a closed section; `nest` is where its body sits.
fn close(src: &Rc<str>, frame: Frame, close: &Tag, nest: Nest) -> PResult<MNode> {
    let open = frame.tag;
    Ok(match open.kind {
        Kind::Section | Kind::Inverted => MNode::Section {
            name: open.name,
            inverted: open.kind == Kind::Inverted,
            children: frame.children,
            raw: Raw { src: Rc::clone(src), start: open.end, end: close.start },
            delims: open.delims,
        },
        Kind::Parent => MNode::Parent {
            name: open.name,
            dynamic: open.dynamic,
            indent: open.standalone.then_some(open.before),
            blocks: frame
                .children
                .into_iter()
                .filter_map(|n| match n {
                    MNode::Block { name, children, .. } => Some((name, children)),
                    _ => None,
                })
                .collect(),
        },
        Kind::Block => {
            if open.standalone {
                let cstart = open.line_end.min(close.start);
                let cend = if close.standalone { close.line_start } else { close.start };
                let text = if cstart < cend { &src[cstart..cend] } else { "" };
                let (dedented, own) = dedent(text);
                if nest.reparse >= MAX_BLOCK_REPARSE {
                    return Err(PError::limit(CompileLimit::Nesting, MAX_BLOCK_REPARSE, open.start));
                }
                let inner = Nest { depth: nest.depth + 1, reparse: nest.reparse + 1 };
                // Errors inside point at the block tag (offsets in the dedented text are not
                // offsets in `src`).
                let children = parse_nested(&dedented, &open.delims.0, &open.delims.1, inner)
                    .map_err(|e| PError { offset: open.start, ..e })?;
                let indent = if own.is_empty() { open.before } else { own };
                MNode::Block { name: open.name, children, indent: Some(indent) }
            } else {
                MNode::Block { name: open.name, children: frame.children, indent: None }
            }
        }
        _ => return Err(PError::new("unexpected closing tag", close.start)),
    })
}

/// Removes the common leading whitespace of the non-blank lines of `text` (as Python's
/// `textwrap.dedent`), and returns the dedented text and the indentation removed from its
/// first line.
pub(crate) fn dedent(text: &str) -> (String, String) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut margin: Option<&str> = None;
    for l in &lines {
        let body = l.trim_end_matches(['\n', '\r']);
        if body.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        let ws_len = body.len() - body.trim_start_matches([' ', '\t']).len();
        let ws = &body[..ws_len];
        margin = Some(match margin {
            None => ws,
            Some(m) => {
                let common = m
                    .char_indices()
                    .zip(ws.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map(|((i, c), _)| i + c.len_utf8())
                    .unwrap_or(0);
                &m[..common]
            }
        });
    }
    let margin = margin.unwrap_or("");
    let mut out = String::with_capacity(text.len());
    let mut first_indent = String::new();
    for (i, l) in lines.iter().enumerate() {
        let body = l.trim_end_matches(['\n', '\r']);
        let nl = &l[body.len()..];
        let new_body =
            if body.trim_matches([' ', '\t']).is_empty() { "" } else { body.strip_prefix(margin).unwrap_or(body) };
        if i == 0 {
            first_indent = body[..body.len() - new_body.len()].to_string();
        }
        out.push_str(new_body);
        out.push_str(nl);
    }
    (out, first_indent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_section_lines_are_removed() {
        let n = parse("a\n  {{#x}}\nb\n  {{/x}}\nc").unwrap();
        assert_eq!(n.len(), 5, "{n:?}");
        match &n[2] {
            MNode::Section { children, .. } => {
                assert_eq!(children, &vec![MNode::Indent, MNode::Text("b\n".into())])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_delimiters() {
        let n = parse("{{=<% %>=}}<% x %>{{y}}").unwrap();
        assert!(n.contains(&MNode::Var { name: "x".into(), escaped: true }));
        assert!(n.contains(&MNode::Text("{{y}}".into())));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("ab\n cd {{#x}}").unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(e.message.contains("unclosed section"), "{}", e.message);
        let e = parse("{{#a}}{{/b}}").unwrap_err();
        assert!(e.message.contains("expected the closing tag of `a`"));
        let e = parse("x {{ y").unwrap_err();
        assert!(e.message.contains("expected `}}`"));
        assert!(parse("{{=a=}}").is_err());
        assert!(parse("{{}}").is_err());
    }

    #[test]
    fn dedent_like_python() {
        assert_eq!(dedent("    one\n    two\n"), ("one\ntwo\n".to_string(), "    ".to_string()));
        assert_eq!(dedent("  one\n    two\n\n"), ("one\n  two\n\n".to_string(), "  ".to_string()));
        assert_eq!(dedent(""), (String::new(), String::new()));
    }
}
