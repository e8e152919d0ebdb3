//! `llmw trace stats TRACE`: rows, time span, rates, length percentiles, failed rows and
//! prefix sharing of a trace file, before replaying it.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::trace::{self, Format, ReadOptions, TimeUnit};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Statistics of a trace file.
    Stats(StatsArgs),
}

/// How to read a trace file (shared with `llmw replay`).
#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// The trace file (for `--format llmw`, a run directory or its requests.parquet).
    pub trace: PathBuf,
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// Generic formats: which columns hold the time, prompt and output lengths.
    #[arg(long, value_name = "at=COL,input=COL,output=COL", value_parser = parse_columns)]
    pub columns: Option<Columns>,
    /// Generic formats: the unit of numeric times.
    #[arg(long, value_enum)]
    pub time_unit: Option<TimeUnitArg>,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

/// `--format`: every trace format the library reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Azure,
    Burstgpt,
    Mooncake,
    Csv,
    Jsonl,
    Llmw,
}

impl FormatArg {
    pub fn format(self) -> Format {
        match self {
            FormatArg::Azure => Format::Azure,
            FormatArg::Burstgpt => Format::Burstgpt,
            FormatArg::Mooncake => Format::Mooncake,
            FormatArg::Csv => Format::Csv,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Llmw => Format::Llmw,
        }
    }
}

/// `--time-unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeUnitArg {
    Ns,
    Us,
    Ms,
    S,
}

impl TimeUnitArg {
    pub fn unit(self) -> TimeUnit {
        match self {
            TimeUnitArg::Ns => TimeUnit::Ns,
            TimeUnitArg::Us => TimeUnit::Us,
            TimeUnitArg::Ms => TimeUnit::Ms,
            TimeUnitArg::S => TimeUnit::S,
        }
    }
}

impl Source {
    pub fn options(&self) -> ReadOptions {
        ReadOptions {
            columns: self.columns.clone().map(|c| c.0).unwrap_or_default(),
            time_unit: self.time_unit.map(TimeUnitArg::unit),
            skip_bad_rows: self.skip_bad_rows,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    source: Source,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// `--columns at=t,input=in,output=out`, as (role, column) pairs.
#[derive(Debug, Clone)]
pub struct Columns(pub Vec<(String, String)>);

pub fn parse_columns(s: &str) -> Result<Columns, String> {
    s.split(',')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("expected ROLE=COLUMN, found '{kv}'"))?;
            let k = k.trim();
            if !["at", "input", "output"].contains(&k) {
                return Err(format!(
                    "unknown column role '{k}': expected at, input or output"
                ));
            }
            Ok((k.to_string(), v.trim().to_string()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Columns)
}

pub fn run(command: Command) -> ExitCode {
    let Command::Stats(args) = command;
    let t = match trace::read(
        &args.source.trace,
        args.source.format.format(),
        &args.source.options(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INVALID);
        }
    };
    for example in &t.skipped_examples {
        eprintln!("skipped: {example}");
    }
    let s = trace::stats(&t);
    if args.json {
        say!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let q = |st: &llmw::stats::Stats| {
        format!(
            "mean {:.1}, p50 {:.0}, p90 {:.0}, p99 {:.0}, max {:.0}",
            st.mean.unwrap_or(0.0),
            st.p50.unwrap_or(0.0),
            st.p90.unwrap_or(0.0),
            st.p99.unwrap_or(0.0),
            st.max.unwrap_or(0.0)
        )
    };
    say!(
        "rows            {} ({} malformed rows skipped, {} out of order)",
        s.rows,
        s.skipped_rows,
        s.unsorted_rows
    );
    say!("time span       {:.1} s", s.span_s);
    say!(
        "rate            mean {:.3}/s; peak {} in 1 s, {} in 60 s",
        s.mean_rate_per_s,
        s.peak_per_s,
        s.peak_per_min
    );
    say!("input tokens    {}", q(&s.input_tokens));
    say!("output tokens   {}", q(&s.output_tokens));
    say!(
        "failed rows     {} ({:.2} %)",
        s.failed_rows,
        s.failed_share * 100.0
    );
    if let Some(b) = &s.blocks {
        say!(
            "prefix blocks   {} distinct of {} references ({:.1} % repeats); {} requests start with a block seen before",
            b.distinct, b.references, b.repeat_share * 100.0, b.sharing_requests
        );
    }
    ExitCode::SUCCESS
}
