//! The REPL driver: the guest thread, the line editor (or piped standard input), commands,
//! Ctrl-C handling and printing.
//!
//! The sandbox lives on the guest thread of a [`sandvm::Executor`] (a known, large stack; the
//! engine's stack limit is well below it). The main thread reads input with rustyline and
//! waits for each input's outcome; a Ctrl-C while an input runs cancels its job. If the guest
//! is stuck in a native call the engine cannot interrupt, the executor gives up after the
//! deadline (or the Ctrl-C) plus [`sandvm::grace_for`] its timeout and the REPL exits with
//! code 3.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Editor, Event, EventContext, EventHandler, KeyEvent,
    Movement, RepeatCount,
};
use sandvm::{ConsoleLevel, Error, Executor, ExecutorConfig, JobCancel, Limits};

use crate::classify::{classify_line, LineKind};
use crate::command::{format_limits, format_stats, help_text, parse_command, set_limit, Command};
use crate::render::format_error;
use crate::session::{LineOutcome, LineResult, Session, SessionConfig};
use crate::ReplError;

/// Everything `sandvm repl` needs to start.
#[derive(Debug, Clone)]
pub struct ReplConfig {
    /// The sandbox.
    pub session: SessionConfig,
    /// The history file (`None`: history only in memory).
    pub history: Option<PathBuf>,
    /// Read from a terminal with prompts and line editing. When `false` (standard input is
    /// not a terminal), lines are read from standard input and evaluated one by one, without
    /// prompts, until end of input.
    pub interactive: bool,
}

/// State shared with the Ctrl-C handler.
struct Signals {
    /// An input is running on the guest thread.
    running: AtomicBool,
    /// Cancels the input that runs.
    cancel: Mutex<Option<JobCancel>>,
    interactive: bool,
}

/// The guest thread: a [`sandvm::Executor`] that owns the [`Session`].
#[derive(Clone)]
struct Worker {
    exec: Executor<Session>,
    signals: Arc<Signals>,
}

/// The executor's answer for a job it could not finish, as a REPL error.
fn guest_error(e: Error) -> ReplError {
    match e {
        Error::Timeout | Error::Cancelled => ReplError::GuestThread(
            "the guest is stuck in a native call that the engine cannot interrupt; exiting".into(),
        ),
        other => ReplError::GuestThread(other.to_string()),
    }
}

impl Worker {
    fn start(config: SessionConfig, signals: Arc<Signals>) -> Result<Worker, ReplError> {
        let exec_config = ExecutorConfig { name: "sandvm-repl-guest".into(), ..Default::default() };
        let exec =
            Executor::new(exec_config, move || Session::new(config.clone()).map_err(|e| Error::Host(e.to_string())))
                .map_err(|e| match e {
                    Error::Host(msg) => ReplError::GuestThread(msg),
                    other => ReplError::GuestThread(other.to_string()),
                })?;
        Ok(Worker { exec, signals })
    }

    /// Runs `f` on the guest thread and waits (at most `wait`, if given) for its result.
    fn call<T: Send + 'static>(
        &self,
        wait: Option<Duration>,
        f: impl FnOnce(&mut Session) -> T + Send + 'static,
    ) -> Result<T, ReplError> {
        let mut ticket = self.exec.submit(None, f);
        match wait {
            Some(w) => match ticket.wait_timeout(w) {
                Some(r) => r.map_err(guest_error),
                None => Err(ReplError::GuestThread("the guest thread does not answer".into())),
            },
            None => ticket.wait().map_err(guest_error),
        }
    }

    /// Evaluates one input. Ctrl-C cancels it; the executor reports a guest that neither
    /// finishes nor stops after its deadline (or after Ctrl-C) plus [`sandvm::grace_for`] its
    /// timeout as stuck.
    fn eval(&self, source: String) -> Result<LineOutcome, ReplError> {
        let ticket = self.exec.submit(None, move |s: &mut Session| s.eval(&source));
        if let Ok(mut c) = self.signals.cancel.lock() {
            *c = Some(ticket.cancel_handle());
        }
        self.signals.running.store(true, SeqCst);
        let result = ticket.wait().map_err(guest_error);
        self.signals.running.store(false, SeqCst);
        if let Ok(mut c) = self.signals.cancel.lock() {
            *c = None;
        }
        result
    }
}

