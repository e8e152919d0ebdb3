//! The replay engine: [`Schedule`] → a run directory of Parquet token traces.
//!
//! Phases run in order. Open-loop phases are dispatched from a dedicated thread at absolute
//! deadlines (`open`); closed-loop phases run virtual users (`closed`). Every request becomes a
//! row and every streamed chunk with text a chunk row (`request`, `record`), written as the run
//! goes by a writer thread (`writer`). Ctrl-C stops dispatch, cancels what is in flight, closes
//! the files and records `interrupted`.

mod abort;
mod calibrate;
mod clock;
mod closed;
mod context;
mod h1;
mod host_clock;
mod http;
mod niceness;
mod open;
mod pace;
mod progress;
mod race;
mod request;
mod run_dir;
pub mod scrape;
mod search;
mod session;
pub mod sse;
mod stats;
mod stop;
mod watch;
pub mod writer;

pub use clock::rfc3339;
pub use request::replay_stream;
pub use run_dir::{Ending, Provenance};
pub use scrape::Metrics;
pub use search::Levels;
pub use stop::Stopper;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::request_id::RunNonce;
use crate::rundir::manifest;
use crate::schedule::{Api, LoopKind, PromptTokens, Schedule};
use context::Ctx;
use run_dir::{Findings, PhaseSpan, RunMeta};

pub struct RunOptions {
    /// The run directory; default `runs/<workload>-<UTC time>`.
    pub out: Option<PathBuf>,
    /// The server's base URL (`http://host:8000`, a trailing `/v1` is fine). The caller starts
    /// the simulator when there is no real server.
    pub target: String,
    pub api_key: Option<String>,
    /// The values of the workload's `header_env` headers, read from the environment by the
    /// caller: (header, value). Sent with every request, never written (errors that echo
    /// them are redacted).
    pub secret_headers: Vec<(String, String)>,
    /// `--ca-cert`: a PEM file of certificates trusted for https besides the Mozilla roots.
    pub ca_cert: Option<PathBuf>,
    /// Draw the live progress line on stderr.
    pub progress: bool,
    /// The run's sources, overrides and simulator, for `run.json`.
    pub provenance: Provenance,
    /// Where the server's Prometheus metrics are scraped from, or not at all.
    pub metrics: Metrics,
    /// Stops the run early when told (the CLI wires signals to it; tests may too).
    pub stopper: Arc<Stopper>,
    /// `--start-at`: time 0 is this wall-clock instant (the run waits for it, or starts late).
    pub start_at: Option<std::time::SystemTime>,
    /// Measures a searched phase's probes while the run goes (the CLI passes the analysis').
    pub judge: Option<Arc<dyn crate::rundir::probe::Judge>>,
    /// `--levels-from`: run the searched phases at an earlier run's levels, without searching.
    pub levels: Option<Levels>,
}

pub struct RunResult {
    pub dir: PathBuf,
    pub ending: Ending,
    pub error: Option<String>,
}

/// Model discovery and the chat-template probes take at most this long each (or the workload's
/// request `timeout`, if shorter), so nothing before the run can hang on a server that accepts
/// and never answers.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The workload's request `timeout` when shorter than [`SETUP_TIMEOUT`].
fn setup_timeout(schedule: &Schedule) -> Duration {
    schedule
        .target
        .timeout_ns
        .map(Duration::from_nanos)
        .unwrap_or(SETUP_TIMEOUT)
        .min(SETUP_TIMEOUT)
}

/// `http://host:8000/v1/` → `http://host:8000`.
fn base_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    u.strip_suffix("/v1").unwrap_or(u).to_string()
}

/// The longest `/v1/models` answer read.
const MODELS_PAGE: usize = 16 << 20;

async fn discover_model(http: &http::HttpClient, key: Option<&str>) -> Result<String, String> {
    let why = |e: String| {
        format!("the workload names no model and asking the server's /v1/models failed: {e}; set target {{ model = \"...\" }}")
    };
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let sent = http
        .send(hyper::Method::GET, "/v1/models", &headers, b"")
        .await
        .map_err(|e| why(e.message))?;
    let mut resp = sent.response;
    if !resp.status.is_success() {
        return Err(why(format!("HTTP {}", resp.status.as_u16())));
    }
    let bytes = resp.body.read_to_end(MODELS_PAGE).await.map_err(why)?;
    http.release(resp.body);
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| why(format!("not JSON: {e}")))?;
    v.pointer("/data/0/id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| why("no models listed".into()))
}

