//! The replay engine: [`Schedule`] → a run directory of Parquet token traces.
//!
//! Phases run in order. Open-loop phases are dispatched from a dedicated thread at absolute
//! deadlines (`open`); closed-loop phases run virtual users (`closed`). Every request becomes a
//! row and every streamed chunk with text a chunk row (`request`, `record`), written as the run
//! goes by a writer thread (`writer`). Ctrl-C stops dispatch, cancels what is in flight, closes
//! the files and records `interrupted`.

mod clock;
mod closed;
mod context;
mod http;
mod open;
mod progress;
pub mod record;
mod request;
pub mod run_dir;
pub mod sse;
mod stats;
mod summary;
pub mod writer;

pub use clock::rfc3339;
pub use run_dir::{Ending, RunMeta};
pub use stats::{percentile, Group};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::schedule::{LoopKind, Schedule};
use crate::sim::{self, SimConfig};
use context::Ctx;
use run_dir::PhaseSpan;

pub struct RunOptions {
    /// The run directory; default `runs/<workload>-<UTC time>`.
    pub out: Option<PathBuf>,
    /// The server's base URL; `None` starts the simulator in-process.
    pub target: Option<String>,
    pub api_key: Option<String>,
    /// Draw the live progress line on stderr.
    pub progress: bool,
    /// The in-process simulator's configuration (used only without `target`).
    pub sim: SimConfig,
}

pub struct RunResult {
    pub dir: PathBuf,
    pub ending: Ending,
    pub error: Option<String>,
    pub groups: BTreeMap<(u32, u32), Group>,
}

impl RunResult {
    /// The end-of-run table.
    pub fn write_summary(
        &self,
        out: &mut impl std::io::Write,
        schedule: &Schedule,
    ) -> std::io::Result<()> {
        summary::write(out, schedule, &self.groups)
    }
}

/// `http://host:8000/v1/` → `http://host:8000`.
fn base_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    u.strip_suffix("/v1").unwrap_or(u).to_string()
}

async fn discover_model(http: &http::HttpClient, key: Option<&str>) -> Result<String, String> {
    use http_body_util::BodyExt;
    let why = |e: String| {
        format!("the workload names no model and asking the server's /v1/models failed: {e}; set target {{ model = \"...\" }}")
    };
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let (resp, lease) = http
        .send(
            hyper::Method::GET,
            "/v1/models",
            &headers,
            bytes::Bytes::new(),
        )
        .await
        .map_err(why)?;
    if !resp.status().is_success() {
        return Err(why(format!("HTTP {}", resp.status().as_u16())));
    }
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| why(http::describe(&e)))?
        .to_bytes();
    http.release(lease);
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| why(format!("not JSON: {e}")))?;
    v.pointer("/data/0/id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| why("no models listed".into()))
}

