//! One run, in four steps, each a function of its own file:
//!
//! 1. **set-up** (`setup`, `calibrate`): the plan checked, the client, the model, the chat
//!    template measured, connections opened ahead;
//! 2. **recording** (`recording`): the run directory, time 0, the writer, the scrape, the
//!    watch, the heartbeat — all reading one [`RunRecord`](crate::engine::record::run_record::RunRecord);
//! 3. **phases** (`phases`): each phase by its driver;
//! 4. **finish** (`finish`): in-flight requests waited for, files closed, the last `run.json`.
//!
//! `options` holds what a caller gives and gets back.

mod calibrate;
mod finish;
pub mod options;
mod phases;
mod recording;
pub mod setup;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::record::run_dir::{self, Findings};
use crate::engine::record::warn;
use crate::engine::request::{self, Sender};
use crate::engine::wire::http;
use crate::request_id::RunNonce;
use crate::rundir::manifest;
use crate::schedule::Schedule;
use options::{RunError, RunOptions, RunResult};

/// Executes `schedule`, recording the run in its directory.
pub async fn run(schedule: Arc<Schedule>, opts: RunOptions) -> Result<RunResult, RunError> {
    setup::check_plan(&schedule, opts.judge.is_some() || opts.levels.is_some())?;
    let warn = opts.warn.clone().unwrap_or_else(warn::ignore);
    let urls = setup::base_urls(&opts.targets).map_err(RunError::Target)?;
    if let crate::engine::record::scrape::Metrics::Each(pages) = &opts.metrics {
        if pages.len() != urls.len() {
            return Err(RunError::Target(format!(
                "{} metrics URLs for {} targets: give one --metrics-url for the whole fleet, or one per --target in the same order",
                pages.len(),
                urls.len()
            )));
        }
    }
    let (sender, findings) = prepare(&schedule, &opts, &urls, &warn).await?;
    let rec = recording::start(schedule, &opts, urls, sender, findings, &warn).await?;
    let searching = phases::Searching {
        judge: opts.judge.clone(),
        levels: opts.levels.as_ref(),
        warn: &warn,
    };
    phases::run_all(&rec.ctx, &rec.record, &rec.at, &searching).await;
    finish::close(rec).await
}

/// Set-up: the sender (its clients, model, dialect, prompt overhead) and what was learned.
async fn prepare(
    schedule: &Arc<Schedule>,
    opts: &RunOptions,
    urls: &[String],
    warn: &warn::Warn,
) -> Result<(Sender, Findings), RunError> {
    let trust = http::Trust::with(opts.ca_cert.as_deref()).map_err(RunError::Target)?;
    let replicas = urls
        .iter()
        .map(|url| {
            Ok(request::Replica {
                url: run_dir::sanitize_url(url).into(),
                http: http::HttpClient::new(url, &trust)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(RunError::Target)?;
    let nonce = RunNonce::new();
    let mut sender = Sender {
        replicas,
        primary: 0,
        api_key: opts.api_key.clone(),
        anthropic_key: opts.anthropic_key.clone(),
        secret_headers: opts.secret_headers.clone(),
        target: schedule.target.clone(),
        lanes: request::Lane::all(),
        model: String::new(),
        schedule: schedule.clone(),
        timeout: schedule
            .target
            .timeout_ns
            .map(Duration::from_nanos)
            .unwrap_or(request::DEFAULT_TIMEOUT),
        nonce,
        stopper: opts.stopper.clone(),
    };
    // Asked as the target's API asks: its key in its header (Anthropic's `x-api-key`).
    let auth = sender.auth(schedule.target.api);
    (sender.model, sender.primary) = setup::model(schedule, &sender.replicas, &auth).await?;
    let calibrated = setup::calibrate_prompts(&sender, schedule, warn).await;
    for (api, overhead, _) in &calibrated {
        sender.lanes[*api as usize].prompt_overhead = *overhead;
    }
    let prompt_calibration = calibrated[0].2.clone();
    let prompt_calibration_by_api = match calibrated.len() {
        1 => Default::default(),
        _ => calibrated
            .into_iter()
            .map(|(api, _, c)| (api.as_str().to_string(), c))
            .collect(),
    };
    // Each replica's share of the connections, opened together (a dead one fails at once).
    let share = setup::expected_concurrency(schedule).div_ceil(sender.replicas.len());
    let per = 64usize.div_ceil(sender.replicas.len());
    futures_util::future::join_all(sender.replicas.iter().map(|r| r.http.prewarm(share, per)))
        .await;
    let findings = Findings {
        request_ids: manifest::RequestIds {
            header: schedule.target.request_id_header.clone(),
            uuid_prefix: nonce.prefix(),
            format: "the last 15 digits are the plan's request_id in decimal".into(),
        },
        prompt_calibration,
        prompt_calibration_by_api,
        connections: None,
        server_metrics: None,
        fleet: (urls.len() > 1).then(|| manifest::Fleet {
            spread: schedule.target.spread.as_str().to_string(),
            targets: sender
                .replicas
                .iter()
                .map(|r| manifest::Replica {
                    url: r.url.to_string(),
                    server_metrics: None,
                })
                .collect(),
        }),
        start_at: None,
        host_clock: None,
        client: None,
    };
    Ok((sender, findings))
}
