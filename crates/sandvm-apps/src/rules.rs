//! A rule engine: rules as data, conditions as JavaScript expressions over frozen `facts`.
//!
//! ```yaml
//! rules:
//!   - id: big-order
//!     description: Orders over 1000 ship free
//!     priority: 10                       # higher first; ties keep file order
//!     condition: facts.order.total > 1000
//!     actions: { shipping: free }        # any JSON, returned as is when the rule fires
//!     output: "({ discount: facts.order.total * 0.05 })"   # optional expression
//! ```
//!
//! A [`RuleSet`] parses, validates and compiles once (it is `Send + Sync`: share it between
//! threads); a [`RuleEngine`] evaluates it against many fact sets in one sandbox context.
//! Facts are copied in and deep-frozen; conditions run in strict mode with frozen intrinsics
//! and a frozen global object, so a rule cannot change the facts or leave state behind for
//! other rules or the next fact set: the engine's own hooks are frozen arrow functions that
//! need a per-set secret, and the rules are compiled outside the engine's lexical scope. A rule that throws, loops or runs out of memory is reported with its error and
//! the other rules still run (per-rule limits).
//!
//! ```
//! # fn main() -> sandvm_apps::Result<()> {
//! use sandvm_apps::rules::{RuleEngine, RuleLimits, RuleSet};
//! let set = RuleSet::from_yaml(
//!     "- { id: adult, condition: facts.age >= 18, actions: [allow] }\n- { id: loop, condition: 'eval(\"for(;;){}\")' }",
//!     "rules.yaml",
//! )?;
//! let mut engine = RuleEngine::new(&set, RuleLimits::default())?;
//! let out = engine.evaluate(&serde_json::json!({"age": 30}))?;
//! assert_eq!(out.fired[0].id, "adult");
//! assert_eq!(out.errors[0].kind, "timeout");
//! # Ok(()) }
//! ```
//!
//! ## How evaluation is bounded
//!
//! The engine first runs every rule in one sandbox call whose time limit is the per-rule
//! limit; exceptions are caught per rule inside it. If that call hits a limit, the engine
//! falls back to one sandbox call per rule (each with the per-rule limits), so the offending
//! rule is identified and reported; it is then *quarantined*: later evaluations run it on its
//! own and the others together. The whole evaluation is also bounded by
//! [`RuleLimits::evaluation_timeout`].

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::read_text;
use crate::{Error, Result};

/// One rule as written in a rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique identifier.
    pub id: String,
    /// Free text for people. By default, empty.
    #[serde(default)]
    pub description: String,
    /// Higher priorities are evaluated (and reported) first; equal priorities keep file order.
    /// By default, 0.
    #[serde(default)]
    pub priority: i64,
    /// A JavaScript expression over `facts`; the rule fires when it is truthy. Also accepted
    /// as `when`.
    #[serde(alias = "when")]
    pub condition: String,
    /// Any JSON value returned as is when the rule fires (also accepted as `then` or
    /// `outcome`). By default, `null`.
    #[serde(default, alias = "then", alias = "outcome")]
    pub actions: Json,
    /// An optional JavaScript expression over `facts` evaluated when the rule fires; its value
    /// (copied as JSON) is the rule's output. By default, none.
    #[serde(default)]
    pub output: Option<String>,
    /// When the rule fires, lower-priority rules are not evaluated. By default, `false`.
    #[serde(default)]
    pub stop: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RulesFile {
    List(Vec<Rule>),
    Doc {
        #[serde(default)]
        name: Option<String>,
        rules: Vec<Rule>,
    },
}

/// A validated, compiled rule set. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct RuleSet {
    inner: Arc<SetInner>,
}

#[derive(Debug)]
struct SetInner {
    name: String,
    /// In evaluation order (priority descending, then file order).
    rules: Vec<Rule>,
    setup: sandvm::Script,
    /// The secret the host passes to the hooks (see [`crate::secret_token`]).
    token: String,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's id.
    pub id: String,
    /// The rule's priority.
    pub priority: i64,
    /// The rule's `actions`, as written.
    pub actions: Json,
    /// The value of the rule's `output` expression, or `null` when it has none.
    pub output: Json,
}

