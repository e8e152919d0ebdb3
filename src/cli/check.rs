//! `llmw check FILE...`: source → Ast → Workload → Resolved → Schedule, reporting every
//! diagnostic, every file that cannot be loaded and every limit the compiler enforces (the
//! schedule itself is not printed). `--dump ast|workload|resolved` prints a stage's value
//! instead: the parsed files (includes spliced in), the checked workload, or the workload with
//! its files loaded.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::{load_file, Overrides};

/// A stage `--dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// The parsed files: the main file's items with every include spliced in.
    Ast,
    /// The checked workload (`empirical(...)` still naming its file).
    Workload,
    /// The workload with its files loaded: columns in place, each phase's trace rows and
    /// each class's samples and prompts.
    Resolved,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workload files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Override a param (NAME=VALUE), type-checked against its declared value.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Print one stage of the pipeline (Rust's debug form) instead of the verdict.
    #[arg(long, value_name = "STAGE")]
    dump: Option<Stage>,
}

pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides {
        sets: args.sets,
        seed: None,
    };
    let mut failed = 0;
    for file in &args.files {
        if let Some(stage) = args.dump {
            if !dump(file, stage, &overrides) {
                failed += 1;
            }
            continue;
        }
        let (sources, result) = load_file(file, &overrides);
        // Compiling is part of checking: every limit `plan` and `run` enforce (planned
        // requests, steps, file-backed inputs) is reported here with the same message.
        let result = result.and_then(|r| match llmw::compile(&r) {
            Ok(_) => Ok(r.workload().clone()),
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

/// Prints `stage` of `file`'s pipeline; false (after its diagnostics) when it does not get there.
fn dump(file: &std::path::Path, stage: Stage, overrides: &Overrides) -> bool {
    let (sources, printed) = match stage {
        Stage::Ast => {
            let (sources, r) = llmw::parse_file(file);
            (sources, r.map(|flat| format!("{flat:#?}")))
        }
        Stage::Workload => {
            let (sources, r) = llmw::check_file(file, overrides);
            (sources, r.map(|w| format!("{w:#?}")))
        }
        Stage::Resolved => {
            let (sources, r) = load_file(file, overrides);
            (sources, r.map(|r| resolved(&r)))
        }
    };
    match printed {
        Ok(text) => {
            say!("{text}");
            true
        }
        Err(diags) => {
            super::report(&sources, &diags);
            eprintln!("{}: {} error(s)", file.display(), diags.len().max(1));
            false
        }
    }
}

/// The resolved workload, then what each phase's files hold (counts, not every row).
fn resolved(r: &llmw::Resolved) -> String {
    let mut out = format!("{:#?}\n", r.workload());
    for (phase, files) in r.phases() {
        out.push_str(&format!("phase \"{}\" files:\n", phase.name));
        if let Some(t) = &files.arrivals {
            out.push_str(&format!("  arrivals: {} trace rows\n", t.rows.len()));
        }
        for (class, f) in phase.classes.iter().zip(&files.classes) {
            if let Some(t) = &f.samples {
                out.push_str(&format!(
                    "  class \"{}\" samples: {} trace rows\n",
                    class.name,
                    t.rows.len()
                ));
            }
            if let Some(p) = &f.prompts {
                out.push_str(&format!(
                    "  class \"{}\" prompts: {} from the dataset\n",
                    class.name,
                    p.len()
                ));
            }
        }
    }
    out
}
