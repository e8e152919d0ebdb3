//! After the last phase: what is in flight is waited for, the scrape, heartbeat and watch are
//! stopped and their findings recorded, the trace files closed, and the last `run.json`
//! written with how the run ended.

use crate::engine::lifecycle::options::{RunError, RunResult};
use crate::engine::lifecycle::recording::Recording;
use crate::engine::record::progress;
use crate::engine::record::run_dir::Ending;
use crate::engine::record::run_record::Standing;
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
    let reuse = ctx.sender.http.report().reuse;
    let stopper = ctx.stopper.clone();
    drop(ctx);
    let server_metrics = match scraper {
        Some((task, stop)) => {
            let _ = stop.send(true);
            task.await.ok().map(|outcome| outcome.to_manifest())
        }
        None => Some(manifest::ServerMetrics {
            off: true,
            ..Default::default()
        }),
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