/// Executes `schedule`, recording the run in its directory.
pub async fn run(schedule: Arc<Schedule>, opts: RunOptions) -> Result<RunResult, String> {
    if let Some(p) = schedule.phases.iter().find(|p| p.search.is_some()) {
        if opts.judge.is_none() && opts.levels.is_none() {
            return Err(format!("phase '{}' searches its load, which needs a judge of its probes (RunOptions::judge) or the levels to replay", p.name));
        }
        if schedule.shard.is_some() {
            return Err(format!("phase '{}' searches its load, and each shard would search on its own: run the search on one machine", p.name));
        }
    }
    let url = base_url(&opts.target);
    let trust = http::Trust::with(opts.ca_cert.as_deref())?;
    let http = http::HttpClient::new(&url, &trust)?;
    let model = match &schedule.target.model {
        Some(m) => m.clone(),
        None => tokio::time::timeout(setup_timeout(&schedule), discover_model(&http, opts.api_key.as_deref()))
            .await
            .map_err(|_| format!("the workload names no model and the server's /v1/models did not answer within {:?}; set target {{ model = \"...\" }}", setup_timeout(&schedule)))??,
    };
    let meta = RunMeta {
        provenance: opts.provenance.clone(),
        target_url: url.clone(),
        model: model.clone(),
    };
    let nonce = RunNonce::new();
    let (prompt_overhead, prompt_calibration) =
        calibrate_prompts(&http, &schedule, &model, &opts, nonce).await;
    let mut findings = Findings {
        request_ids: manifest::RequestIds {
            header: schedule.target.request_id_header.clone(),
            uuid_prefix: nonce.prefix(),
            format: "the last 15 digits are the plan's request_id in decimal".into(),
        },
        prompt_calibration,
        connections: None,
        server_metrics: None,
        start_at: None,
        host_clock: None,
        client: None,
    };
    http.prewarm(expected_concurrency(&schedule), 64).await;

    // The directory is made before any wait for `--start-at`, so a bad one fails now; its
    // default name carries time 0 (and the shard, so shards on one volume never collide).
    let dir = run_dir::choose(
        opts.out.as_deref(),
        &schedule.workload,
        opts.start_at.unwrap_or_else(std::time::SystemTime::now),
        schedule.shard,
    );
    run_dir::create(&dir)?;
    let (clock, start) = match opts.start_at {
        Some(at) => {
            wait_for(at, &opts.stopper).await;
            let (clock, late) = clock::Clock::starting_at(at);
            if late > Duration::from_secs(1) && !opts.stopper.stopped() {
                eprintln!("warning: started {:.1} s after --start-at; the first requests go out that late, and their send lag shows it", late.as_secs_f64());
            }
            let start = manifest::StartAt {
                requested: rfc3339(at),
                late_ms: late.as_secs_f64() * 1e3,
            };
            (clock, Some(start))
        }
        None => (clock::Clock::start(), None),
    };
    findings.start_at = start;
    findings.host_clock = Some(host_clock::read());
    let wall_start = clock.wall_start;
    let running = run_dir::State {
        findings: &findings,
        wall_start,
        phases: &[],
        ending: Ending::Running,
        error: None,
        counts: None,
    };
    run_dir::write(&dir, &meta, &schedule, &running)?;
    let writer = writer::TraceWriter::create(
        &dir,
        schedule.phases.iter().map(|p| p.name.clone()).collect(),
        schedule.classes.clone(),
    )?;

    let stopper = opts.stopper.clone();
    // The scraper outlives the requests: it has a stop signal of its own.
    let (scrape_stop, scrape_rx) = tokio::sync::watch::channel(false);
    let sender = request::Sender {
        http,
        api_key: opts.api_key.clone(),
        secret_headers: opts.secret_headers.clone(),
        target: schedule.target.clone(),
        model,
        schedule: schedule.clone(),
        timeout: schedule
            .target
            .timeout_ns
            .map(Duration::from_nanos)
            .unwrap_or(request::DEFAULT_TIMEOUT),
        nonce,
        prompt_overhead,
    };
    let scraper = start_scrape(&opts.metrics, &url, &sender.http, clock, &writer, scrape_rx)?;
    let (watch, watcher) = watch::spawn(clock);
    let watcher = AbortOnDrop(watcher);
    let ctx = Arc::new(Ctx::new(
        schedule.clone(),
        sender,
        clock,
        writer.tx.clone(),
        stopper.clone(),
    ));
    let spans = Arc::new(Mutex::new(Vec::<PhaseSpan>::new()));
    let mut heartbeat = AbortOnDrop(tokio::spawn(heartbeat(Heartbeat {
        dir: dir.clone(),
        meta: meta.clone(),
        schedule: schedule.clone(),
        findings: findings.clone(),
        spans: spans.clone(),
        counters: writer.counters.clone(),
        failed: writer.failed.clone(),
        stopper: stopper.clone(),
        wall_start,
    })));
    let at = Arc::new(Mutex::new(progress::Where::default()));
    let total = schedule
        .phases
        .iter()
        .try_fold(0u64, |acc, p| p.duration_ns.map(|d| acc + d + p.pause_ns));
    let display = opts
        .progress
        .then(|| progress::spawn(ctx.live.clone(), at.clone(), clock, total));

    let mut next_start = 0u64;
    for (index, plan) in schedule.phases.iter().enumerate() {
        if ctx.stopped() {
            break;
        }
        if let Ok(mut w) = at.lock() {
            *w = progress::Where {
                phase: plan.name.clone(),
                step: 0,
                steps: plan.steps.len(),
            };
        }
        let start = next_start.max(ctx.clock.now());
        if let Ok(mut spans) = spans.lock() {
            spans.push(PhaseSpan {
                start_ns: start,
                end_ns: None,
                search: None,
            });
        }
        let steps_task =
            (plan.steps.len() > 1).then(|| track_steps(at.clone(), ctx.clone(), index, start));
        let manifest_now = |spans: &[PhaseSpan]| {
            run_dir::manifest(
                &meta,
                &schedule,
                &run_dir::State {
                    findings: &findings,
                    wall_start,
                    phases: spans,
                    ending: Ending::Running,
                    error: None,
                    counts: None,
                },
            )
        };
        let end = match plan.kind {
            _ if plan.search.is_some() => {
                search::run(search::Driver {
                    ctx: ctx.clone(),
                    index,
                    start_ns: start,
                    spans: spans.clone(),
                    judge: opts.judge.clone(),
                    levels: opts.levels.as_ref(),
                    manifest: &manifest_now,
                })
                .await
            }
            LoopKind::Open => {
                let (c, h) = (ctx.clone(), tokio::runtime::Handle::current());
                match tokio::task::spawn_blocking(move || open::run(c, h, index, start)).await {
                    Ok(end) => end,
                    Err(e) => {
                        // The run ends failed, with its files, rather than returning early.
                        ctx.stopper.stop(
                            Ending::Failed,
                            format!("llmw bug: the dispatcher failed: {e}"),
                        );
                        ctx.clock.now()
                    }
                }
            }
            LoopKind::Closed => closed::run(ctx.clone(), index, start).await,
        };
        if let Some(t) = steps_task {
            t.abort();
        }
        if let Some(span) = spans.lock().ok().as_mut().and_then(|s| s.last_mut()) {
            span.end_ns = Some(end);
        }
        next_start = end + plan.pause_ns;
        if plan.pause_ns > 0 && index + 1 < schedule.phases.len() {
            let mut stop = ctx.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep_until(ctx.clock.instant(next_start).into()) => {}
                _ = stop::until_set(&mut stop) => {}
            }
        }
    }
    ctx.drain().await;
    if let Some(d) = display {
        d.abort();
        progress::clear();
    }
    let reuse = ctx.sender.http.report().reuse;
    findings.connections = Some(manifest::Connections {
        reuse,
        note: (!reuse).then(|| {
            "the server closed connections after responses without saying so; each request opened its own".into()
        }),
    });
    drop(ctx);
    if let Some(task) = scraper {
        let _ = scrape_stop.send(true);
        if let Ok(outcome) = task.await {
            findings.server_metrics = Some(outcome.to_manifest());
        }
    } else {
        findings.server_metrics = Some(manifest::ServerMetrics {
            off: true,
            ..Default::default()
        });
    }
    heartbeat.0.abort();
    let _ = (&mut heartbeat.0).await;
    drop(watcher);
    findings.client = Some(watch.to_manifest());
    let (mut ending, mut error) = match stopper.outcome() {
        Some((e, why)) => (e, Some(why)),
        None => (Ending::Completed, None),
    };
    // A completed run's parts become one file per table; a run cut short keeps its parts, so
    // it ends at once (and a second signal loses nothing).
    let written = writer.finish(ending == Ending::Completed);
    if let Err(e) = &written {
        ending = Ending::Failed;
        error = Some(match error {
            // The writer's own failure is often what stopped the run: say it once.
            Some(first) if first == *e => first,
            Some(first) => format!("{first}; {e}"),
            None => e.clone(),
        });
    }
    let counts = written.ok().map(|w| manifest::Counts {
        requests: w.requests,
        chunks: w.chunks,
        server_metrics: w.metrics,
        updated_at: None,
    });
    let spans = spans.lock().map(|s| s.clone()).unwrap_or_default();
    let end = run_dir::State {
        findings: &findings,
        wall_start,
        phases: &spans,
        ending,
        error: error.as_deref(),
        counts,
    };
    run_dir::write(&dir, &meta, &schedule, &end)?;
    Ok(RunResult { dir, ending, error })
}

