//! Compile options ([`TemplateOptions`]) and per-render options ([`RenderOptions`]): the
//! options of handlebars.js' `Handlebars.compile(source, options)` and
//! `template(context, options)`, with the same names (camelCase) when (de)serialized.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The template language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Handlebars 4.x (the default).
    #[default]
    Handlebars,
    /// Mustache (specification v1.3 with lambdas, inheritance and dynamic names).
    Mustache,
}

/// Options of a [`crate::Templates`] set; they apply to every template, partial and render.
///
/// The Handlebars compile options have handlebars.js' names and defaults; serialized (the
/// `options` object of `POST /v1/templates/render`) they are camelCase and every field may be
/// left out. Options other than `mode`, `strict` and `noEscape` have no effect in Mustache
/// mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateOptions {
    /// The template language. Default: [`Mode::Handlebars`].
    pub mode: Mode,
    /// Handlebars `strict`: a missing property (or helper) is an error instead of an empty
    /// value. Default: false.
    pub strict: bool,
    /// Handlebars `noEscape`: `{{x}}` is not HTML-escaped. Default: false.
    pub no_escape: bool,
    /// Handlebars `compat`: a name not found in the current context is looked up in the
    /// enclosing contexts (Mustache-style recursive lookup). Default: false.
    pub compat: bool,
    /// Handlebars `knownHelpers`: helpers known to exist at render time, so `{{name}}` calls
    /// them without checking the context first. The built-in helpers are always known.
    /// Default: none.
    pub known_helpers: Vec<String>,
    /// Handlebars `knownHelpersOnly`: only the built-in and [`Self::known_helpers`] may be
    /// called; calling another helper is a compile error, and `{{name}}` is always a value.
    /// Default: false.
    pub known_helpers_only: bool,
    /// Handlebars `data`: when false (and the template uses no `@` variable), helpers and
    /// partials get no `options.data` frame and `#each` sets no `@index`/`@key`. Default:
    /// true.
    pub data: bool,
    /// Handlebars `assumeObjects`: every path segment but the last must be an object; a
    /// lookup through `null`/`undefined` throws (a template error). Default: false.
    pub assume_objects: bool,
    /// Handlebars `preventIndent`: a standalone partial call does not indent the partial's
    /// lines. Default: false.
    pub prevent_indent: bool,
    /// Handlebars `ignoreStandalone`: no standalone-line rules (only `~` strips
    /// whitespace). Default: false.
    pub ignore_standalone: bool,
    /// Handlebars `explicitPartialContext`: `{{> name}}` without a context argument renders
    /// the partial with an empty (undefined) context instead of the current one. Default:
    /// false.
    pub explicit_partial_context: bool,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            mode: Mode::Handlebars,
            strict: false,
            no_escape: false,
            compat: false,
            known_helpers: Vec::new(),
            known_helpers_only: false,
            data: true,
            assume_objects: false,
            prevent_indent: false,
            ignore_standalone: false,
            explicit_partial_context: false,
        }
    }
}

/// Options of one render (handlebars.js' runtime options: `template(context, options)`).
///
/// Serialized camelCase (the `runtime` object of `POST /v1/templates/render`); every field may
/// be left out. The prototype-access defaults are handlebars.js' safe ones: only own
/// properties of the data are visible to templates.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderOptions {
    /// The `@data` frame (`data`): its properties are `@name` variables; `@root` is the
    /// context unless the frame sets it. Default: none (only `@root`).
    pub data: Option<Value>,
    /// `allowProtoPropertiesByDefault`: inherited (prototype) properties that are not
    /// functions are visible, except `__proto__`. Default: false.
    pub allow_proto_properties_by_default: bool,
    /// `allowProtoMethodsByDefault`: inherited methods are visible, except `constructor`,
    /// `__defineGetter__`, `__defineSetter__` and `__lookupGetter__`. Default: false.
    pub allow_proto_methods_by_default: bool,
    /// `allowedProtoProperties`: inherited properties allowed (`true`) or denied (`false`) by
    /// name, whatever the default. Default: none.
    pub allowed_proto_properties: BTreeMap<String, bool>,
    /// `allowedProtoMethods`: inherited methods allowed (`true`) or denied (`false`) by name,
    /// whatever the default. Default: none.
    pub allowed_proto_methods: BTreeMap<String, bool>,
    /// `helpers`: helpers for this render only, by name — JavaScript sources that evaluate
    /// to a function. They hide registered helpers of the same name. Default: none.
    pub helpers: BTreeMap<String, String>,
    /// `partials`: partials for this render only (template sources), by name. They hide
    /// registered partials of the same name. Default: none.
    pub partials: BTreeMap<String, String>,
}

impl RenderOptions {
    /// Whether every option has its default (the render then takes the fastest path).
    pub fn is_default(&self) -> bool {
        *self == RenderOptions::default()
    }
}