/// Rustyline's helper: Tab completion is computed on the guest thread.
struct ReplHelper {
    worker: Worker,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let line = line.to_string();
        Ok(self.worker.call(Some(Duration::from_secs(2)), move |s| s.complete(&line, pos)).unwrap_or((pos, Vec::new())))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {}
impl Validator for ReplHelper {}
impl rustyline::Helper for ReplHelper {}

/// Key state shared with the editor's key handlers.
#[derive(Default)]
struct Keys {
    /// In `.editor` mode.
    editor_mode: AtomicBool,
    /// Ctrl-D was pressed on a non-empty line in editor mode: accept it and finish.
    finish_editor: AtomicBool,
}

/// Ctrl-C on a line with text clears the line in place (keys typed ahead are kept); on an
/// empty line it interrupts `readline` (which drops the unfinished statement, or warns and
/// then exits).
struct CtrlC;
impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        if ctx.line().is_empty() {
            None
        } else {
            Some(Cmd::Kill(Movement::WholeBuffer))
        }
    }
}

struct CtrlD(Arc<Keys>);
impl ConditionalEventHandler for CtrlD {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        if self.0.editor_mode.load(SeqCst) && !ctx.line().is_empty() {
            self.0.finish_editor.store(true, SeqCst);
            return Some(Cmd::AcceptLine);
        }
        None
    }
}

/// What to do after a line.
enum Flow {
    Continue,
    Editor,
    Exit(u8),
}

/// The state of a REPL run that does not depend on where lines come from.
struct Driver {
    worker: Worker,
    limits: Limits,
    /// Lines of an unfinished statement.
    buffer: String,
    /// Every evaluated input, for `.save`.
    inputs: Vec<String>,
    /// Complete inputs to add to the history (drained by the interactive loop).
    new_history: Vec<String>,
}

impl Driver {
    fn print_outcome(&self, outcome: &LineOutcome, source: &str) {
        let mut out = std::io::stdout().lock();
        for entry in &outcome.console {
            match entry.level {
                ConsoleLevel::Warn | ConsoleLevel::Error => {
                    let _ = out.flush();
                    eprintln!("{}", entry.text);
                }
                _ => {
                    let _ = writeln!(out, "{}", entry.text);
                }
            }
        }
        match &outcome.result {
            LineResult::Value(v) => {
                let _ = writeln!(out, "{v}");
            }
            LineResult::Incomplete => {
                let e = Error::Syntax {
                    message: "unexpected end of input".into(),
                    line: None,
                    column: None,
                    incomplete_input: true,
                };
                let _ = writeln!(out, "{}", format_error(&e, source, &self.limits, false));
            }
            LineResult::Error { error, reset } => {
                let _ = writeln!(out, "{}", format_error(error, source, &self.limits, *reset));
            }
        }
        let _ = out.flush();
    }

    /// Evaluates a complete input (from `.load` or `.editor`) and prints it; an incomplete
    /// input is a syntax error here.
    fn eval_whole(&mut self, source: String) -> Result<(), ReplError> {
        let outcome = self.worker.eval(source.clone())?;
        self.inputs.push(source.clone());
        self.new_history.push(source.clone());
        self.print_outcome(&outcome, &source);
        Ok(())
    }

    /// Handles one physical line.
    fn feed(&mut self, line: &str) -> Result<Flow, ReplError> {
        match classify_line(line, !self.buffer.is_empty()) {
            LineKind::Empty if self.buffer.is_empty() => Ok(Flow::Continue),
            LineKind::Command => match parse_command(line) {
                Ok(cmd) => self.command(cmd),
                Err(ReplError::Command(msg)) => {
                    println!("{msg}");
                    Ok(Flow::Continue)
                }
                Err(e) => Err(e),
            },
            _ => {
                self.feed_code(line)?;
                Ok(Flow::Continue)
            }
        }
    }

    /// Adds a line of JavaScript to the buffered statement and evaluates it once complete.
    fn feed_code(&mut self, line: &str) -> Result<(), ReplError> {
        if !self.buffer.is_empty() {
            self.buffer.push('\n');
        }
        self.buffer.push_str(line);
        let source = self.buffer.clone();
        let outcome = self.worker.eval(source.clone())?;
        if outcome.result == LineResult::Incomplete && outcome.console.is_empty() {
            return Ok(());
        }
        self.buffer.clear();
        self.inputs.push(source.clone());
        self.new_history.push(source.clone());
        self.print_outcome(&outcome, &source);
        Ok(())
    }

