//! `llmw check FILE...`: source → Ast → Workload → Schedule, reporting every diagnostic and every
//! limit the compiler enforces (the schedule itself is not printed).

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
        // Compiling is part of checking: every limit `plan` and `run` enforce (planned
        // requests, steps, file-backed inputs) is reported here with the same message.
        let result = result.and_then(|w| match llmw::compile(&w) {
            Ok(_) => Ok(w),
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                Err(Vec::new())
            }
        });
        match result {
            Ok(w) => println!(
                "ok  {}  (workload \"{}\", {} phase(s))",
                file.display(),
                w.name,
                w.phases.len()
            ),
            Err(diags) => {
                super::report(&sources, &diags);
                eprintln!("{}: {} error(s)", file.display(), diags.len().max(1));
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
