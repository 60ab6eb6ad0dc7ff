//! Whitespace control: a port of handlebars.js' `WhitespaceControl` visitor (standalone lines
//! and `~` stripping).

use super::{Content, Program, Stmt, Strip};

#[derive(Default)]
struct StripInfo {
    open: bool,
    close: bool,
    open_standalone: bool,
    close_standalone: bool,
    inline_standalone: bool,
}

pub(super) fn content(s: &Stmt) -> Option<&Content> {
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

/// Applies standalone-line and `~` rules to `program` and everything nested in it.
pub(super) fn ws_program(program: &mut Program, is_root: bool) {
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
