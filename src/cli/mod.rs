//! Subcommands, one arrow of the pipeline each, and the exit-code contract:
//! 0 success, 1 the run or analysis failed, 2 invalid input or usage, 3 an SLO was missed.

/// `println!` that ends the process quietly with status 0 when stdout's reader has gone (`llmw
/// analyze … | head`): the normal end of a pipeline, not a failure — and never a panic.
macro_rules! say {
    ($($t:tt)*) => { $crate::cli::say(format_args!($($t)*)) };
}

mod analyze;
mod check;
mod diff;
mod fmt;
mod lsp;
mod plan;
mod replay;
mod report;
mod run;
mod signals;
mod sim;
mod sim_args;
mod trace;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use llmw::diag::{render, Diagnostic, Style};
use llmw::source::Sources;

pub const EXIT_INVALID: u8 = 2;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_SLO: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "llmw",
    version,
    about = "Benchmark self-hosted LLM inference servers with declarative, reproducible workloads"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and type-check workload files; print every problem found.
    Check(check::Args),
    /// Compile a workload into its deterministic schedule and print it.
    Plan(plan::Args),
    /// What an edit changes in the plan: two workload files, or REV:path from git.
    Diff(diff::Args),
    /// Rewrite workload files in the canonical layout (comments kept); --check for CI.
    Fmt(fmt::Args),
    /// The language server (LSP) on standard input and output, for editors.
    Lsp(lsp::Args),
    /// Run a workload against a server (or the built-in simulator) and record its token traces.
    Run(run::Args),
    /// Serve the simulated OpenAI-compatible LLM server.
    Sim(sim::Args),
    /// Metrics of recorded runs: TTFT, ITL, throughput, saturation, SLOs; several runs side by side.
    Analyze(analyze::Args),
    /// A self-contained HTML report of one or more runs.
    Report(report::Args),
    /// Replay a captured production trace with its own timing and lengths.
    Replay(replay::Args),
    /// Inspect captured production traces.
    #[command(subcommand)]
    Trace(trace::Command),
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Lsp(a) => lsp::run(a),
        Command::Run(a) => run::run(a),
        Command::Sim(a) => sim::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Report(a) => report::run(a),
        Command::Trace(c) => trace::run(c),
        Command::Replay(a) => replay::run(a),
    }
}

/// Checks, resolves and compiles a workload file, printing diagnostics; `Err` carries the exit
/// code.
pub fn load_schedule(
    file: &std::path::Path,
    overrides: &llmw::Overrides,
) -> Result<(Sources, llmw::Schedule), ExitCode> {
    let (sources, result) = llmw::load_file(file, overrides);
    let schedule = compiled(&sources, result, &file.display().to_string())?;
    Ok((sources, schedule))
}

/// Checks, resolves and compiles workload text held in memory (`llmw replay`'s generated
/// workload).
pub fn schedule_from_text(
    name: &str,
    text: &str,
    overrides: &llmw::Overrides,
) -> Result<llmw::Schedule, ExitCode> {
    let (sources, result) = llmw::load_text(name, text, overrides);
    compiled(&sources, result, name)
}

fn compiled(
    sources: &Sources,
    result: Result<llmw::Resolved, Vec<Diagnostic>>,
    name: &str,
) -> Result<llmw::Schedule, ExitCode> {
    let resolved = result.map_err(|diags| {
        report(sources, &diags);
        ExitCode::from(EXIT_INVALID)
    })?;
    llmw::compile(&resolved).map_err(|e| {
        eprintln!("error: {name}: {e}");
        ExitCode::from(EXIT_INVALID)
    })
}

/// The async runtime for commands that do network work.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::from(EXIT_FAILED)
        })
}

/// Writes one line to stdout; see [`say!`].
pub fn say(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(i32::from(EXIT_FAILED));
    }
}

/// Prints diagnostics to stderr, coloured when stderr is a terminal and NO_COLOR is unset.
pub fn report(sources: &Sources, diags: &[Diagnostic]) {
    let style = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    };
    eprint!("{}", render(sources, diags, style));
}
