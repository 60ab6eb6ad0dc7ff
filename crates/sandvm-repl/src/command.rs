//! REPL commands (`.help`, `.load FILE`, `.limits NAME VALUE`, ...) and their texts.

use std::path::PathBuf;
use std::time::Duration;

use sandvm::{Limits, Stats};

use crate::ReplError;

/// The commands and their one-line help, in `.help` order.
pub const COMMANDS: &[(&str, &str)] = &[
    (".break", "Sometimes you get stuck, this gets you out"),
    (".clear", "Break, and also clear the local context"),
    (".editor", "Enter editor mode"),
    (".exit", "Exit the REPL"),
    (".help", "Print this help message"),
    (".limits", "Show the limits, or change one: .limits timeout 500"),
    (".load", "Load JS from a file into the REPL session"),
    (".save", "Save all evaluated commands in this REPL session to a file"),
    (".stats", "Show the last run's wall time, CPU time, heap and promise jobs"),
];

/// The limit names `.limits` understands, with their unit.
pub const LIMIT_NAMES: &[(&str, &str)] = &[
    ("timeout", "ms, 0 = none"),
    ("cpu-time", "ms, 0 = none"),
    ("memory", "MiB"),
    ("stack", "KiB"),
    ("max-output", "bytes"),
    ("max-jobs", "promise jobs per run"),
];

/// A parsed REPL command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `.help`
    Help,
    /// `.exit`
    Exit,
    /// `.clear`: a fresh context.
    Clear,
    /// `.break`: drop the unfinished input.
    Break,
    /// `.editor`: multi-line editor mode.
    Editor,
    /// `.load FILE`
    Load(PathBuf),
    /// `.save FILE`
    Save(PathBuf),
    /// `.limits` (show) or `.limits NAME VALUE` (change).
    Limits(Option<(String, String)>),
    /// `.stats`
    Stats,
}

/// Parses a command line (one that [`crate::classify_line`] called a command).
///
/// # Errors
/// [`ReplError::Command`] for an unknown command or missing / extra arguments.
pub fn parse_command(line: &str) -> Result<Command, ReplError> {
    let t = line.trim();
    let (word, rest) = match t.find(char::is_whitespace) {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let no_args = |c: Command| {
        if rest.is_empty() {
            Ok(c)
        } else {
            Err(ReplError::Command(format!("{word} takes no arguments")))
        }
    };
    let file = |make: fn(PathBuf) -> Command| {
        if rest.is_empty() {
            Err(ReplError::Command(format!("usage: {word} FILE")))
        } else {
            Ok(make(PathBuf::from(rest)))
        }
    };
    match word {
        ".help" => no_args(Command::Help),
        ".exit" => no_args(Command::Exit),
        ".clear" => no_args(Command::Clear),
        ".break" => no_args(Command::Break),
        ".editor" => no_args(Command::Editor),
        ".stats" => no_args(Command::Stats),
        ".load" => file(Command::Load),
        ".save" => file(Command::Save),
        ".limits" => {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            match parts.as_slice() {
                [] => Ok(Command::Limits(None)),
                [name, value] => Ok(Command::Limits(Some((name.to_string(), value.to_string())))),
                _ => Err(ReplError::Command("usage: .limits [NAME VALUE]".into())),
            }
        }
        _ => Err(ReplError::Command("Invalid REPL keyword".into())),
    }
}

fn number(name: &str, value: &str) -> Result<u64, ReplError> {
    let v = value.replace('_', "");
    v.parse::<u64>()
        .map_err(|_| ReplError::Command(format!("{name}: expected a non-negative whole number, got {value:?}")))
}

/// Changes one limit by name (see [`LIMIT_NAMES`]).
///
/// # Errors
/// [`ReplError::Command`] for an unknown name or a value out of range.
pub fn set_limit(limits: &mut Limits, name: &str, value: &str) -> Result<(), ReplError> {
    let n = number(name, value)?;
    let ranged = |lo: u64, hi: u64| {
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(ReplError::Command(format!("{name}: expected {lo}..={hi}, got {n}")))
        }
    };
    match name {
        "timeout" => limits.timeout = (n > 0).then(|| Duration::from_millis(n)),
        "cpu-time" => limits.cpu_time = (n > 0).then(|| Duration::from_millis(n)),
        "memory" => limits.memory = usize::try_from(ranged(1, 65_536)? * 1024 * 1024).unwrap_or(usize::MAX),
        "stack" => limits.stack = usize::try_from(ranged(1, 1_048_576)? * 1024).unwrap_or(usize::MAX),
        "max-output" => limits.max_output = usize::try_from(n).unwrap_or(usize::MAX),
        "max-jobs" => limits.max_jobs = n,
        _ => {
            let known: Vec<&str> = LIMIT_NAMES.iter().map(|(n, _)| *n).collect();
            return Err(ReplError::Command(format!("unknown limit {name:?} (one of: {})", known.join(", "))));
        }
    }
    Ok(())
}

fn ms(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{} ms", d.as_millis()),
        None => "none".into(),
    }
}