/// A rule whose condition or output failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFailure {
    /// The rule's id.
    pub id: String,
    /// `exception` (it threw), a sandbox limit (`timeout`, `memory_limit`, `stack_overflow`,
    /// `output_limit`, `job_limit`), `not_json` (its output has no JSON form), or
    /// `evaluation_timeout` (the evaluation's own time budget ran out before it ran).
    pub kind: String,
    /// The JavaScript error name (`TypeError`, ...), when there is one.
    pub name: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// The result of evaluating one fact set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rules that fired, in evaluation order (priority descending, then file order).
    pub fired: Vec<FiredRule>,
    /// Rules that failed, in evaluation order. A failed rule did not fire.
    pub errors: Vec<RuleFailure>,
    /// How many rules were evaluated (fewer than the set when a `stop` rule fired).
    pub evaluated: usize,
    /// Wall-clock milliseconds of the evaluation.
    pub wall_ms: f64,
}

/// Limits of a [`RuleEngine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLimits {
    /// Time one rule (condition plus output) may take. By default, 100 ms.
    pub rule_timeout: Duration,
    /// Time one whole evaluation may take; rules not run by then fail with
    /// `evaluation_timeout`. By default, 2 s.
    pub evaluation_timeout: Duration,
    /// The sandbox's other limits (the one [`sandvm::Limits`] type): engine heap 32 MiB,
    /// stack 256 KiB, output (rule outputs plus console) of one sandbox call 1 MiB, 10,000
    /// promise jobs per call, no CPU budget. Its `timeout` is not used: each sandbox call is
    /// bounded by `rule_timeout` and what is left of `evaluation_timeout`.
    pub sandbox: sandvm::Limits,
    /// Deterministic mode (seeded `Math.random`, `Date` fixed at 0): the same facts always
    /// give the same result. By default, `true`.
    pub deterministic: bool,
}

impl Default for RuleLimits {
    fn default() -> Self {
        RuleLimits {
            rule_timeout: Duration::from_millis(100),
            evaluation_timeout: Duration::from_secs(2),
            sandbox: sandvm::Limits {
                timeout: None,
                cpu_time: None,
                memory: 32 * 1024 * 1024,
                stack: 256 * 1024,
                max_output: 1024 * 1024,
                max_jobs: 10_000,
            },
            deterministic: true,
        }
    }
}

const PRELUDE: &str = r#"
  const freeze = (o) => {
    if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
      Object.freeze(o);
      for (const k of Object.keys(o)) freeze(o[k]);
    }
    return o;
  };
  const errOf = (e) => {
    if (e instanceof Error) {
      let name = null, message = '';
      try { name = String(e.name); message = String(e.message); } catch (_) { message = 'error'; }
      return { kind: 'exception', name, message };
    }
    let message;
    try { message = typeof e === 'string' ? e : JSON.stringify(e) ?? String(e); } catch (_) { message = typeof e; }
    return { kind: 'exception', name: null, message: 'uncaught ' + message };
  };
  const one = (i, facts) => {
    try {
      const r = rules[i](facts);
      if (r === 0) return 0;
      const out = r[1];
      if (out === undefined) return 1;
      let text;
      try { text = JSON.stringify(out); } catch (e) {
        return { kind: 'not_json', name: e && e.name || null, message: 'the output has no JSON form: ' + (e && e.message) };
      }
      return [1, text === undefined ? null : JSON.parse(text)];
    } catch (e) {
      return errOf(e);
    }
  };
  const fired = (r) => r === 1 || Array.isArray(r);
  // The host hooks: arrow functions (no `prototype` object), frozen, and callable only with
  // the rule set's secret token, which no guest code can read.
  const hook = (name, f) => Object.defineProperty(globalThis, name, { value: Object.freeze(f) });
  hook('__sandvm_rules_all', (token, facts, skip) => {
    if (token !== TOKEN) throw new TypeError('internal hook');
    freeze(facts);
    const out = new Array(rules.length).fill(null);
    for (let i = 0; i < rules.length; i++) {
      if (skip[i]) continue;
      out[i] = one(i, facts);
      if (stops[i] && fired(out[i])) break;
    }
    return out;
  });
  hook('__sandvm_rules_one', (token, i, facts) => {
    if (token !== TOKEN) throw new TypeError('internal hook');
    return one(i, freeze(facts));
  });
  Object.freeze(globalThis);
