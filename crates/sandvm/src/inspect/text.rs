//! Text helpers: Node's string escaping, key checks, styles, padding and stack tidying.

pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Length without ANSI colour sequences (Node's `removeColors(s).length`).
pub(crate) fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            for c2 in it.by_ref() {
                if c2 == 'm' {
                    break;
                }
            }
            continue;
        }
        n += c.len_utf16();
    }
    n
}

pub(crate) fn meta_escape(u: u16, out: &mut String) {
    match u {
        0x08 => out.push_str("\\b"),
        0x09 => out.push_str("\\t"),
        0x0A => out.push_str("\\n"),
        0x0C => out.push_str("\\f"),
        0x0D => out.push_str("\\r"),
        0x27 => out.push_str("\\'"),
        0x5C => out.push_str("\\\\"),
        _ => out.push_str(&format!("\\x{:02X}", u)),
    }
}

/// Escapes control characters, backslashes, `quote` (if any) and lone surrogates.
pub(crate) fn escape_units(units: &[u16], quote: Option<u16>) -> String {
    let mut out = String::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if Some(u) == quote || u == 0x5C || u < 0x20 || (0x7F..0xA0).contains(&u) {
            meta_escape(u, &mut out);
        } else if (0xD800..0xE000).contains(&u) {
            if u <= 0xDBFF && i + 1 < units.len() && (0xDC00..0xE000).contains(&units[i + 1]) {
                let cp = 0x10000 + (((u as u32) - 0xD800) << 10) + ((units[i + 1] as u32) - 0xDC00);
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                i += 2;
                continue;
            }
            out.push_str(&format!("\\u{:x}", u));
        } else {
            out.push(char::from_u32(u as u32).unwrap_or('\u{FFFD}'));
        }
        i += 1;
    }
    out
}

/// Node's `strEscape`: picks the quote (' then " then `) and escapes.
pub(crate) fn str_escape(units: &[u16]) -> String {
    let has = |c: u16| units.contains(&c);
    let has_dollar_brace = units.windows(2).any(|w| w == [b'$' as u16, b'{' as u16]);
    let (open, quote) = if has(b'\'' as u16) {
        if !has(b'"' as u16) {
            ('"', None)
        } else if !has(b'`' as u16) && !has_dollar_brace {
            ('`', None)
        } else {
            ('\'', Some(b'\'' as u16))
        }
    } else {
        ('\'', Some(b'\'' as u16))
    };
    let mut s = String::with_capacity(units.len() + 2);
    s.push(open);
    s.push_str(&escape_units(units, quote));
    s.push(open);
    s
}

pub(crate) fn is_ident_key(units: &[u16]) -> bool {
    match units.first() {
        Some(&f) if (f as u8 as u16 == f) && ((f as u8).is_ascii_alphabetic() || f == b'_' as u16) => {}
        _ => return false,
    }
    units.iter().all(|&u| u < 0x80 && ((u as u8).is_ascii_alphanumeric() || u == b'_' as u16))
}

