//! `sandvm repl` driven through a real pseudo-terminal (line editing, Tab, Ctrl-C, Ctrl-D,
//! history), and through piped standard input.
//!
//! Timeouts are generous (the machine may be busy) and nothing asserts on timing.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{Eof, Expect, Session};

type Repl = expectrl::session::OsSession;

const WAIT: Duration = Duration::from_secs(15);

/// Starts `sandvm repl ARGS` on a pseudo-terminal, without colours, with HOME and
/// XDG_STATE_HOME in `home` (so no test touches the real history file).
fn spawn(home: &Path, args: &[&str], colors: bool) -> Repl {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sandvm"));
    cmd.arg("repl").args(args).env("HOME", home).env("XDG_STATE_HOME", home.join("state")).env("TERM", "xterm");
    if colors {
        cmd.env_remove("NO_COLOR");
    } else {
        cmd.env("NO_COLOR", "1");
    }
    let mut p = Session::spawn(cmd).expect("spawn sandvm repl");
    // Room for completion lists without a pager.
    p.get_process_mut().set_window_size(200, 100).expect("window size");
    p.set_expect_timeout(Some(WAIT));
    p.expect("Type \".help\"").expect("banner");
    p.expect("> ").expect("first prompt");
    p
}

/// Types a line (Enter is a carriage return on a terminal).
fn line(p: &mut Repl, text: &str) {
    p.send(format!("{text}\r")).expect("send line");
}

fn expect(p: &mut Repl, what: &str) {
    if let Err(e) = p.expect(what) {
        panic!("expected {what:?}: {e}");
    }
}

/// Leaves with `.exit` and checks the exit status.
fn exit_ok(mut p: Repl) {
    line(&mut p, ".exit");
    p.expect(Eof).expect("end of output");
    assert_eq!(p.get_process().wait().expect("wait"), WaitStatus::Exited(p.get_process().pid(), 0));
}

#[test]
fn multi_line_function_definition() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    line(&mut p, "function add(a, b) {");
    expect(&mut p, "... ");
    line(&mut p, "  const sum = a +");
    expect(&mut p, "... ");
    line(&mut p, "    b");
    expect(&mut p, "... ");
    line(&mut p, "  return sum }");
    expect(&mut p, "undefined");
    line(&mut p, "add(40, 2) * 1000 + 1");
    expect(&mut p, "42001");
    // An unterminated template literal continues too.
    line(&mut p, "`first");
    expect(&mut p, "... ");
    line(&mut p, "second`.split('\\n').length * 21");
    expect(&mut p, "42");
    exit_ok(p);
}

#[test]
fn editor_mode() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    line(&mut p, ".editor");
    expect(&mut p, "// Entering editor mode (Ctrl+D to finish, Ctrl+C to cancel)");
    line(&mut p, "function triple(x) {");
    line(&mut p, "  return x * 3");
    line(&mut p, "}");
    line(&mut p, "triple(14) * 1000 + 7");
    p.send("\x04").unwrap(); // Ctrl-D runs the buffer
    expect(&mut p, "42007");
    expect(&mut p, "> ");
    line(&mut p, "typeof triple");
    expect(&mut p, "'function'");
    exit_ok(p);
}

#[test]
fn ctrl_c_interrupts_an_infinite_loop_and_keeps_the_context() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history", "--timeout", "0"], false);
    line(&mut p, "var kept = 'still' + ' here'; let lex = 40");
    expect(&mut p, "undefined");
    line(&mut p, "while (true) {}");
    std::thread::sleep(Duration::from_millis(300));
    p.send("\x03").unwrap();
    expect(&mut p, "Script execution was interrupted by Ctrl-C");
    expect(&mut p, "> ");
    line(&mut p, "kept.toUpperCase() + (lex + 2)");
    expect(&mut p, "STILL HERE42");
    exit_ok(p);
}

#[test]
fn a_timeout_returns_to_the_prompt() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history", "--timeout", "200"], false);
    line(&mut p, "var n = 41");
    expect(&mut p, "undefined");
    line(&mut p, "for (;;) {}");
    expect(&mut p, "Script execution timed out after 200ms");
    line(&mut p, "n + 1");
    expect(&mut p, "42");
    exit_ok(p);
}