"#;

impl RuleSet {
    /// Parses, validates and compiles rules written in YAML (a list of rules, or a mapping
    /// with `rules:` and an optional `name:`). JSON is valid YAML. `what` names the source in
    /// errors.
    ///
    /// # Errors
    /// [`Error::TooLarge`] or [`Error::TooDeep`] past the bounds of [`crate::input`];
    /// [`Error::Parse`] when the text does not parse or has unknown fields; see
    /// [`RuleSet::new`] for the rest.
    pub fn from_yaml(text: &str, what: &str) -> Result<RuleSet> {
        crate::input::check_text(text, what)?;
        let file: RulesFile = serde_norway::from_str(text).map_err(|e| Error::parse(what, e))?;
        Self::from_file(file, what)
    }

    /// As [`RuleSet::from_yaml`] for JSON text.
    ///
    /// # Errors
    /// As [`RuleSet::from_yaml`].
    pub fn from_json(text: &str, what: &str) -> Result<RuleSet> {
        crate::input::check_text(text, what)?;
        let file: RulesFile = serde_json::from_str(text).map_err(|e| Error::parse(what, e))?;
        Self::from_file(file, what)
    }

    /// Reads a rules file: `.json` as JSON, anything else as YAML.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; otherwise as [`RuleSet::from_yaml`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<RuleSet> {
        let path = path.as_ref();
        let text = read_text(path)?;
        let what = path.display().to_string();
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            Self::from_json(&text, &what)
        } else {
            Self::from_yaml(&text, &what)
        }
    }

    fn from_file(file: RulesFile, what: &str) -> Result<RuleSet> {
        let (name, rules) = match file {
            RulesFile::List(r) => (None, r),
            RulesFile::Doc { name, rules } => (name, rules),
        };
        let mut set = RuleSet::new(rules)?;
        if let Some(inner) = Arc::get_mut(&mut set.inner) {
            inner.name = name.unwrap_or_else(|| what.to_string());
        }
        Ok(set)
    }

    /// Validates and compiles rules.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty or duplicate id or an empty condition;
    /// [`Error::Rule`] (with a [`sandvm::Error::Syntax`]) for a condition or output that is
    /// not one JavaScript expression.
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet> {
        let mut seen = std::collections::HashSet::new();
        for r in &rules {
            if r.id.trim().is_empty() {
                return Err(Error::invalid("rules", "a rule has an empty id"));
            }
            if !seen.insert(r.id.clone()) {
                return Err(Error::invalid("rules", format!("duplicate rule id '{}'", r.id)));
            }
            if r.condition.trim().is_empty() {
                return Err(Error::invalid(format!("rule '{}'", r.id), "the condition is empty"));
            }
            check_expression(&r.id, "condition", &r.condition)?;
            if let Some(out) = &r.output {
                check_expression(&r.id, "output", out)?;
            }
        }
        let mut order: Vec<usize> = (0..rules.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(rules[i].priority), i));
        let mut slots = rules.into_iter().map(Some).collect::<Vec<_>>();
        let rules: Vec<Rule> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let token = crate::secret_token();
        let setup = compile_set(&rules, &token)?;
        Ok(RuleSet { inner: Arc::new(SetInner { name: "rules".into(), rules, setup, token }) })
    }

    /// The rules in evaluation order (priority descending, then file order).
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }

    /// The set's name (the file's `name:`, else the file name).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Evaluates one fact set in a fresh engine (convenient for one-off use; keep a
    /// [`RuleEngine`] to evaluate many).
    ///
    /// # Errors
    /// As [`RuleEngine::new`] and [`RuleEngine::evaluate`].
    pub fn evaluate_once(&self, facts: &Json, limits: RuleLimits) -> Result<Evaluation> {
        RuleEngine::new(self, limits)?.evaluate(facts)
    }
}

