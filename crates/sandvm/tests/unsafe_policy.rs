//! The workspace's `unsafe` policy: only this crate (`crates/sandvm`) may use `unsafe`; every
//! other crate's root forbids it, and no source file of theirs (library, binaries, tests,
//! examples, benches) contains an `unsafe` block, function, impl, trait or attribute.
//! (Every `unsafe` block of this crate needs a `// SAFETY:` comment: the workspace lint
//! `clippy::undocumented_unsafe_blocks = "deny"` checks that.)
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Lines of `src` that use `unsafe` as a keyword (outside `//` comments): `unsafe {`,
/// `unsafe fn`, `unsafe impl`, `unsafe extern`, `unsafe trait`, `#[unsafe(...)]`.
fn unsafe_uses(src: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("unsafe") {
            let before = rest[..at].chars().next_back();
            let after = rest[at + "unsafe".len()..].trim_start();
            let word_start = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let keyword = after.is_empty()
                || after.starts_with(['{', '('])
                || ["fn", "impl", "extern", "trait"]
                    .iter()
                    .any(|k| after.strip_prefix(k).is_some_and(|r| r.starts_with(|c: char| !c.is_alphanumeric())));
            if word_start && keyword {
                found.push((i + 1, line.trim().to_string()));
            }
            rest = &rest[at + "unsafe".len()..];
        }
    }
    found
}

#[test]
fn the_detector_sees_unsafe_code_and_ignores_words() {
    assert_eq!(unsafe_uses("let x = unsafe { f() };").len(), 1);
    assert_eq!(unsafe_uses("unsafe impl Send for X {}\npub unsafe fn g() {}").len(), 2);
    assert_eq!(unsafe_uses("#[unsafe(no_mangle)]\nunsafe extern \"C\" {}").len(), 2);
    assert_eq!(unsafe_uses("let v = unsafe\n{ 1 };").len(), 1);
    assert!(unsafe_uses("// SAFETY: unsafe { ... } in a comment").is_empty());
    assert!(unsafe_uses("let csp = \"script-src 'unsafe-inline'\";\n#![forbid(unsafe_code)]").is_empty());
}

#[test]
fn no_unsafe_outside_the_core_crate_and_every_other_crate_forbids_it() {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(crates_dir())
        .expect("the crates directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file() && p.file_name().is_some_and(|n| n != "sandvm"))
        .collect();
    // The language bindings are workspace members too (the Python package's PyO3 macros
    // compile under `forbid(unsafe_code)`).
    crates.push(crates_dir().join("../bindings/python"));
    crates.sort();
    assert!(crates.len() >= 5, "expected the workspace's crates next to this one, found {crates:?}");
    let mut problems = Vec::new();
    for krate in &crates {
        let roots: Vec<PathBuf> =
            ["src/lib.rs", "src/main.rs"].iter().map(|r| krate.join(r)).filter(|p| p.is_file()).collect();
        if roots.is_empty() {
            problems.push(format!("{}: no src/lib.rs or src/main.rs", krate.display()));
        }
        for root in roots {
            let text = std::fs::read_to_string(&root).unwrap_or_default();
            if !text.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]") {
                problems.push(format!("{}: missing #![forbid(unsafe_code)]", root.display()));
            }
        }
        let mut files = Vec::new();
        rust_files(krate, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for (line, code) in unsafe_uses(&text) {
                problems.push(format!("{}:{line}: {code}", f.display()));
            }
        }
    }
    assert!(problems.is_empty(), "unsafe outside crates/sandvm:\n{}", problems.join("\n"));
}
