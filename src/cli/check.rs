//! `llmw check FILE...`: source → Ast → Workload → Resolved → Schedule, reporting every
//! diagnostic, every file that cannot be loaded and every limit the compiler enforces (the
//! schedule itself is not printed).

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::{load_file, Overrides};

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
        let (sources, result) = load_file(file, &overrides);
        // Compiling is part of checking: every limit `plan` and `run` enforce (planned
        // requests, steps, file-backed inputs) is reported here with the same message.
        let result = result.and_then(|r| match llmw::compile(&r) {
            Ok(_) => Ok(r.workload),
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                Err(Vec::new())
            }
        });
        match result {
            Ok(w) => say!(
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
