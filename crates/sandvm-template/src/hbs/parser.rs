//! Handlebars parser: tokens → [`Program`] (the grammar of handlebars.js), with nesting bounded
//! by [`MAX_NESTING`].

use super::lexer::{tokenize, Tok, Token};
use super::whitespace::ws_program;
use super::{Block, Content, Expr, Hash, Partial, PartialName, PathExpr, Program, Sexpr, Stmt, Strip};
use crate::error::CompileLimit;
use crate::parse::{check_source, PError, PResult, MAX_NESTING};

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
    let toks = tokenize(src)?;
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
