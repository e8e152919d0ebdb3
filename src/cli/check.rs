//! `llmw check FILE...`: source → Ast → Workload, reporting every diagnostic.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::{check_file, Overrides};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workload files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Override a param (NAME=VALUE), type-checked against its declared value.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
}

pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides {
        sets: args.sets,
        seed: None,
    };
    let mut failed = 0;
    for file in &args.files {
        let (sources, result) = check_file(file, &overrides);
        match result {
            Ok(w) => println!(
                "ok  {}  (workload \"{}\", {} phase(s))",
                file.display(),
                w.name,
                w.phases.len()
            ),
            Err(diags) => {
                super::report(&sources, &diags);
                eprintln!("{}: {} error(s)", file.display(), diags.len());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        ExitCode::from(super::EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}
