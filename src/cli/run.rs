//! `llmw run FILE`: source → Workload → Schedule → a recorded run (engine), then the analysis
//! of the files it wrote. `execute` is shared with `llmw replay`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use llmw::engine::{self, Ending, Metrics, Provenance, RunOptions, Stopper};
use llmw::rundir::manifest;
use llmw::sim::SimConfig;

use super::sim_args::ProfileArg;
use llmw::Overrides;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workload file.
    file: PathBuf,
    /// Override a param (NAME=VALUE), type-checked against its declared value.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// Options every command that runs a schedule takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Base URL of an OpenAI-compatible server (e.g. http://localhost:8000). Give it once per
    /// replica of a fleet: the workload's `spread` says which request goes where. Without it,
    /// the built-in simulator is started in-process.
    #[arg(long = "target", value_name = "URL")]
    targets: Vec<String>,
    /// A file of target URLs, one per line (blank lines and `#` comments skipped), after any
    /// --target.
    #[arg(long, value_name = "FILE")]
    targets_file: Option<PathBuf>,
    /// The run directory to create (default: runs/<workload>-<UTC time>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The schedule's random seed (overrides the file's `seed`; at most 9e15, as in the file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=llmw::limits::MAX_COUNT))]
    pub seed: Option<u64>,
    /// Refuse to run unless the plan's hash is this (a prefix of 12 or more hex digits will
    /// do); overrides the workload's `expect_plan`. run.json records the pin.
    #[arg(long, value_name = "HASH")]
    expect: Option<String>,
    /// Read the API key from this environment variable (default OPENAI_API_KEY).
    #[arg(long, value_name = "NAME", default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Read the key of `api = messages` requests from this environment variable (default
    /// ANTHROPIC_API_KEY); unset, they carry the --api-key-env key.
    #[arg(long, value_name = "NAME", default_value = "ANTHROPIC_API_KEY")]
    anthropic_key_env: String,
    /// Also trust the CA certificates in this PEM file for an https:// target or metrics URL
    /// (the internal CA that signed the server's certificate), besides the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
    /// Simulator profile (used without --target).
    #[arg(long = "sim-profile", value_enum, default_value_t = ProfileArg::Default)]
    sim_profile: ProfileArg,
    /// Scrape the server's Prometheus metrics from this URL (default: each target's
    /// /metrics). Once for a whole fleet, or once per --target in the same order.
    #[arg(long, value_name = "URL", conflicts_with = "no_metrics")]
    metrics_url: Vec<String>,
    /// Do not scrape the server's Prometheus metrics.
    #[arg(long)]
    no_metrics: bool,
    /// Run part I of N of the plan (I from 0): requests, users, sessions and trace rows dealt
    /// out round robin; the N parts together are exactly the plan.
    #[arg(long, value_name = "I/N", value_parser = llmw::schedule::Shard::parse)]
    pub shard: Option<llmw::schedule::Shard>,
    /// Time 0 of the run is this wall-clock instant: RFC 3339 (2026-12-01T10:00:00Z) or +D
    /// from now (+90s). A run started after it sends late, and its send lag shows it.
    #[arg(long, value_name = "TIME", value_parser = parse_start)]
    start_at: Option<std::time::SystemTime>,
    /// Run the searched phases at the levels an earlier run of the same plan probed (its
    /// probes, then its verification holds), without searching: an A/B of two servers on the
    /// same probes.
    #[arg(long, value_name = "RUN_DIR")]
    levels_from: Option<PathBuf>,
}

/// `--levels-from`: the levels of an earlier run of the same plan.
fn levels_from(dir: &std::path::Path, schedule: &llmw::Schedule) -> Result<engine::Levels, String> {
    let meta = llmw::rundir::manifest::Manifest::read(dir).map_err(|e| e.to_string())?;
    if meta.plan_hash != schedule.hash {
        return Err(format!(
            "--levels-from {}: that run has another plan ({:.12}…, this one {:.12}…); replay its levels with the workload and --set values it ran",
            dir.display(),
            meta.plan_hash,
            schedule.hash
        ));
    }
    let levels = engine::Levels::of(dir.display().to_string(), &meta)
        .map_err(|e| format!("--levels-from {}: {e}", dir.display()))?;
    if levels.phases.iter().all(|(_, l)| l.is_empty()) {
        return Err(format!(
            "--levels-from {}: that run probed no searched phase",
            dir.display()
        ));
    }
    Ok(levels)
}