#[test]
fn history_persists_across_sessions() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("hist");
    let file_arg = file.to_str().unwrap();
    let mut p = spawn(home.path(), &["--history", file_arg], false);
    line(&mut p, "var histVar = 6 * 7");
    expect(&mut p, "undefined");
    line(&mut p, "function twice(x) {\n  return 2 * x }");
    expect(&mut p, "undefined");
    exit_ok(p);
    let saved = std::fs::read_to_string(&file).expect("history file written");
    assert!(saved.contains("var histVar = 6 * 7"), "{saved}");

    let mut p = spawn(home.path(), &["--history", file_arg], false);
    // Ctrl-R finds the first session's line; Enter runs it.
    p.send("\x12").unwrap();
    expect(&mut p, "reverse-i-search");
    p.send("histV").unwrap();
    expect(&mut p, "var histVar = 6 * 7");
    p.send("\r").unwrap();
    expect(&mut p, "undefined");
    line(&mut p, "histVar * 1000 + 3");
    expect(&mut p, "42003");
    // Up arrow recalls the previous entry (this session's), Enter runs it again.
    p.send("\x1b[A").unwrap();
    expect(&mut p, "histVar * 1000 + 3");
    p.send("\r").unwrap();
    expect(&mut p, "42003");
    exit_ok(p);
}

#[test]
fn default_history_file_is_in_the_xdg_state_dir() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &[], false);
    line(&mut p, "var inDefaultHistory = 1");
    expect(&mut p, "undefined");
    exit_ok(p);
    let saved = std::fs::read_to_string(home.path().join("state/sandvm/repl_history")).expect("default history");
    assert!(saved.contains("inDefaultHistory"), "{saved}");
}

#[test]
fn tab_completion() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    // `Math.` + Tab lists the properties.
    p.send("Math.\t").unwrap();
    expect(&mut p, "Math.PI");
    p.send("\x03").unwrap(); // clears the partial line
                             // A unique prefix completes in place.
    p.send("Math.ma\t").unwrap();
    line(&mut p, "(6, 7) * 6 + 0.5");
    expect(&mut p, "42.5");
    // Own properties of a user object, and a `const` binding.
    line(&mut p, "const cfg = { alphaBeta: 1, gammaDelta: 2 }");
    expect(&mut p, "undefined");
    p.send("cfg.gam\t").unwrap();
    line(&mut p, " * 21");
    expect(&mut p, "42");
    // REPL commands.
    p.send(".he\t").unwrap();
    p.send("\r").unwrap();
    expect(&mut p, "Print this help message");
    exit_ok(p);
}

#[test]
fn completion_does_not_run_getters() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    line(&mut p, "var hits = 0; var o = { get g() { hits++; return { z: 1 } }, d: { inner: 1 } }");
    expect(&mut p, "undefined");
    p.send("o.g.\t").unwrap();
    p.send("\x03").unwrap(); // clears the partial line
    p.send("o.d.inn\t").unwrap(); // the only candidate: completes in place
    line(&mut p, " + 41");
    expect(&mut p, "42");
    line(&mut p, "`hits=${hits}`");
    expect(&mut p, "'hits=0'");
    exit_ok(p);
}

#[test]
fn an_error_then_underscore_error() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    line(&mut p, "null.boom");
    expect(&mut p, "Uncaught TypeError");
    line(&mut p, "_error instanceof TypeError ? 'is a ' + _error.name : 'no'");
    expect(&mut p, "'is a TypeError'");
    line(&mut p, "[10, 20].map(x => x * 2)");
    expect(&mut p, "[ 20, 40 ]");
    line(&mut p, "_.length * 21");
    expect(&mut p, "42");
    exit_ok(p);
}

#[test]
fn ctrl_d_exits() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    p.send("\x04").unwrap();
    p.expect(Eof).expect("end of output");
    assert_eq!(p.get_process().wait().unwrap(), WaitStatus::Exited(p.get_process().pid(), 0));
}

#[test]
fn ctrl_c_twice_on_an_empty_line_exits() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], false);
    // Ctrl-C on a partial line only clears it.
    p.send("1 + ").unwrap();
    p.send("\x03").unwrap();
    line(&mut p, "6 * 7");
    expect(&mut p, "42");
    // Ctrl-C on the empty line of an unfinished statement drops the statement.
    line(&mut p, "function unfinished() {");
    expect(&mut p, "... ");
    p.send("\x03").unwrap();
    expect(&mut p, "> ");
    line(&mut p, "typeof unfinished");
    expect(&mut p, "'undefined'");
    p.send("\x03").unwrap();
    expect(&mut p, "(To exit, press Ctrl+C again or Ctrl+D or type .exit)");
    p.send("\x03").unwrap();
    p.expect(Eof).expect("end of output");
    assert_eq!(p.get_process().wait().unwrap(), WaitStatus::Exited(p.get_process().pid(), 0));
}

