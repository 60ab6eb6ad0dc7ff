//! Handlebars 4.x parser: template text → [`Program`], following the grammar and lexer of
//! handlebars.js (including escaped mustaches `\{{`, raw blocks, whitespace control `~` and
//! the standalone-line rules of its `WhitespaceControl` pass).

use crate::error::CompileLimit;
use crate::parse::{check_source, PError, PResult, MAX_NESTING};

/// A list of statements (a template, or the body of a block).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Program {
    /// The statements.
    pub body: Vec<Stmt>,
    /// Block parameters declared by the block that owns this program (`as |a b|`).
    pub block_params: Vec<String>,
    /// True for the inverse of an `{{else if …}}` chain: its body is a single chained block.
    pub chained: bool,
}

/// `~` flags of a tag: strip whitespace before (`open`) / after (`close`) it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Strip {
    /// `{{~`
    pub open: bool,
    /// `~}}`
    pub close: bool,
}

/// Literal text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Content {
    /// The text after whitespace control.
    pub value: String,
    /// The text as written.
    pub original: String,
    left_stripped: bool,
    right_stripped: bool,
}

/// Hash arguments `key=value`, in source order.
pub(crate) type Hash = Vec<(String, Expr)>;

/// A statement of a program.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stmt {
    /// Literal text.
    Content(Content),
    /// `{{expr}}`, `{{{expr}}}`, `{{& expr}}`.
    Mustache {
        /// The expression.
        sexpr: Sexpr,
        /// True for `{{expr}}`.
        escaped: bool,
        /// Whitespace control.
        strip: Strip,
    },
    /// `{{#expr}}…{{else}}…{{/expr}}`, `{{^expr}}…{{/expr}}`, `{{{{raw}}}}…{{{{/raw}}}}`.
    Block(Box<Block>),
    /// `{{> name context k=v}}`.
    Partial(Box<Partial>),
    /// `{{#> name}}fallback{{/name}}`.
    PartialBlock(Box<Partial>, Program, Strip, Strip),
    /// `{{#*inline "name"}}…{{/inline}}`.
    Inline {
        /// The partial name.
        name: String,
        /// Its body.
        program: Program,
        /// Open tag whitespace control.
        open_strip: Strip,
        /// Close tag whitespace control.
        close_strip: Strip,
    },
    /// `{{! … }}` / `{{!-- … --}}`.
    Comment(Strip),
}

/// A block statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    /// The helper expression of the open tag.
    pub sexpr: Sexpr,
    /// The main body (None for `{{^x}}…{{/x}}` without else).
    pub program: Option<Program>,
    /// The `{{else}}` body.
    pub inverse: Option<Program>,
    /// Whitespace control of the open tag.
    pub open_strip: Strip,
    /// Whitespace control of the `{{else}}` tag.
    pub inverse_strip: Strip,
    /// Whitespace control of the close tag.
    pub close_strip: Strip,
}

/// A partial call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Partial {
    /// Static name (path, string or number literal) or a dynamic subexpression.
    pub name: PartialName,
    /// The context argument.
    pub context: Option<Expr>,
    /// Hash arguments.
    pub hash: Vec<(String, Expr)>,
    /// Indentation of a standalone partial.
    pub indent: String,
    /// Whitespace control.
    pub strip: Strip,
    /// Byte offset of the tag.
    pub offset: usize,
}

/// The name of a partial.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PartialName {
    /// A name known at compile time.
    Static(String),
    /// `{{> (expr) }}`.
    Dynamic(Box<Sexpr>),
}

/// A helper call or value expression: `path param… key=value…`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sexpr {
    /// The callee / value.
    pub path: Expr,
    /// Positional parameters.
    pub params: Vec<Expr>,
    /// Hash arguments (in source order).
    pub hash: Vec<(String, Expr)>,
    /// True when written with a hash (even if empty can't happen; kept for clarity).
    pub has_hash: bool,
    /// Byte offset.
    pub offset: usize,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A path.
    Path(PathExpr),
    /// `(helper args)`.
    Sub(Box<Sexpr>),
    /// A string literal.
    Str(String),
    /// A number literal (as written).
    Num(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
}

/// A path such as `a.b`, `../x`, `this`, `@root.y`, `[weird key]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathExpr {
    /// `@…`
    pub data: bool,
    /// Number of `../`.
    pub depth: usize,
    /// Property names after `this`/`..`.
    pub parts: Vec<String>,
    /// The path as written, with `[]` removed.
    pub original: String,
    /// Byte offset.
    pub offset: usize,
}

impl PathExpr {
    /// `this`, `this.x`, `./x`: never a helper.
    pub fn scoped(&self) -> bool {
        self.original.starts_with('.')
            || self.original == "this"
            || self.original.starts_with("this.")
            || self.original.starts_with("this/")
    }
    /// A single plain name: may be a helper.
    pub fn simple(&self) -> bool {
        self.parts.len() == 1 && !self.scoped() && self.depth == 0 && !self.data
    }
}

impl Expr {
    /// The expression's source text as handlebars' `original`.
    pub fn original(&self) -> String {
        match self {
            Expr::Path(p) => p.original.clone(),
            Expr::Sub(_) => "(subexpression)".into(),
            Expr::Str(s) => s.clone(),
            Expr::Num(n) => n.clone(),
            Expr::Bool(b) => b.to_string(),
            Expr::Null => "null".into(),
            Expr::Undefined => "undefined".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Content(String),
    Comment(Strip),
    OpenRawBlock,
    CloseRawBlock,
    EndRawBlock(String),
    OpenPartial(bool),
    OpenPartialBlock(bool),
    OpenBlock { strip: bool, decorator: bool },
    OpenEndBlock(bool),
    Inverse(Strip),
    OpenInverse(bool),
    OpenInverseChain(bool),
    OpenUnescaped(bool),
    Open { strip: bool, escaped: bool, decorator: bool },
    Equals,
    Id { name: String, literal: bool },
    Sep(char),
    CloseUnescaped(bool),
    Close(bool),
    Str(String),
    Data,
    Bool(bool),
    Undefined,
    Null,
    Num(String),
    OpenBlockParams,
    Pipe,
    OpenSexpr,
    CloseSexpr,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
}

fn is_id_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '!' | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | '.'
                | '/'
                | ';'
                | '<'
                | '='
                | '>'
                | '@'
                | '['
                | '\\'
                | ']'
                | '^'
                | '`'
                | '{'
                | '|'
                | '}'
                | '~'
        ))
}

