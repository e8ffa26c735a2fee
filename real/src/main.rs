//! `cox`: the coxswain command-line tool.

use std::process::ExitCode;

fn main() -> ExitCode {
    coxswain_real::cli::run()
}
