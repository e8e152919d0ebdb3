//! `llmw check FILE...`: source → Ast → Workload → Resolved → Schedule, reporting every
//! diagnostic, every file that cannot be loaded and every limit the compiler enforces (the
//! schedule itself is not printed). `--dump ast|workload|resolved` prints a stage's value
//! instead: the parsed files (includes spliced in), the checked workload, or the workload with
//! its files loaded.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::{load_file, Overrides};
use serde_json::json;

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
    /// How to print the verdict: for people, one JSON document for tools, or GitHub Actions
    /// annotations.
    #[arg(long, value_enum, default_value_t = Format::Text, conflicts_with = "dump")]
    format: Format,
    /// Fail unless the plan's hash is this (a prefix of 12 or more hex digits will do), as the
    /// workload's `expect_plan` does.
    #[arg(long, value_name = "HASH")]
    expect: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rendered diagnostics on stderr, `ok` lines on stdout.
    Text,
    /// `{"files": [{"path", "ok", "workload", "plan_hash"}], "diagnostics": [{"file", "line",
    /// "column", "end_line", "end_column", "span", "severity", "message", "label", "help",
    /// "related"}]}` on stdout.
    Json,
    /// One `::error file=…,line=…::message` workflow command per diagnostic on stdout.
    Github,
}

pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides {
        sets: args.sets,
        seed: None,
    };
    let mut failed = 0;
    let (mut files, mut all) = (Vec::new(), Vec::new());
    for file in &args.files {
        if let Some(stage) = args.dump {
            if !dump(file, stage, &overrides) {
                failed += 1;
            }
            continue;
        }
        let (sources, result) = load_file(file, &overrides);
        // Compiling is part of checking: every limit `plan` and `run` enforce (planned
        // requests, steps, file-backed inputs) is reported here with the same message, and so
        // is a plan that is not the one pinned.
        let result = result.and_then(|r| match llmw::compile(&r) {
            Ok(s) => match s.pin(args.expect.as_deref()) {
                Ok(_) => Ok((r.workload().clone(), s.hash)),
                Err(e) => Err(vec![llmw::diag::Diagnostic::global(e.to_string())]),
            },
            Err(e) => Err(vec![llmw::diag::Diagnostic::global(format!(
                "{}: {e}",
                file.display()
            ))]),
        });
        let name = file.display().to_string();
        match (result, args.format) {
            (Ok((w, hash)), Format::Text) => say!(
                "ok  {name}  (workload \"{}\", {} phase(s), plan {})",
                w.name,
                w.phases.len(),
                &hash[..12]
            ),
            (Ok((w, hash)), _) => {
                files
                    .push(json!({"path": name, "ok": true, "workload": w.name, "plan_hash": hash}));
            }
            (Err(diags), format) => {
                failed += 1;
                match format {
                    Format::Text => {
                        super::report(&sources, &diags);
                        eprintln!("{name}: {} error(s)", diags.len().max(1));
                    }
                    Format::Json => {
                        files.push(json!({"path": name, "ok": false}));
                        all.extend(llmw::diag::json(&sources, &diags, Some(&name)));
                    }
                    Format::Github => {
                        let out = llmw::diag::github(&sources, &diags, Some(&name));
                        say!("{}", out.trim_end());
                    }
                }
            }
        }
    }
    if args.format == Format::Json && args.dump.is_none() {
        say!("{}", json!({"files": files, "diagnostics": all}));
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