#[test]
fn values_are_coloured_on_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let mut p = spawn(home.path(), &["--no-history"], true);
    line(&mut p, "6 * 7");
    expect(&mut p, "\x1b[33m42\x1b[39m");
    exit_ok(p);
    let mut p = spawn(home.path(), &["--no-history", "--no-color"], true);
    line(&mut p, "6 * 7");
    // The value alone on its line, without escape sequences around it.
    if let Err(e) = p.expect(expectrl::Regex("\r\n42\r\n")) {
        panic!("plain 42: {e}");
    }
    exit_ok(p);
}

/// Runs `sandvm repl ARGS` with `input` on a pipe; returns (stdout, stderr, exit code).
fn piped(args: &[&str], input: &str) -> (String, String, i32) {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .arg("repl")
        .args(args)
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn piped_stdin_evaluates_line_by_line() {
    let input = "1 + 1\nfunction f() {\n  return 41 +\n1\n}\nf()\nlet o = { a: 1, b: [1, 2] }\no\n\
                 throw new Error('x')\n_error.message\nconsole.log('log line'); console.error('err line')\n\
                 await Promise.resolve('awaited')\n{ a: 1 }\n.nosuch\n";
    let (out, err, code) = piped(&[], input);
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        out,
        "2\nundefined\n42\nundefined\n{ a: 1, b: [ 1, 2 ] }\nUncaught Error: x\n'x'\nlog line\nundefined\n\
         'awaited'\n{ a: 1 }\nInvalid REPL keyword\n"
    );
    assert_eq!(err, "err line\n");
}

#[test]
fn piped_stdin_commands_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.js");
    let lib = dir.path().join("lib.js");
    std::fs::write(&lib, "var fromFile = 21;\nfromFile * 2").unwrap();
    let input = format!(
        ".limits timeout 100\nwhile (true) {{}}\n.load {}\nfromFile\n.save {}\n.clear\ntypeof fromFile\n.exit\n1 + 1\n",
        lib.display(),
        saved.display()
    );
    let (out, err, code) = piped(&[], &input);
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"timeout     100 ms"), "{out}");
    assert!(lines.contains(&"Uncaught Error: Script execution timed out after 100ms"), "{out}");
    assert!(lines.contains(&"42"), "{out}");
    assert!(lines.contains(&"21"), "{out}");
    assert!(lines.contains(&"'undefined'"), "{out}");
    assert!(!lines.contains(&"2"), "input after .exit ran: {out}");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("while (true) {}") && text.contains("var fromFile = 21;"), "{text}");
}

#[test]
fn load_runs_the_file_line_by_line_and_goes_on_after_a_failing_line() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lines.js");
    std::fs::write(
        &lib,
        "let a = 1\nthrow new Error('boom')\nfunction f() {\n  return a + 1\n}\n\nnosuch\n\
         console.log('after', f())\n.exit\na + 41\nfunction open() {\n",
    )
    .unwrap();
    let (out, err, code) = piped(&[], &format!(".load {}\nf() + a\n", lib.display()));
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    // Each statement gives its own result; the errors do not stop the rest; a line that looks
    // like a command is JavaScript here; the unfinished function is reported at the end.
    assert_eq!(
        &lines[..4],
        ["undefined", "Uncaught Error: boom", "undefined", "Uncaught ReferenceError: nosuch is not defined"],
        "{out}"
    );
    assert_eq!(&lines[4..6], ["after 2", "undefined"], "{out}");
    // `.exit` is a syntax error (shown with its caret), then the next line runs.
    let exit = lines.iter().position(|l| l.starts_with("Uncaught SyntaxError")).expect("a syntax error");
    assert_eq!(lines[6], ".exit", "{out}");
    assert_eq!(lines[exit + 1], "42", "{out}");
    let n = lines.len();
    assert_eq!(&lines[n - 2..], ["Uncaught SyntaxError: unexpected end of input", "3"], "{out}");
}

#[test]
fn piped_stdin_reports_an_unfinished_statement_at_end_of_input() {
    let (out, _, code) = piped(&["--no-eval"], "let x = 2\nx * 21\nfunction broken() {\n");
    assert_eq!(code, 0);
    assert!(out.starts_with("undefined\n42\n"), "{out}");
    assert!(out.contains("Uncaught SyntaxError"), "{out}");
}