    /// `.load FILE`: the file's lines are fed one by one as if typed at the prompt, so a
    /// statement may span lines and a line that fails (a thrown error, a syntax error, a
    /// timeout) does not stop the lines after it. Every line is JavaScript: a line of the
    /// file that looks like a REPL command is not run as one (a loaded file cannot `.load`
    /// itself or `.exit`). A statement still unfinished at the end of the file is reported
    /// as a syntax error.
    fn load(&mut self, source: &str) -> Result<(), ReplError> {
        self.buffer.clear();
        for line in source.lines() {
            if self.buffer.is_empty() && line.trim().is_empty() {
                continue;
            }
            self.feed_code(line)?;
        }
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            self.eval_whole(rest)?;
        }
        Ok(())
    }

    fn command(&mut self, cmd: Command) -> Result<Flow, ReplError> {
        match cmd {
            Command::Help => println!("{}", help_text()),
            Command::Exit => return Ok(Flow::Exit(0)),
            Command::Break => self.buffer.clear(),
            Command::Clear => {
                self.buffer.clear();
                println!("Clearing context...");
                self.worker.call(None, |s| s.clear())??;
            }
            Command::Editor => {
                self.buffer.clear();
                return Ok(Flow::Editor);
            }
            Command::Load(path) => match read_source(&path) {
                Ok(src) => self.load(&src)?,
                Err(e) => println!("{e}"),
            },
            Command::Save(path) => {
                let mut text = self.inputs.join("\n");
                text.push('\n');
                match std::fs::write(&path, text) {
                    Ok(()) => println!("Session saved to: {}", path.display()),
                    Err(source) => println!("{}", ReplError::File { path, source }),
                }
            }
            Command::Limits(None) => println!("{}", format_limits(&self.limits)),
            Command::Limits(Some((name, value))) => {
                let mut limits = self.limits.clone();
                match set_limit(&mut limits, &name, &value) {
                    Ok(()) => {
                        let l = limits.clone();
                        self.worker.call(None, move |s| s.set_limits(l))?;
                        self.limits = limits;
                        println!("{}", format_limits(&self.limits));
                    }
                    Err(e) => println!("{e}"),
                }
            }
            Command::Stats => {
                let stats = self.worker.call(None, |s| s.stats())?;
                println!("{}", format_stats(&stats));
            }
        }
        Ok(Flow::Continue)
    }
}

/// Reads a `.load` file: UTF-8, at most [`sandvm::MAX_SOURCE`] bytes.
fn read_source(path: &Path) -> Result<String, ReplError> {
    let file_err = |source| ReplError::File { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(file_err)?;
    if meta.len() > sandvm::MAX_SOURCE as u64 {
        return Err(file_err(std::io::Error::other("file too large")));
    }
    let bytes = std::fs::read(path).map_err(file_err)?;
    String::from_utf8(bytes).map_err(|_| file_err(std::io::Error::other("not valid UTF-8")))
}

/// Runs the REPL until `.exit`, end of input, or Ctrl-C twice / Ctrl-D on an empty prompt.
/// Returns the process exit code: 0, or 3 when the guest got stuck in a native call.
///
/// # Errors
/// [`ReplError`] when the sandbox cannot be created or the terminal fails.
pub fn run(config: ReplConfig) -> Result<u8, ReplError> {
    let signals = Arc::new(Signals {
        running: AtomicBool::new(false),
        cancel: Mutex::new(None),
        interactive: config.interactive,
    });
    let handler_signals = signals.clone();
    // A second installation (a second REPL in one process) fails; the first handler serves.
    let _ = ctrlc::set_handler(move || {
        if handler_signals.running.load(SeqCst) {
            if let Ok(c) = handler_signals.cancel.lock() {
                if let Some(c) = c.as_ref() {
                    c.cancel();
                }
            }
        } else if !handler_signals.interactive {
            let _ = std::io::stdout().flush();
            std::process::exit(130);
        }
    });
    let limits = config.session.limits.clone();
    let worker = Worker::start(config.session.clone(), signals)?;
    let mut driver = Driver { worker, limits, buffer: String::new(), inputs: Vec::new(), new_history: Vec::new() };
    let result =
        if config.interactive { interactive(&mut driver, config.history.as_deref()) } else { piped(&mut driver) };
    match result {
        Err(ReplError::GuestThread(msg)) => {
            let _ = std::io::stdout().flush();
            eprintln!("sandvm: {msg}");
            Ok(3)
        }
        other => other,
    }
}

fn piped(d: &mut Driver) -> Result<u8, ReplError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut raw = Vec::new();
    let mut next_line = |input: &mut std::io::StdinLock<'_>| -> Result<Option<String>, ReplError> {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            return Ok(None);
        }
        let mut line = String::from_utf8_lossy(&raw).into_owned();
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        Ok(Some(line))
    };
    while let Some(line) = next_line(&mut input)? {
        match d.feed(&line)? {
            Flow::Continue => {}
            Flow::Exit(code) => return Ok(code),
            Flow::Editor => {
                let mut lines = Vec::new();
                while let Some(l) = next_line(&mut input)? {
                    lines.push(l);
                }
                d.eval_whole(lines.join("\n"))?;
                return Ok(0);
            }
        }
    }
    if !d.buffer.is_empty() {
        let source = std::mem::take(&mut d.buffer);
        d.eval_whole(source)?;
    }
    Ok(0)
}