/// Checks that `expr` compiles, and that it parses inside parentheses on its own: then its
/// braces balance, so it cannot close the function it is placed in and reach other rules.
fn check_expression(id: &str, part: &str, expr: &str) -> Result<()> {
    let strict = sandvm::ScriptOptions { filename: format!("rule:{id}:{part}"), strict: true };
    let standalone = format!("(\n{expr}\n)");
    let wrapped = format!("(function (facts) {{ return (\n{expr}\n); }})");
    for src in [&standalone, &wrapped] {
        sandvm::Script::with_options(src, strict.clone()).map_err(|e| Error::Rule {
            rule: id.to_string(),
            source: Box::new(match e {
                sandvm::Error::Syntax { message, line, column, incomplete_input } => sandvm::Error::Syntax {
                    message: format!("in the {part}: {message}"),
                    line: line.map(|l| l.saturating_sub(1).max(1)),
                    column,
                    incomplete_input,
                },
                other => other,
            }),
        })?;
    }
    Ok(())
}

fn compile_set(rules: &[Rule], token: &str) -> Result<sandvm::Script> {
    // The rule functions are built in their own function at the top level of the script, so
    // their conditions see the global scope only: none of the prelude's bindings (the rules
    // array, the token, the helpers) is in their lexical scope.
    let mut src = String::from("(function (rules) {\n'use strict';\nconst stops = ");
    src.push_str(&serde_json::to_string(&rules.iter().map(|r| r.stop).collect::<Vec<_>>()).unwrap_or_default());
    src.push_str(";\nconst TOKEN = ");
    src.push_str(&serde_json::to_string(token).unwrap_or_default());
    src.push_str(";\nObject.freeze(rules);\n");
    src.push_str(PRELUDE);
    src.push_str("})((function () {\n'use strict';\nreturn [\n");
    for r in rules {
        src.push_str("function (facts) {\nif (!(\n");
        src.push_str(&r.condition);
        src.push_str("\n)) return 0;\nreturn [1, (\n");
        src.push_str(r.output.as_deref().unwrap_or("undefined"));
        src.push_str("\n)];\n},\n");
    }
    src.push_str("];\n})());\n");
    let opts = sandvm::ScriptOptions { filename: "<rules>".into(), strict: true };
    sandvm::Script::with_options(&src, opts).map_err(|e| Error::Rule { rule: "(rule set)".into(), source: Box::new(e) })
}

/// Evaluates a [`RuleSet`] against fact sets, in one sandbox runtime and context. Not `Send`
/// (it owns a sandbox); make one per thread from a shared [`RuleSet`].
pub struct RuleEngine {
    set: RuleSet,
    limits: RuleLimits,
    ctx: sandvm::Context,
    quarantined: Vec<bool>,
    /// Set when the batch call hits a limit although no single rule does: every evaluation
    /// then runs rule by rule.
    one_by_one: bool,
}

impl std::fmt::Debug for RuleEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleEngine")
            .field("set", &self.set.name())
            .field("limits", &self.limits)
            .field("quarantined", &self.quarantined)
            .finish_non_exhaustive()
    }
}

/// One rule's raw result from the guest.
enum Raw {
    NotRun,
    NotFired,
    Fired(Json),
    Failed(RuleFailure),
}

