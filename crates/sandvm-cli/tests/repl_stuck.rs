//! The REPL's guest thread is a bounded executor: an input stuck in a builtin the engine
//! cannot interrupt ends the REPL with exit code 3 at its deadline plus the grace period.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_stuck_input_ends_the_piped_repl_with_code_3() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["repl", "--timeout", "200"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sandvm repl");
    let t = Instant::now();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"1 + 1\nnew Array(2 ** 32 - 1).join().length\n'never printed'\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(3), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot interrupt"));
    // Generous bound: the builtin alone runs for minutes.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