/// Executes `schedule`, recording the run in its directory.
pub async fn run(
    schedule: Arc<Schedule>,
    mut meta: RunMeta,
    opts: RunOptions,
) -> Result<RunResult, String> {
    // Without a target, the simulator runs in-process for the length of the run.
    let (url, simulator) = match &opts.target {
        Some(t) => (base_url(t), None),
        None => {
            let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
            let server = sim::start(addr, opts.sim.clone())
                .await
                .map_err(|e| format!("cannot start the simulator: {e}"))?;
            (server.url(), Some(server))
        }
    };
    meta.target_url = url.clone();
    meta.simulator = simulator.as_ref().map(|_| {
        let p = &opts.sim.profile;
        json!({"in_process": true, "model": opts.sim.model, "step_base_us": p.step_base_us, "per_seq_us": p.per_seq_us,
               "per_prefill_token_us": p.per_prefill_token_us, "per_kv_token_ns": p.per_kv_token_ns,
               "max_seqs": p.max_seqs, "kv_capacity": p.kv_capacity, "prefill_budget": p.prefill_budget})
    });
    let http = http::HttpClient::new(&url)?;
    let model = match &schedule.target.model {
        Some(m) => m.clone(),
        None => discover_model(&http, opts.api_key.as_deref()).await?,
    };
    meta.model = model.clone();
    http.prewarm(expected_concurrency(&schedule), 64).await;

    let clock = clock::Clock::start();
    let dir = run_dir::choose(opts.out.as_deref(), &schedule.workload, clock.wall_start);
    run_dir::create(&dir)?;
    let mut spans: Vec<PhaseSpan> = Vec::new();
    let wall_start = clock.wall_start;
    let running = run_dir::State {
        wall_start,
        phases: &spans,
        ending: Ending::Running,
        error: None,
        counts: json!(null),
    };
    run_dir::write(&dir, &meta, &schedule, &running)?;
    let writer = writer::TraceWriter::create(
        &dir,
        schedule.phases.iter().map(|p| p.name.clone()).collect(),
        schedule.classes.clone(),
    )?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_flag = Arc::new(AtomicBool::new(false));
    let sender = request::Sender {
        http,
        api_key: opts.api_key.clone(),
        target: schedule.target.clone(),
        model,
        schedule: schedule.clone(),
        timeout: schedule
            .target
            .timeout_ns
            .map(Duration::from_nanos)
            .unwrap_or(request::DEFAULT_TIMEOUT),
    };
    let ctx = Arc::new(Ctx::new(
        schedule.clone(),
        sender,
        clock,
        writer.tx.clone(),
        stop_rx,
        stop_flag.clone(),
    ));
    let interrupt = {
        let flag = stop_flag.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
                let _ = stop_tx.send(true);
            }
        })
    };
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
        spans.push(PhaseSpan {
            start_ns: start,
            end_ns: None,
        });
        let steps_task =
            (plan.steps.len() > 1).then(|| track_steps(at.clone(), ctx.clone(), index, start));
        let end = match plan.kind {
            LoopKind::Open => {
                let (c, h) = (ctx.clone(), tokio::runtime::Handle::current());
                tokio::task::spawn_blocking(move || open::run(c, h, index, start))
                    .await
                    .map_err(|e| format!("dispatcher failed: {e}"))?
            }
            LoopKind::Closed => closed::run(ctx.clone(), index, start).await,
        };
        if let Some(t) = steps_task {
            t.abort();
        }
        if let Some(span) = spans.last_mut() {
            span.end_ns = Some(end);
        }
        next_start = end + plan.pause_ns;
        if plan.pause_ns > 0 && index + 1 < schedule.phases.len() {
            let mut stop = ctx.stop.clone();
            tokio::select! {
                _ = tokio::time::sleep_until(ctx.clock.instant(next_start).into()) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    }
    ctx.drain().await;
    if let Some(d) = display {
        d.abort();
        progress::clear();
    }
    interrupt.abort();
    let ending = if ctx.stopped() {
        Ending::Interrupted
    } else {
        Ending::Completed
    };
    let groups = ctx.live.groups();
    drop(ctx);
    let written = writer.finish();
    let (ending, error) = match &written {
        Ok(_) => (ending, None),
        Err(e) => (Ending::Failed, Some(e.clone())),
    };
    let counts = written
        .map(|w| json!({"requests": w.requests, "chunks": w.chunks}))
        .unwrap_or(json!(null));
    let end = run_dir::State {
        wall_start,
        phases: &spans,
        ending,
        error: error.as_deref(),
        counts,
    };
    run_dir::write(&dir, &meta, &schedule, &end)?;
    drop(simulator);
    Ok(RunResult {
        dir,
        ending,
        error,
        groups,
    })
}

/// How many connections the run will want at once: the peak users of closed-loop phases; for
/// open-loop phases `max_in_flight`, or one second's worth of the peak rate.
fn expected_concurrency(schedule: &Schedule) -> usize {
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
    (most.ceil() as usize).min(4096)
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