/// `--start-at`: RFC 3339 with a zone (`Z` or `+01:00`), or `+D` from now.
fn parse_start(s: &str) -> Result<std::time::SystemTime, String> {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let s = s.trim();
    if let Some(d) = s.strip_prefix('+') {
        let ns = super::analyze::parse_duration(d)?;
        return Ok(SystemTime::now() + Duration::from_nanos(ns.max(0) as u64));
    }
    // A zone is part of the time: `Z`, or an offset after the clock (`+01:00`, `-0500`).
    let clock = s.split_once(['T', 't', ' ']).map_or("", |(_, c)| c);
    let zoned = clock.ends_with(['Z', 'z']) || clock.contains(['+', '-']);
    match llmw::trace::datetime_ns(s) {
        Some(ns) if zoned && ns >= 0 => Ok(UNIX_EPOCH + Duration::from_nanos(ns as u64)),
        _ => Err(format!(
            "expected an RFC 3339 time with its zone (2026-12-01T10:00:00Z) or +D from now (+90s), found '{s}'"
        )),
    }
}

pub fn run(args: Args) -> ExitCode {
    let overrides = Overrides {
        sets: args.sets.clone(),
        seed: args.common.seed,
    };
    let (sources, schedule) = match super::load_schedule(&args.file, &overrides) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let texts = sources
        .iter()
        .filter(|f| f.path.is_some())
        .map(|f| (f.name.clone(), f.text.clone()))
        .collect();
    execute(schedule, texts, args.sets, &args.common)
}