/// `(?=[=~}\s/.)|])`
fn id_lookahead(c: Option<char>) -> bool {
    match c {
        None => false,
        Some(c) => c.is_whitespace() || matches!(c, '=' | '~' | '}' | '/' | '.' | ')' | '|'),
    }
}

/// `(?=[~}\s)])`
fn lit_lookahead(c: Option<char>) -> bool {
    match c {
        None => false,
        Some(c) => c.is_whitespace() || matches!(c, '~' | '}' | ')'),
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    toks: Vec<Token>,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }
    fn push(&mut self, tok: Tok, start: usize) {
        self.toks.push(Token { tok, start });
    }

    fn run(mut self) -> PResult<Vec<Token>> {
        loop {
            if self.pos >= self.src.len() {
                break;
            }
            // INITIAL state.
            let start = self.pos;
            match self.rest().find("{{") {
                None => {
                    let text = self.rest().to_string();
                    self.pos = self.src.len();
                    self.push(Tok::Content(text), start);
                    break;
                }
                Some(i) => {
                    let text = &self.src[self.pos..self.pos + i];
                    self.pos += i;
                    if text.ends_with("\\\\") {
                        let t = text[..text.len() - 1].to_string();
                        self.push(Tok::Content(t), start);
                        self.mu()?;
                    } else if let Some(t) = text.strip_suffix('\\') {
                        if !t.is_empty() {
                            self.push(Tok::Content(t.to_string()), start);
                        }
                        self.emu();
                    } else {
                        if !text.is_empty() {
                            self.push(Tok::Content(text.to_string()), start);
                        }
                        self.mu()?;
                    }
                }
            }
        }
        let end = self.src.len();
        self.push(Tok::Eof, end);
        Ok(self.toks)
    }

    /// An escaped mustache: `{{…` as text up to the next `{{`, `\{{` or `\\{{`.
    fn emu(&mut self) {
        let start = self.pos;
        let rest = self.rest();
        let mut end = rest.len();
        let mut idx = 2.min(rest.len());
        while idx < rest.len() {
            let r = &rest[idx..];
            if r.starts_with("{{") || r.starts_with("\\{{") || r.starts_with("\\\\{{") {
                end = idx;
                break;
            }
            idx += r.chars().next().map_or(1, char::len_utf8);
        }
        let text = rest[..end].to_string();
        self.pos += end;
        self.push(Tok::Content(text), start);
    }

    /// Inside a mustache, from its `{{` to its `}}`.
    fn mu(&mut self) -> PResult<()> {
        let open_start = self.pos;
        let rest = self.rest();
        // Raw block opener.
        if rest.starts_with("{{{{") {
            self.pos += 4;
            self.push(Tok::OpenRawBlock, open_start);
            self.inside(open_start)?;
            return self.raw(open_start);
        }
        let mut p = 2;
        let strip = rest[p..].starts_with('~');
        if strip {
            p += 1;
        }
        let r = &rest[p..];
        // Comments.
        if r.starts_with("!--") {
            let body_start = open_start + p + 3;
            let Some(i) = find_long_comment_end(&self.src[body_start..]) else {
                return Err(PError::new("unclosed comment: expected `--}}`", open_start));
            };
            let end = body_start + i;
            let close_strip = self.src[..end].ends_with("~}}");
            self.pos = end;
            self.push(Tok::Comment(Strip { open: strip, close: close_strip }), open_start);
            return Ok(());
        }
        if r.starts_with('!') {
            let body_start = open_start + p + 1;
            let Some(i) = self.src[body_start..].find("}}") else {
                return Err(PError::new("unclosed comment: expected `}}`", open_start));
            };
            let end = body_start + i + 2;
            let close_strip = self.src[..end].ends_with("~}}");
            self.pos = end;
            self.push(Tok::Comment(Strip { open: strip, close: close_strip }), open_start);
            return Ok(());
        }
        let tok;
        let mut consumed = p;
        if r.starts_with("#>") {
            tok = Tok::OpenPartialBlock(strip);
            consumed += 2;
        } else if r.starts_with('>') {
            tok = Tok::OpenPartial(strip);
            consumed += 1;
        } else if let Some(after) = r.strip_prefix('#') {
            let decorator = after.starts_with('*');
            tok = Tok::OpenBlock { strip, decorator };
            consumed += if decorator { 2 } else { 1 };
        } else if r.starts_with('/') {
            tok = Tok::OpenEndBlock(strip);
            consumed += 1;
        } else if let Some(n) = match_inverse(r) {
            // `{{^}}` / `{{else}}` (complete tags).
            let close_strip = r[..n].ends_with("~}}");
            self.pos += p + n;
            self.push(Tok::Inverse(Strip { open: strip, close: close_strip }), open_start);
            return Ok(());
        } else if r.starts_with('^') {
            tok = Tok::OpenInverse(strip);
            consumed += 1;
        } else if let Some(n) = match_else_chain(r) {
            tok = Tok::OpenInverseChain(strip);
            consumed += n;
        } else if r.starts_with('{') {
            tok = Tok::OpenUnescaped(strip);
            consumed += 1;
        } else if r.starts_with('&') {
            tok = Tok::Open { strip, escaped: false, decorator: false };
            consumed += 1;
        } else {
            let decorator = r.starts_with('*');
            tok = Tok::Open { strip, escaped: true, decorator };
            if decorator {
                consumed += 1;
            }
        }
        self.pos += consumed;
        self.push(tok, open_start);
        self.inside(open_start)
    }

    /// Tokens inside a mustache up to (and including) its closing `}}`.
    fn inside(&mut self, open_start: usize) -> PResult<()> {
        if !self.rest().contains("}}") {
            return Err(PError::new("unclosed mustache: expected `}}` to close the tag opened here", open_start));
        }
        loop {
            let start = self.pos;
            let rest = self.rest();
            let mut chars = rest.chars();
            let Some(c) = chars.next() else {
                return Err(PError::new("unclosed mustache: expected `}}` to close the tag opened here", open_start));
            };
            let c2 = chars.next();
            if c.is_whitespace() {
                let n = rest.len() - rest.trim_start().len();
                self.pos += n;
                continue;
            }
            if rest.starts_with("}}}}") {
                self.pos += 4;
                self.push(Tok::CloseRawBlock, start);
                return Ok(());
            }
            if rest.starts_with("}~}}") {
                self.pos += 4;
                self.push(Tok::CloseUnescaped(true), start);
                return Ok(());
            }
            if rest.starts_with("}}}") {
                self.pos += 3;
                self.push(Tok::CloseUnescaped(false), start);
                return Ok(());
            }
            if rest.starts_with("~}}") {
                self.pos += 3;
                self.push(Tok::Close(true), start);
                return Ok(());
            }
            if rest.starts_with("}}") {
                self.pos += 2;
                self.push(Tok::Close(false), start);
                return Ok(());
            }
            match c {
                '(' => {
                    self.pos += 1;
                    self.push(Tok::OpenSexpr, start);
                    continue;
                }
                ')' => {
                    self.pos += 1;
                    self.push(Tok::CloseSexpr, start);
                    continue;
                }
                '=' => {
                    self.pos += 1;
                    self.push(Tok::Equals, start);
                    continue;
                }
                '@' => {
                    self.pos += 1;
                    self.push(Tok::Data, start);
                    continue;
                }
                '|' => {
                    self.pos += 1;
                    self.push(Tok::Pipe, start);
                    continue;
                }
                '"' | '\'' => {
                    let (s, n) = lex_string(rest, c)
                        .ok_or_else(|| PError::new("unterminated string literal: expected a closing quote", start))?;
                    self.pos += n;
                    self.push(Tok::Str(s), start);
                    continue;
                }
                '[' => {
                    let (s, n) = lex_bracket(rest)
                        .ok_or_else(|| PError::new("unterminated `[` literal segment: expected `]`", start))?;
                    self.pos += n;
                    self.push(Tok::Id { name: s, literal: true }, start);
                    continue;
                }
                _ => {}
            }
            if rest.starts_with("..") {
                self.pos += 2;
                self.push(Tok::Id { name: "..".into(), literal: false }, start);
                continue;
            }
            if c == '.' && id_lookahead(c2) {
                self.pos += 1;
                self.push(Tok::Id { name: ".".into(), literal: false }, start);
                continue;
            }
            if c == '.' || c == '/' {
                self.pos += 1;
                self.push(Tok::Sep(c), start);
                continue;
            }
            for (word, tok) in [
                ("true", Tok::Bool(true)),
                ("false", Tok::Bool(false)),
                ("undefined", Tok::Undefined),
                ("null", Tok::Null),
            ] {
                if rest.starts_with(word) && lit_lookahead(rest[word.len()..].chars().next()) {
                    self.pos += word.len();
                    self.push(tok, start);
                    return self.inside_continue(open_start);
                }
            }
            if let Some(n) = lex_number(rest) {
                self.pos += n;
                self.push(Tok::Num(rest[..n].to_string()), start);
                continue;
            }
            if let Some(n) = match_as_pipe(rest) {
                self.pos += n;
                self.push(Tok::OpenBlockParams, start);
                continue;
            }
            let n: usize = rest.chars().take_while(|&c| is_id_char(c)).map(char::len_utf8).sum();
            if n > 0 && id_lookahead(rest[n..].chars().next()) {
                self.pos += n;
                self.push(Tok::Id { name: rest[..n].to_string(), literal: false }, start);
                continue;
            }
            return Err(PError::new(
                format!("unexpected character `{c}` in mustache: expected a name, a literal, `}}}}` or `~}}}}`"),
                start,
            ));
        }
    }

    fn inside_continue(&mut self, open_start: usize) -> PResult<()> {
        self.inside(open_start)
    }

    /// Content of a raw block up to its `{{{{/name}}}}`.
    fn raw(&mut self, open_start: usize) -> PResult<()> {
        let mut level = 1usize;
        loop {
            let start = self.pos;
            let rest = self.rest();
            let Some(i) = rest.find("{{{{") else {
                return Err(PError::new("unclosed raw block: expected `{{{{/name}}}}`", open_start));
            };
            if i > 0 {
                self.pos += i;
                self.push(Tok::Content(rest[..i].to_string()), start);
                continue;
            }
            let after = &rest[4..];
            if let Some(name_part) = after.strip_prefix('/') {
                let n: usize = name_part.chars().take_while(|&c| is_id_char(c)).map(char::len_utf8).sum();
                let close_ok = n > 0 && name_part[n..].starts_with("}}}}");
                if close_ok {
                    let total = 4 + 1 + n + 4;
                    level -= 1;
                    if level == 0 {
                        self.pos += total;
                        self.push(Tok::EndRawBlock(name_part[..n].to_string()), start);
                        return Ok(());
                    }
                    self.pos += total;
                    self.push(Tok::Content(rest[..total].to_string()), start);
                    continue;
                }
                // Not a closer: plain text.
                self.pos += 4;
                self.push(Tok::Content(rest[..4].to_string()), start);
                continue;
            }
            level += 1;
            self.pos += 4;
            self.push(Tok::Content(rest[..4].to_string()), start);
        }
    }
}

