//! A test runner: Jest-style test files run inside the sandbox.
//!
//! Each file (`*.test.js`, `*.test.mjs`, ...) runs as an ES module in a fresh runtime and
//! context, with `describe`/`it`/`test` (and `.skip`, `.only`, `test.todo`, `xit`, `fit`),
//! hooks (`beforeAll`, `afterAll`, `beforeEach`, `afterEach`) and `expect` with the common
//! matchers (`toBe`, `toEqual`, `toStrictEqual`, `toMatchObject`, `toBeTruthy`, `toBeFalsy`,
//! `toBeNull`, `toBeUndefined`, `toBeDefined`, `toBeNaN`, `toBeInstanceOf`, `toContain`,
//! `toContainEqual`, `toMatch`, `toThrow`, `toHaveLength`, `toHaveProperty`,
//! `toBeGreaterThan(OrEqual)`, `toBeLessThan(OrEqual)`, `toBeCloseTo`, `.not`, `.resolves`,
//! `.rejects`, and `expect.any/anything/stringContaining/stringMatching/objectContaining/
//! arrayContaining`). Tests may be `async`, return a promise, or take a `done` callback;
//! `setTimeout` and friends are available. A file may import relative modules under its own
//! directory.
//!
//! **Granularity.** The file's top level (registration) is one sandbox run; then *each test* is
//! a separate sandbox call with its own time limit ([`TestOptions::limits`]'s `timeout`, or the third
//! argument of `test(name, fn, ms)` clamped to it) and the runtime's memory limit, its hooks
//! included. A test
//! that hangs, loops or blows the memory limit fails with that kind (`timeout`,
//! `memory_limit`, `unsettled`, ...) and the run goes on: the sandbox is reset, the file's top
//! level runs again (so `beforeAll` hooks run again before the next test), and the next test
//! runs.
//!
//! **Hostile test files.** The framework's own code captures the intrinsics it uses before the
//! file runs and hands results to the host as text that the host parses and validates; its
//! hooks need a per-file secret, so test code can neither call them nor forge a pass, a failure
//! kind or a limit by replacing `Array.prototype`, `JSON`, `String`, `Promise` or `toJSON`
//! (`Promise.prototype.then` and `.constructor` are read-only for that reason). Matchers
//! (`expect`) run in the file's realm: a file that replaces the intrinsics its own assertions
//! use changes what those assertions check, as in Jest.
//!
//! ```
//! # fn main() -> sandvm_apps::Result<()> {
//! use sandvm_apps::testrunner::{run_source, TestOptions};
//! let file = run_source(
//!     "test('adds', () => expect(1 + 2).toBe(3));\ntest('hangs', () => { for (;;) {} }, 50);",
//!     "math.test.js",
//!     &TestOptions::default(),
//! );
//! assert_eq!(file.passed(), 1);
//! assert_eq!(file.tests[1].failure.as_ref().map(|f| f.kind.as_str()), Some("timeout"));
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::{Error, Result};

const PRELUDE: &str = include_str!("testrunner_prelude.js");

/// How tests run.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The limits of one test (the one [`sandvm::Limits`] type). `timeout` is the time limit
    /// of one test, its hooks included: by default 5 s (as in Jest). It is also the ceiling: a
    /// test may ask for less with `test(name, fn, ms)`, and a request for more is clamped to
    /// it ([`sandvm::Limits::clamp_to`]: the operator's limit is never exceeded). `memory` is
    /// the engine heap of a file's runtime (64 MiB), `stack` 256 KiB, `max_output` the console
    /// plus results of one test (1 MiB), `max_jobs` 1,000,000, no `cpu_time` budget.
    pub limits: sandvm::Limits,
    /// Time limit of a file's top level (where tests are registered). By default, 5 s.
    pub collect_timeout: Duration,
    /// Deterministic mode (seeded `Math.random`, fixed `Date`, virtual timers). By default,
    /// `false`.
    pub deterministic: bool,
    /// Run only tests whose full name (`describe > test`) contains this text. By default, all.
    pub filter: Option<String>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            limits: sandvm::Limits { timeout: Some(Duration::from_secs(5)), ..sandvm::Limits::default() },
            collect_timeout: Duration::from_secs(5),
            deterministic: false,
            filter: None,
        }
    }
}

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and passed.
    Passed,
    /// It failed (assertion, exception, limit).
    Failed,
    /// It was skipped (`.skip`, not `.only`, or filtered out).
    Skipped,
    /// `test.todo`.
    Todo,
}

