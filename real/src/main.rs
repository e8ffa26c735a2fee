//! `cox`: the coxswain command-line tool.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a simulation allocates and frees millions of small
/// objects, and glibc's allocator spent a third of a 1,000-node run consolidating free chunks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    coxswain_real::cli::run()
}
