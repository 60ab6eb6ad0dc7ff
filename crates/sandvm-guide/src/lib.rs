//! The guide in `docs/guide/` and the README, as doc-tests: `cargo test -p sandvm-guide --doc` compiles and
//! runs every ```` ```rust ```` block of every page. The JavaScript blocks (the Node `vm` side)
//! are run by `docs/guide/check-node.js` and the `sandvm` shell transcripts by
//! `docs/guide/check-shell.sh`; this crate's integration test and the CLI's run them too.
//!
//! Nothing here is meant to be used as a library.

#![forbid(unsafe_code)]

/// Level 1: contexts, run-in-new-context, globals and builtins, errors, timeouts.
#[doc = include_str!("../../../docs/guide/level-1.md")]
pub mod level1 {}

/// Level 2: script reuse, pooling, templates, plugins, module access control, safe eval.
#[doc = include_str!("../../../docs/guide/level-2.md")]
pub mod level2 {}

/// Level 3: escape prevention, production security, memory, REPL, isolation, monitoring,
/// multi-tenancy, deployment.
#[doc = include_str!("../../../docs/guide/level-3.md")]
pub mod level3 {}

/// Migrating from vm2 and isolated-vm.
#[doc = include_str!("../../../docs/guide/migration.md")]
pub mod migration {}

/// The repository's README: every Rust block in it is a doc-test too.
#[doc = include_str!("../../../README.md")]
pub mod readme {}