/// Finds the end (just after `}}`) of a long comment body `… --}}` / `… --~}}`.
fn find_long_comment_end(body: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = body[from..].find("--") {
        let at = from + i + 2;
        let r = &body[at..];
        if r.starts_with("}}") {
            return Some(at + 2);
        }
        if r.starts_with("~}}") {
            return Some(at + 3);
        }
        from = from + i + 1;
    }
    None
}

/// `^\s*~?}}` after `{{~?` (the `^` form) or `\s*else\s*~?}}`: returns the length.
fn match_inverse(r: &str) -> Option<usize> {
    let tail = |s: &str, base: usize| -> Option<usize> {
        let t = s.trim_start();
        let ws = s.len() - t.len();
        if t.starts_with("~}}") {
            Some(base + ws + 3)
        } else if t.starts_with("}}") {
            Some(base + ws + 2)
        } else {
            None
        }
    };
    if let Some(s) = r.strip_prefix('^') {
        return tail(s, 1);
    }
    let t = r.trim_start();
    let ws = r.len() - t.len();
    let s = t.strip_prefix("else")?;
    tail(s, ws + 4)
}

/// `\s*else\b`: returns the length.
fn match_else_chain(r: &str) -> Option<usize> {
    let t = r.trim_start();
    let ws = r.len() - t.len();
    let s = t.strip_prefix("else")?;
    match s.chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => None,
        _ => Some(ws + 4),
    }
}