impl RuleEngine {
    /// Makes an engine for `set` under `limits`.
    ///
    /// # Errors
    /// [`Error::Sandbox`] when the sandbox cannot be created or the rule set fails to load
    /// (which only a limit can cause).
    pub fn new(set: &RuleSet, limits: RuleLimits) -> Result<RuleEngine> {
        let rt = sandvm::Runtime::new(Self::sandbox_limits(&limits, limits.evaluation_timeout))?;
        let mut opts = sandvm::ContextOptions::default().strict(true).freeze_intrinsics(true).filename("<rules>");
        if limits.deterministic {
            opts = opts.deterministic(Some(sandvm::Deterministic::default()));
        }
        let ctx = sandvm::Context::new(&rt, opts)?;
        let n = set.rules().len();
        let engine = RuleEngine { set: set.clone(), limits, ctx, quarantined: vec![false; n], one_by_one: false };
        // The compiled rules are the context's recorded setup: after a limit the core loads
        // them again on the fresh engine.
        engine.ctx.run_setup(sandvm::SetupStep::compiled(&engine.set.inner.setup))?;
        Ok(engine)
    }

    fn sandbox_limits(l: &RuleLimits, timeout: Duration) -> sandvm::Limits {
        sandvm::Limits { timeout: Some(timeout), ..l.sandbox.clone() }
    }

    /// The rule set.
    pub fn rule_set(&self) -> &RuleSet {
        &self.set
    }

    /// Ids of the rules that hit a limit and now run on their own.
    pub fn quarantined(&self) -> Vec<&str> {
        self.set.rules().iter().zip(&self.quarantined).filter(|(_, q)| **q).map(|(r, _)| r.id.as_str()).collect()
    }