/// Waits until the wall clock reads `at` (re-reading it each second, so a clock stepped by its
/// daemon meanwhile is followed), or the run is stopped.
async fn wait_for(at: std::time::SystemTime, stopper: &Stopper) {
    // The last stretch is spun (yielding), so time 0 is reached within microseconds.
    const SPIN: Duration = Duration::from_millis(2);
    let mut stop = stopper.subscribe();
    while let Ok(left) = at.duration_since(std::time::SystemTime::now()) {
        if stopper.stopped() {
            return;
        }
        if left <= SPIN {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(left.saturating_sub(SPIN).min(Duration::from_secs(1))) => {}
            _ = stop::until_set(&mut stop) => return,
        }
    }
}

/// A task that is aborted when its handle is dropped (on every way out of `run`).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the heartbeat needs to rewrite `run.json` while the run goes.
struct Heartbeat {
    dir: PathBuf,
    meta: RunMeta,
    schedule: Arc<Schedule>,
    findings: Findings,
    spans: Arc<Mutex<Vec<PhaseSpan>>>,
    counters: Arc<writer::Counters>,
    failed: Arc<Mutex<Option<String>>>,
    stopper: Arc<Stopper>,
    wall_start: std::time::SystemTime,
}

/// Every second: `run.json` says how far the run got (so a killed run still tells), and a
/// failed writer (a full disk) stops the run.
async fn heartbeat(h: Heartbeat) {
    let mut tick = tokio::time::interval(writer::PART_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(e) = h.failed.lock().ok().and_then(|f| f.clone()) {
            h.stopper.stop(Ending::Failed, e);
        }
        let w = h.counters.snapshot();
        let spans = h.spans.lock().map(|s| s.clone()).unwrap_or_default();
        let state = run_dir::State {
            findings: &h.findings,
            wall_start: h.wall_start,
            phases: &spans,
            ending: Ending::Running,
            error: None,
            counts: Some(manifest::Counts {
                requests: w.requests,
                chunks: w.chunks,
                server_metrics: w.metrics,
                updated_at: Some(rfc3339(std::time::SystemTime::now())),
            }),
        };
        // A failed rewrite leaves the last good run.json; the next tick tries again.
        let _ = run_dir::write(&h.dir, &h.meta, &h.schedule, &state);
    }
}

