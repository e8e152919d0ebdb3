//! After the last phase: what is in flight is waited for, the scrape, heartbeat and watch are
//! stopped and their findings recorded, the trace files closed, and the last `run.json`
//! written with how the run ended.

use crate::engine::lifecycle::options::{RunError, RunResult};
use crate::engine::lifecycle::recording::Recording;
use crate::engine::record::run_dir::Ending;
use crate::engine::record::run_record::Standing;
use crate::engine::record::{progress, scrape};
use crate::rundir::manifest;

pub async fn close(rec: Recording) -> Result<RunResult, RunError> {
    let Recording {
        ctx,
        record,
        writer,
        scraper,
        mut heartbeat,
        watch: (watch, watcher),
        at: _,
        display,
    } = rec;
    ctx.drain().await;
    if let Some(d) = display {
        d.abort();
        progress::clear();
    }
    let reuse = ctx.sender.replicas.iter().all(|r| r.http.report().reuse);
    let stopper = ctx.stopper.clone();
    drop(ctx);
    let (server_metrics, per_target) = match scraper {
        Some(s) => {
            let _ = s.stop.send(true);
            let outcomes = s.task.await.ok();
            let per_target: Option<Vec<manifest::ServerMetrics>> = outcomes
                .as_ref()
                .filter(|_| s.per_target)
                .map(|o| o.iter().map(scrape::Outcome::to_manifest).collect());
            (outcomes.map(|o| scrape::combined(&o)), per_target)
        }
        None => (
            Some(manifest::ServerMetrics {
                off: true,
                ..Default::default()
            }),
            None,
        ),
    };
    heartbeat.0.abort();
    let _ = (&mut heartbeat.0).await;
    drop(watcher);
    record.update(|r| {
        r.findings.connections = Some(manifest::Connections {
            reuse,
            note: (!reuse).then(|| {
                "the server closed connections after responses without saying so; each request opened its own".into()
            }),
        });
        if server_metrics.is_some() {
            r.findings.server_metrics = server_metrics;
        }
        if let (Some(fleet), Some(each)) = (&mut r.findings.fleet, per_target) {
            for (t, m) in fleet.targets.iter_mut().zip(each) {
                t.server_metrics = Some(m);
            }
        }
        r.findings.client = Some(watch.to_manifest());
    });
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
    record
        .write(&Standing {
            ending,
            error: error.as_deref(),
            counts,
        })
        .map_err(RunError::RunDir)?;
    Ok(RunResult {
        dir: record.dir().to_path_buf(),
        ending,
        error,
    })
}
