//! A plugin's manifest (`plugin.toml`), the limits it asks for, and finding plugin
//! directories.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::HostOptions;
use crate::error::read_text;
use crate::{Error, Result};

/// the host's default ([`HostOptions::default_limits`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsRequest {
    /// Wall-clock milliseconds per call.
    pub timeout_ms: Option<u64>,
    /// Engine heap in MiB.
    pub memory_mb: Option<usize>,
    /// Engine stack in KiB.
    pub stack_kb: Option<usize>,
    /// Output bytes per call (console plus result).
    pub max_output: Option<usize>,
}

/// A plugin's `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name: lowercase letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Its version (free text, e.g. `1.2.0`).
    pub version: String,
    /// The entry module, relative to the plugin directory. By default, `index.js`.
    #[serde(default = "default_entry")]
    pub entry: String,
    /// Free text. By default, empty.
    #[serde(default)]
    pub description: String,
    /// Capabilities it asks for. By default, none.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Events it handles: exact names or prefixes ending in `*` (`*` alone is every event).
    /// By default, none.
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Limits it asks for. By default, the host's defaults.
    #[serde(default)]
    pub limits: LimitsRequest,
}

fn default_entry() -> String {
    "index.js".into()
}

impl Manifest {
    /// Parses and validates a manifest.
    ///
    /// # Errors
    /// [`Error::TooLarge`]/[`Error::TooDeep`] past the bounds of [`crate::input`],
    /// [`Error::Parse`] for bad TOML or unknown fields, [`Error::Invalid`] for a bad name or
    /// an entry that leaves the plugin directory.
    pub fn from_toml(text: &str, what: &str) -> Result<Manifest> {
        crate::input::check_text(text, what)?;
        let m: Manifest = toml::from_str(text).map_err(|e| Error::parse(what, e))?;
        let ok_name = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok_name {
            return Err(Error::invalid(
                what,
                format!("invalid plugin name {:?} (use a-z, 0-9, '.', '_', '-')", m.name),
            ));
        }
        let entry = Path::new(&m.entry);
        if m.entry.is_empty()
            || m.entry.contains('\\')
            || m.entry.contains('\'')
            || entry.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(Error::invalid(what, format!("entry {:?} must be a relative path inside the plugin", m.entry)));
        }
        Ok(m)
    }

    /// Reads `DIR/plugin.toml`.
    ///
    /// # Errors
    /// [`Error::Io`], or as [`Manifest::from_toml`].
    pub fn read_dir(dir: impl AsRef<Path>) -> Result<Manifest> {
        let path = dir.as_ref().join("plugin.toml");
        let text = read_text(&path)?;
        Manifest::from_toml(&text, &path.display().to_string())
    }

    /// True when the plugin handles `event`.
    pub fn handles(&self, event: &str) -> bool {
        self.hooks.iter().any(|h| match h.strip_suffix('*') {
            Some(prefix) => event.starts_with(prefix),
            None => h == event,
        })
    }
}

/// Finds plugin directories: `dir` itself when it has a `plugin.toml`, else its
/// subdirectories that have one, sorted by name.
///
/// # Errors
/// [`Error::Io`] when `dir` cannot be read; [`Error::Invalid`] when it holds no plugin.
pub fn find_plugin_dirs(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    if dir.join("plugin.toml").is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(Error::invalid(dir.display().to_string(), "no plugin.toml here or in its subdirectories"));
    }
    Ok(out)
}

/// The limits plugin `m` runs with: its requests over the host's defaults, refused above the
/// host's maxima (never clamped).
pub(super) fn limits_for(opts: &HostOptions, m: &Manifest) -> Result<sandvm::Limits> {
    let d = &opts.default_limits;
    let max = &opts.max_limits;
    let r = &m.limits;
    let too_much = |what: &str, asked: String, allowed: String| Error::LimitsNotAllowed {
        plugin: m.name.clone(),
        message: format!("asks for {what} {asked}, the host allows at most {allowed}"),
    };
    let mut l = d.clone();
    if let Some(ms) = r.timeout_ms {
        let t = Duration::from_millis(ms);
        if ms == 0 || max.timeout.is_some_and(|m| t > m) {
            return Err(too_much("timeout_ms", ms.to_string(), format!("{:?}", max.timeout)));
        }
        l.timeout = Some(t);
    }
    if let Some(mb) = r.memory_mb {
        if mb.saturating_mul(1024 * 1024) > max.memory {
            return Err(too_much("memory_mb", mb.to_string(), (max.memory / (1024 * 1024)).to_string()));
        }
        l.memory = mb * 1024 * 1024;
    }
    if let Some(kb) = r.stack_kb {
        if kb.saturating_mul(1024) > max.stack {
            return Err(too_much("stack_kb", kb.to_string(), (max.stack / 1024).to_string()));
        }
        l.stack = kb * 1024;
    }
    if let Some(n) = r.max_output {
        if n > max.max_output {
            return Err(too_much("max_output", n.to_string(), max.max_output.to_string()));
        }
        l.max_output = n;
    }
    Ok(l)
}
