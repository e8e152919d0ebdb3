//! Time 0 and what records the run from then on: the run directory and its first `run.json`,
//! the clock, the trace writer, the metrics scrape, the self-watch, the heartbeat and the
//! progress line. What is started here is stopped in `finish`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::drive::context::Ctx;
use crate::engine::lifecycle::options::{RunError, RunOptions};
use crate::engine::lifecycle::setup;
use crate::engine::record::heartbeat::{self, Heartbeat};
use crate::engine::record::run_dir::{self, Findings, RunMeta};
use crate::engine::record::run_record::{RunRecord, Standing};
use crate::engine::record::scrape::{self, Metrics};
use crate::engine::record::warn::Warn;
use crate::engine::record::writer::TraceWriter;
use crate::engine::record::{host_clock, progress, watch};
use crate::engine::request::Sender;
use crate::engine::wire::clock::{rfc3339, Clock};
use crate::rundir::manifest;
use crate::schedule::Schedule;

/// A task that is aborted when its handle is dropped (on every way out of the run).
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The metrics scrape and the signal that stops it (it outlives the requests): one outcome
/// per page, and whether the pages are the targets' own, one each in order.
pub struct Scraper {
    pub task: tokio::task::JoinHandle<Vec<scrape::Outcome>>,
    pub stop: tokio::sync::watch::Sender<bool>,
    pub per_target: bool,
}

/// A run being recorded.
pub struct Recording {
    pub ctx: Arc<Ctx>,
    pub record: Arc<RunRecord>,
    pub writer: TraceWriter,
    /// The scrape and its stop signal (it outlives the requests).
    pub scraper: Option<Scraper>,
    pub heartbeat: AbortOnDrop<()>,
    pub watch: (watch::Watch, AbortOnDrop<()>),
    /// Where the progress line says the run is.
    pub at: Arc<Mutex<progress::Where>>,
    pub display: Option<tokio::task::JoinHandle<()>>,
}

/// Makes the run directory, waits for `--start-at`, and starts everything that records.
pub async fn start(
    schedule: Arc<Schedule>,
    opts: &RunOptions,
    urls: Vec<String>,
    sender: Sender,
    mut findings: Findings,
    warn: &Warn,
) -> Result<Recording, RunError> {
    let meta = RunMeta {
        provenance: opts.provenance.clone(),
        target_url: urls[0].clone(),
        model: sender.model.clone(),
    };
    // The directory is made before any wait for `--start-at`, so a bad one fails now; its
    // default name carries time 0 (and the shard, so shards on one volume never collide).
    let dir = run_dir::choose(
        opts.out.as_deref(),
        &schedule.workload,
        opts.start_at.unwrap_or_else(std::time::SystemTime::now),
        schedule.shard,
    );
    run_dir::create(&dir).map_err(RunError::RunDir)?;
    let clock = match opts.start_at {
        Some(at) => {
            setup::wait_for(at, &opts.stopper).await;
            let (clock, late) = Clock::starting_at(at);
            if late > Duration::from_secs(1) && !opts.stopper.stopped() {
                warn(&format!("started {:.1} s after --start-at; the first requests go out that late, and their send lag shows it", late.as_secs_f64()));
            }
            findings.start_at = Some(manifest::StartAt {
                requested: rfc3339(at),
                late_ms: late.as_secs_f64() * 1e3,
            });
            clock
        }
        None => Clock::start(),
    };
    findings.host_clock = Some(host_clock::read());
    let record = RunRecord::new(
        dir.clone(),
        meta,
        schedule.clone(),
        findings,
        clock.wall_start,
    );
    record.write(&Standing::RUNNING).map_err(RunError::RunDir)?;
    let writer = TraceWriter::create(
        &dir,
        schedule.phases.iter().map(|p| p.name.clone()).collect(),
        schedule.classes.clone(),
    )
    .map_err(RunError::Writer)?;
    let scraper = start_scrape(&opts.metrics, &urls, &sender, clock, &writer)?;
    let (watch, watcher) = watch::spawn(clock);
    let ctx = Arc::new(Ctx::new(
        schedule.clone(),
        sender,
        clock,
        writer.tx.clone(),
        opts.stopper.clone(),
    ));
    let heartbeat = AbortOnDrop(tokio::spawn(heartbeat::run(Heartbeat {
        record: record.clone(),
        counters: writer.counters.clone(),
        failed: writer.failed.clone(),
        stopper: opts.stopper.clone(),
    })));
    let at = Arc::new(Mutex::new(progress::Where::default()));
    let total = schedule
        .phases
        .iter()
        .try_fold(0u64, |acc, p| p.duration_ns.map(|d| acc + d + p.pause_ns));
    let display = opts
        .progress
        .then(|| progress::spawn(ctx.live.clone(), at.clone(), clock, total));
    Ok(Recording {
        ctx,
        record,
        writer,
        scraper,
        heartbeat,
        watch: (watch, AbortOnDrop(watcher)),
        at,
        display,
    })
}

/// Starts scraping the servers' metrics unless turned off: each target's `/metrics`, one
/// `--metrics-url` for all, or one per target.
fn start_scrape(
    metrics: &Metrics,
    urls: &[String],
    sender: &Sender,
    clock: Clock,
    writer: &TraceWriter,
) -> Result<Option<Scraper>, RunError> {
    let replicas = &sender.replicas;
    let elsewhere = |u: &str, target: Option<&Arc<str>>| {
        let (base, path) = scrape::split_url(u).map_err(RunError::Target)?;
        Ok(scrape::Source {
            http: replicas[0]
                .http
                .elsewhere(&base)
                .map_err(RunError::Target)?,
            path,
            url: run_dir::sanitize_url(u),
            target: target.cloned(),
        })
    };
    let (sources, per_target) = match metrics {
        Metrics::Off => return Ok(None),
        Metrics::Default => (
            replicas
                .iter()
                .zip(urls)
                .map(|(r, url)| scrape::Source {
                    http: r.http.sibling(),
                    path: "/metrics".to_string(),
                    url: run_dir::sanitize_url(&format!("{url}/metrics")),
                    target: Some(r.url.clone()),
                })
                .collect(),
            true,
        ),
        Metrics::Url(u) => {
            let one = (replicas.len() == 1).then(|| &replicas[0].url);
            (vec![elsewhere(u, one)?], replicas.len() == 1)
        }
        // As many as the targets (the run checked it before set-up).
        Metrics::Each(us) => (
            us.iter()
                .zip(replicas)
                .map(|(u, r)| elsewhere(u, Some(&r.url)))
                .collect::<Result<_, _>>()?,
            true,
        ),
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scrape::run(sources, clock, writer.tx.clone(), rx));
    Ok(Some(Scraper {
        task,
        stop,
        per_target,
    }))
}
