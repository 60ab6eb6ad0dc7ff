//! Handlebars lexer: template text → tokens (a port of the lexer rules of handlebars.js,
//! including escaped mustaches `\\{{`, raw blocks and `~` flags).

use super::Strip;
use crate::parse::{PError, PResult};

/// A token of the template.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

/// A token and the byte offset where it starts.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) start: usize,
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

/// Splits `src` into tokens; the last one is [`Tok::Eof`].
pub(super) fn tokenize(src: &str) -> PResult<Vec<Token>> {
    Lexer { src, pos: 0, toks: Vec::new() }.run()
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
