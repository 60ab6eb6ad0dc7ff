//! Every code block of docs/guide/ runs somewhere, and a block that does not run has its
//! reason listed here, in one place.
//!
//! - ```` ```rust ```` blocks are doc-tests of this crate (`src/lib.rs`); `ignore`, `no_run`,
//!   `compile_fail` would skip them.
//! - ```` ```js ```` blocks are run by `docs/guide/check-node.js` (this test runs it); the vm2 and
//!   isolated-vm blocks need `bench/install.sh` (CI runs it from `.ci/run`).
//! - ```` ```sh ````, ```` ```ini ````, ```` ```dockerfile ```` blocks are run by
//!   `docs/guide/check-shell.sh` (the CLI's `guide_shell` test runs it with the built binary).
//!
//! A block marked not to run (`ignore-node`, `ignore-shell`, or a rustdoc skip) must be listed in
//! [`SKIP_REASONS`]; so must a block that check-node.js skipped because a peer is missing, except
//! outside CI, where a missing peer is a printed notice (installing the peers needs a C++
//! toolchain and the npm registry).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Blocks that do not run, by page and the block's first line, with the reason. The only place
/// where a skip may be granted.
const SKIP_REASONS: &[(&str, &str, &str)] = &[
    (
        "level-1.md",
        "// not run: it hangs node forever, which is the point (the timeout does not cover microtasks).",
        "node's vm timeout does not cover microtasks: the block would hang the test forever",
    ),
    (
        "level-3.md",
        "// not run: it crashes the node process with \"JavaScript heap out of memory\" (the point).",
        "node:vm has no memory limit: the block exhausts the heap and kills node",
    ),
    ("level-3.md", "# not run: needs systemd as PID 1 and root (CI has neither).", "needs systemd as PID 1"),
    ("level-3.md", "# not run: needs a container engine (CI has none).", "needs a container engine"),
    (
        "level-3.md",
        "# not run: needs a container engine and a PostgreSQL server.",
        "needs a container engine and a database server",
    ),
    (
        "level-3.md",
        "# not run: needs a NATS broker and a network of nodes; crates/sandvm-cli/tests/cluster.rs runs the same commands against a throwaway nats-server.",
        "needs a NATS broker and several long-running nodes (the cluster test runs them)",
    ),
    (
        "level-3.md",
        "# not run: needs a Kubernetes cluster with KEDA, a PostgreSQL and a NATS server with JetStream (-js -m 8222).",
        "needs a Kubernetes cluster (deploy_kubernetes.rs checks the manifests without one)",
    ),
];

/// Info-string words that keep a block from running.
const SKIP_MARKERS: &[&str] = &["ignore", "no_run", "compile_fail", "ignore-node", "ignore-shell"];

/// Languages some checker runs; other blocks (plain text, TOML shown as data) are not code.
const RUN_LANGS: &[&str] = &["rust", "js", "javascript", "sh", "shell", "bash", "ini", "dockerfile"];

struct Block {
    page: String,
    line: usize,
    info: String,
    first: String,
}

fn guide_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide")
}

fn blocks() -> Vec<Block> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(guide_dir())
        .unwrap_or_else(|e| panic!("docs/guide: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    let mut out = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let name = page.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut lines = text.lines().enumerate();
        while let Some((i, line)) = lines.next() {
            let Some(info) = line.strip_prefix("```") else { continue };
            let first = lines.next().map(|(_, l)| l.to_string()).unwrap_or_default();
            if !first.starts_with("```") {
                for (_, l) in lines.by_ref() {
                    if l.trim_end() == "```" {
                        break;
                    }
                }
            }
            out.push(Block { page: name.clone(), line: i + 1, info: info.trim().to_string(), first });
        }
    }
    out
}

fn reason(page: &str, first: &str) -> Option<&'static str> {
    SKIP_REASONS.iter().find(|(p, f, _)| *p == page && *f == first).map(|(_, _, r)| *r)
}

#[test]
fn every_skipped_block_has_a_listed_reason() {
    let all = blocks();
    let mut unlisted = Vec::new();
    let mut used = 0;
    for b in &all {
        let words: Vec<&str> = b.info.split([',', ' ']).filter(|w| !w.is_empty()).collect();
        let lang = words.first().copied().unwrap_or("");
        if !RUN_LANGS.contains(&lang) || !words.iter().any(|w| SKIP_MARKERS.contains(w)) {
            continue;
        }
        match reason(&b.page, &b.first) {
            Some(_) => used += 1,
            None => unlisted.push(format!("{}:{} ({})", b.page, b.line, b.info)),
        }
    }
    assert!(unlisted.is_empty(), "guide blocks skipped without a reason in SKIP_REASONS: {unlisted:?}");
    assert_eq!(used, SKIP_REASONS.len(), "SKIP_REASONS lists blocks that no longer exist or no longer skip");
    let runnable = all.iter().filter(|b| RUN_LANGS.contains(&b.info.split([',', ' ']).next().unwrap_or(""))).count();
    assert!(runnable > 30, "only {runnable} runnable blocks found: is the parser broken?");
}

#[test]
fn guide_node_blocks_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("docs/guide/check-node.js");
    let out = match Command::new("node").arg(&script).current_dir(&root).output() {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            println!("notice: node is not installed ({e}): the guide's JavaScript blocks were not run");
            return;
        }
        Err(e) => panic!("cannot run node (needed to check the guide's Node examples): {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-node.js failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("check-node: "), "{stdout}");
    let by_line: Vec<Block> = blocks();
    let mut unlisted = Vec::new();
    for line in stdout.lines().filter_map(|l| l.strip_prefix("skip ")) {
        // "docs/guide/PAGE.md:LINE: WHY"
        let (place, why) = line.split_once(": ").unwrap_or((line, ""));
        let (page, lineno) = place.rsplit_once(':').unwrap_or((place, "0"));
        let page = page.trim_start_matches("docs/guide/");
        let first = by_line.iter().find(|b| b.page == page && b.line.to_string() == lineno).map(|b| b.first.as_str());
        if first.and_then(|f| reason(page, f)).is_some() {
            continue;
        }
        if why.contains("not installed") && std::env::var_os("CI").is_none() {
            println!("notice: {place} not run: {why}");
            continue;
        }
        unlisted.push(format!("{place}: {why}"));
    }
    assert!(unlisted.is_empty(), "guide JavaScript blocks skipped without a reason in SKIP_REASONS: {unlisted:?}");
}