/// `as\s+|`
fn match_as_pipe(r: &str) -> Option<usize> {
    let s = r.strip_prefix("as")?;
    let t = s.trim_start();
    let ws = s.len() - t.len();
    if ws > 0 && t.starts_with('|') {
        Some(2 + ws + 1)
    } else {
        None
    }
}

fn lex_string(rest: &str, q: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut iter = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = iter.next() {
        if c == '\\' {
            if let Some(&(_, n)) = iter.peek() {
                if n == q {
                    out.push(q);
                    iter.next();
                    continue;
                }
            }
            out.push(c);
        } else if c == q {
            return Some((out, i + 1));
        } else {
            out.push(c);
        }
    }
    None
}

fn lex_bracket(rest: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut iter = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = iter.next() {
        if c == '\\' {
            if let Some(&(_, n)) = iter.peek() {
                if n == ']' || n == '\\' {
                    out.push(n);
                    iter.next();
                    continue;
                }
            }
            out.push(c);
        } else if c == ']' {
            return Some((out, i + 1));
        } else {
            out.push(c);
        }
    }
    None
}

/// `-?[0-9]+(?:\.[0-9]+)?(?=[~}\s)])`
fn lex_number(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let d0 = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == d0 {
        return None;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if lit_lookahead(rest[i..].chars().next()) {
        Some(i)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

struct Parser {
    toks: Vec<Token>,
    i: usize,
    /// Current nesting depth (programs, `else if` links, subexpressions).
    depth: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Content(_) => "text".into(),
        Tok::Comment(_) => "a comment".into(),
        Tok::OpenRawBlock => "`{{{{`".into(),
        Tok::CloseRawBlock => "`}}}}`".into(),
        Tok::EndRawBlock(n) => format!("`{{{{{{{{/{n}}}}}}}}}`"),
        Tok::OpenPartial(_) => "`{{>`".into(),
        Tok::OpenPartialBlock(_) => "`{{#>`".into(),
        Tok::OpenBlock { .. } => "`{{#`".into(),
        Tok::OpenEndBlock(_) => "`{{/`".into(),
        Tok::Inverse(_) => "`{{else}}`".into(),
        Tok::OpenInverse(_) => "`{{^`".into(),
        Tok::OpenInverseChain(_) => "`{{else …`".into(),
        Tok::OpenUnescaped(_) => "`{{{`".into(),
        Tok::Open { .. } => "`{{`".into(),
        Tok::Equals => "`=`".into(),
        Tok::Id { name, .. } => format!("`{name}`"),
        Tok::Sep(c) => format!("`{c}`"),
        Tok::CloseUnescaped(_) => "`}}}`".into(),
        Tok::Close(_) => "`}}`".into(),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Data => "`@`".into(),
        Tok::Bool(b) => format!("`{b}`"),
        Tok::Undefined => "`undefined`".into(),
        Tok::Null => "`null`".into(),
        Tok::Num(n) => format!("number {n}"),
        Tok::OpenBlockParams => "`as |`".into(),
        Tok::Pipe => "`|`".into(),
        Tok::OpenSexpr => "`(`".into(),
        Tok::CloseSexpr => "`)`".into(),
        Tok::Eof => "the end of the template".into(),
    }
}

/// Parses a Handlebars template and applies whitespace control.
pub(crate) fn parse(src: &str) -> PResult<Program> {
    check_source(src)?;
    let toks = Lexer { src, pos: 0, toks: Vec::new() }.run()?;
    let mut p = Parser { toks, i: 0, depth: 0 };
    let body = p.program()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        let what = match t.tok {
            Tok::Inverse(_) | Tok::OpenInverseChain(_) => "unexpected `{{else}}` outside of a block".to_string(),
            Tok::OpenEndBlock(_) => "unexpected closing tag: no block is open".to_string(),
            ref other => format!("unexpected {}", describe(other)),
        };
        return Err(PError::new(what, t.start));
    }
    let mut prog = Program { body, ..Default::default() };
    ws_program(&mut prog, true);
    Ok(prog)
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn err<T>(&self, expected: &str) -> PResult<T> {
        let t = self.peek();
        Err(PError::new(format!("expected {expected}, got {}", describe(&t.tok)), t.start))
    }

    /// Runs `f` one nesting level deeper, refusing to go past [`MAX_NESTING`] levels (every
    /// recursive walk of the tree — whitespace control, code generation, drop — follows the
    /// parser's nesting, so this bounds them all).
    fn nested<T>(&mut self, offset: usize, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err(PError::limit(CompileLimit::Nesting, MAX_NESTING, offset));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn program(&mut self) -> PResult<Vec<Stmt>> {
        let start = self.peek().start;
        self.nested(start, Self::program_body)
    }

    fn program_body(&mut self) -> PResult<Vec<Stmt>> {
        let mut body = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Eof | Tok::OpenEndBlock(_) | Tok::Inverse(_) | Tok::OpenInverseChain(_) => return Ok(body),
                Tok::Content(s) => {
                    self.next();
                    body.push(Stmt::Content(Content {
                        value: s.clone(),
                        original: s,
                        left_stripped: false,
                        right_stripped: false,
                    }));
                }
                Tok::Comment(strip) => {
                    self.next();
                    body.push(Stmt::Comment(strip));
                }
                Tok::Open { strip, escaped, decorator } => {
                    self.next();
                    if decorator {
                        return Err(PError::new(
                            "decorators (`{{* …}}`) are not supported; use `{{#*inline}}` blocks",
                            t.start,
                        ));
                    }
                    let sexpr = self.sexpr_body(t.start)?;
                    let close = match self.next().tok {
                        Tok::Close(c) => c,
                        _ => {
                            self.i -= 1;
                            return self.err("`}}` to close the mustache");
                        }
                    };
                    body.push(Stmt::Mustache { sexpr, escaped, strip: Strip { open: strip, close } });
                }
                Tok::OpenUnescaped(strip) => {
                    self.next();
                    let sexpr = self.sexpr_body(t.start)?;
                    let close = match self.next().tok {
                        Tok::CloseUnescaped(c) => c,
                        _ => {
                            self.i -= 1;
                            return self.err("`}}}` to close the triple-stash");
                        }
                    };
                    body.push(Stmt::Mustache { sexpr, escaped: false, strip: Strip { open: strip, close } });
                }
                Tok::OpenPartial(strip) => {
                    self.next();
                    let (mut partial, close) = self.partial_open(t.start)?;
                    partial.strip = Strip { open: strip, close };
                    body.push(Stmt::Partial(Box::new(partial)));
                }
                Tok::OpenPartialBlock(strip) => {
                    self.next();
                    let (partial, close) = self.partial_open(t.start)?;
                    let program = self.program()?;
                    let cstrip = self.close_block(&partial_name_original(&partial.name))?;
                    body.push(Stmt::PartialBlock(
                        Box::new(partial),
                        Program { body: program, ..Default::default() },
                        Strip { open: strip, close },
                        cstrip,
                    ));
                }
                Tok::OpenBlock { strip, decorator } => {
                    self.next();
                    if decorator {
                        body.push(self.inline(t.start, strip)?);
                    } else {
                        body.push(self.block(t.start, strip, false)?);
                    }
                }
                Tok::OpenInverse(strip) => {
                    self.next();
                    body.push(self.block(t.start, strip, true)?);
                }
                Tok::OpenRawBlock => {
                    self.next();
                    body.push(self.raw_block(t.start)?);
                }
                ref other => return Err(PError::new(format!("unexpected {}", describe(other)), t.start)),
            }
        }
    }

    fn inline(&mut self, start: usize, strip: bool) -> PResult<Stmt> {
        let sexpr = self.sexpr_body(start)?;
        let name_ok = matches!(&sexpr.path, Expr::Path(p) if p.original == "inline");
        if !name_ok {
            return Err(PError::new("unsupported decorator block: only `{{#*inline \"name\"}}` is supported", start));
        }
        let name = match sexpr.params.first() {
            Some(Expr::Str(s)) => s.clone(),
            Some(other) => other.original(),
            None => return Err(PError::new("`{{#*inline}}` expects the partial name as a string argument", start)),
        };
        let close = match self.next().tok {
            Tok::Close(c) => c,
            _ => {
                self.i -= 1;
                return self.err("`}}` to close the inline partial tag");
            }
        };
        let body = self.program()?;
        if matches!(self.peek().tok, Tok::Inverse(_) | Tok::OpenInverseChain(_)) {
            return Err(PError::new("unexpected inverse block on decorator", self.peek().start));
        }
        let cstrip = self.close_block("inline")?;
        Ok(Stmt::Inline {
            name,
            program: Program { body, ..Default::default() },
            open_strip: Strip { open: strip, close },
            close_strip: cstrip,
        })
    }

    fn raw_block(&mut self, start: usize) -> PResult<Stmt> {
        let sexpr = self.sexpr_body(start)?;
        match self.next().tok {
            Tok::CloseRawBlock => {}
            _ => {
                self.i -= 1;
                return self.err("`}}}}` to close the raw block tag");
            }
        }
        let mut body = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Content(s) => body.push(Stmt::Content(Content {
                    value: s.clone(),
                    original: s,
                    left_stripped: false,
                    right_stripped: false,
                })),
                Tok::EndRawBlock(name) => {
                    let open = sexpr.path.original();
                    if open != name {
                        return Err(PError::new(format!("{open} doesn't match {name}"), t.start));
                    }
                    break;
                }
                _ => return Err(PError::new("unclosed raw block", start)),
            }
        }
        Ok(Stmt::Block(Box::new(Block {
            sexpr,
            program: Some(Program { body, ..Default::default() }),
            inverse: None,
            open_strip: Strip::default(),
            inverse_strip: Strip::default(),
            close_strip: Strip::default(),
        })))
    }

    /// After `{{#` / `{{^`: `helper params hash [as |x y|] }}` body [else …] `{{/helper}}`.
    fn block(&mut self, start: usize, strip: bool, inverted: bool) -> PResult<Stmt> {
        let (sexpr, bparams, close) = self.block_open(start)?;
        let open_strip = Strip { open: strip, close };
        let body = self.program()?;
        let mut program = Program { body, block_params: bparams, chained: false };
        let (inverse, inverse_strip, close_strip) = self.inverse_and_close(&sexpr)?;
        let (program, inverse) = if inverted {
            // `{{^x}}a{{else}}b{{/x}}`: the bodies swap.
            let inv = Some(std::mem::take(&mut program));
            (inverse, inv)
        } else {
            (Some(program), inverse)
        };
        Ok(Stmt::Block(Box::new(Block { sexpr, program, inverse, open_strip, inverse_strip, close_strip })))
    }

    /// Parses what follows a block's main program: `{{else}}…`, `{{else if …}}…` chains and
    /// the closing tag. Returns (inverse, inverse strip, close strip).
    fn inverse_and_close(&mut self, open: &Sexpr) -> PResult<(Option<Program>, Strip, Strip)> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Inverse(istrip) => {
                self.next();
                let body = self.program()?;
                let cstrip = self.close_block(&open.path.original())?;
                Ok((Some(Program { body, ..Default::default() }), istrip, cstrip))
            }
            Tok::OpenInverseChain(s) => {
                self.next();
                let (sexpr, bparams, close) = self.block_open(t.start)?;
                let body = self.program()?;
                let (inner_inverse, inner_istrip, cstrip) = self.nested(t.start, |p| p.inverse_and_close(open))?;
                let chained = Block {
                    sexpr,
                    program: Some(Program { body, block_params: bparams, chained: false }),
                    inverse: inner_inverse,
                    open_strip: Strip { open: s, close },
                    inverse_strip: inner_istrip,
                    close_strip: cstrip,
                };
                Ok((
                    Some(Program {
                        body: vec![Stmt::Block(Box::new(chained))],
                        block_params: Vec::new(),
                        chained: true,
                    }),
                    Strip { open: s, close },
                    cstrip,
                ))
            }
            Tok::OpenEndBlock(_) => {
                let cstrip = self.close_block(&open.path.original())?;
                Ok((None, Strip::default(), cstrip))
            }
            Tok::Eof => Err(PError::new(
                format!(
                    "unclosed block `{0}`: expected `{{{{/{0}}}}}` before the end of the template",
                    open.path.original()
                ),
                open.offset,
            )),
            _ => self.err(&format!("`{{{{/{}}}}}` to close the block", open.path.original())),
        }
    }

    fn close_block(&mut self, open_name: &str) -> PResult<Strip> {
        let t = self.next();
        let Tok::OpenEndBlock(s) = t.tok else {
            self.i -= 1;
            return self.err(&format!("`{{{{/{open_name}}}}}` to close the block"));
        };
        let name_tok = self.peek().clone();
        let name = self.helper_name()?;
        let close = match self.next().tok {
            Tok::Close(c) => c,
            _ => {
                self.i -= 1;
                return self.err("`}}` to close the closing tag");
            }
        };
        if name.original() != open_name {
            return Err(PError::new(
                format!("{open_name} doesn't match {}: expected `{{{{/{open_name}}}}}`", name.original()),
                name_tok.start,
            ));
        }
        Ok(Strip { open: s, close })
    }

    fn block_open(&mut self, start: usize) -> PResult<(Sexpr, Vec<String>, bool)> {
        let sexpr = self.sexpr_body(start)?;
        let mut bparams = Vec::new();
        if self.peek().tok == Tok::OpenBlockParams {
            self.next();
            loop {
                let t = self.next();
                match t.tok {
                    Tok::Id { name, .. } => bparams.push(name),
                    Tok::Pipe if !bparams.is_empty() => break,
                    _ => {
                        self.i -= 1;
                        return self.err("a block parameter name or `|`");
                    }
                }
            }
        }
        let close = match self.next().tok {
            Tok::Close(c) => c,
            _ => {
                self.i -= 1;
                return self.err("`}}` to close the block tag");
            }
        };
        Ok((sexpr, bparams, close))
    }

    fn partial_open(&mut self, start: usize) -> PResult<(Partial, bool)> {
        let name = if self.peek().tok == Tok::OpenSexpr {
            self.next();
            let s = self.sexpr_body(start)?;
            if self.next().tok != Tok::CloseSexpr {
                self.i -= 1;
                return self.err("`)`");
            }
            PartialName::Dynamic(Box::new(s))
        } else {
            PartialName::Static(self.helper_name()?.original())
        };
        let (params, hash) = self.params_hash()?;
        if params.len() > 1 {
            return Err(PError::new(format!("Unsupported number of partial arguments: {}", params.len()), start));
        }
        let close = match self.next().tok {
            Tok::Close(c) => c,
            _ => {
                self.i -= 1;
                return self.err("`}}` to close the partial tag");
            }
        };
        Ok((
            Partial {
                name,
                context: params.into_iter().next(),
                hash,
                indent: String::new(),
                strip: Strip::default(),
                offset: start,
            },
            close,
        ))
    }

    /// `helperName param* hash?`
    fn sexpr_body(&mut self, start: usize) -> PResult<Sexpr> {
        self.nested(start, |p| p.sexpr_inner(start))
    }

    fn sexpr_inner(&mut self, start: usize) -> PResult<Sexpr> {
        let offset = start;
        let path = self.helper_name()?;
        let (params, hash) = self.params_hash()?;
        let has_hash = !hash.is_empty();
        Ok(Sexpr { path, params, hash, has_hash, offset })
    }

    fn params_hash(&mut self) -> PResult<(Vec<Expr>, Hash)> {
        let mut params = Vec::new();
        let mut hash = Vec::new();
        loop {
            let t = self.peek().clone();
            let is_hash_key =
                matches!(t.tok, Tok::Id { .. }) && self.toks.get(self.i + 1).is_some_and(|n| n.tok == Tok::Equals);
            if is_hash_key {
                let Tok::Id { name, .. } = self.next().tok else {
                    return self.err("a hash key");
                };
                self.next(); // =
                let v = self.param()?;
                hash.push((name, v));
                continue;
            }
            if !hash.is_empty() {
                match t.tok {
                    Tok::Close(_)
                    | Tok::CloseUnescaped(_)
                    | Tok::CloseSexpr
                    | Tok::CloseRawBlock
                    | Tok::OpenBlockParams => return Ok((params, hash)),
                    _ => return self.err("a hash argument `key=value` or the end of the tag"),
                }
            }
            match t.tok {
                Tok::Id { .. }
                | Tok::Data
                | Tok::Str(_)
                | Tok::Num(_)
                | Tok::Bool(_)
                | Tok::Null
                | Tok::Undefined
                | Tok::OpenSexpr => params.push(self.param()?),
                _ => return Ok((params, hash)),
            }
        }
    }

    fn param(&mut self) -> PResult<Expr> {
        if self.peek().tok == Tok::OpenSexpr {
            let start = self.next().start;
            let s = self.sexpr_body(start)?;
            if self.next().tok != Tok::CloseSexpr {
                self.i -= 1;
                return self.err("`)` to close the subexpression");
            }
            return Ok(Expr::Sub(Box::new(s)));
        }
        self.helper_name()
    }

    /// `path | dataName | STRING | NUMBER | BOOLEAN | UNDEFINED | NULL`
    fn helper_name(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Str(s))
            }
            Tok::Num(n) => {
                self.next();
                Ok(Expr::Num(n))
            }
            Tok::Bool(b) => {
                self.next();
                Ok(Expr::Bool(b))
            }
            Tok::Null => {
                self.next();
                Ok(Expr::Null)
            }
            Tok::Undefined => {
                self.next();
                Ok(Expr::Undefined)
            }
            Tok::Data => {
                self.next();
                self.path(true, t.start)
            }
            Tok::Id { .. } => self.path(false, t.start),
            _ => self.err("a name, a path or a literal"),
        }
    }

    fn path(&mut self, data: bool, offset: usize) -> PResult<Expr> {
        let mut segs: Vec<(String, bool, Option<char>)> = Vec::new();
        let mut sep = None;
        loop {
            let t = self.next();
            let Tok::Id { name, literal } = t.tok else {
                self.i -= 1;
                return self.err("a path segment");
            };
            segs.push((name, literal, sep));
            if let Tok::Sep(c) = self.peek().tok {
                sep = Some(c);
                self.next();
            } else {
                break;
            }
        }
        let mut original = if data { "@".to_string() } else { String::new() };
        let mut depth = 0;
        let mut parts = Vec::new();
        for (part, literal, sep) in segs {
            if let Some(c) = sep {
                original.push(c);
            }
            original.push_str(&part);
            if !literal && (part == ".." || part == "." || part == "this") {
                if !parts.is_empty() {
                    return Err(PError::new(format!("Invalid path: {original}"), offset));
                } else if part == ".." {
                    depth += 1;
                }
            } else {
                parts.push(part);
            }
        }
        Ok(Expr::Path(PathExpr { data, depth, parts, original, offset }))
    }
}

