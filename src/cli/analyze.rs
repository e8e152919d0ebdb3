//! `llmw analyze RUN...`: run directories → metrics (text, JSON or CSV); exit 3 when an SLO is
//! missed.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::analysis::{self, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// One row per group.
    Csv,
    /// One row per turn index of each group with conversations.
    TurnsCsv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories: several are compared side by side against the first, except the
    /// shards of one plan (`run --shard`), which are analysed as one run.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    exclusion: Exclusion,
    /// Compare runs even if their plans differ.
    #[arg(long)]
    allow_different_plans: bool,
}

/// Warm-up and cool-down exclusion, shared by `analyze` and `report`.
#[derive(Debug, clap::Args)]
pub struct Exclusion {
    /// Drop, within each group, the requests sent in its first D (e.g. 30s).
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0s")]
    warmup: i64,
    /// Drop, within each group, the requests finished in its last D.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0s")]
    cooldown: i64,
    /// Analyse the shards of a plan given even when some are missing (the analysis says so).
    #[arg(long)]
    partial: bool,
}

impl Exclusion {
    pub fn options(&self) -> Options {
        Options {
            warmup_ns: self.warmup,
            cooldown_ns: self.cooldown,
            partial: self.partial,
        }
    }
}

/// `500ms`, `30s`, `5m`, `1h` → nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n < 1e9)
        .ok_or_else(|| format!("expected a duration like 30s, found '{s}'"))?;
    let scale = match unit {
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "expected a duration like 30s (units ms, s, m, h), found '{s}'"
            ))
        }
    };
    Ok((n * scale).round() as i64)
}

pub fn run(args: Args) -> ExitCode {
    let analyses = match analysis::analyze_dirs(&args.runs, &args.exclusion.options()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_FAILED);
        }
    };
    let missed = analyses.iter().any(llmw::Analysis::slo_missed);
    let text = if analyses.len() == 1 {
        let a = &analyses[0];
        match args.format {
            Format::Text => analysis::text::analysis(a),
            Format::Json => serde_json::to_string_pretty(a).unwrap_or_default(),
            Format::Csv => analysis::csv::write(&analyses),
            Format::TurnsCsv => analysis::csv::write_turns(&analyses),
        }
    } else {
        let table = match args.format {
            Format::Csv => Some(analysis::csv::write(&analyses)),
            Format::TurnsCsv => Some(analysis::csv::write_turns(&analyses)),
            _ => None,
        };
        if let Some(table) = table {
            say!("{}", table.trim_end_matches('\n'));
            return exit(missed);
        }
        let comparison = match analysis::compare(analyses, args.allow_different_plans) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(super::EXIT_INVALID);
            }
        };
        match args.format {
            Format::Json => serde_json::to_string_pretty(&comparison).unwrap_or_default(),
            _ => analysis::text::comparison(&comparison),
        }
    };
    say!("{}", text.trim_end());
    exit(missed)
}

fn exit(missed: bool) -> ExitCode {
    if missed {
        ExitCode::from(super::EXIT_SLO)
    } else {
        ExitCode::SUCCESS
    }
}