fn interactive(d: &mut Driver, history: Option<&Path>) -> Result<u8, ReplError> {
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .completion_show_all_if_ambiguous(true)
        .completion_prompt_limit(200)
        .max_history_size(1000)?
        .history_ignore_dups(true)?
        .history_ignore_space(false)
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ReplHelper { worker: d.worker.clone() }));
    let keys = Arc::new(Keys::default());
    editor.bind_sequence(KeyEvent::ctrl('C'), EventHandler::Conditional(Box::new(CtrlC)));
    editor.bind_sequence(KeyEvent::ctrl('D'), EventHandler::Conditional(Box::new(CtrlD(keys.clone()))));
    if let Some(path) = history {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            if let Err(e) = builder.create(dir) {
                eprintln!("sandvm: history disabled: cannot create {}: {e}", dir.display());
            }
        }
        if path.exists() {
            if let Err(e) = editor.load_history(path) {
                eprintln!("sandvm: cannot read history {}: {e}", path.display());
            }
        }
    }
    println!("Welcome to sandvm {} (QuickJS-ng sandbox).", env!("CARGO_PKG_VERSION"));
    println!("Type \".help\" for more information.");
    let mut ctrl_c_once = false;
    let code = loop {
        let prompt = if d.buffer.is_empty() { "> " } else { "... " };
        match editor.readline(prompt) {
            Ok(line) => {
                ctrl_c_once = false;
                let flow = d.feed(&line)?;
                save_history(&mut editor, d, history);
                match flow {
                    Flow::Continue => {}
                    Flow::Exit(code) => break code,
                    Flow::Editor => {
                        editor_mode(&mut editor, d, &keys)?;
                        save_history(&mut editor, d, history);
                    }
                }
            }
            Err(ReadlineError::Interrupted) => {
                if !d.buffer.is_empty() {
                    d.buffer.clear();
                    ctrl_c_once = false;
                } else if ctrl_c_once {
                    break 0;
                } else {
                    println!("(To exit, press Ctrl+C again or Ctrl+D or type .exit)");
                    ctrl_c_once = true;
                }
            }
            Err(ReadlineError::Eof) => break 0,
            Err(e) => return Err(e.into()),
        }
    };
    save_history(&mut editor, d, history);
    Ok(code)
}

/// `.editor`: lines are collected until Ctrl-D, then run as one input; Ctrl-C cancels.
fn editor_mode(editor: &mut Editor<ReplHelper, DefaultHistory>, d: &mut Driver, keys: &Keys) -> Result<(), ReplError> {
    println!("// Entering editor mode (Ctrl+D to finish, Ctrl+C to cancel)");
    keys.editor_mode.store(true, SeqCst);
    keys.finish_editor.store(false, SeqCst);
    let mut lines: Vec<String> = Vec::new();
    let done = loop {
        match editor.readline("") {
            Ok(line) => {
                lines.push(line);
                if keys.finish_editor.swap(false, SeqCst) {
                    break true;
                }
            }
            Err(ReadlineError::Eof) => break true,
            Err(ReadlineError::Interrupted) => break false,
            Err(e) => {
                keys.editor_mode.store(false, SeqCst);
                return Err(e.into());
            }
        }
    };
    keys.editor_mode.store(false, SeqCst);
    if done && lines.iter().any(|l| !l.trim().is_empty()) {
        d.eval_whole(lines.join("\n"))?;
    }
    Ok(())
}

fn save_history(editor: &mut Editor<ReplHelper, DefaultHistory>, d: &mut Driver, path: Option<&Path>) {
    let entries = std::mem::take(&mut d.new_history);
    if entries.is_empty() {
        return;
    }
    for e in entries {
        let _ = editor.add_history_entry(e);
    }
    if let Some(p) = path {
        if let Err(e) = editor.append_history(p) {
            eprintln!("sandvm: cannot write history {}: {e}", p.display());
        }
    }
}

/// True when standard input is a terminal (the REPL is then interactive).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// True when standard output is a terminal (values are then coloured, unless disabled).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}