/// Measures the chat template's overhead when the run needs it (chat API, `prompt_tokens =
/// exact`, synthesized prompts); returns the tokens to take off each synthesized prompt and what
/// `run.json` says of it.
async fn calibrate_prompts(
    http: &http::HttpClient,
    schedule: &Schedule,
    model: &str,
    opts: &RunOptions,
    nonce: RunNonce,
) -> (u32, manifest::PromptCalibration) {
    let t = &schedule.target;
    let none = |note: Option<String>, failed: Option<String>| manifest::PromptCalibration {
        mode: run_dir::prompt_tokens(t.prompt_tokens),
        overhead_tokens: 0,
        tokens_per_word: None,
        probes: Vec::new(),
        note,
        failed,
    };
    if t.api != Api::Chat || t.prompt_tokens == PromptTokens::Text {
        let note = if t.api == Api::Chat {
            "the server's template tokens come on top of input"
        } else {
            "completions send the text as it is"
        };
        return (0, none(Some(note.into()), None));
    }
    let auth = opts.api_key.as_ref().map(|k| format!("Bearer {k}"));
    let mut headers: Vec<(&str, &str)> = t
        .headers
        .iter()
        .chain(&opts.secret_headers)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    let probes = calibrate::measure(http, model, &headers, t.request_id_header.as_deref(), nonce);
    let limit = setup_timeout(schedule);
    let measured = tokio::time::timeout(limit, probes)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")));
    match measured {
        Ok(c) => {
            if (c.tokens_per_word - 1.0).abs() > 0.05 {
                eprintln!("warning: the server counts {:.2} tokens per synthesized word (1.00 expected); prompt lengths will be off by that factor", c.tokens_per_word);
            }
            (c.overhead, c.to_manifest())
        }
        Err(e) => {
            eprintln!("warning: could not measure the chat template's tokens ({e}); chat prompts carry them on top of input");
            (0, none(None, Some(e)))
        }
    }
}

