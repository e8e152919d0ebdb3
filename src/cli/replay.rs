//! `llmw replay TRACE --format F`: a one-phase workload that replays a trace with its own
//! timing and lengths, run like `llmw run`.

use std::path::PathBuf;
use std::process::ExitCode;

use llmw::workload::{Api, Arrival, Class, Dist, Load, Phase, Shape, Target, TraceRef, Workload};

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
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Shorten idle gaps longer than D to D.
    #[arg(long, value_name = "D", value_parser = super::analyze::parse_duration)]
    max_gap: Option<i64>,
    /// Thin (below 1) or multiply (above 1) the request rate, keeping its burst pattern.
    #[arg(long, value_name = "K")]
    scale: Option<f64>,
    /// BurstGPT's failed rows (0 response tokens): skip them or replay them.
    #[arg(long, value_name = "skip|replay")]
    failed: Option<String>,
    /// Mooncake block size in tokens.
    #[arg(long, value_name = "N")]
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
enum ApiArg {
    Chat,
    Completions,
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
    let replay_failed = match args.failed.as_deref() {
        None => None,
        Some("skip") => Some(false),
        Some("replay") => Some(true),
        Some(other) => return bad(format!("--failed takes skip or replay, found '{other}'")),
    };
    // `NaN > 0` is false, so this also refuses NaN; infinity is refused by name.
    let usable = |v: f64| v > 0.0 && v.is_finite();
    if !usable(args.speed) || args.scale.is_some_and(|s| !usable(s)) {
        return bad("--speed and --scale must be finite numbers above 0".into());
    }
    let path: PathBuf = args.source.trace.clone();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into());
    let format = format!("{:?}", args.source.format).to_lowercase();
    let trace = TraceRef {
        path: path.clone(),
        format: format.clone(),
        speed: args.speed,
        window_ns,
        limit: args.limit,
        block: args.block,
        columns: args.source.columns.clone().map(|c| c.0).unwrap_or_default(),
        time_unit: args.source.time_unit.clone(),
        max_gap_ns: args.max_gap.map(|g| g.max(0) as u64),
        scale: args.scale,
        replay_failed,
        skip_bad_rows: args.source.skip_bad_rows,
    };
    let workload = Workload {
        name: format!("replay-{name}"),
        description: Some(format!("replay of {} ({format})", path.display())),
        seed: args.run.seed.unwrap_or(0),
        params: Vec::new(),
        target: Target {
            api: if args.api == ApiArg::Chat {
                Api::Chat
            } else {
                Api::Completions
            },
            model: args.model.clone(),
            ignore_eos: true,
            ..Target::default()
        },
        abort: Some(llmw::workload::AbortRule::default()),
        phases: vec![Phase {
            name: "replay".into(),
            duration_ns: None,
            max_requests: None,
            load: Load::Open(Arrival::Trace(trace)),
            think: None,
            max_in_flight: None,
            measure: true,
            pause_ns: 0,
            // Lengths come from the trace; the class only names the requests.
            classes: vec![Class {
                name: "default".into(),
                weight: 1.0,
                shape: Shape {
                    input: Dist::Const(1.0),
                    output: Dist::Const(1.0),
                    prefix: None,
                    prompts: None,
                    sample: None,
                    tokenizer: None,
                },
            }],
            own_lengths: (false, false),
        }],
        slo: Vec::new(),
    };
    // Say what is about to be replayed: rows, rows out of order (sorted), failed rows skipped.
    if let Ok(t) = llmw::trace::read(&path, args.source.format, &args.source.options()) {
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
    let command = format!("llmw replay {} --format {format}", path.display());
    super::run::execute(
        workload,
        vec![("(llmw replay)".into(), command)],
        Vec::new(),
        &args.run,
    )
}