fn partial_name_original(n: &PartialName) -> String {
    match n {
        PartialName::Static(s) => s.clone(),
        PartialName::Dynamic(s) => s.path.original(),
    }
}

// ---------------------------------------------------------------------------------------
// Whitespace control (a port of handlebars.js' WhitespaceControl visitor)
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct StripInfo {
    open: bool,
    close: bool,
    open_standalone: bool,
    close_standalone: bool,
    inline_standalone: bool,
}

fn content(s: &Stmt) -> Option<&Content> {
    match s {
        Stmt::Content(c) => Some(c),
        _ => None,
    }
}

fn is_prev_ws(body: &[Stmt], i: Option<usize>, is_root: bool) -> bool {
    let i = i.unwrap_or(body.len());
    if i == 0 {
        return is_root;
    }
    let Some(prev) = content(&body[i - 1]) else {
        return false;
    };
    let has_sibling = i >= 2;
    let orig = &prev.original;
    let trimmed = orig.trim_end_matches(char::is_whitespace);
    let trailing = &orig[trimmed.len()..];
    if trailing.contains('\n') {
        return true;
    }
    !has_sibling && is_root && trimmed.is_empty()
}

fn is_next_ws(body: &[Stmt], i: Option<usize>, is_root: bool) -> bool {
    let idx = i.map_or(0, |i| i + 1);
    let Some(next) = body.get(idx) else {
        return is_root;
    };
    let Some(next) = content(next) else {
        return false;
    };
    let has_sibling = body.len() > idx + 1;
    let orig = &next.original;
    let trimmed = orig.trim_start_matches(char::is_whitespace);
    let leading = &orig[..orig.len() - trimmed.len()];
    if leading.contains('\n') {
        return true;
    }
    !has_sibling && is_root && trimmed.is_empty()
}