/// Why a test (or a file) failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFailure {
    /// `assertion` (an `expect` failed), `exception` (anything else thrown), or a sandbox error
    /// kind: `timeout`, `memory_limit`, `stack_overflow`, `output_limit`, `job_limit`,
    /// `unsettled` (a promise that can never settle), `syntax`, `module_not_found`, ...
    pub kind: String,
    /// The JavaScript error name, when there is one.
    pub name: Option<String>,
    /// The message (an assertion's message has `Expected:`/`Received:` lines).
    pub message: String,
    /// The guest stack trace, when there is one.
    pub stack: Option<String>,
}

impl TestFailure {
    fn from_error(e: &sandvm::Error) -> TestFailure {
        let r = sandvm::ErrorReport::from(e);
        let message = match e {
            sandvm::Error::Unsettled => "the test never finished (it waits for a promise that can never settle)".into(),
            sandvm::Error::Timeout => "the test timed out".into(),
            _ => r.message,
        };
        TestFailure { kind: r.kind, name: r.name, message, stack: r.stack }
    }
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Full name: the enclosing `describe` names and the test's, joined by ` > `.
    pub name: String,
    /// The outcome.
    pub status: Status,
    /// Why it failed, when it did.
    pub failure: Option<TestFailure>,
    /// Wall-clock milliseconds.
    pub duration_ms: f64,
    /// What the test printed with `console`.
    pub console: Vec<sandvm::ConsoleEntry>,
}

/// One file's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileResult {
    /// The file as given.
    pub file: String,
    /// Its tests, in registration order.
    pub tests: Vec<TestResult>,
    /// When the file could not run at all (read error, syntax error, an exception or a limit
    /// at its top level): why. Such a file counts as one failure.
    pub error: Option<TestFailure>,
    /// Wall-clock milliseconds for the whole file.
    pub duration_ms: f64,
}

impl FileResult {
    fn count(&self, s: Status) -> usize {
        self.tests.iter().filter(|t| t.status == s).count()
    }
    /// Tests that passed.
    pub fn passed(&self) -> usize {
        self.count(Status::Passed)
    }
    /// Tests that failed, plus one when the file itself failed.
    pub fn failed(&self) -> usize {
        self.count(Status::Failed) + usize::from(self.error.is_some())
    }
    /// Tests skipped or todo.
    pub fn skipped(&self) -> usize {
        self.count(Status::Skipped) + self.count(Status::Todo)
    }
}

/// The results of a run over several files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    /// Per file, in the order run.
    pub files: Vec<FileResult>,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed (plus files that could not run).
    pub failed: usize,
    /// Tests skipped or todo.
    pub skipped: usize,
    /// Wall-clock milliseconds of the whole run.
    pub duration_ms: f64,
}

impl TestRun {
    /// True when nothing failed.
    pub fn success(&self) -> bool {
        self.failed == 0
    }
}

fn prelude() -> Result<sandvm::Script> {
    static SCRIPT: OnceLock<std::result::Result<sandvm::Script, sandvm::Error>> = OnceLock::new();
    SCRIPT
        .get_or_init(|| {
            sandvm::Script::with_options(
                PRELUDE,
                sandvm::ScriptOptions { filename: "<test-framework>".into(), strict: true },
            )
        })
        .clone()
        .map_err(Error::Sandbox)
}

/// Is `path` a test file by name: `*.test.js`, `*.test.mjs`, `*.spec.js`, `*.spec.mjs` (and, with
/// TypeScript built in, `*.test.ts`, `*.test.mts`, `*.spec.ts`, `*.spec.mts`)?
pub fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".test.js", ".test.mjs", ".spec.js", ".spec.mjs"].iter().any(|s| name.ends_with(s))
        || (sandvm::Language::TypeScript.is_available()
            && [".test.ts", ".test.mts", ".spec.ts", ".spec.mts"].iter().any(|s| name.ends_with(s)))
}

