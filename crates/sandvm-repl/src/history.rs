//! Where the history file lives.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The history file to use, or `None` for no persistent history.
///
/// In order: `--no-history` disables it; `--history FILE` names it; otherwise
/// `$XDG_STATE_HOME/sandvm/repl_history` when `XDG_STATE_HOME` is an absolute path (the XDG
/// spec says to ignore relative ones), else `$HOME/.local/state/sandvm/repl_history`, else none.
/// `env` reads an environment variable (a parameter so that tests need not touch the
/// process environment).
pub fn history_path(
    explicit: Option<&Path>,
    disabled: bool,
    env: impl Fn(&str) -> Option<OsString>,
) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(state) = non_empty("XDG_STATE_HOME").filter(|p| p.is_absolute()) {
        return Some(state.join("sandvm").join("repl_history"));
    }
    non_empty("HOME").map(|home| home.join(".local").join("state").join("sandvm").join("repl_history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn disabled_wins() {
        assert_eq!(history_path(Some(Path::new("/tmp/h")), true, env(&[("HOME", "/home/a")])), None);
    }

    #[test]
    fn explicit_file() {
        assert_eq!(
            history_path(Some(Path::new("rel/h")), false, env(&[("XDG_STATE_HOME", "/s")])),
            Some(PathBuf::from("rel/h"))
        );
    }

    #[test]
    fn xdg_state_home() {
        assert_eq!(
            history_path(None, false, env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/home/a")])),
            Some(PathBuf::from("/s/sandvm/repl_history"))
        );
    }

    #[test]
    fn relative_or_empty_xdg_falls_back_to_home() {
        let want = Some(PathBuf::from("/home/a/.local/state/sandvm/repl_history"));
        assert_eq!(history_path(None, false, env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/home/a")])), want);
        assert_eq!(history_path(None, false, env(&[("XDG_STATE_HOME", ""), ("HOME", "/home/a")])), want);
    }

    #[test]
    fn nothing_known() {
        assert_eq!(history_path(None, false, env(&[])), None);
        assert_eq!(history_path(None, false, env(&[("HOME", "")])), None);
    }
}