fn omit_right(body: &mut [Stmt], i: Option<usize>, multiple: bool) {
    let idx = i.map_or(0, |i| i + 1);
    let Some(Stmt::Content(cur)) = body.get_mut(idx) else {
        return;
    };
    if !multiple && cur.right_stripped {
        return;
    }
    let original = cur.value.clone();
    let new = if multiple {
        original.trim_start_matches(char::is_whitespace).to_string()
    } else {
        let s = original.trim_start_matches([' ', '\t']);
        let s = s.strip_prefix('\r').filter(|r| r.starts_with('\n')).unwrap_or(s);
        let s = s.strip_prefix('\n').unwrap_or(s);
        s.to_string()
    };
    cur.right_stripped = new != original;
    cur.value = new;
}

fn omit_left(body: &mut [Stmt], i: Option<usize>, multiple: bool) -> bool {
    let idx = match i {
        None => match body.len() {
            0 => return false,
            n => n - 1,
        },
        Some(0) => return false,
        Some(i) => i - 1,
    };
    let Some(Stmt::Content(cur)) = body.get_mut(idx) else {
        return false;
    };
    if !multiple && cur.left_stripped {
        return false;
    }
    let original = cur.value.clone();
    let new = if multiple {
        original.trim_end_matches(char::is_whitespace).to_string()
    } else {
        original.trim_end_matches([' ', '\t']).to_string()
    };
    cur.left_stripped = new != original;
    cur.value = new;
    cur.left_stripped
}

