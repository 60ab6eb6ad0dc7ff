//! Bounds on guest-controlled input before any parser or converter walks it: a size limit,
//! and a nesting limit checked in one linear pass over the text (the YAML parser's own work
//! grows quadratically with flow nesting, and its recursion limit applies only after that
//! work is done) and again over parsed values before they are copied into a sandbox.

use serde_json::Value as Json;

use crate::{Error, Result};

/// Largest rules, facts, manifest or schema text accepted: 8 MiB.
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;

/// Deepest nesting of arrays and objects accepted in rules, facts, manifests and schemas: 64.
pub const MAX_DEPTH: usize = 64;

/// Checks `text` against [`MAX_INPUT_BYTES`] and its bracket nesting (`[`/`{` outside quoted
/// strings and comments, as YAML, JSON and TOML write flow collections) against
/// [`MAX_DEPTH`]. Linear in the text; brackets inside plain (unquoted) YAML scalars count
/// too, so the check errs on the side of refusing.
///
/// # Errors
/// [`Error::TooLarge`] or [`Error::TooDeep`].
pub fn check_text(text: &str, what: &str) -> Result<()> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::TooLarge { what: what.into(), size: text.len(), limit: MAX_INPUT_BYTES });
    }
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut prev = b'\n';
    for &b in text.as_bytes() {
        if comment {
            comment = b != b'\n';
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == b'"' && b == b'\\' {
                escaped = true;
            } else if b == q {
                quote = None;
            }
        } else {
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'#' if prev.is_ascii_whitespace() => comment = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Error::TooDeep { what: what.into(), limit: MAX_DEPTH });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = b;
    }
    Ok(())
}

/// Checks that `value` nests arrays and objects at most [`MAX_DEPTH`] deep (without
/// recursion).
///
/// # Errors
/// [`Error::TooDeep`].
pub fn check_depth(value: &Json, what: &str) -> Result<()> {
    let mut stack: Vec<(&Json, usize)> = vec![(value, 0)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Json>> = match v {
            Json::Array(a) => Box::new(a.iter()),
            Json::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if d + 1 > MAX_DEPTH {
            return Err(Error::TooDeep { what: what.into(), limit: MAX_DEPTH });
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    Ok(())
}
