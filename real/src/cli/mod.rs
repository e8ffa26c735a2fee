//! The `cox` command line: argument parsing and dispatch to one module per subcommand.

mod bench;
mod bench_api;
mod server;
mod sim;
mod validate;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// coxswain: a Kubernetes-style container orchestrator, built simulation-first.
#[derive(Debug, Parser)]
#[command(name = "cox", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Kubernetes manifests as the API server would: strict decoding, defaulting and
    /// validation. Prints one line per object and exits non-zero if any object is invalid.
    Validate(validate::ValidateArgs),
    /// Benchmarks of the core, run in memory.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The deterministic cluster simulator: replay scenarios, swarm seeds, shrink failures.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Run a control plane: the Kubernetes API (for kubectl and any Kubernetes client), the
    /// scheduler and the controller manager, optionally with simulated nodes.
    Server(server::ServerArgs),
}

/// Parses the process's command line and runs the chosen subcommand.
pub fn run() -> ExitCode {
    let status = run_from(std::env::args_os(), &mut io::stdout().lock());
    ExitCode::from(status)
}

/// Runs `cox` with the given arguments (the first is the program name), writing its report to
/// `output`; returns the exit status. Tests call this in-process.
pub fn run_from<I, T>(arguments: I, output: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(arguments) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Validate(arguments) => validate::run(&arguments, output),
        Command::Bench(command) => bench::run(&command, output),
        Command::Sim(command) => sim::run(&command, output),
        Command::Server(arguments) => server::run(&arguments, output),
    }
}