/// Expands `paths`: files are kept as given; directories are searched recursively (skipping
/// `node_modules` and hidden directories) for test files ([`is_test_file`]), sorted.
///
/// # Errors
/// [`Error::Io`] when a path does not exist or a directory cannot be read.
pub fn find_test_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if name != "node_modules" && !name.starts_with('.') {
                    walk(&p, out)?;
                }
            } else if is_test_file(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Runs test files one after the other (each in its own runtime).
pub fn run_files(files: &[PathBuf], opts: &TestOptions) -> TestRun {
    let started = Instant::now();
    let files: Vec<FileResult> = files
        .iter()
        .map(|f| {
            // One file never loses the others' results, even if the runner itself panics.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_file(f, opts))).unwrap_or_else(|_| {
                FileResult {
                    file: f.display().to_string(),
                    tests: Vec::new(),
                    error: Some(TestFailure {
                        kind: "host".into(),
                        name: None,
                        message: "the test runner failed on this file".into(),
                        stack: None,
                    }),
                    duration_ms: 0.0,
                }
            })
        })
        .collect();
    let mut run = TestRun { passed: 0, failed: 0, skipped: 0, duration_ms: 0.0, files };
    for f in &run.files {
        run.passed += f.passed();
        run.failed += f.failed();
        run.skipped += f.skipped();
    }
    run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run
}

/// Runs one test file; relative imports resolve under its directory.
pub fn run_file(path: &Path, opts: &TestOptions) -> FileResult {
    let started = Instant::now();
    let shown = path.display().to_string();
    let fail = |f: TestFailure| FileResult {
        file: shown.clone(),
        tests: Vec::new(),
        error: Some(f),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    let source = match crate::error::read_text(path) {
        Ok(s) => s,
        Err(e) => return fail(TestFailure { kind: "io".into(), name: None, message: e.to_string(), stack: None }),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("test.js").to_string();
    let modules = match sandvm::ModuleConfig::new().root(&dir) {
        Ok(m) => m,
        Err(e) => return fail(TestFailure::from_error(&e)),
    };
    let mut r = run_module_tests(&source, &name, modules, opts);
    r.file = shown;
    r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    r
}

/// Runs test source named `name` (no imports).
pub fn run_source(source: &str, name: &str, opts: &TestOptions) -> FileResult {
    let started = Instant::now();
    let mut r = run_module_tests(source, name, sandvm::ModuleConfig::new(), opts);
    r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    r
}

struct FileCtx<'a> {
    ctx: sandvm::Context,
    source: &'a str,
    name: &'a str,
    opts: &'a TestOptions,
    /// The secret the framework's hooks require (see [`crate::secret_token`]).
    token: String,
}

/// One registered test as the framework lists it (parsed from the text it returns).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Listed {
    id: u64,
    name: String,
    mode: ListedMode,
    timeout: Option<f64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ListedMode {
    Run,
    Skip,
    Todo,
}

/// One test's outcome as the framework reports it (parsed from the text it returns).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reported {
    status: String,
    #[serde(default)]
    error: Option<ReportedError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportedError {
    kind: String,
    name: Option<String>,
    message: String,
    stack: Option<String>,
}

/// Parses what a framework hook returned: it must be a string holding JSON of type `T`.
fn parse_reply<T: serde::de::DeserializeOwned>(
    value: Option<Json>,
    what: &str,
) -> std::result::Result<T, sandvm::Error> {
    let text = match value {
        Some(Json::String(t)) => t,
        _ => return Err(sandvm::Error::Host(format!("the test framework returned a malformed {what}"))),
    };
    serde_json::from_str(&text)
        .map_err(|e| sandvm::Error::Host(format!("the test framework returned a malformed {what}: {e}")))
}

/// The limits of a test that asks for `requested` milliseconds: the options' limits with
/// that timeout, clamped to them ([`sandvm::Limits::clamp_to`]: never more than the ceiling).
fn test_limits(requested: Option<f64>, ceiling: &sandvm::Limits) -> sandvm::Limits {
    let asked =
        requested.filter(|ms| ms.is_finite() && *ms > 0.0).and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
    match asked {
        Some(t) => sandvm::Limits { timeout: Some(t), ..ceiling.clone() }.clamp_to(ceiling),
        None => ceiling.clone(),
    }
}

/// The outcome of one test from the framework's report. Only `passed` passes; the kind is
/// `assertion` or `exception` whatever the report says (a limit is never read from a guest
/// value).
fn outcome_of(r: Reported) -> (Status, Option<TestFailure>) {
    if r.status == "passed" && r.error.is_none() {
        return (Status::Passed, None);
    }
    let failure = match r.error {
        Some(e) => TestFailure {
            kind: if e.kind == "assertion" { "assertion" } else { "exception" }.into(),
            name: e.name,
            message: e.message,
            stack: e.stack,
        },
        None => TestFailure {
            kind: "exception".into(),
            name: None,
            message: format!("the test reported status {:?}", r.status),
            stack: None,
        },
    };
    (Status::Failed, Some(failure))
}

impl FileCtx<'_> {
    fn limits(&self, timeout: Duration) -> sandvm::Limits {
        sandvm::Limits { timeout: Some(timeout), ..self.opts.limits.clone() }
    }

    /// Loads the framework and runs the file's top level as the context's recorded setup (the
    /// core runs it again on a fresh engine after a test hits a limit); returns the registered
    /// tests.
    fn load(&mut self) -> std::result::Result<Vec<Listed>, sandvm::Error> {
        let rt = self.ctx.runtime().clone();
        rt.set_limits(self.limits(self.opts.collect_timeout));
        let script = prelude().map_err(|e| match e {
            Error::Sandbox(s) => s,
            other => sandvm::Error::Host(other.to_string()),
        })?;
        self.ctx.run_setup(sandvm::SetupStep::compiled(&script))?;
        self.ctx.run_setup(sandvm::SetupStep::call("__sandvm_test_init", &[Json::from(self.token.as_str())]))?;
        self.ctx.run_setup(sandvm::SetupStep::module(self.source, self.name))?;
        let listed = self.ctx.call("__sandvm_test_list", &[Json::from(self.token.as_str())])?;
        let listed: Vec<Listed> = parse_reply(listed.value, "test list")?;
        if listed.iter().enumerate().any(|(i, t)| t.id != i as u64) {
            return Err(sandvm::Error::Host(
                "the test framework returned a malformed test list: ids out of order".into(),
            ));
        }
        Ok(listed)
    }
}

