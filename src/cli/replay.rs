//! `llmw replay TRACE --format F`: a one-phase workload that replays a trace with its own
//! timing and lengths, run like `llmw run`.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::limits::MAX_COUNT;

use super::trace::Source;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: Source,
    /// Divide the trace's time by K (2 replays twice as fast).
    #[arg(long, value_name = "K", default_value_t = 1.0)]
    speed: f64,
    /// Only this window of trace time, e.g. 10m..20m (offset to its first row).
    #[arg(long, value_name = "A..B")]
    window: Option<String>,
    /// At most N requests.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    limit: Option<u64>,
    /// Shorten idle gaps longer than D to D.
    #[arg(long, value_name = "D", value_parser = super::analyze::parse_duration)]
    max_gap: Option<i64>,
    /// Thin (below 1) or multiply (above 1) the request rate, keeping its burst pattern.
    #[arg(long, value_name = "K")]
    scale: Option<f64>,
    /// BurstGPT's failed rows (0 response tokens): skip them or replay them.
    #[arg(long, value_enum)]
    failed: Option<FailedArg>,
    /// Mooncake block size in tokens.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    block: Option<u64>,
    /// The API route to replay against.
    #[arg(long, value_enum, default_value_t = ApiArg::Chat)]
    api: ApiArg,
    /// The model to ask for (default: the first the server lists).
    #[arg(long)]
    model: Option<String>,
    #[command(flatten)]
    run: super::run::Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailedArg {
    Skip,
    Replay,
}

impl FailedArg {
    fn as_str(self) -> &'static str {
        match self {
            FailedArg::Skip => "skip",
            FailedArg::Replay => "replay",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ApiArg {
    Chat,
    Completions,
}

/// A duration for the language, exactly: whole milliseconds, or milliseconds with the
/// nanoseconds as decimals.
fn duration(ns: u64) -> String {
    match ns % 1_000_000 {
        0 => format!("{}ms", ns / 1_000_000),
        frac => format!("{}.{frac:06}ms", ns / 1_000_000),
    }
}

fn window(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("expected a window like 10m..20m, found '{s}'"))?;
    let (a, b) = (
        super::analyze::parse_duration(a)?,
        super::analyze::parse_duration(b)?,
    );
    if a < 0 || b <= a {
        return Err(format!("the window {s} is empty"));
    }
    Ok((a as u64, b as u64))
}

pub fn run(args: Args) -> ExitCode {
    let bad = |m: String| {
        eprintln!("error: {m}");
        ExitCode::from(super::EXIT_INVALID)
    };
    let window_ns = match args.window.as_deref().map(window).transpose() {
        Ok(w) => w,
        Err(e) => return bad(e),
    };
    let replay_failed = args.failed.map(|f| f == FailedArg::Replay);
    // `NaN > 0` is false, so this also refuses NaN; infinity is refused by name.
    let usable = |v: f64| v > 0.0 && v.is_finite();
    if !usable(args.speed) || args.scale.is_some_and(|s| !usable(s)) {
        return bad("--speed and --scale must be finite numbers above 0".into());
    }
    let path: PathBuf = args.source.trace.clone();
    let format = args.source.format.format().name();
    let text = match source(&args, format, window_ns) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    // The generated workload goes through the same check and compile as a workload file, and is
    // what run.json records as the run's source.
    let overrides = llmw::Overrides {
        sets: Vec::new(),
        seed: args.run.seed,
    };
    let schedule = match super::schedule_from_text("(llmw replay)", &text, &overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Say what is about to be replayed: rows, rows out of order (sorted), failed rows skipped.
    if let Ok(t) = llmw::trace::read(&path, args.source.format.format(), &args.source.options()) {
        let transform = llmw::trace::Transform {
            speed: args.speed,
            window_ns,
            limit: args.limit,
            max_gap_ns: args.max_gap.map(|g| g.max(0) as u64),
            scale: args.scale,
            replay_failed: replay_failed.unwrap_or(false),
            seed: args.run.seed.unwrap_or(0),
        };
        let p = llmw::trace::transform(&t, &transform);
        eprintln!(
            "replaying {} of {} rows ({} were out of order and are sorted; {} failed rows skipped)",
            p.rows.len(),
            t.rows.len(),
            p.unsorted,
            p.failed_skipped
        );
    }
    super::run::execute(
        schedule,
        vec![("(llmw replay)".into(), text)],
        Vec::new(),
        &args.run,
    )
}

/// A `.llmw` string literal.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The one-phase workload that replays the trace, as `.llmw` text.
fn source(args: &Args, format: &str, window_ns: Option<(u64, u64)>) -> Result<String, String> {
    let path = &args.source.trace;
    // Absolute, so `llmw run` on the recorded text plans the same from any directory.
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
    let shown = absolute
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
    let name = path
        .file_stem()
        .map_or_else(|| "trace".into(), |s| s.to_string_lossy().into_owned());
    let mut call = vec![quoted(shown), format!("format: {format}")];
    call.push(format!("speed: {}x", args.speed));
    if let Some((a, b)) = window_ns {
        call.push(format!("window: {}..{}", duration(a), duration(b)));
    }
    if let Some(n) = args.limit {
        call.push(format!("limit: {n}"));
    }
    if let Some(n) = args.block {
        call.push(format!("block: {n}"));
    }
    if let Some(c) = &args.source.columns {
        let entries: Vec<String> =
            c.0.iter()
                .map(|(k, v)| format!("{k}: {}", quoted(v)))
                .collect();
        call.push(format!("columns: {{ {} }}", entries.join(", ")));
    }
    if let Some(u) = args.source.time_unit {
        call.push(format!("time_unit: {}", u.unit().as_str()));
    }
    if let Some(g) = args.max_gap {
        call.push(format!("max_gap: {}", duration(g.max(0) as u64)));
    }
    if let Some(k) = args.scale {
        call.push(format!("scale: {k}x"));
    }
    if let Some(f) = args.failed {
        call.push(format!("failed: {}", f.as_str()));
    }
    if args.source.skip_bad_rows {
        call.push("skip_bad_rows: true".into());
    }
    let api = match args.api {
        ApiArg::Chat => "chat",
        ApiArg::Completions => "completions",
    };
    let model = args
        .model
        .as_deref()
        .map(|m| format!("\n    model      = {}", quoted(m)))
        .unwrap_or_default();
    Ok(format!(
        "# written by llmw replay (--format {format})\nworkload {} {{\n  description = {}\n  seed = {}\n  target {{\n    api        = {api}{model}\n    ignore_eos = true\n  }}\n  phase \"replay\" {{\n    arrival = trace({})\n  }}\n}}\n",
        quoted(&format!("replay-{name}")),
        quoted(&format!("replay of {shown} ({format})")),
        args.run.seed.unwrap_or(0),
        call.join(", "),
    ))
}
