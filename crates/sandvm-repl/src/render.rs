//! Turning results into text, like node's REPL prints them.

use sandvm::{Error, Limits, ReplBridge};

const BRIDGE_NAME: &str = ReplBridge::NAME;

/// Printed after an error that rebuilt the context.
pub const RESET_NOTE: &str = "(the context was reset: declarations from earlier lines are gone)";

/// Renders a failed input like node (`Uncaught TypeError: boom` and the guest's stack
/// frames). `source` is the input (for the caret under a syntax error), `limits` the limits
/// in force (named in limit messages), `reset` whether the context was rebuilt.
pub fn format_error(error: &Error, source: &str, limits: &Limits, reset: bool) -> String {
    let mut out = match error {
        Error::Syntax { message, line, column, .. } => {
            let mut s = String::new();
            if let (Some(l), Some(c)) = (line, column) {
                if let Some(text) = source.lines().nth((*l as usize).saturating_sub(1)) {
                    let pad = " ".repeat((*c as usize).saturating_sub(1).min(text.chars().count()));
                    s.push_str(&format!("{text}\n{pad}^\n\n"));
                }
            }
            s.push_str(&format!("Uncaught SyntaxError: {message}"));
            s
        }
        Error::Exception { name, message, stack, .. } => {
            let mut s = match name {
                Some(n) if message.is_empty() => format!("Uncaught {n}"),
                Some(n) => format!("Uncaught {n}: {message}"),
                None => format!("Uncaught {message}"),
            };
            for frame in stack.as_deref().unwrap_or("").lines() {
                let f = frame.trim();
                // The REPL's own frames (the bridge, the top-level script) are not the user's.
                if f.is_empty() || f.contains(BRIDGE_NAME) || f.starts_with("at <eval>") {
                    continue;
                }
                s.push_str("\n    ");
                s.push_str(f);
            }
            s
        }
        Error::Timeout => match limits.timeout {
            Some(t) => format!("Uncaught Error: Script execution timed out after {}ms", t.as_millis()),
            None => "Uncaught Error: Script execution timed out (CPU-time budget)".to_string(),
        },
        Error::Cancelled => "Script execution was interrupted by Ctrl-C".to_string(),
        Error::MemoryLimit => {
            format!("Uncaught RangeError: memory limit exceeded ({} MiB)", limits.effective_memory() / (1024 * 1024))
        }
        Error::StackOverflow => "Uncaught RangeError: Maximum call stack size exceeded".to_string(),
        Error::OutputLimit => format!("Uncaught Error: output limit exceeded ({} bytes)", limits.max_output),
        Error::JobLimit => format!("Uncaught Error: promise job limit exceeded ({} jobs)", limits.max_jobs),
        Error::Unsettled => {
            "Uncaught Error: the awaited promise never settles (nothing is left to settle it)".to_string()
        }
        other => format!("Uncaught Error: {other}"),
    };
    if reset {
        out.push('\n');
        out.push_str(RESET_NOTE);
    }
    out
}

/// True when output should be coloured: the stream is a terminal, `--no-color` was not
/// given and `NO_COLOR` is unset or empty (<https://no-color.org>).
pub fn use_colors(is_terminal: bool, no_color_flag: bool, no_color_env: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && !no_color_flag && no_color_env.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::time::Duration;

    #[test]
    fn exceptions_like_node() {
        let e = Error::Exception {
            name: Some("TypeError".into()),
            message: "boom".into(),
            stack: Some(format!("    at f (REPL1:1:20)\n    at {BRIDGE_NAME} (native)\n    at <eval> (REPL2:1:1)\n")),
            line: Some(1),
            column: Some(20),
            value: None,
        };
        assert_eq!(
            format_error(&e, "f()", &Limits::default(), false),
            "Uncaught TypeError: boom\n    at f (REPL1:1:20)"
        );
        let thrown =
            Error::Exception { name: None, message: "42".into(), stack: None, line: None, column: None, value: None };
        assert_eq!(format_error(&thrown, "throw 42", &Limits::default(), false), "Uncaught 42");
    }

    #[test]
    fn syntax_error_with_caret() {
        let e = Error::Syntax {
            message: "unexpected token".into(),
            line: Some(1),
            column: Some(4),
            incomplete_input: false,
        };
        assert_eq!(
            format_error(&e, "a +* 2", &Limits::default(), false),
            "a +* 2\n   ^\n\nUncaught SyntaxError: unexpected token"
        );
    }

    #[test]
    fn limits_and_reset() {
        let l = Limits { timeout: Some(Duration::from_millis(250)), ..Limits::default() };
        assert_eq!(
            format_error(&Error::Timeout, "", &l, false),
            "Uncaught Error: Script execution timed out after 250ms"
        );
        let m = format_error(&Error::MemoryLimit, "", &l, true);
        assert!(m.starts_with("Uncaught RangeError: memory limit exceeded (64 MiB)"), "{m}");
        assert!(m.ends_with(RESET_NOTE));
        assert!(format_error(&Error::Cancelled, "", &l, false).contains("interrupted"));
    }

    #[test]
    fn colour_choice() {
        assert!(use_colors(true, false, None));
        assert!(use_colors(true, false, Some(OsStr::new(""))));
        assert!(!use_colors(true, false, Some(OsStr::new("1"))));
        assert!(!use_colors(true, true, None));
        assert!(!use_colors(false, false, None));
    }
}
