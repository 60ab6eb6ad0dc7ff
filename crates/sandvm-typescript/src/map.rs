//! Positions in the generated JavaScript → positions in the TypeScript source.

/// Maps positions in the generated JavaScript back to the TypeScript source (built from the
/// transform's source map). Lines and columns are 1-based on both sides, as the engine and
/// sandvm's error reports count them. Columns are exact on lines of ASCII text; on other lines
/// they count UTF-16 units, as source maps do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionMap {
    /// `[dst_line, dst_col, src_line, src_col]`, 0-based, sorted by destination.
    tokens: Vec<[u32; 4]>,
    /// Number of lines of the TypeScript source (positions past it are clamped).
    source_lines: u32,
}

impl PositionMap {
    pub(crate) fn from_tokens(source: &str, _code: &str, tokens: impl Iterator<Item = [u32; 4]>) -> PositionMap {
        let mut tokens: Vec<[u32; 4]> = tokens.collect();
        tokens.sort_by_key(|t| (t[0], t[1]));
        let source_lines = source.lines().count().max(1) as u32;
        PositionMap { tokens, source_lines }
    }

    /// The TypeScript position (1-based line, column) of the generated position (1-based
    /// `line`, `column`), or `None` when the map is empty or the line is 0.
    pub fn original(&self, line: u32, column: u32) -> Option<(u32, u32)> {
        let (l0, c0) = (line.checked_sub(1)?, column.saturating_sub(1));
        // The greatest token at or before (l0, c0).
        let idx = self.tokens.partition_point(|t| (t[0], t[1]) <= (l0, c0));
        let t = if idx == 0 {
            *self.tokens.first()?
        } else {
            let t = self.tokens[idx - 1];
            if t[0] < l0 {
                // Nothing mapped earlier on this line: prefer the line's first token.
                match self.tokens.get(idx) {
                    Some(next) if next[0] == l0 => *next,
                    _ => t,
                }
            } else {
                t
            }
        };
        // Inside a mapped token the text is the same on both sides: keep the distance.
        let delta = if t[0] == l0 && c0 >= t[1] { c0 - t[1] } else { 0 };
        let src_line = (t[2] + 1).min(self.source_lines);
        Some((src_line, t[3] + delta + 1))
    }

    /// Rewrites every `filename:line:column` in `stack` (an engine stack trace) to the
    /// TypeScript position. Other files' frames are left as they are.
    pub fn remap_stack(&self, stack: &str, filename: &str) -> String {
        if filename.is_empty() || self.tokens.is_empty() {
            return stack.to_string();
        }
        let mut out = String::with_capacity(stack.len());
        let mut rest = stack;
        while let Some(at) = rest.find(filename) {
            let after = &rest[at + filename.len()..];
            out.push_str(&rest[..at + filename.len()]);
            // Only a whole file name: `b.ts` must not match inside `a/b.ts`.
            let whole = rest[..at].chars().next_back().is_none_or(|c| c == '(' || c.is_whitespace() || c == '@');
            match parse_pos(after).filter(|_| whole) {
                Some((line, column, used)) => {
                    let (l, c) = self.original(line, column).unwrap_or((line, column));
                    out.push_str(&format!(":{l}:{c}"));
                    rest = &after[used..];
                }
                None => rest = after,
            }
        }
        out.push_str(rest);
        out
    }

    /// Number of mapping tokens (0 when the map is empty).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when the map holds no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Parses `:line:column` at the start of `s`; returns them and the bytes used.
fn parse_pos(s: &str) -> Option<(u32, u32, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut nums = [0u32; 2];
    for n in &mut nums {
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        *n = s[start..i].parse().ok()?;
    }
    Some((nums[0], nums[1], i))
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub(crate) fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() as u32 + 1;
    (line, column)
}
