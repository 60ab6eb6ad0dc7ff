//! Runs the `sandvm` shell transcripts and deployment blocks of docs/guide/ against this
//! build of the binary (docs/guide/check-shell.sh).

use std::path::Path;
use std::process::Command;

#[test]
fn guide_shell_blocks_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("docs/guide/check-shell.sh"))
        .env("SANDVM", env!("CARGO_BIN_EXE_sandvm"))
        .current_dir(&root)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-shell.sh failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}