fn run_module_tests(source: &str, name: &str, modules: sandvm::ModuleConfig, opts: &TestOptions) -> FileResult {
    let mut result = FileResult { file: name.to_string(), tests: Vec::new(), error: None, duration_ms: 0.0 };
    let caps = sandvm::Capabilities::none().timers(true).queue_microtask(true);
    let mut copts =
        sandvm::ContextOptions::default().strict(true).capabilities(caps).modules(modules.module(name, source));
    if opts.deterministic {
        copts = copts.deterministic(Some(sandvm::Deterministic::default()));
    }
    let base = sandvm::Limits { timeout: Some(opts.collect_timeout), ..opts.limits.clone() };
    let made = sandvm::Runtime::new(base).and_then(|rt| sandvm::Context::new(&rt, copts));
    let ctx = match made {
        Ok(c) => c,
        Err(e) => {
            result.error = Some(TestFailure::from_error(&e));
            return result;
        }
    };
    let mut f = FileCtx { ctx, source, name, opts, token: crate::secret_token() };
    let listed = match f.load() {
        Ok(l) => l,
        Err(e) => {
            let console = f.ctx.take_console();
            let mut failure = TestFailure::from_error(&e);
            if let Some(last) = console.iter().rev().find(|c| c.level == sandvm::ConsoleLevel::Error) {
                failure.message.push_str(&format!("\n(console.error: {})", last.text));
            }
            result.error = Some(failure);
            return result;
        }
    };
    let _ = f.ctx.take_console();
    for t in listed {
        let filtered = opts.filter.as_ref().is_some_and(|flt| !t.name.contains(flt.as_str()));
        let status = match t.mode {
            ListedMode::Todo => Some(Status::Todo),
            ListedMode::Skip => Some(Status::Skipped),
            _ if filtered => Some(Status::Skipped),
            _ => None,
        };
        if let Some(status) = status {
            result.tests.push(TestResult {
                name: t.name,
                status,
                failure: None,
                duration_ms: 0.0,
                console: Vec::new(),
            });
            continue;
        }
        let started = Instant::now();
        let rt = f.ctx.runtime().clone();
        rt.set_limits(test_limits(t.timeout, &opts.limits));
        let outcome = f.ctx.call("__sandvm_test_run", &[Json::from(f.token.as_str()), Json::from(t.id)]);
        let console = f.ctx.take_console();
        let (status, failure) = match outcome.and_then(|c| parse_reply::<Reported>(c.value, "test result")) {
            Ok(r) => outcome_of(r),
            Err(e) => (Status::Failed, Some(TestFailure::from_error(&e))),
        };
        result.tests.push(TestResult {
            name: t.name,
            status,
            failure,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            console,
        });
    }
    result
}

