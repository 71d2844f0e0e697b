//! The azpath command line: parses the arguments and runs one command (`cli`). Exit codes: 0 ok,
//! 1 findings (with `--fail-on-...`), 2 error.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: import allocates millions of small strings on two threads; the system allocator spent
/// a fifth of the import's CPU time there and kept freed memory per thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            // Errors can quote tenant text; their own lines (a selector's caret) are kept.
            eprintln!("azpath: error: {}", azpath::escape::terminal_lines(&cli::error_text(&e)));
            ExitCode::from(2)
        }
    }
}
