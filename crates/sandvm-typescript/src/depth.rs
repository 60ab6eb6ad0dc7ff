//! A linear pre-scan that refuses sources nesting deeper than the limit before oxc (which
//! recurses) sees them.

/// True when `source` nests brackets (`(`, `[`, `{`, `<`), or chains prefix operators
/// (`!`, `~`, `-`, `+`, `...`), more than `max` levels deep. Strings, comments and template text
/// are counted too: this over-approximates, which errs on the safe side; real programs stay far
/// below the default limit.
pub(crate) fn exceeds(source: &str, max: usize) -> bool {
    let mut depth: usize = 0;
    let mut angle: usize = 0;
    let mut prefix_run: usize = 0;
    for &b in source.as_bytes() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'<' => angle += 1,
            b'>' => angle = angle.saturating_sub(1),
            b';' => angle = 0,
            _ => {}
        }
        match b {
            b'!' | b'~' | b'-' | b'+' | b'?' | b':' | b'=' | b'.' | b'|' | b'&' => prefix_run += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => prefix_run = 0,
        }
        if depth > max || angle > max || prefix_run > max {
            return true;
        }
    }
    false
}