/// Runs `schedule`, prints the analysis; the exit code says how it went.
pub fn execute(
    schedule: llmw::Schedule,
    sources: Vec<(String, String)>,
    sets: Vec<String>,
    common: &Common,
) -> ExitCode {
    // The pin is the whole plan's (a shard keeps the whole plan's hash).
    let pin = match schedule.pin(common.expect.as_deref()) {
        Ok(pin) => pin.map(|p| llmw::rundir::manifest::PlanPin {
            expected: p.expected,
            from: p.from.into(),
            held: true,
        }),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INVALID);
        }
    };
    let schedule = Arc::new(match common.shard {
        Some(shard) => schedule.shard(shard),
        None => schedule,
    });
    if let Err(e) = engine::check_fd_limit(&schedule) {
        eprintln!("error: {e}");
        return ExitCode::from(super::EXIT_INVALID);
    }
    let searched = schedule.phases.iter().find(|p| p.search.is_some());
    if let (Some(p), Some(_)) = (searched, common.shard) {
        eprintln!("error: phase '{}' searches its load, and each shard would search on its own; run the search on one machine (--levels-from replays its levels)", p.name);
        return ExitCode::from(super::EXIT_INVALID);
    }
    let levels = match &common.levels_from {
        Some(dir) => match levels_from(dir, &schedule) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(super::EXIT_INVALID);
            }
        },
        None => None,
    };
    let secret_headers = match secret_headers(&schedule.target.header_env) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INVALID);
        }
    };
    let targets = match targets(common) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_INVALID);
        }
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Without --target the built-in simulator serves the run, in this process, for its length.
    let (targets, simulator, _server) = if !targets.is_empty() {
        (targets, None, None)
    } else {
        let config = SimConfig {
            profile: common.sim_profile.profile(),
            ..SimConfig::default()
        };
        let described = describe(&config);
        match runtime.block_on(llmw::sim::start(([127, 0, 0, 1], 0).into(), config)) {
            Ok(server) => (vec![server.url()], Some(described), Some(server)),
            Err(e) => {
                eprintln!("error: cannot start the simulator: {e}");
                return ExitCode::from(super::EXIT_FAILED);
            }
        }
    };
    let options = RunOptions {
        out: common.out.clone(),
        targets,
        api_key: std::env::var(&common.api_key_env)
            .ok()
            .filter(|k| !k.is_empty()),
        anthropic_key: std::env::var(&common.anthropic_key_env)
            .ok()
            .filter(|k| !k.is_empty()),
        secret_headers,
        ca_cert: common.ca_cert.clone(),
        progress: !common.quiet && std::io::stderr().is_terminal(),
        provenance: Provenance {
            sources,
            sets,
            simulator,
            pin,
        },
        metrics: match (common.metrics_url.as_slice(), common.no_metrics) {
            (_, true) => Metrics::Off,
            ([], false) => Metrics::Default,
            ([u], false) => Metrics::Url(u.clone()),
            (us, false) => Metrics::Each(us.to_vec()),
        },
        stopper: Stopper::new(),
        start_at: common.start_at,
        judge: Some(Arc::new(llmw::analysis::search::ProbeJudge)),
        levels,
        warn: Some(Arc::new(|w: &str| eprintln!("warning: {w}"))),
    };
    // On the runtime's workers, so it keeps listening while the analysis prints.
    let _signals = runtime.spawn(super::signals::watch(options.stopper.clone()));
    let result = match runtime.block_on(engine::run(schedule.clone(), options)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_FAILED);
        }
    };
    // The full analysis, read back from the files just written (the same as `llmw analyze`).
    let analysis = llmw::analysis::load(&result.dir)
        .and_then(|run| llmw::analysis::analyze(&run, &Default::default()));
    match &analysis {
        Ok(a) => say!("{}", llmw::analysis::text::analysis(a).trim_end()),
        Err(e) => eprintln!("warning: cannot analyse the run: {e}"),
    }
    eprintln!("run recorded in {}", result.dir.display());
    // A shard's SLO verdict is that of part of the load: the fleet's comes from analysing
    // every shard together.
    let sharded = schedule.shard.is_some();
    if sharded {
        eprintln!("this is one shard of the plan: its SLO verdict is the fleet's, from `llmw analyze` of every shard's directory together");
    }
    let missed = !sharded && analysis.as_ref().is_ok_and(llmw::Analysis::slo_missed);
    match result.ending {
        Ending::Completed if missed => {
            eprintln!("an SLO objective was missed");
            ExitCode::from(super::EXIT_SLO)
        }
        Ending::Completed => ExitCode::SUCCESS,
        Ending::Interrupted => {
            eprintln!(
                "interrupted ({}): the files hold every request sent before it",
                result.error.as_deref().unwrap_or("a signal")
            );
            ExitCode::from(super::EXIT_FAILED)
        }
        Ending::Failed | Ending::Running => {
            eprintln!(
                "error: {}",
                result.error.as_deref().unwrap_or("the run failed")
            );
            ExitCode::from(super::EXIT_FAILED)
        }
    }
}

/// The --target URLs, then those of --targets-file.
fn targets(common: &Common) -> Result<Vec<String>, String> {
    let mut out = common.targets.clone();
    if let Some(path) = &common.targets_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --targets-file {}: {e}", path.display()))?;
        let before = out.len();
        out.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
        if out.len() == before {
            return Err(format!("--targets-file {} lists no URL", path.display()));
        }
    }
    Ok(out)
}

/// The simulator's cost model, for `run.json`.
pub fn describe(config: &SimConfig) -> manifest::Simulator {
    let p = &config.profile;
    manifest::Simulator {
        in_process: true,
        model: config.model.clone(),
        step_base_us: p.step_base_us,
        per_seq_us: p.per_seq_us,
        per_prefill_token_us: p.per_prefill_token_us,
        per_kv_token_ns: p.per_kv_token_ns,
        max_seqs: p.max_seqs,
        kv_capacity: p.kv_capacity,
        prefill_budget: p.prefill_budget,
    }
}

/// The values of `header_env` headers, from the environment; every variable missing is named.
fn secret_headers(header_env: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for (header, var) in header_env {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => out.push((header.clone(), v)),
            _ => missing.push(format!("{var} (for the {header} header)")),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "header_env reads environment variables that are not set: {}",
            missing.join(", ")
        ))
    }
}
