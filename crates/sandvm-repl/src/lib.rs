//! # sandvm-repl
//!
//! The interactive REPL of sandvm (`sandvm repl`): every input runs inside the sandbox and its
//! limits, in one context whose declarations persist, like node's REPL.
//!
//! - [`Session`]: the sandbox side (evaluation with `_` / `_error`, top-level `await`,
//!   multi-line detection from the engine's parser, completion without running guest code).
//! - [`run`]: the terminal side (rustyline editing, history, Ctrl-C, commands, piped input).
//! - Pure helpers, unit-tested on their own: [`classify_line`], [`parse_command`],
//!   [`completion_target`], [`history_path`], [`format_error`].

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod classify;
mod command;
mod complete;
mod error;
mod history;
mod render;
mod repl;
mod session;

pub use classify::{classify_line, declared_names, looks_like_object_literal, mentions_await, LineKind};
pub use command::{
    complete_command, format_limits, format_stats, help_text, parse_command, set_limit, Command, COMMANDS, LIMIT_NAMES,
};
pub use complete::{candidates, completion_target, is_identifier, Target, KEYWORDS};
pub use error::ReplError;
pub use history::history_path;
pub use render::{format_error, use_colors, RESET_NOTE};
pub use repl::{run, stdin_is_terminal, stdout_is_terminal, ReplConfig};
pub use session::{LineOutcome, LineResult, Session, SessionConfig};