fn ws_program(program: &mut Program, is_root: bool) {
    let n = program.body.len();
    for i in 0..n {
        let Some(strip) = ws_accept(&mut program.body[i]) else {
            continue;
        };
        let body = &mut program.body;
        let prev_ws = is_prev_ws(body, Some(i), is_root);
        let next_ws = is_next_ws(body, Some(i), is_root);
        let open_standalone = strip.open_standalone && prev_ws;
        let close_standalone = strip.close_standalone && next_ws;
        let inline_standalone = strip.inline_standalone && prev_ws && next_ws;
        if strip.close {
            omit_right(body, Some(i), true);
        }
        if strip.open {
            omit_left(body, Some(i), true);
        }
        if inline_standalone {
            omit_right(body, Some(i), false);
            if omit_left(body, Some(i), false) {
                let indent = match &body[i - 1] {
                    Stmt::Content(c) => {
                        let t = c.original.trim_end_matches([' ', '\t']);
                        c.original[t.len()..].to_string()
                    }
                    _ => String::new(),
                };
                if let Stmt::Partial(p) = &mut body[i] {
                    p.indent = indent;
                }
            }
        }
        if open_standalone {
            if let Some(prog) = block_first_body(&mut body[i]) {
                omit_right(prog, None, false);
            }
            omit_left(body, Some(i), false);
        }
        if close_standalone {
            omit_right(body, Some(i), false);
            if let Some(prog) = block_close_body(&mut body[i]) {
                omit_left(prog, None, false);
            }
        }
    }
}

/// `(current.program || current.inverse).body`
fn block_first_body(s: &mut Stmt) -> Option<&mut Vec<Stmt>> {
    match s {
        Stmt::Block(b) => match (&mut b.program, &mut b.inverse) {
            (Some(p), _) => Some(&mut p.body),
            (None, Some(p)) => Some(&mut p.body),
            _ => None,
        },
        Stmt::PartialBlock(_, p, _, _) => Some(&mut p.body),
        Stmt::Inline { program, .. } => Some(&mut program.body),
        _ => None,
    }
}

