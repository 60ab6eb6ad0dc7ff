//! Runs the JavaScript blocks of docs/guide/ (the Node `vm` side of each page) with node.

use std::path::Path;
use std::process::Command;

#[test]
fn guide_node_blocks_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("docs/guide/check-node.js");
    let out = Command::new("node").arg(&script).current_dir(&root).output().unwrap_or_else(|e| {
        panic!("cannot run node (needed to check the guide's Node examples): {e}");
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-node.js failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("check-node: "), "{stdout}");
}
