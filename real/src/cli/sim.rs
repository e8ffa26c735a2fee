//! `cox sim run|swarm|shrink`: replay a scenario deterministically, run it under many seeds, and
//! shrink a failing one.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use coxswain_sim::agent::node_factory;
use coxswain_sim::duration::format_offset;
use coxswain_sim::outcome::{Outcome, Verdict};
use coxswain_sim::scenario::{Scenario, load_scenario};
use coxswain_sim::trace::Trace;
use coxswain_sim::{runner, shrink, swarm};
use indicatif::{ProgressBar, ProgressStyle};

/// The exit code of a command-line or scenario error.
const USAGE_ERROR: u8 = 2;

/// The simulator.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Replay a scenario. Exit code 0 pass, 3 safety violation, 4 liveness failure or unmet
    /// expectation, 5 crash, 2 a bad scenario. The last line is `trace-hash: HEX`.
    Run(RunArgs),
    /// Run a scenario under many seeds; the last line is `N passed, M failed`, and each failure
    /// prints the command that reproduces it.
    Swarm(SwarmArgs),
    /// Cut a failing scenario down to a smaller one that fails the same way, printed as YAML.
    Shrink(ShrinkArgs),
}

/// Arguments of `cox sim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    file: PathBuf,
    /// The seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the trace (JSON lines) here.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Shrink the scenario if it fails, and print the smaller one.
    #[arg(long)]
    shrink: bool,
}

/// Arguments of `cox sim swarm`.
#[derive(Debug, Args)]
pub struct SwarmArgs {
    /// The scenario file.
    file: PathBuf,
    /// How many seeds.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Runs at once (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
}

/// Arguments of `cox sim shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The failing scenario file.
    file: PathBuf,
    /// The seed it fails with (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the smaller scenario here instead of printing it.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Runs a `cox sim` subcommand.
pub fn run(command: &SimCommand, output: &mut dyn Write) -> u8 {
    match command {
        SimCommand::Run(arguments) => run_one(arguments, output),
        SimCommand::Swarm(arguments) => run_swarm(arguments, output),
        SimCommand::Shrink(arguments) => {
            let Some(scenario) = load(&arguments.file, output) else { return USAGE_ERROR };
            shrink_and_print(
                &arguments.file,
                arguments.seed.unwrap_or(scenario.seed),
                arguments.output.as_deref(),
                output,
            )
        }
    }
}

fn load(file: &Path, output: &mut dyn Write) -> Option<Scenario> {
    match load_scenario(file) {
        Ok(scenario) => Some(scenario),
        Err(error) => {
            let _ = writeln!(output, "error: {error}");
            None
        }
    }
}

