//! Before time 0: the client, the model (asked of the server when the workload names none),
//! the chat template measured, the file-descriptor budget, and the wait for `--start-at`.
//! Each step is bounded, so nothing before the run can hang on a server that accepts and
//! never answers.

use std::time::Duration;

use serde_json::Value;

use crate::engine::lifecycle::calibrate;
use crate::engine::lifecycle::options::RunError;
use crate::engine::record::run_dir;
use crate::engine::record::stop::{self, Stopper};
use crate::engine::record::warn::Warn;
use crate::engine::request::{Replica, Sender};
use crate::engine::wire::http::HttpClient;
use crate::rundir::manifest;
use crate::schedule::{Api, LoopKind, PromptTokens, Schedule};

/// Model discovery and the chat-template probes take at most this long each (or the workload's
/// request `timeout`, if shorter).
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `/v1/models` answer read.
const MODELS_PAGE: usize = 16 << 20;
/// File descriptors a run needs beyond one per connection: Parquet parts, run.json, the
/// metrics scrape, the runtime, stdio.
const FD_RESERVE: u64 = 64;

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
pub fn base_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    u.strip_suffix("/v1").unwrap_or(u).to_string()
}

/// The run's targets as base URLs: at least one, none named twice.
pub fn base_urls(targets: &[String]) -> Result<Vec<String>, String> {
    let urls: Vec<String> = targets.iter().map(|t| base_url(t)).collect();
    if urls.is_empty() {
        return Err("no target to send to".into());
    }
    for (i, u) in urls.iter().enumerate() {
        if urls[..i].contains(u) {
            return Err(format!(
                "the target {u} is given twice; give each replica once (spread sends each its share)"
            ));
        }
    }
    Ok(urls)
}

/// The plan can run as asked: a searched phase has a judge (or levels to replay), and is not
/// split across shards.
pub fn check_plan(schedule: &Schedule, judged: bool) -> Result<(), RunError> {
    let Some(p) = schedule.phases.iter().find(|p| p.search.is_some()) else {
        return Ok(());
    };
    if !judged {
        return Err(RunError::Plan(format!("phase '{}' searches its load, which needs a judge of its probes (RunOptions::judge) or the levels to replay", p.name)));
    }
    if schedule.shard.is_some() {
        return Err(RunError::Plan(format!("phase '{}' searches its load, and each shard would search on its own: run the search on one machine", p.name)));
    }
    Ok(())
}

/// The workload's model, or the first the server lists, and the replica set-up asks from
/// then on: the first whose `/v1/models` answered (a dead replica of several is not the run's
/// end; its requests fail on their own).
pub async fn model(
    schedule: &Schedule,
    replicas: &[Replica],
    auth: &[(&'static str, String)],
) -> Result<(String, usize), RunError> {
    if let Some(m) = &schedule.target.model {
        return Ok((m.clone(), 0));
    }
    let limit = setup_timeout(schedule);
    let mut first_error = None;
    for (i, replica) in replicas.iter().enumerate() {
        let asked = tokio::time::timeout(limit, discover_model(&replica.http, auth))
            .await
            .map_err(|_| format!("the workload names no model and the server's /v1/models did not answer within {limit:?}; set target {{ model = \"...\" }}"))
            .and_then(|r| r);
        match asked {
            Ok(m) => return Ok((m, i)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let e = first_error.unwrap_or_default();
    Err(RunError::Model(match replicas.len() {
        1 => e,
        n => format!("{e} (asked of all {n} targets)"),
    }))
}

async fn discover_model(
    http: &HttpClient,
    auth: &[(&'static str, String)],
) -> Result<String, String> {
    let why = |e: String| {
        format!("the workload names no model and asking the server's /v1/models failed: {e}; set target {{ model = \"...\" }}")
    };
    let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
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

/// Measures each API's template overhead where the run needs it (a templated API, `prompt_tokens
/// = exact`): every API the plan sends to, the target's first. Returns each API with the tokens
/// to take off its synthesized prompts and what `run.json` says of it.
pub async fn calibrate_prompts(
    sender: &Sender,
    schedule: &Schedule,
    warn: &Warn,
) -> Vec<(Api, u32, manifest::PromptCalibration)> {
    let mut apis = schedule.apis();
    apis.sort_by_key(|a| *a != schedule.target.api);
    if apis.is_empty() {
        apis.push(schedule.target.api);
    }
    let mut out = Vec::with_capacity(apis.len());
    for api in apis {
        let (overhead, calibration) = calibrate_api(sender, schedule, api, warn).await;
        out.push((api, overhead, calibration));
    }
    out
}

async fn calibrate_api(
    sender: &Sender,
    schedule: &Schedule,
    api: Api,
    warn: &Warn,
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
    if !api.templated() || t.prompt_tokens == PromptTokens::Text {
        let note = if api.templated() {
            "the server's template tokens come on top of input".to_string()
        } else {
            format!("{} sends the text as it is", api.as_str())
        };
        return (0, none(Some(note), None));
    }
    let limit = setup_timeout(schedule);
    // From the replica that told the model on: the first that answers the probes.
    let n = sender.replicas.len();
    let mut measured = Err(String::new());
    for i in (0..n).map(|k| (sender.primary + k) % n) {
        let tried = tokio::time::timeout(limit, calibrate::measure(sender, i, api))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")));
        match (&measured, tried) {
            (_, Ok(c)) => {
                measured = Ok(c);
                break;
            }
            (Err(e), Err(tried)) if e.is_empty() => measured = Err(tried),
            _ => {}
        }
    }
    let name = api.as_str();
    match measured {
        Ok(c) => {
            if (c.tokens_per_word - 1.0).abs() > 0.05 {
                warn(&format!("the server counts {:.2} tokens per synthesized word on {name} (1.00 expected); prompt lengths will be off by that factor", c.tokens_per_word));
            }
            (c.overhead, c.to_manifest())
        }
        Err(e) => {
            warn(&format!("could not measure the {name} template's tokens ({e}); {name} prompts carry them on top of input"));
            (0, none(None, Some(e)))
        }
    }
}

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

/// How many connections to open ahead of the run.
pub fn expected_concurrency(schedule: &Schedule) -> usize {
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

/// Waits until the wall clock reads `at` (re-reading it each second, so a clock stepped by its
/// daemon meanwhile is followed), or the run is stopped.
pub async fn wait_for(at: std::time::SystemTime, stopper: &Stopper) {
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
