//! `llmw report RUN... -o report.html`: run directories → one self-contained HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::analysis;

use super::analyze::Exclusion;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories (several: overlaid on the load charts, the first is the baseline).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PATH",
        default_value = "report.html"
    )]
    output: PathBuf,
    #[command(flatten)]
    exclusion: Exclusion,
    /// Put runs with different plans side by side anyway.
    #[arg(long)]
    allow_different_plans: bool,
}

pub fn run(args: Args) -> ExitCode {
    let opts = args.exclusion.options();
    let runs = match analysis::analyze_dirs(&args.runs, &opts) {
        Ok(runs) => runs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_FAILED);
        }
    };
    if !args.allow_different_plans {
        if let Some(other) = runs.iter().find(|a| a.plan_hash != runs[0].plan_hash) {
            eprintln!(
                "error: {} and {} ran different plans; pass --allow-different-plans to put them side by side anyway",
                runs[0].run, other.run
            );
            return ExitCode::from(super::EXIT_INVALID);
        }
    }
    let html = analysis::report::html(&runs);
    if let Err(e) = std::fs::write(&args.output, html) {
        eprintln!("error: cannot write {}: {e}", args.output.display());
        return ExitCode::from(super::EXIT_FAILED);
    }
    eprintln!("report written to {}", args.output.display());
    ExitCode::SUCCESS
}