/// The `.limits` listing.
pub fn format_limits(l: &Limits) -> String {
    format!(
        "timeout     {}\ncpu-time    {}\nmemory      {} MiB\nstack       {} KiB\nmax-output  {} bytes\nmax-jobs    {}",
        ms(l.timeout),
        ms(l.cpu_time),
        l.memory / (1024 * 1024),
        l.effective_stack() / 1024,
        l.max_output,
        l.max_jobs
    )
}

/// The `.stats` listing.
pub fn format_stats(s: &Stats) -> String {
    format!(
        "wall   {:.3} ms\ncpu    {:.3} ms\nheap   {} bytes (peak {} bytes)\njobs   {}",
        s.wall_ms, s.cpu_ms, s.heap_bytes, s.heap_peak_bytes, s.jobs
    )
}

/// The `.help` text.
pub fn help_text() -> String {
    let mut s = String::new();
    for (name, help) in COMMANDS {
        s.push_str(&format!("{name:<9}{help}\n"));
    }
    s.push_str("\nPress Ctrl+C to abort current expression, Ctrl+D to exit the REPL");
    s
}

/// Completes a command name: `(start, candidates)` for the text before the cursor, or
/// `None` when it is not a command being typed.
pub fn complete_command(before_cursor: &str) -> Option<(usize, Vec<String>)> {
    let t = before_cursor.trim_start();
    if !t.starts_with('.') || t.contains(char::is_whitespace) {
        return None;
    }
    let start = before_cursor.len() - t.len();
    let list: Vec<String> = COMMANDS.iter().map(|(n, _)| *n).filter(|n| n.starts_with(t)).map(String::from).collect();
    Some((start, list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse_command(".help").unwrap(), Command::Help);
        assert_eq!(parse_command(" .exit ").unwrap(), Command::Exit);
        assert_eq!(parse_command(".load my file.js").unwrap(), Command::Load(PathBuf::from("my file.js")));
        assert_eq!(parse_command(".save out.js").unwrap(), Command::Save(PathBuf::from("out.js")));
        assert_eq!(parse_command(".limits").unwrap(), Command::Limits(None));
        assert_eq!(
            parse_command(".limits timeout 500").unwrap(),
            Command::Limits(Some(("timeout".into(), "500".into())))
        );
        assert_eq!(parse_command(".editor").unwrap(), Command::Editor);
        assert_eq!(parse_command(".break").unwrap(), Command::Break);
        assert_eq!(parse_command(".clear").unwrap(), Command::Clear);
        assert_eq!(parse_command(".stats").unwrap(), Command::Stats);
    }

    #[test]
    fn rejects_bad_commands() {
        assert!(matches!(parse_command(".nope"), Err(ReplError::Command(m)) if m == "Invalid REPL keyword"));
        assert!(matches!(parse_command(".load"), Err(ReplError::Command(m)) if m.contains("usage")));
        assert!(parse_command(".save   ").is_err());
        assert!(parse_command(".exit now").is_err());
        assert!(parse_command(".limits timeout").is_err());
        assert!(parse_command(".limits a b c").is_err());
    }

    #[test]
    fn sets_limits() {
        let mut l = Limits::default();
        set_limit(&mut l, "timeout", "250").unwrap();
        assert_eq!(l.timeout, Some(Duration::from_millis(250)));
        set_limit(&mut l, "timeout", "0").unwrap();
        assert_eq!(l.timeout, None);
        set_limit(&mut l, "memory", "32").unwrap();
        assert_eq!(l.memory, 32 * 1024 * 1024);
        set_limit(&mut l, "stack", "512").unwrap();
        assert_eq!(l.stack, 512 * 1024);
        set_limit(&mut l, "max-output", "1_000").unwrap();
        assert_eq!(l.max_output, 1000);
        set_limit(&mut l, "max-jobs", "7").unwrap();
        assert_eq!(l.max_jobs, 7);
        set_limit(&mut l, "cpu-time", "9").unwrap();
        assert_eq!(l.cpu_time, Some(Duration::from_millis(9)));
        assert!(set_limit(&mut l, "memory", "0").is_err());
        assert!(set_limit(&mut l, "memory", "-1").is_err());
        assert!(set_limit(&mut l, "timeout", "soon").is_err());
        assert!(set_limit(&mut l, "speed", "1").is_err());
        let shown = format_limits(&l);
        assert!(shown.contains("memory      32 MiB"), "{shown}");
        assert!(shown.contains("timeout     none"), "{shown}");
    }

    #[test]
    fn help_lists_every_command() {
        let h = help_text();
        for (name, _) in COMMANDS {
            assert!(h.contains(name), "{name} missing from help");
        }
    }

    #[test]
    fn completes_commands() {
        assert_eq!(complete_command(".e"), Some((0, vec![".editor".to_string(), ".exit".to_string()])));
        assert_eq!(complete_command("  .he"), Some((2, vec![".help".to_string()])));
        assert_eq!(complete_command(".load x"), None);
        assert_eq!(complete_command("Math."), None);
    }
}