/// Starts scraping the server's metrics unless turned off.
fn start_scrape(
    metrics: &Metrics,
    target: &str,
    http: &http::HttpClient,
    clock: clock::Clock,
    writer: &writer::TraceWriter,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<scrape::Outcome>>, String> {
    let (client, path, url) = match metrics {
        Metrics::Off => return Ok(None),
        Metrics::Default => (
            http.sibling(),
            "/metrics".to_string(),
            format!("{target}/metrics"),
        ),
        Metrics::Url(u) => {
            let (base, path) = scrape::split_url(u)?;
            (http.elsewhere(&base)?, path, u.clone())
        }
    };
    let url = run_dir::sanitize_url(&url);
    Ok(Some(tokio::spawn(scrape::run(
        client,
        path,
        url,
        clock,
        writer.tx.clone(),
        stop,
    ))))
}

/// File descriptors a run needs beyond one per connection: Parquet parts, run.json, the
/// metrics scrape, the runtime, stdio.
const FD_RESERVE: u64 = 64;

/// Raises the soft open-files limit to the hard limit, then checks the run fits under it: one
/// descriptor per connection at peak concurrency plus a reserve. The error names the limit and
/// the fix, so a run is refused up front rather than failing mid-way on "Too many open files".
pub fn check_fd_limit(schedule: &Schedule) -> Result<(), String> {
    let peak = peak_connections(schedule);
    let need = peak + FD_RESERVE;
    let Ok(limit) = rlimit::increase_nofile_limit(u64::MAX) else {
        return Ok(()); // no such limit here
    };
    if need > limit {
        return Err(format!(
            "the run needs about {need} open files ({peak} connections at its peak plus {FD_RESERVE}) but this process may open {limit}; raise the limit (ulimit -n {need}, or LimitNOFILE= under systemd) or lower the concurrency"
        ));
    }
    Ok(())
}

/// How many connections the run will want at once: the peak users of closed-loop phases; for
/// open-loop phases `max_in_flight`, or one second's worth of the peak rate.
fn expected_concurrency(schedule: &Schedule) -> usize {
    (peak_connections(schedule) as usize).min(4096)
}

/// The peak users of closed-loop phases; for open-loop phases `max_in_flight`, or one second's
/// worth of the peak rate (at most 512).
fn peak_connections(schedule: &Schedule) -> u64 {
    let most = schedule
        .phases
        .iter()
        .map(|p| match p.kind {
            LoopKind::Closed => p.users.iter().map(|u| u.users as f64).fold(0.0, f64::max),
            LoopKind::Open => {
                let rate = p.steps.iter().map(|s| s.level).fold(0.0, f64::max);
                p.max_in_flight.map(|m| m as f64).unwrap_or(rate).min(512.0)
            }
        })
        .fold(0.0, f64::max);
    most.ceil() as u64
}

/// Keeps the progress display's step index current for a stepped phase.
fn track_steps(
    at: Arc<Mutex<progress::Where>>,
    ctx: Arc<Ctx>,
    index: usize,
    start: u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let steps: Vec<u64> = ctx.schedule.phases[index]
            .steps
            .iter()
            .map(|s| s.start_ns)
            .collect();
        for (i, s) in steps.iter().enumerate() {
            tokio::time::sleep_until(ctx.clock.instant(start + s).into()).await;
            if let Ok(mut w) = at.lock() {
                w.step = i as u32;
            }
        }
    })
}
