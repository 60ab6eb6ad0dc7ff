//! Code generation: a parsed template → the source of one JavaScript factory function
//! `(function (R, M) { …; return main; })` that runs inside the sandbox with the runtime
//! prelude (`runtime.js`): `R` is the Handlebars runtime, `M` the Mustache runtime.

use crate::error::CompileLimit;
use crate::hbs::{Block, Expr, PartialName, PathExpr, Program, Sexpr, Stmt};
use crate::mustache::MNode;
use crate::options::TemplateOptions;
use crate::parse::{PError, PResult, MAX_GENERATED_BYTES};

/// A JavaScript string literal for `s` (JSON escaping, plus U+2028/U+2029).
pub(crate) fn js_str(s: &str) -> String {
    let j = serde_json::Value::String(s.to_string()).to_string();
    j.replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029")
}

/// A property access `base.name` (or `base["name"]` when `name` is not an identifier): the
/// dot form is compiled with the property key resolved once.
fn js_prop(base: &str, name: &str) -> String {
    let mut chars = name.chars();
    let ident = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        format!("{base}.{name}")
    } else {
        format!("{base}[{}]", js_str(name))
    }
}

fn js_parts(name: &str) -> String {
    if name == "." {
        return "null".into();
    }
    let parts: Vec<String> = name.split('.').map(js_str).collect();
    format!("[{}]", parts.join(","))
}

// ------------------------------------------------------------------------------------------
// Mustache
// ------------------------------------------------------------------------------------------

/// Compiles a Mustache template to a factory whose result is `function (s, b, ind)`:
/// `s` the context stack, `b` the block overrides, `ind` the indentation.
///
/// Linear in the source: each source text that section bodies point into (for lambdas) is
/// emitted once, as a factory constant `Sn`, and sections pass their range of it.
pub(crate) fn mustache(nodes: &[MNode]) -> String {
    let mut sources = MSources::default();
    let mut body = String::new();
    m_fn(nodes, &mut body, &mut sources);
    let mut out = String::from("(function(R,M){");
    for (i, text) in sources.texts.iter().enumerate() {
        out.push_str(&format!("var S{i}={};", js_str(text)));
    }
    out.push_str("return ");
    out.push_str(&body);
    out.push_str(";})");
    out
}

/// The distinct source texts referred to by section bodies, in order of first use.
#[derive(Default)]
struct MSources {
    texts: Vec<std::rc::Rc<str>>,
    /// Address of a text → its index in `texts`.
    index: std::collections::HashMap<usize, usize>,
}

impl MSources {
    /// The index of `text` (compared by identity: one entry per parse).
    fn index(&mut self, text: &std::rc::Rc<str>) -> usize {
        let key = std::rc::Rc::as_ptr(text).cast::<u8>() as usize;
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.texts.push(std::rc::Rc::clone(text));
        self.index.insert(key, self.texts.len() - 1);
        self.texts.len() - 1
    }
}

fn m_fn(nodes: &[MNode], out: &mut String, srcs: &mut MSources) {
    out.push_str("function(s,b,ind){var o=\"\";");
    m_nodes(nodes, out, srcs);
    out.push_str("return o;}");
}

