//! A plugin's manifest (`plugin.toml`), the limits it asks for, and finding plugin
//! directories.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::HostOptions;
use crate::error::read_text;
use crate::{Error, Result};

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
    /// Limits it asks for, over the host's defaults ([`HostOptions::default_limits`]): any of
    /// the keys of [`sandvm::Limits`] with units (`timeout = "250ms"`, `memory = "16 MiB"`) or
    /// the older `timeout_ms`, `memory_mb`, `stack_kb`, `max_output`. By default, none (the
    /// host's defaults).
    #[serde(default)]
    pub limits: sandvm::LimitOverrides,
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
/// host's maxima (never clamped), naming the first field that is over.
pub(super) fn limits_for(opts: &HostOptions, m: &Manifest) -> Result<sandvm::Limits> {
    let asked = m.limits.apply(&opts.default_limits);
    // Only what the manifest asks for is checked: the host's own defaults are its business.
    let mut checked = opts.max_limits.clone();
    for (field, value) in m.limits.iter() {
        let _ = checked.set_value(field, value); // values from LimitOverrides are of the field's kind
    }
    checked.within(&opts.max_limits).map_err(|e| Error::LimitsNotAllowed {
        plugin: m.name.clone(),
        message: format!("asks for {} {}, the host allows at most {}", e.field, e.requested, e.max),
    })?;
    Ok(asked)
}
