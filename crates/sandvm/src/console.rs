//! The captured `console`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Value};
use serde::Serialize;

use crate::runtime::{Trip, Watch};

/// Severity of a console line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleLevel {
    /// `console.log`, `console.dir`, `console.table`.
    Log,
    /// `console.info`.
    Info,
    /// `console.warn`.
    Warn,
    /// `console.error`, `console.trace`, failed `console.assert`.
    Error,
    /// `console.debug`.
    Debug,
}

/// One line (one call) of console output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConsoleEntry {
    /// The method's level.
    pub level: ConsoleLevel,
    /// The text, formatted like Node's `util.format`.
    pub text: String,
}

/// Console output captured for a context, bounded by the output limit.
#[derive(Debug, Default)]
pub(crate) struct ConsoleBuf {
    pub(crate) entries: Vec<ConsoleEntry>,
    /// Output bytes used by the current run.
    pub(crate) used: usize,
    pub(crate) limit: usize,
}

pub(crate) type SharedConsole = Rc<RefCell<ConsoleBuf>>;

impl ConsoleBuf {
    pub(crate) fn begin_run(&mut self, limit: usize) {
        self.used = 0;
        self.limit = limit;
    }
    /// Counts `n` bytes of output; false when the limit is passed.
    pub(crate) fn charge(&mut self, n: usize) -> bool {
        self.used = self.used.saturating_add(n);
        self.used <= self.limit
    }
}

const METHODS: &[(&str, ConsoleLevel)] = &[
    ("log", ConsoleLevel::Log),
    ("info", ConsoleLevel::Info),
    ("warn", ConsoleLevel::Warn),
    ("error", ConsoleLevel::Error),
    ("debug", ConsoleLevel::Debug),
    ("trace", ConsoleLevel::Error),
    ("dir", ConsoleLevel::Log),
    ("table", ConsoleLevel::Log),
    ("assert", ConsoleLevel::Error),
];

/// Installs `console` on the global object of `ctx`.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, buf: &SharedConsole, watch: &Arc<Watch>) -> rquickjs::Result<()> {
    let console = Object::new(ctx.clone())?;
    for &(name, level) in METHODS {
        let buf = buf.clone();
        let watch = watch.clone();
        let f = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<()> {
            let mut args = args.0;
            let text = match name {
                "assert" => {
                    let ok = args.first().map(|v| truthy(v)).unwrap_or(false);
                    if ok {
                        return Ok(());
                    }
                    let rest = if args.is_empty() { Vec::new() } else { args.split_off(1) };
                    let msg = crate::inspect::format_console_args(&ctx, &rest);
                    if msg.is_empty() {
                        "Assertion failed".to_string()
                    } else {
                        format!("Assertion failed: {msg}")
                    }
                }
                "trace" => format!("Trace: {}", crate::inspect::format_console_args(&ctx, &args)),
                "dir" => match args.first() {
                    Some(v) => crate::inspect::inspect(&ctx, v, &crate::inspect::InspectOptions::default()),
                    None => "undefined".to_string(),
                },
                _ => crate::inspect::format_console_args(&ctx, &args),
            };
            let mut b = buf.borrow_mut();
            if !b.charge(text.len() + 1) {
                drop(b);
                watch.trip(Trip::Output);
                return Err(rquickjs::Exception::throw_range(&ctx, "output limit exceeded"));
            }
            b.entries.push(ConsoleEntry { level, text });
            Ok(())
        })?
        .with_name(name)?;
        console.set(name, f)?;
    }
    ctx.globals().set("console", console)?;
    Ok(())
}

fn truthy(v: &Value<'_>) -> bool {
    if let Some(b) = v.as_bool() {
        return b;
    }
    if v.is_undefined() || v.is_null() {
        return false;
    }
    if let Some(i) = v.as_int() {
        return i != 0;
    }
    if let Some(f) = v.as_float() {
        return f != 0.0 && !f.is_nan();
    }
    if let Some(s) = v.as_string() {
        return s.to_string().map(|s| !s.is_empty()).unwrap_or(true);
    }
    true
}
