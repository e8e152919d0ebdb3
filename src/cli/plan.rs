//! `llmw plan FILE`: source → Workload → Schedule, printed as a summary, JSON, JSONL or CSV.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use llmw::output::{write_plan_with, ClosedPreview, PlanFormat};
use llmw::Overrides;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workload file.
    file: PathBuf,
    /// The schedule's random seed (overrides the file's `seed`; at most 9e15, as in the file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=llmw::limits::MAX_COUNT))]
    seed: Option<u64>,
    /// Override a param (NAME=VALUE), type-checked against its declared value.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Summary)]
    format: FormatArg,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
    /// Requests listed per closed-loop step in json/jsonl/csv (default: the phase's `requests`
    /// limit, or 10 per virtual user).
    #[arg(long, value_name = "N")]
    closed_preview: Option<u64>,
    /// Print part I of N of the plan (I from 0), as `llmw run --shard I/N` runs it.
    #[arg(long, value_name = "I/N", value_parser = llmw::schedule::Shard::parse)]
    shard: Option<llmw::schedule::Shard>,
    /// With --format jsonl: include each request's prompt (text, or a dataset's messages).
    #[arg(long)]
    with_prompts: bool,
    /// Fail (exit 2, with both hashes) unless the plan's hash is this (a prefix of 12 or more
    /// hex digits will do); overrides the workload's `expect_plan`.
    #[arg(long, value_name = "HASH")]
    expect: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides {
        sets: args.sets,
        seed: args.seed,
    };
    let schedule = match super::load_schedule(&args.file, &overrides) {
        Ok((_, s)) => s,
        Err(code) => return code,
    };
    // The pin is the whole plan's (a shard keeps the whole plan's hash).
    if let Err(e) = schedule.pin(args.expect.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(super::EXIT_INVALID);
    }
    let schedule = match args.shard {
        Some(shard) => schedule.shard(shard),
        None => schedule,
    };
    let preview = args
        .closed_preview
        .map_or(ClosedPreview::Auto, ClosedPreview::Count);
    // A file, or stdout (locked, with a large buffer: a plan can be millions of lines).
    let sink: io::Result<Box<dyn Write>> = match &args.output {
        Some(path) => File::create(path).map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write>),
        None => Ok(Box::new(BufWriter::with_capacity(
            1 << 16,
            io::stdout().lock(),
        ))),
    };
    let written = sink.and_then(|mut w| {
        write_plan_with(
            &mut w,
            &schedule,
            args.format.format(),
            preview,
            args.with_prompts,
        )?;
        w.flush()
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let target = args
                .output
                .as_ref()
                .map_or_else(|| "stdout".into(), |p| p.display().to_string());
            eprintln!("error: cannot write the plan to {target}: {e}");
            ExitCode::from(super::EXIT_FAILED)
        }
    }
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    Summary,
    Json,
    Jsonl,
    Csv,
}

impl FormatArg {
    fn format(self) -> PlanFormat {
        match self {
            FormatArg::Summary => PlanFormat::Summary,
            FormatArg::Json => PlanFormat::Json,
            FormatArg::Jsonl => PlanFormat::Jsonl,
            FormatArg::Csv => PlanFormat::Csv,
        }
    }
}
