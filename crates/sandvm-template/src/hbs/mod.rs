//! Handlebars 4.x parser: template text → [`Program`], following the grammar and lexer of
//! handlebars.js (including escaped mustaches `\{{`, raw blocks, whitespace control `~` and
//! the standalone-line rules of its `WhitespaceControl` pass).

//!
//! The work is split in three passes: [`lexer`] (text → tokens, following the lexer rules of
//! handlebars.js), [`parser`] (tokens → [`Program`]) and [`whitespace`] (the standalone-line and
//! `~` rules).

mod lexer;
mod parser;
mod whitespace;

pub(crate) use parser::parse;

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

#[cfg(test)]
mod tests {
    use super::whitespace::content;
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