/// Canonical array index (`0`..`2^32-2`) of a key string.
pub(crate) fn array_index_of(units: &[u16]) -> Option<u32> {
    if units.is_empty() || units.len() > 10 {
        return None;
    }
    if units.len() > 1 && units[0] == b'0' as u16 {
        return None;
    }
    let mut n: u64 = 0;
    for &u in units {
        if !(b'0' as u16..=b'9' as u16).contains(&u) {
            return None;
        }
        n = n * 10 + (u - b'0' as u16) as u64;
    }
    if n <= 0xFFFF_FFFE {
        Some(n as u32)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Styles
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub(crate) enum Style {
    Special,
    Number,
    BigInt,
    Boolean,
    Undefined,
    Null,
    String,
    Symbol,
    Date,
    RegExp,
}

pub(crate) fn stylize_with(colors: bool, s: &str, style: Style) -> String {
    if !colors {
        return s.to_string();
    }
    let (a, b) = match style {
        Style::Special => (36, 39),
        Style::Number | Style::BigInt | Style::Boolean => (33, 39),
        Style::Undefined => (90, 39),
        Style::Null => (1, 22),
        Style::String | Style::Symbol => (32, 39),
        Style::Date => (35, 39),
        Style::RegExp => (31, 39),
    };
    format!("\x1b[{a}m{s}\x1b[{b}m")
}

pub(crate) fn remaining_text(n: usize) -> String {
    format!("... {} more item{}", n, if n > 1 { "s" } else { "" })
}

/// Node's `getPrefix`.
pub(crate) fn get_prefix(constructor: &Option<String>, tag: &str, fallback: &str, size: &str) -> String {
    match constructor {
        None => {
            if !tag.is_empty() && fallback != tag {
                format!("[{fallback}{size}: null prototype] [{tag}] ")
            } else {
                format!("[{fallback}{size}: null prototype] ")
            }
        }
        Some(c) => {
            if !tag.is_empty() && c != tag {
                format!("{c}{size} [{tag}] ")
            } else {
                format!("{c}{size} ")
            }
        }
    }
}

pub(crate) fn pad(s: &str, width: usize, start: bool) -> String {
    let len = utf16_len(s);
    if len >= width {
        return s.to_string();
    }
    let fill = " ".repeat(width - len);
    if start {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// Node's class detection on `Function.prototype.toString` output.
pub(crate) fn is_class_source(src: &str) -> bool {
    if !(src.starts_with("class") && src.ends_with('}')) {
        return false;
    }
    let slice = &src[5..src.len() - 1];
    match slice.find('{') {
        Some(b) => {
            !slice[..b].contains('(') || slice.chars().next().map(|c| c.is_whitespace() || c == '{').unwrap_or(false)
        }
        None => false,
    }
}

/// Node's improveStack.
pub(crate) fn improve_stack(stack: String, constructor: &Option<String>, name: &str, tag: &str) -> String {
    let mut len = name.len();
    let looks_normal = name.ends_with("Error")
        && stack.starts_with(name)
        && (stack.len() == len || matches!(stack.as_bytes().get(len), Some(b':') | Some(b'\n')));
    if constructor.is_none() || looks_normal {
        let mut fallback = "Error".to_string();
        if constructor.is_none() {
            // ^([A-Z][a-z_ A-Z0-9[\]()-]+)(?::|\n\s+at)  or  ^([a-z_A-Z0-9-]*Error)$
            let bytes = stack.as_bytes();
            let mut found = String::new();
            if bytes.first().is_some_and(|b| b.is_ascii_uppercase()) {
                let end = bytes
                    .iter()
                    .position(|&b| !(b.is_ascii_alphanumeric() || b" _[]()-".contains(&b)))
                    .unwrap_or(bytes.len());
                let rest = &stack[end..];
                if end > 1 && (rest.starts_with(':') || rest.starts_with("\n")) {
                    found = stack[..end].to_string();
                }
            }
            if found.is_empty()
                && stack.ends_with("Error")
                && stack.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                found = stack.clone();
            }
            len = found.len();
            fallback = if found.is_empty() { "Error".to_string() } else { found };
        }
        let prefix = get_prefix(constructor, tag, &fallback, "");
        let prefix = prefix.trim_end_matches(' ');
        if name != prefix {
            let rest = stack.get(len..).unwrap_or("");
            if prefix.contains(name) {
                if len == 0 {
                    return format!("{prefix}: {stack}");
                }
                return format!("{prefix}{rest}");
            }
            return format!("{prefix} [{name}]{rest}");
        }
    }
    stack
}

pub(crate) fn typed_array_name(t: i32) -> &'static str {
    match t {
        0 => "Uint8ClampedArray",
        1 => "Int8Array",
        2 => "Uint8Array",
        3 => "Int16Array",
        4 => "Uint16Array",
        5 => "Int32Array",
        6 => "Uint32Array",
        7 => "BigInt64Array",
        8 => "BigUint64Array",
        9 => "Float16Array",
        10 => "Float32Array",
        11 => "Float64Array",
        _ => "TypedArray",
    }
}

/// Node's `isFullWidthCodePoint` (East Asian wide and fullwidth characters, some emoji).
fn is_full_width(c: u32) -> bool {
    c >= 0x1100
        && (c <= 0x115f
            || c == 0x2329
            || c == 0x232a
            || ((0x2e80..=0x3247).contains(&c) && c != 0x303f)
            || (0x3250..=0x4dbf).contains(&c)
            || (0x4e00..=0xa4c6).contains(&c)
            || (0xa960..=0xa97c).contains(&c)
            || (0xac00..=0xd7a3).contains(&c)
            || (0xf900..=0xfaff).contains(&c)
            || (0xfe10..=0xfe19).contains(&c)
            || (0xfe30..=0xfe6b).contains(&c)
            || (0xff01..=0xff60).contains(&c)
            || (0xffe0..=0xffe6).contains(&c)
            || (0x1b000..=0x1b001).contains(&c)
            || (0x1f200..=0x1f251).contains(&c)
            || (0x1f300..=0x1f64f).contains(&c)
            || (0x20000..=0x3fffd).contains(&c))
}

/// Node's `isZeroWidthCodePoint` (controls, combining marks, variation selectors).
fn is_zero_width(c: u32) -> bool {
    c <= 0x1f
        || (0x7f..=0x9f).contains(&c)
        || (0x300..=0x36f).contains(&c)
        || (0x200b..=0x200f).contains(&c)
        || (0x20d0..=0x20ff).contains(&c)
        || (0xfe00..=0xfe0f).contains(&c)
        || (0xfe20..=0xfe2f).contains(&c)
        || (0xe0100..=0xe01ef).contains(&c)
}

/// Columns `s` takes in a terminal (Node's `getStringWidth`): wide characters count 2, zero-width
/// ones 0; ANSI colour sequences are skipped when `colors` is on.
pub(crate) fn string_width(s: &str, colors: bool) -> usize {
    let mut width = 0;
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        if colors && ch == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        let c = ch as u32;
        if is_full_width(c) {
            width += 2;
        } else if !is_zero_width(c) {
            width += 1;
        }
    }
    width
}