fn run_one(arguments: &RunArgs, output: &mut dyn Write) -> u8 {
    let Some(scenario) = load(&arguments.file, output) else { return USAGE_ERROR };
    let seed = arguments.seed.unwrap_or(scenario.seed);
    let trace = match &arguments.trace {
        Some(path) => match File::create(path) {
            Ok(file) => Trace::to_writer(Box::new(BufWriter::new(file))),
            Err(error) => {
                let _ = writeln!(output, "error: {}: {error}", path.display());
                return USAGE_ERROR;
            }
        },
        None => Trace::hashed(),
    };
    let _ = writeln!(output, "scenario: {} ({})", scenario.name, arguments.file.display());
    let _ = writeln!(output, "seed: {seed}");
    let bar = progress_bar(scenario.duration.as_millis());
    let started = Instant::now();
    let result = runner::run(&scenario, seed, node_factory(), trace, &mut |now, _| {
        if let Some(bar) = &bar {
            bar.set_position(now);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            let _ = writeln!(output, "error: {error}");
            return USAGE_ERROR;
        }
    };
    let wall = started.elapsed();
    print_summary(&outcome, wall.as_secs_f64(), output);
    let hash = match &outcome.trace_hash {
        Ok(hash) => hash.clone(),
        Err(error) => {
            let _ = writeln!(output, "error: trace: {error}");
            String::new()
        }
    };
    if let Some(path) = &arguments.report {
        match std::fs::write(path, outcome.report.to_html(&hash)) {
            Ok(()) => {
                let _ = writeln!(output, "report: {}", path.display());
            }
            Err(error) => {
                let _ = writeln!(output, "error: {}: {error}", path.display());
            }
        }
    }
    if arguments.shrink && outcome.verdict != Verdict::Pass {
        let _ = shrink_and_print(&arguments.file, seed, None, output);
    }
    let _ = writeln!(output, "trace-hash: {hash}");
    outcome.verdict.exit_code()
}

fn print_summary(outcome: &Outcome, wall_seconds: f64, output: &mut dyn Write) {
    let simulated = outcome.simulated_millis as f64 / 1_000.0;
    let speed = if wall_seconds > 0.0 { simulated / wall_seconds } else { 0.0 };
    let stats = &outcome.stats;
    let _ = writeln!(
        output,
        "simulated {} in {wall_seconds:.2} s wall ({speed:.0}× real time): {} events, {} API requests, {} faults, {} trace lines",
        format_offset(outcome.simulated_millis),
        stats.events,
        stats.requests,
        stats.faults,
        outcome.trace_lines
    );
    for (text, result) in &outcome.expectations {
        let line = match result {
            Some(result) if result.holds => format!("  ok    {text} (at {})", format_offset(result.at)),
            Some(result) => format!("  FAIL  {text}: measured {} at {}", result.measured, format_offset(result.at)),
            None => format!("  ----  {text}: not checked (the run stopped first)"),
        };
        let _ = writeln!(output, "{line}");
    }
    if let Some(after) = outcome.converged_after_millis {
        let _ = writeln!(output, "converged {} after healing", format_offset(after));
    }
    let _ = writeln!(output, "result: {}", outcome.verdict.describe());
}

fn progress_bar(length: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{bar:40} {msg} simulated, {elapsed} wall").ok()?;
    bar.set_style(style);
    Some(bar)
}

fn run_swarm(arguments: &SwarmArgs, output: &mut dyn Write) -> u8 {
    let Some(scenario) = load(&arguments.file, output) else { return USAGE_ERROR };
    let jobs = arguments.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let results = swarm::swarm(&scenario, arguments.first_seed, arguments.seeds, jobs, &node_factory, &|_| {});
    let mut failed = 0;
    for result in &results {
        if result.verdict != Verdict::Pass {
            failed += 1;
            let _ = writeln!(output, "FAIL seed {}: {}", result.seed, result.verdict.describe());
            let _ = writeln!(output, "  reproduce: cox sim run {} --seed {}", arguments.file.display(), result.seed);
        }
    }
    let _ = writeln!(output, "{} passed, {failed} failed", results.len() - failed);
    u8::from(failed > 0)
}

fn shrink_and_print(file: &Path, seed: u64, destination: Option<&Path>, output: &mut dyn Write) -> u8 {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => {
            let _ = writeln!(output, "error: {}: {error}", file.display());
            return USAGE_ERROR;
        }
    };
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    match shrink::shrink(&file.display().to_string(), &text, &base, seed, &node_factory) {
        Ok(shrunk) => {
            let _ = writeln!(
                output,
                "shrunk in {} runs: timeline {} -> {} entries, {} -> {} nodes; still {}",
                shrunk.runs,
                shrunk.timeline.0,
                shrunk.timeline.1,
                shrunk.nodes.0,
                shrunk.nodes.1,
                shrunk.verdict.describe()
            );
            match destination {
                Some(path) => {
                    if let Err(error) = std::fs::write(path, &shrunk.yaml) {
                        let _ = writeln!(output, "error: {}: {error}", path.display());
                        return USAGE_ERROR;
                    }
                    let _ = writeln!(
                        output,
                        "written to {} (run: cox sim run {} --seed {seed})",
                        path.display(),
                        path.display()
                    );
                }
                None => {
                    let _ = writeln!(output, "---\n{}", shrunk.yaml);
                }
            }
            0
        }
        Err(error) => {
            let _ = writeln!(output, "error: {error}");
            USAGE_ERROR
        }
    }
}