    /// Evaluates the rules against a copy of `facts`.
    ///
    /// # Errors
    /// Rule failures are not errors: they are listed in [`Evaluation::errors`]. An `Err` means
    /// the sandbox itself failed ([`Error::Sandbox`] with [`sandvm::Error::Host`]), the facts
    /// nest deeper than [`crate::input::MAX_DEPTH`] ([`Error::TooDeep`]), or they are too
    /// large for the limits to even load them.
    pub fn evaluate(&mut self, facts: &Json) -> Result<Evaluation> {
        crate::input::check_depth(facts, "facts")?;
        let started = Instant::now();
        let n = self.set.rules().len();
        let mut raw: Vec<Raw> = (0..n).map(|_| Raw::NotRun).collect();
        let mut individual = vec![self.one_by_one; n];
        let mut batch_failed = false;
        if !self.one_by_one {
            let skip: Vec<bool> = self.quarantined.clone();
            let rt = self.ctx.runtime().clone();
            let budget = self.limits.evaluation_timeout.min(self.limits.rule_timeout);
            rt.set_limits(Self::sandbox_limits(&self.limits, budget));
            let r = self.ctx.call(
                "__sandvm_rules_all",
                &[Json::from(self.set.inner.token.as_str()), facts.clone(), Json::from(skip.clone())],
            );
            match r {
                Ok(c) => {
                    let items = match c.value {
                        Some(Json::Array(a)) if a.len() == n => a,
                        _ => return Err(sandvm::Error::Host("the rule set returned a malformed result".into()).into()),
                    };
                    for (i, item) in items.into_iter().enumerate() {
                        if skip[i] {
                            individual[i] = true;
                        } else {
                            raw[i] = decode(&self.set.rules()[i], item);
                        }
                    }
                }
                // A limit spent the engine (the core's answer, not a guess from the error).
                Err(_) if self.ctx.runtime().is_spent() => {
                    batch_failed = true;
                    individual = vec![true; n];
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Rule by rule: the quarantined ones, or all after a batch that hit a limit.
        let mut any_limit = false;
        let mut stopped = false;
        for i in 0..n {
            if stopped {
                raw[i] = Raw::NotRun;
                continue;
            }
            if individual[i] {
                let rule = &self.set.rules()[i];
                let left = self.limits.evaluation_timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    raw[i] = Raw::Failed(RuleFailure {
                        id: rule.id.clone(),
                        kind: "evaluation_timeout".into(),
                        name: None,
                        message: "the evaluation's time budget ran out before this rule ran".into(),
                    });
                    continue;
                }
                let rt = self.ctx.runtime().clone();
                rt.set_limits(Self::sandbox_limits(&self.limits, left.min(self.limits.rule_timeout)));
                let rule = &self.set.rules()[i];
                raw[i] = match self.ctx.call(
                    "__sandvm_rules_one",
                    &[Json::from(self.set.inner.token.as_str()), Json::from(i), facts.clone()],
                ) {
                    Ok(c) => decode(rule, c.value.unwrap_or(Json::Null)),
                    Err(e) if self.ctx.runtime().is_spent() => {
                        any_limit = true;
                        if !matches!(e, sandvm::Error::Timeout) || left >= self.limits.rule_timeout {
                            self.quarantined[i] = true;
                        }
                        Raw::Failed(RuleFailure {
                            id: rule.id.clone(),
                            kind: e.kind().into(),
                            name: None,
                            message: e.to_string(),
                        })
                    }
                    Err(e) => return Err(e.into()),
                };
            }
            if matches!(raw[i], Raw::Fired(_)) && self.set.rules()[i].stop {
                stopped = true;
            }
        }
        if batch_failed && !any_limit {
            // The rules together are slower than one rule may be; none is at fault alone.
            self.one_by_one = true;
        }
        let mut out = Evaluation { fired: Vec::new(), errors: Vec::new(), evaluated: 0, wall_ms: 0.0 };
        for (rule, r) in self.set.rules().iter().zip(raw) {
            match r {
                Raw::NotRun => {}
                Raw::NotFired => out.evaluated += 1,
                Raw::Fired(output) => {
                    out.evaluated += 1;
                    out.fired.push(FiredRule {
                        id: rule.id.clone(),
                        priority: rule.priority,
                        actions: rule.actions.clone(),
                        output,
                    });
                }
                Raw::Failed(f) => {
                    out.evaluated += 1;
                    out.errors.push(f);
                }
            }
        }
        out.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(out)
    }
}

fn decode(rule: &Rule, item: Json) -> Raw {
    match item {
        Json::Null => Raw::NotRun,
        Json::Number(n) if n.as_u64() == Some(0) => Raw::NotFired,
        Json::Number(_) => Raw::Fired(Json::Null),
        Json::Array(mut a) if a.len() == 2 => Raw::Fired(a.pop().unwrap_or(Json::Null)),
        Json::Object(o) => Raw::Failed(RuleFailure {
            id: rule.id.clone(),
            // Only the two kinds the prelude itself reports; a limit is never read from a
            // guest value.
            kind: match o.get("kind").and_then(Json::as_str) {
                Some("not_json") => "not_json",
                _ => "exception",
            }
            .to_string(),
            name: o.get("name").and_then(Json::as_str).map(str::to_string),
            message: o.get("message").and_then(Json::as_str).unwrap_or("").to_string(),
        }),
        other => Raw::Failed(RuleFailure {
            id: rule.id.clone(),
            kind: "exception".into(),
            name: None,
            message: format!("malformed rule result {other}"),
        }),
    }
}

/// Renders an evaluation for people: one line per fired rule, then the errors.
pub fn render_human(ev: &Evaluation) -> String {
    let mut s = String::new();
    for f in &ev.fired {
        s.push_str(&format!("fired {} (priority {})", f.id, f.priority));
        if !f.actions.is_null() {
            s.push_str(&format!(" actions={}", f.actions));
        }
        if !f.output.is_null() {
            s.push_str(&format!(" output={}", f.output));
        }
        s.push('\n');
    }
    for e in &ev.errors {
        let name = e.name.as_deref().map(|n| format!("{n}: ")).unwrap_or_default();
        s.push_str(&format!("error {} [{}] {name}{}\n", e.id, e.kind, e.message));
    }
    s.push_str(&format!(
        "{} fired, {} failed, {} evaluated ({:.2} ms)\n",
        ev.fired.len(),
        ev.errors.len(),
        ev.evaluated,
        ev.wall_ms
    ));
    s
}
