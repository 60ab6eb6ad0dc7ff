//! `sandvm`: run untrusted JavaScript from the command line.
//!
//! Exit codes: 0 ok, 1 guest error (syntax error, uncaught exception, unsettled promise),
//! 2 usage or I/O error, 3 limit hit (timeout, memory, stack, output, promise jobs).

mod exec;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A secure, fast JavaScript sandbox.
#[derive(Parser, Debug)]
#[command(name = "sandvm", version, about, after_help = exec::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a script file (`-` reads standard input).
    Run {
        /// The script file, or `-` for standard input.
        file: String,
        #[command(flatten)]
        opts: exec::RunArgs,
    },
    /// Evaluate source given on the command line.
    Eval {
        /// The source to evaluate.
        code: String,
        #[command(flatten)]
        opts: exec::RunArgs,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Run { file, opts } => match exec::read_source(&file) {
            Ok(src) => exec::run(&src, &display_name(&file), &opts),
            Err(msg) => {
                eprintln!("sandvm: {msg}");
                2
            }
        },
        Command::Eval { code, opts } => exec::run(&code, "<eval>", &opts),
    };
    ExitCode::from(code)
}

fn display_name(file: &str) -> String {
    if file == "-" {
        "<stdin>".to_string()
    } else {
        file.to_string()
    }
}
