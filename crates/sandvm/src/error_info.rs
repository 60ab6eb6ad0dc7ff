//! Turning a thrown guest value into an [`Error`].

use rquickjs::{Ctx, Object, Value};

use crate::{convert, raw, Error};

fn prop_string<'js>(ctx: &Ctx<'js>, obj: &Object<'js>, key: &str) -> Option<String> {
    match obj.get::<_, Value<'js>>(key) {
        Ok(v) if v.is_string() => Some(raw::to_string_lossy(ctx, &v)),
        Ok(_) => None,
        Err(_) => {
            let _ = ctx.catch();
            None
        }
    }
}

/// Finds `file:line:column` in the first frame of an engine stack trace.
pub(crate) fn first_position(stack: &str) -> Option<(u32, u32)> {
    for line in stack.lines() {
        let l = line.trim().trim_end_matches(')');
        let mut parts = l.rsplitn(3, ':');
        let col = parts.next().and_then(|c| c.parse::<u32>().ok());
        let row = parts.next().and_then(|r| r.parse::<u32>().ok());
        if let (Some(r), Some(c)) = (row, col) {
            return Some((r, c));
        }
    }
    None
}

fn is_incomplete(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("unexpected end") || m.contains("unterminated") || m.ends_with(": ''")
}

/// Marks a syntax error as incomplete input when the engine reports it at or past the end of
/// `source` (the parser ran out of input: an open brace, a trailing operator).
pub(crate) fn with_source(err: crate::Error, source: &str) -> crate::Error {
    match err {
        crate::Error::Syntax { message, line, column, incomplete_input } => {
            let trimmed = source.trim_end();
            let last_line = trimmed.lines().count().max(1) as u32;
            let last_len = trimmed.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) as u32;
            let at_end = match (line, column) {
                (Some(l), Some(c)) => l > last_line || (l == last_line && c > last_len),
                _ => false,
            };
            crate::Error::Syntax { message, line, column, incomplete_input: incomplete_input || at_end }
        }
        other => other,
    }
}

/// Classifies a thrown value. `compiling` tells that the value came from parsing source, so
/// a `SyntaxError` is a [`Error::Syntax`] (at run time it is an ordinary exception).
pub(crate) fn exception_to_error<'js>(ctx: &Ctx<'js>, exc: Value<'js>, compiling: bool) -> Error {
    if let Some(obj) = exc.as_object().filter(|_| exc.is_error()) {
        let name = prop_string(ctx, obj, "name");
        let message = prop_string(ctx, obj, "message").unwrap_or_default();
        let stack = prop_string(ctx, obj, "stack");
        // Timeouts, cancellations and out-of-memory are never read from the thrown value: a
        // guest can throw `new InternalError("interrupted")` itself. The run's host-side flags
        // (the watch's trip, the allocator's refusal) decide them after the run. A stack
        // overflow has no host-side flag; a guest that forges one gets exactly what real
        // recursion would give it.
        if message == "Maximum call stack size exceeded" || message == "stack overflow" {
            return Error::StackOverflow;
        }
        if matches!(name.as_deref(), Some("ModuleNotFound" | "ModuleNotAllowed")) {
            let specifier = prop_string(ctx, obj, "specifier").unwrap_or_default();
            return if name.as_deref() == Some("ModuleNotFound") {
                Error::ModuleNotFound { specifier, message }
            } else {
                Error::ModuleNotAllowed { specifier, message }
            };
        }
        let pos = stack.as_deref().and_then(first_position);
        if compiling && name.as_deref() == Some("SyntaxError") {
            return Error::Syntax {
                incomplete_input: is_incomplete(&message),
                message,
                line: pos.map(|p| p.0),
                column: pos.map(|p| p.1),
            };
        }
        return Error::Exception {
            name,
            message,
            stack,
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            value: None,
        };
    }
    let message = crate::inspect::inspect(ctx, &exc, &crate::inspect::InspectOptions::default());
    Error::Exception {
        name: None,
        message,
        stack: None,
        line: None,
        column: None,
        value: convert::to_json(ctx, &exc).map(Box::new),
    }
}