fn summary_line(run: &TestRun) -> String {
    let mut s = format!("{} passed, {} failed", run.passed, run.failed);
    if run.skipped > 0 {
        s.push_str(&format!(", {} skipped", run.skipped));
    }
    s
}

fn indent(text: &str, pad: &str) -> String {
    text.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

/// The human report: per file `PASS`/`FAIL`, one line per test, failure details with the
/// test's console output, and a last line `Tests: N passed, N failed[, N skipped]`.
pub fn render_human(run: &TestRun) -> String {
    let mut s = String::new();
    for f in &run.files {
        let ok = f.failed() == 0;
        s.push_str(&format!("{} {} ({:.0} ms)\n", if ok { "PASS" } else { "FAIL" }, f.file, f.duration_ms));
        if let Some(e) = &f.error {
            s.push_str(&format!("  ✗ the file could not run [{}]\n{}\n", e.kind, indent(&e.message, "      ")));
        }
        for t in &f.tests {
            match t.status {
                Status::Passed => s.push_str(&format!("  ✓ {} ({:.1} ms)\n", t.name, t.duration_ms)),
                Status::Skipped => s.push_str(&format!("  ○ {} (skipped)\n", t.name)),
                Status::Todo => s.push_str(&format!("  ✎ {} (todo)\n", t.name)),
                Status::Failed => {
                    let kind = t.failure.as_ref().map(|f| f.kind.as_str()).unwrap_or("exception");
                    s.push_str(&format!("  ✗ {} [{kind}] ({:.1} ms)\n", t.name, t.duration_ms));
                    if let Some(fl) = &t.failure {
                        let head = match (&fl.name, fl.kind.as_str()) {
                            (Some(n), "exception") => format!("{n}: {}", fl.message),
                            _ => fl.message.clone(),
                        };
                        s.push_str(&indent(&head, "      "));
                        s.push('\n');
                    }
                    for c in &t.console {
                        let level = format!("{:?}", c.level).to_lowercase();
                        s.push_str(&format!("      console.{level}: {}\n", c.text));
                    }
                }
            }
        }
    }
    s.push_str(&format!("\nTime: {:.0} ms\n", run.duration_ms));
    // The last line is the bare summary, which CI tools read.
    s.push_str(&format!("Tests: {}\n", summary_line(run)));
    s
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The TAP version 13 report: one `ok`/`not ok` line per test (named `file > describe > test`),
/// a YAML block with the failure's kind and message, `# SKIP`/`# TODO` directives, and a
/// closing comment `# N passed, N failed`.
pub fn render_tap(run: &TestRun) -> String {
    let mut lines = vec!["TAP version 13".to_string()];
    let mut n = 0;
    let mut body = Vec::new();
    for f in &run.files {
        if let Some(e) = &f.error {
            n += 1;
            body.push(format!("not ok {n} - {}", f.file));
            body.push(format!("  ---\n  kind: {}\n  message: {}\n  ...", e.kind, yaml_str(&e.message)));
        }
        for t in &f.tests {
            n += 1;
            let name = format!("{} > {}", f.file, t.name).replace('#', "\\#");
            match t.status {
                Status::Passed => body.push(format!("ok {n} - {name}")),
                Status::Skipped => body.push(format!("ok {n} - {name} # SKIP")),
                Status::Todo => body.push(format!("not ok {n} - {name} # TODO")),
                Status::Failed => {
                    body.push(format!("not ok {n} - {name}"));
                    if let Some(fl) = &t.failure {
                        body.push(format!("  ---\n  kind: {}\n  message: {}\n  ...", fl.kind, yaml_str(&fl.message)));
                    }
                }
            }
        }
    }
    lines.push(format!("1..{n}"));
    lines.extend(body);
    lines.push(format!("# {}", summary_line(run)));
    lines.join("\n") + "\n"
}

/// The JSON report: the [`TestRun`] as one JSON object.
pub fn render_json(run: &TestRun) -> String {
    serde_json::to_string(run).unwrap_or_else(|e| format!("{{\"error\":{}}}", yaml_str(&e.to_string())))
}
