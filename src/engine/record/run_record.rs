//! The run's record as it stands, behind one lock: what the engine learned (findings) and
//! how each phase really ran (spans). The heartbeat, a search and the end of the run read it
//! to write `run.json`; nothing else keeps a copy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::engine::record::run_dir::{self, Ending, Findings, PhaseSpan, RunMeta, State};
use crate::rundir::manifest::{Counts, Manifest};
use crate::schedule::Schedule;

/// What changes while the run goes.
pub struct Recorded {
    pub findings: Findings,
    pub spans: Vec<PhaseSpan>,
}

pub struct RunRecord {
    dir: PathBuf,
    meta: RunMeta,
    schedule: Arc<Schedule>,
    wall_start: SystemTime,
    now: Mutex<Recorded>,
}

/// How the run stands for one `run.json`: its ending so far, the error, the rows written.
pub struct Standing<'a> {
    pub ending: Ending,
    pub error: Option<&'a str>,
    pub counts: Option<Counts>,
}

impl Standing<'_> {
    /// A run still going, with no counts.
    pub const RUNNING: Standing<'static> = Standing {
        ending: Ending::Running,
        error: None,
        counts: None,
    };
}

impl RunRecord {
    pub fn new(
        dir: PathBuf,
        meta: RunMeta,
        schedule: Arc<Schedule>,
        findings: Findings,
        wall_start: SystemTime,
    ) -> Arc<RunRecord> {
        Arc::new(RunRecord {
            dir,
            meta,
            schedule,
            wall_start,
            now: Mutex::new(Recorded {
                findings,
                spans: Vec::new(),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record, locked (a panic elsewhere while it was held does not lose it).
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the record.
    pub fn update<T>(&self, f: impl FnOnce(&mut Recorded) -> T) -> T {
        f(&mut self.lock())
    }

    /// The phase running now (the last begun), changed.
    pub fn update_span(&self, f: impl FnOnce(&mut PhaseSpan)) {
        if let Some(span) = self.lock().spans.last_mut() {
            f(span);
        }
    }

    /// `run.json` as it would read if `change` were made to the spans (a search's judge reads
    /// its probe's window before the probe is recorded).
    pub fn manifest_with(
        &self,
        standing: &Standing<'_>,
        change: impl FnOnce(&mut Vec<PhaseSpan>),
    ) -> Manifest {
        let now = self.lock();
        let mut spans = now.spans.clone();
        change(&mut spans);
        run_dir::manifest(
            &self.meta,
            &self.schedule,
            &self.state(&now.findings, &spans, standing),
        )
    }

    /// Writes `run.json` (atomically) as the run stands.
    pub fn write(&self, standing: &Standing<'_>) -> Result<(), String> {
        let manifest = {
            let now = self.lock();
            run_dir::manifest(
                &self.meta,
                &self.schedule,
                &self.state(&now.findings, &now.spans, standing),
            )
        };
        manifest.write(&self.dir)
    }

    fn state<'a>(
        &self,
        findings: &'a Findings,
        spans: &'a [PhaseSpan],
        standing: &Standing<'a>,
    ) -> State<'a> {
        State {
            findings,
            wall_start: self.wall_start,
            phases: spans,
            ending: standing.ending,
            error: standing.error,
            counts: standing.counts.clone(),
        }
    }
}
