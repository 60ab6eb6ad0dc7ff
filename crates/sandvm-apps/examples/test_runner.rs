//! The test runner: run `examples/tests` and print the human report.
//!
//! `cargo run -p sandvm-apps --example test_runner`

use std::path::Path;

use sandvm_apps::testrunner::{self, TestOptions};

fn main() -> sandvm_apps::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tests");
    let files = testrunner::find_test_files(&[dir])?;
    // The test harness's threads have small stacks: run on one with room for the sandbox.
    let run = sandvm_apps::on_big_stack(move || testrunner::run_files(&files, &TestOptions::default()))?;
    print!("{}", testrunner::render_human(&run));
    assert!(run.success());
    Ok(())
}