fn m_nodes(nodes: &[MNode], out: &mut String, srcs: &mut MSources) {
    for n in nodes {
        match n {
            MNode::Text(t) => {
                if !t.is_empty() {
                    out.push_str(&format!("o+={};", js_str(t)));
                }
            }
            MNode::Indent => out.push_str("o+=ind;"),
            MNode::Var { name, escaped } => {
                out.push_str(&format!("o+=M.v(s,{},{},b);", js_parts(name), escaped));
            }
            MNode::Section { name, inverted: false, children, raw, delims } => {
                out.push_str(&format!("o+=M.sec(s,{},function(s){{var o=\"\";", js_parts(name)));
                m_nodes(children, out, srcs);
                let si = srcs.index(&raw.src);
                // The raw body is cut from `Sn` only when a lambda asks for it.
                out.push_str(&format!(
                    "return o;}},S{si},{},{},{},{},b);",
                    raw.start,
                    raw.end,
                    js_str(&delims.0),
                    js_str(&delims.1)
                ));
            }
            MNode::Section { name, inverted: true, children, .. } => {
                out.push_str(&format!("if(M.inv(s,{})){{", js_parts(name)));
                m_nodes(children, out, srcs);
                out.push('}');
            }
            MNode::Partial { name, dynamic, indent } => {
                let name = if *dynamic { format!("M.pname(s,{})", js_parts(name)) } else { js_str(name) };
                let ind = match indent {
                    Some(i) => format!("ind+{}", js_str(i)),
                    None => "\"\"".into(),
                };
                out.push_str(&format!("o+=M.p({name},s,b,{ind});"));
            }
            MNode::Parent { name, dynamic, indent, blocks } => {
                let name = if *dynamic { format!("M.pname(s,{})", js_parts(name)) } else { js_str(name) };
                let ind = match indent {
                    Some(i) => format!("ind+{}", js_str(i)),
                    None => "\"\"".into(),
                };
                out.push_str(&format!("o+=M.parent({name},s,b,["));
                for (i, (bname, children)) in blocks.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("[{},", js_str(bname)));
                    m_fn(children, out, srcs);
                    out.push(']');
                }
                out.push_str(&format!("],{ind});"));
            }
            MNode::Block { name, children, indent } => {
                let key = js_str(name);
                match indent {
                    Some(i) => {
                        out.push_str(&format!("o+=(b[{key}]||"));
                        m_fn(children, out, srcs);
                        out.push_str(&format!(")(s,b,ind+{});", js_str(i)));
                    }
                    None => {
                        out.push_str(&format!("o+=b[{key}]?b[{key}](s,b,\"\"):(function(){{var o=\"\";"));
                        m_nodes(children, out, srcs);
                        out.push_str("return o;})();");
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Handlebars
// ------------------------------------------------------------------------------------------

/// Options that change the generated code (the handlebars.js compile options; see
/// [`TemplateOptions`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct HbsGen {
    /// `strict`: missing properties throw.
    pub strict: bool,
    /// `compat`: recursive lookup of the first path segment through the enclosing contexts.
    pub compat: bool,
    /// `knownHelpers` (besides the built-in ones).
    pub known_helpers: Vec<String>,
    /// `knownHelpersOnly`.
    pub known_helpers_only: bool,
    /// `data`: helpers and partials get the `@data` frame.
    pub data: bool,
    /// `assumeObjects`: a lookup through `null`/`undefined` throws.
    pub assume_objects: bool,
    /// `preventIndent`.
    pub prevent_indent: bool,
    /// `explicitPartialContext`.
    pub explicit_partial_context: bool,
}

impl From<&TemplateOptions> for HbsGen {
    fn from(o: &TemplateOptions) -> HbsGen {
        HbsGen {
            strict: o.strict,
            compat: o.compat,
            known_helpers: o.known_helpers.clone(),
            known_helpers_only: o.known_helpers_only,
            data: o.data,
            assume_objects: o.assume_objects,
            prevent_indent: o.prevent_indent,
            explicit_partial_context: o.explicit_partial_context,
        }
    }
}

/// Largest program body (in bytes of JavaScript) spliced into its caller by `fast_if`: bounds
/// the code duplicated for the fallback path.
const SPLICE_MAX: usize = 4096;

const KNOWN_HELPERS: &[&str] =
    &["helperMissing", "blockHelperMissing", "each", "if", "unless", "with", "log", "lookup"];

#[derive(Default)]
struct Consts {
    /// `(text, name)` in order of creation.
    list: Vec<(String, String)>,
    /// text → index in `list`.
    index: std::collections::HashMap<String, usize>,
}

struct Gen<'a> {
    opts: HbsGen,
    /// Constants hoisted to the factory (source locations, path segment arrays): `(text, name)`.
    consts: std::cell::RefCell<Consts>,
    line_starts: Vec<usize>,
    /// `char_blocks[k]`: the number of characters starting before byte `k * CHAR_BLOCK` (so
    /// that a column costs O(CHAR_BLOCK), not O(line length)).
    char_blocks: Vec<usize>,
    src: &'a str,
    programs: Vec<String>,
    /// Bodies of the programs that may be spliced into a caller, by program index.
    bodies: std::collections::HashMap<usize, String>,
    /// Counter for unique temporary names.
    temps: usize,
    /// Block parameters of the enclosing programs, innermost first.
    bp_stack: Vec<Vec<String>>,
    /// Bytes of program bodies that may still be spliced into callers. A spliced body is a
    /// copy (the program's own function is emitted too), and bodies nest: this budget keeps
    /// the generated code linear in the source.
    splice_budget: usize,
    /// Bytes of program functions generated so far: generation stops early past
    /// [`MAX_GENERATED_BYTES`].
    emitted: usize,
    /// Whether the template reads an `@` variable (which turns the `data` option on, as in
    /// handlebars.js).
    uses_data: std::cell::Cell<bool>,
    /// The first compile error found while generating (an unknown helper under
    /// `knownHelpersOnly`).
    error: Option<PError>,
}

/// Bytes of spliced bodies allowed per byte of template source (plus [`SPLICE_MAX`] × 16):
/// ample for the nesting real templates have.
const SPLICE_PER_SOURCE_BYTE: usize = 8;

/// Compiles a Handlebars program to a factory whose result is the main program function
/// `function (c, data, depths, bps, P)`.
///
/// # Errors
/// A [`CompileLimit::GeneratedSize`] error when the code would exceed
/// [`MAX_GENERATED_BYTES`] (generation stops as soon as it does).
pub(crate) fn handlebars(prog: &Program, src: &str, opts: &HbsGen) -> PResult<String> {
    let mut line_starts = vec![0];
    for (i, b) in src.bytes().enumerate() {
        if b == b'\n' {
            line_starts.push(i + 1);
        }
    }
    let mut char_blocks = vec![0];
    let mut chars = 0;
    for chunk in src.as_bytes().chunks(CHAR_BLOCK) {
        chars += char_starts(chunk);
        char_blocks.push(chars);
    }
    let mut g = Gen {
        opts: opts.clone(),
        consts: std::cell::RefCell::new(Consts::default()),
        line_starts,
        char_blocks,
        src,
        programs: Vec::new(),
        bodies: std::collections::HashMap::new(),
        temps: 0,
        bp_stack: Vec::new(),
        splice_budget: src.len().saturating_mul(SPLICE_PER_SOURCE_BYTE).saturating_add(16 * SPLICE_MAX),
        emitted: 0,
        uses_data: std::cell::Cell::new(false),
        error: None,
    };
    let main = g.program(prog);
    if g.emitted > MAX_GENERATED_BYTES {
        return Err(PError::limit(CompileLimit::GeneratedSize, MAX_GENERATED_BYTES, 0));
    }
    if let Some(e) = g.error.take() {
        return Err(e);
    }
    // Locals of the factory shared by every program: the runtime functions used on the fast
    // paths, the built-in helpers (to detect overrides at render time) and the constants.
    let mut out =
        String::from("(function(R,M){var H=R.helpers,BI=R.bi,oh=R.oh,lp=R.lp,esc=R.esc,isA=R.isA,cp=R.cp,NC=R.nc");
    for (text, name) in &g.consts.borrow().list {
        out.push_str(&format!(",{name}={text}"));
    }
    out.push(';');
    for p in &g.programs {
        out.push_str(p);
    }
    if !g.opts.data && !g.uses_data.get() {
        // `data: false`: no `@data` frame for helpers and partials.
        out.push_str(&format!("return function(c,data,depths,bps,P){{return p{main}(c,undefined,depths,bps,P);}};}})"));
    } else {
        out.push_str(&format!("return p{main};}})"));
    }
    Ok(out)
}

/// Bytes per entry of `Gen::char_blocks`.
const CHAR_BLOCK: usize = 64;

/// The number of UTF-8 characters that start in `bytes`.
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

enum Class {
    Helper,
    Ambiguous,
    Simple,
}

impl Gen<'_> {
    fn loc(&self, offset: usize) -> String {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.chars_before(offset).saturating_sub(self.chars_before(start)) + 1;
        self.konst(format!("[{},{}]", line + 1, col))
    }

    /// The number of characters that start before byte `offset` of the source.
    fn chars_before(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        let k = offset / CHAR_BLOCK;
        self.char_blocks[k] + char_starts(&self.src.as_bytes()[k * CHAR_BLOCK..offset])
    }

    /// A factory-level constant holding `text` (an array literal that is only ever read):
    /// allocated once per factory instead of once per evaluation.
    fn konst(&self, text: String) -> String {
        let mut consts = self.consts.borrow_mut();
        if let Some(&i) = consts.index.get(&text) {
            return consts.list[i].1.clone();
        }
        let name = format!("K{}", consts.list.len());
        let i = consts.list.len();
        consts.index.insert(text.clone(), i);
        consts.list.push((text, name.clone()));
        name
    }

    /// Compiles a program to a function `pN` and returns N.
    fn program(&mut self, prog: &Program) -> usize {
        let idx = self.programs.len();
        self.programs.push(String::new());
        let mut body = String::new();
        // Inline partials are registered before the program runs (as decorators are).
        let mut has_inline = false;
        for s in &prog.body {
            if let Stmt::Inline { name, program, .. } = s {
                if !has_inline {
                    body.push_str("P=Object.create(P);");
                    has_inline = true;
                }
                let p = self.child(program);
                body.push_str(&format!("P[{}]=R.prog(p{p},data,depths,bps,P);", js_str(name)));
            }
        }
        for s in &prog.body {
            if self.emitted.saturating_add(body.len()) > MAX_GENERATED_BYTES {
                break;
            }
            self.stmt(s, &mut body);
        }
        // Decorators (`{{* name}}`) run when the program is wrapped (`R.prog`, `R.template`):
        // `pN.dec(fn, props, container, c, data, bps, depths)` returns the program to run.
        let mut decs = String::new();
        for s in &prog.body {
            if let Stmt::Decorator { sexpr, .. } = s {
                let params: Vec<String> = sexpr.params.iter().map(|p| self.expr(p, sexpr.offset)).collect();
                let hash = self.hash(&sexpr.hash, sexpr.offset);
                let loc = self.loc(sexpr.offset);
                decs.push_str(&format!(
                    "fn=R.dec({},fn,props,container,[{}],{hash},data,{loc});",
                    js_str(&sexpr.path.original()),
                    params.join(",")
                ));
            }
        }
        self.programs[idx] = format!(
            "function p{idx}(c,data,depths,bps,P){{var o=\"\",v,co=c!=null&&typeof c===\"object\";{body}return o;}}"
        );
        if !decs.is_empty() {
            self.programs[idx].push_str(&format!(
                "p{idx}.dec=function(fn,props,container,c,data,bps,depths){{var co=c!=null&&typeof c===\"object\";{decs}return fn;}};"
            ));
        }
        self.emitted = self.emitted.saturating_add(self.programs[idx].len());
        // A body that declares no inline partials and never reads its block parameters
        // (`bps`, also passed on to nested programs) can be spliced into a caller that has
        // the same context, data, depths and partials (see `fast_if`).
        let spliceable = !has_inline && decs.is_empty() && !body.contains("bps") && body.len() <= SPLICE_MAX;
        if spliceable {
            self.bodies.insert(idx, body);
        }
        idx
    }

    fn child(&mut self, prog: &Program) -> usize {
        self.bp_stack.insert(0, prog.block_params.clone());
        let p = self.program(prog);
        self.bp_stack.remove(0);
        p
    }

    fn prog_ref(&mut self, prog: Option<&Program>) -> String {
        match prog {
            Some(p) => {
                let n = self.child(p);
                format!("R.prog(p{n},data,depths,bps,P)")
            }
            None => "null".into(),
        }
    }

    fn stmt(&mut self, s: &Stmt, out: &mut String) {
        match s {
            Stmt::Content(c) => {
                if !c.value.is_empty() {
                    out.push_str(&format!("o+={};", js_str(&c.value)));
                }
            }
            Stmt::Comment(_) | Stmt::Inline { .. } | Stmt::Decorator { .. } => {}
            Stmt::Mustache { sexpr, escaped, .. } => {
                if let Some(v) = self.fast_ambiguous(sexpr) {
                    out.push_str(&v);
                    out.push_str(if *escaped { "o+=esc(v);" } else { "o+=R.raw(v);" });
                    return;
                }
                let v = self.mustache_value(sexpr);
                if *escaped {
                    out.push_str(&format!("o+=R.esc({v});"));
                } else {
                    out.push_str(&format!("o+=R.raw({v});"));
                }
            }
            Stmt::Block(b) => {
                if let Some(code) = self.fast_if(b) {
                    out.push_str(&code);
                    return;
                }
                let v = self.block_value(b);
                out.push_str(&format!("o+=R.raw({v});if(o.length>R.max)R.ol();"));
            }
            Stmt::Partial(p) => {
                let name = self.partial_name(&p.name);
                let ctx = match &p.context {
                    Some(e) => self.expr(e, p.offset),
                    None if self.opts.explicit_partial_context => "undefined".into(),
                    None => "c".into(),
                };
                let hash = if p.hash.is_empty() { "undefined".into() } else { self.hash(&p.hash, p.offset) };
                let loc = self.loc(p.offset);
                let mut indent = js_str(&p.indent);
                if self.opts.prevent_indent && !p.indent.is_empty() {
                    // `preventIndent`: the indentation is plain text before the partial.
                    out.push_str(&format!("o+={indent};"));
                    indent = "\"\"".into();
                }
                out.push_str(&format!(
                    "o+=R.ip(P,{name},{ctx},{hash},data,null,{indent},{loc});if(o.length>R.max)R.ol();"
                ));
            }
            Stmt::PartialBlock(p, program, _, _) => {
                let name = self.partial_name(&p.name);
                let ctx = match &p.context {
                    Some(e) => self.expr(e, p.offset),
                    None if self.opts.explicit_partial_context => "undefined".into(),
                    None => "c".into(),
                };
                let hash = if p.hash.is_empty() { "undefined".into() } else { self.hash(&p.hash, p.offset) };
                let loc = self.loc(p.offset);
                let n = self.child(program);
                // Inline partials declared in the block are given to the called partial.
                let mut inl = String::new();
                self.bp_stack.insert(0, Vec::new());
                for s in &program.body {
                    if let Stmt::Inline { name, program: ip, .. } = s {
                        let m = self.child(ip);
                        inl.push_str(&format!(
                            "f.partials[{}]=R.prog(p{m},data,depths,[undefined].concat(bps),P);",
                            js_str(name)
                        ));
                    }
                }
                self.bp_stack.remove(0);
                let fnv = if inl.is_empty() {
                    format!("R.prog(p{n},data,depths,bps,P)")
                } else {
                    format!(
                        "(function(){{var f=R.prog(p{n},data,depths,bps,P);f.partials=Object.create(null);{inl}return f;}})()"
                    )
                };
                out.push_str(&format!(
                    "o+=R.ip(P,{name},{ctx},{hash},data,{fnv},\"\",{loc});if(o.length>R.max)R.ol();"
                ));
            }
        }
    }

    fn partial_name(&mut self, n: &PartialName) -> String {
        match n {
            PartialName::Static(s) => {
                if s.starts_with('@') {
                    self.uses_data.set(true);
                }
                js_str(s)
            }
            PartialName::Dynamic(sexpr) => {
                let v = self.helper_call(sexpr, None, None, 0);
                format!("(\"\"+{v})")
            }
        }
    }

    fn block_param(&self, name: &str) -> Option<(usize, usize)> {
        for (d, params) in self.bp_stack.iter().enumerate() {
            if let Some(i) = params.iter().position(|p| p == name) {
                return Some((d, i));
            }
        }
        None
    }

    /// handlebars.js' `transformLiteralToPath` + `classifySexpr`.
    fn classify(&self, sexpr: &Sexpr, is_sub: bool) -> (Class, PathExpr) {
        let path = match &sexpr.path {
            Expr::Path(p) => p.clone(),
            other => PathExpr {
                data: false,
                depth: 0,
                parts: vec![other.original()],
                original: other.original(),
                offset: sexpr.offset,
            },
        };
        let is_simple = path.simple();
        let is_bp = is_simple && self.block_param(&path.parts[0]).is_some();
        let mut is_helper = !is_bp && (is_sub || !sexpr.params.is_empty() || sexpr.has_hash);
        let mut eligible = !is_bp && (is_helper || is_simple);
        if eligible && !is_helper {
            if self.known_helper(&path.parts[0]) {
                is_helper = true;
            } else if self.opts.known_helpers_only {
                eligible = false;
            }
        }
        let class = if is_helper {
            Class::Helper
        } else if eligible {
            Class::Ambiguous
        } else {
            Class::Simple
        };
        (class, path)
    }

    /// Whether `name` is a built-in helper or one of the `knownHelpers`.
    fn known_helper(&self, name: &str) -> bool {
        KNOWN_HELPERS.contains(&name) || self.opts.known_helpers.iter().any(|h| h == name)
    }

    fn mustache_value(&mut self, sexpr: &Sexpr) -> String {
        let (class, path) = self.classify(sexpr, false);
        let loc = self.loc(sexpr.offset);
        match class {
            Class::Helper => self.helper_call(sexpr, None, None, 0),
            Class::Ambiguous => {
                let name = js_str(&path.parts[0]);
                let value = self.path(&path, true, sexpr.offset);
                let value = if self.opts.strict { format!("(R.helpers[{name}]?undefined:{value})") } else { value };
                format!("R.amb(c,{name},{value},data,{loc})")
            }
            Class::Simple => {
                let value = self.path(&path, true, sexpr.offset);
                format!("R.val(c,{value})")
            }
        }
    }

    /// `{{name}}` that is a plain value unless a helper `name` is registered (non-strict):
    /// statements that leave the value in `v`, reading the property directly and calling
    /// `R.amb` only when a helper of that name exists or the value is missing or a function.
    fn fast_ambiguous(&mut self, sexpr: &Sexpr) -> Option<String> {
        if self.opts.strict {
            return None;
        }
        let (class, path) = self.classify(sexpr, false);
        if !matches!(class, Class::Ambiguous) || !matches!(sexpr.path, Expr::Path(_)) {
            return None;
        }
        let loc = self.loc(sexpr.offset);
        let name = js_str(&path.parts[0]);
        let value = self.path(&path, true, sexpr.offset);
        Some(format!(
            "v={value};if({}||v==null||typeof v===\"function\")v=R.amb(c,{name},v,data,{loc});",
            js_prop("H", &path.parts[0])
        ))
    }

    /// `{{#if x}}…{{else}}…{{/if}}` and `{{#unless x}}…{{/unless}}` (one parameter, no hash)
    /// compiled inline: the built-in helper's logic runs without options objects or
    /// closures when, at render time, the helper is still the built-in one; otherwise the
    /// generic helper call runs.
    fn fast_if(&mut self, b: &Block) -> Option<String> {
        let sexpr = &b.sexpr;
        let (class, path) = self.classify(sexpr, false);
        if !matches!(class, Class::Helper)
            || !matches!(sexpr.path, Expr::Path(_))
            || !path.simple()
            || sexpr.params.len() != 1
            || sexpr.has_hash
            || !sexpr.hash.is_empty()
        {
            return None;
        }
        // A decorated program runs through `R.prog`, which applies its decorators.
        let decorated = |p: &Option<Program>| {
            p.as_ref().is_some_and(|p| p.body.iter().any(|s| matches!(s, Stmt::Decorator { .. })))
        };
        if decorated(&b.program) || decorated(&b.inverse) {
            return None;
        }
        let unless = match path.parts[0].as_str() {
            "if" => false,
            "unless" => true,
            _ => return None,
        };
        let loc = self.loc(sexpr.offset);
        let cond = self.expr(&sexpr.params[0], sexpr.offset);
        let nbp = b.program.as_ref().map_or(0, |p| p.block_params.len());
        let fn_n = b.program.as_ref().map(|p| self.child(p));
        let inv_n = b.inverse.as_ref().map(|p| self.child(p));
        let fn_code = self.branch(fn_n, b.program.as_ref());
        let inv_code = self.branch(inv_n, b.inverse.as_ref());
        let (truthy, falsy) = if unless { (inv_code, fn_code) } else { (fn_code, inv_code) };
        let wrap = |n: Option<usize>| match n {
            None => "null".to_string(),
            Some(n) => format!("R.prog(p{n},data,depths,bps,P)"),
        };
        let generic = self.helper_call(sexpr, Some(wrap(fn_n)), Some(wrap(inv_n)), nbp);
        let check = if unless { "H.unless===BI.unless&&H.if===BI.if" } else { "H.if===BI.if" };
        let t = self.temps;
        self.temps += 1;
        // `c===depths[0]`: the program would run with the same depths (as `R.prog` decides).
        Some(format!(
            "if(c!=null&&c===depths[0]&&{check}){{v={cond};var l{t}=R.loc;R.loc={loc};\
             if(typeof v===\"function\")v=v.call(c);\
             if(!v||typeof v===\"object\"&&isA(v)&&v.length===0){{{falsy}}}else{{{truthy}}}R.loc=l{t};}}\
             else o+=R.raw({generic});if(o.length>R.max)R.ol();"
        ))
    }

    /// One branch of an inlined `if`: the body of program `n` spliced in (it appends to
    /// `o`) while the splice budget lasts, else a direct call.
    fn branch(&mut self, n: Option<usize>, p: Option<&Program>) -> String {
        let (Some(n), Some(p)) = (n, p) else { return String::new() };
        if p.block_params.is_empty() {
            if let Some(body) = self.bodies.get(&n) {
                if body.len() <= self.splice_budget {
                    self.splice_budget -= body.len();
                    return body.clone();
                }
            }
        }
        // A program that never reads its block parameters is given the current ones
        // instead of a copy with an (undefined) entry for this block.
        let bps = if self.uses_bps(n) { "[undefined].concat(bps)" } else { "bps" };
        format!("o+=cp(p{n},c,data,depths,{bps},P);")
    }

    /// Whether the body of program `n` refers to its block parameters (directly or by
    /// passing them on to nested programs).
    fn uses_bps(&self, n: usize) -> bool {
        let text = &self.programs[n];
        text.find('{').is_some_and(|i| text[i..].contains("bps"))
    }

    fn block_value(&mut self, b: &Block) -> String {
        let (class, path) = self.classify(&b.sexpr, false);
        let loc = self.loc(b.sexpr.offset);
        let nbp = b.program.as_ref().map_or(0, |p| p.block_params.len());
        let fnv = self.prog_ref(b.program.as_ref());
        let inv = self.prog_ref(b.inverse.as_ref());
        match class {
            Class::Helper => self.helper_call(&b.sexpr, Some(fnv), Some(inv), nbp),
            Class::Ambiguous => {
                let name = js_str(&path.parts[0]);
                let value = self.path(&path, true, b.sexpr.offset);
                let value = if self.opts.strict { format!("(R.helpers[{name}]?undefined:{value})") } else { value };
                format!("R.amb(c,{name},{value},data,{loc},{fnv},{inv},{nbp})")
            }
            Class::Simple => {
                let value = self.path(&path, true, b.sexpr.offset);
                format!("R.blk(c,{},{value},data,{loc},{fnv},{inv},{nbp})", js_str(&path.original))
            }
        }
    }

    fn helper_call(&mut self, sexpr: &Sexpr, fnv: Option<String>, inv: Option<String>, nbp: usize) -> String {
        let (_, path) = self.classify(sexpr, true);
        let loc = self.loc(sexpr.offset);
        if self.opts.known_helpers_only && !self.known_helper(&path.parts[0]) && self.error.is_none() {
            self.error = Some(PError::new(
                format!("You specified knownHelpersOnly, but used the unknown helper {}", path.parts[0]),
                sexpr.offset,
            ));
        }
        let simple = path.simple();
        let name = if simple { path.parts[0].clone() } else { path.original.clone() };
        let non_helper = if matches!(sexpr.path, Expr::Path(_)) {
            let saved = self.opts.strict;
            self.opts.strict = false;
            let v = self.path(&path, false, sexpr.offset);
            self.opts.strict = saved;
            v
        } else {
            "undefined".into()
        };
        let params: Vec<String> = sexpr.params.iter().map(|p| self.expr(p, sexpr.offset)).collect();
        let hash = self.hash(&sexpr.hash, sexpr.offset);
        let mut s =
            format!("R.call(c,{},{simple},{non_helper},[{}],{hash},data,{loc}", js_str(&name), params.join(","));
        if let (Some(f), Some(i)) = (fnv, inv) {
            s.push_str(&format!(",{f},{i},{nbp}"));
        }
        s.push(')');
        s
    }

    fn hash(&mut self, hash: &[(String, Expr)], offset: usize) -> String {
        // handlebars.js builds the hash object in reverse source order.
        let mut s = String::from("{");
        for (i, (k, v)) in hash.iter().rev().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let v = self.expr(v, offset);
            s.push_str(&format!("[{}]:{v}", js_str(k)));
        }
        s.push('}');
        s
    }

    fn expr(&mut self, e: &Expr, offset: usize) -> String {
        match e {
            Expr::Path(p) => self.path(p, false, offset),
            Expr::Sub(s) => {
                let (class, path) = self.classify(s, true);
                match class {
                    Class::Simple => {
                        let v = self.path(&path, false, s.offset);
                        format!("R.val(c,{v})")
                    }
                    _ => self.helper_call(s, None, None, 0),
                }
            }
            Expr::Str(s) => js_str(s),
            Expr::Num(n) => format!("({n})"),
            Expr::Bool(b) => b.to_string(),
            Expr::Null => "null".into(),
            Expr::Undefined => "undefined".into(),
        }
    }

    /// The value of a path. `terminal`: in strict mode, the last segment must exist.
    fn path(&self, p: &PathExpr, terminal: bool, offset: usize) -> String {
        let loc = self.loc(p.offset.max(offset.min(p.offset)));
        if !p.data && p.depth == 0 && !p.scoped() && !p.parts.is_empty() {
            if let Some((d, i)) = self.block_param(&p.parts[0]) {
                return self.lookup(&format!("bps[{d}][{i}]"), &p.parts[1..], terminal, &loc);
            }
        }
        if p.data {
            self.uses_data.set(true);
        }
        if self.opts.compat && !p.data && p.depth == 0 && !p.scoped() && !p.parts.is_empty() {
            // `compat`: the first segment is looked up through every enclosing context.
            let first = format!("R.dl(depths,{})", js_str(&p.parts[0]));
            return self.lookup(&first, &p.parts[1..], terminal, &loc);
        }
        let base = if p.data {
            if p.depth == 0 {
                "data".to_string()
            } else {
                format!("R.dd(data,{})", p.depth)
            }
        } else if p.depth == 0 {
            "c".to_string()
        } else {
            format!("depths[{}]", p.depth)
        };
        self.lookup(&base, &p.parts, terminal, &loc)
    }

    fn lookup(&self, base: &str, parts: &[String], terminal: bool, loc: &str) -> String {
        if parts.is_empty() {
            return base.to_string();
        }
        let arr: Vec<String> = parts.iter().map(|s| js_str(s)).collect();
        if self.opts.strict {
            let k = self.konst(format!("[{}]", arr.join(",")));
            return format!("R.slk({base},{k},{terminal},{loc})");
        }
        if self.opts.assume_objects {
            let k = self.konst(format!("[{}]", arr.join(",")));
            return format!("R.alk({base},{k},{loc})");
        }
        if parts.len() == 1 {
            let name = &arr[0];
            let get = js_prop(base, &parts[0]);
            if base == "c" {
                // An own property of an object read directly; anything else through `lp`
                // (`co`: `c` is a non-null object, computed once per program).
                format!("(co&&oh(c,{name})?{get}:lp(c,{name}))")
            } else if base == "data" {
                format!("(data!=null&&typeof data===\"object\"&&oh(data,{name})?{get}:lp(data,{name}))")
            } else {
                format!("lp({base},{name})")
            }
        } else {
            let k = self.konst(format!("[{}]", arr.join(",")));
            format!("R.lk({base},{k})")
        }
    }
}
