//! A minimal worker executable for `Isolation::Process` (used by this crate's tests and
//! examples; the `sandvm` CLI's hidden `worker` subcommand does the same).

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(sandvm_pool::worker_main());
}