/// `(current.inverse || current.program).body`
fn block_close_body(s: &mut Stmt) -> Option<&mut Vec<Stmt>> {
    match s {
        Stmt::Block(b) => match (&mut b.inverse, &mut b.program) {
            (Some(p), _) => Some(&mut p.body),
            (None, Some(p)) => Some(&mut p.body),
            _ => None,
        },
        Stmt::PartialBlock(_, p, _, _) => Some(&mut p.body),
        Stmt::Inline { program, .. } => Some(&mut program.body),
        _ => None,
    }
}

fn ws_accept(s: &mut Stmt) -> Option<StripInfo> {
    match s {
        Stmt::Content(_) => None,
        Stmt::Mustache { strip, .. } => Some(StripInfo { open: strip.open, close: strip.close, ..Default::default() }),
        Stmt::Partial(p) => {
            Some(StripInfo { open: p.strip.open, close: p.strip.close, inline_standalone: true, ..Default::default() })
        }
        Stmt::Comment(strip) => {
            Some(StripInfo { open: strip.open, close: strip.close, inline_standalone: true, ..Default::default() })
        }
        Stmt::Block(b) => {
            Some(ws_block(b.program.as_mut(), b.inverse.as_mut(), b.open_strip, b.inverse_strip, b.close_strip))
        }
        Stmt::PartialBlock(_, p, open, close) => Some(ws_block(Some(p), None, *open, Strip::default(), *close)),
        Stmt::Inline { program, open_strip, close_strip, .. } => {
            Some(ws_block(Some(program), None, *open_strip, Strip::default(), *close_strip))
        }
    }
}

/// `inverse.chained ? inverse.body[0].program : inverse`
fn chain_first(inv: &mut Program) -> Option<&mut Program> {
    if !inv.chained {
        return Some(inv);
    }
    match inv.body.first_mut() {
        Some(Stmt::Block(b)) => b.program.as_mut(),
        _ => None,
    }
}

/// `lastInverse` of handlebars.js (one level down a chain).
fn chain_last(inv: &mut Program) -> Option<&mut Program> {
    if !inv.chained {
        return Some(inv);
    }
    match inv.body.last_mut() {
        Some(Stmt::Block(b)) => b.program.as_mut(),
        _ => None,
    }
}

fn ws_block(
    program: Option<&mut Program>,
    inverse: Option<&mut Program>,
    open_strip: Strip,
    inverse_strip: Strip,
    close_strip: Strip,
) -> StripInfo {
    let mut program = program;
    let mut inverse = inverse;
    if let Some(p) = program.as_deref_mut() {
        ws_program(p, false);
    }
    if let Some(p) = inverse.as_deref_mut() {
        ws_program(p, false);
    }
    // `program = block.program || block.inverse; inverse = block.program && block.inverse`
    let (main, inv): (&mut Program, Option<&mut Program>) = match (program, inverse) {
        (Some(p), inv) => (p, inv),
        (None, Some(i)) => (i, None),
        (None, None) => return StripInfo::default(),
    };
    let open_standalone = is_next_ws(&main.body, None, false);
    let close_standalone = match inv.as_deref() {
        Some(i) if i.chained => match i.body.first() {
            Some(Stmt::Block(b)) => b.program.as_ref().is_some_and(|p| is_prev_ws(&p.body, None, false)),
            _ => false,
        },
        Some(i) => is_prev_ws(&i.body, None, false),
        None => is_prev_ws(&main.body, None, false),
    };
    let strip = StripInfo {
        open: open_strip.open,
        close: close_strip.close,
        open_standalone,
        close_standalone,
        inline_standalone: false,
    };
    if open_strip.close {
        omit_right(&mut main.body, None, true);
    }
    if let Some(inv) = inv {
        if inverse_strip.open {
            omit_left(&mut main.body, None, true);
        }
        if inverse_strip.close {
            if let Some(p) = chain_first(inv) {
                omit_right(&mut p.body, None, true);
            }
        }
        if close_strip.open {
            if let Some(p) = chain_last(inv) {
                omit_left(&mut p.body, None, true);
            }
        }
        let first_next_ws = chain_first(inv).is_some_and(|p| is_next_ws(&p.body, None, false));
        if is_prev_ws(&main.body, None, false) && first_next_ws {
            omit_left(&mut main.body, None, false);
            if let Some(p) = chain_first(inv) {
                omit_right(&mut p.body, None, false);
            }
        }
    } else if close_strip.open {
        omit_left(&mut main.body, None, true);
    }
    strip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &Program) -> Vec<String> {
        p.body.iter().filter_map(|s| content(s).map(|c| c.value.clone())).collect()
    }

    #[test]
    fn parses_paths_and_literals() {
        let p = parse("{{a.b/c}} {{../x}} {{@root.y}} {{[weird key]}} {{h 1 \"s\" true null k=v}}").unwrap();
        assert_eq!(p.body.len(), 9);
        let Stmt::Mustache { sexpr, .. } = &p.body[8] else { panic!() };
        assert_eq!(sexpr.params.len(), 4);
        assert_eq!(sexpr.hash.len(), 1);
    }

    #[test]
    fn standalone_block_lines() {
        let p = parse("a\n{{#if x}}\nb\n{{/if}}\nc").unwrap();
        assert_eq!(texts(&p), vec!["a\n".to_string(), "c".to_string()]);
    }

    #[test]
    fn tilde_strips() {
        let p = parse("a  {{~x~}}  b").unwrap();
        assert_eq!(texts(&p), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn errors() {
        assert!(parse("{{#if x}}").unwrap_err().message.contains("{{/if}}"));
        assert!(parse("{{#if x}}{{/each}}").unwrap_err().message.contains("doesn't match"));
        assert!(parse("{{foo").is_err());
        assert!(parse("{{else}}").is_err());
        assert!(parse("{{foo.this}}").unwrap_err().message.contains("Invalid path"));
        let e = parse("line1\n  {{#each}}").unwrap_err();
        assert_eq!(e.offset, 8);
    }

    #[test]
    fn escaped_mustache() {
        let p = parse("\\{{x}} {{y}}").unwrap();
        assert_eq!(texts(&p)[0], "{{x}} ");
    }
}
