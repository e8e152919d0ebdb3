//! The run directory and its `run.json`: what was run, against what, when, and how it ended.
//! No secret is ever written: not the API key, not header values, not URL credentials.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::clock::rfc3339;
use crate::schedule::Schedule;
use crate::workload::{Api, Workload};

/// Facts about the run that are not in the schedule.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub workload: Workload,
    /// Every source file read, as (name, text): the workload file first, then its includes.
    pub sources: Vec<(String, String)>,
    pub sets: Vec<String>,
    pub target_url: String,
    pub model: String,
    /// Set when the run used the in-process simulator.
    pub simulator: Option<Value>,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Running,
    Completed,
    Interrupted,
    Failed,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Running => "running",
            Ending::Completed => "completed",
            Ending::Interrupted => "interrupted",
            Ending::Failed => "failed",
        }
    }
}

/// A phase as it really ran.
#[derive(Debug, Clone)]
pub struct PhaseSpan {
    pub start_ns: u64,
    pub end_ns: Option<u64>,
}

/// `runs/<workload>-<UTC time>` unless `--out` names the directory.
pub fn choose(out: Option<&Path>, workload: &str, started: std::time::SystemTime) -> PathBuf {
    match out {
        Some(p) => p.to_path_buf(),
        None => {
            let stamp: String = rfc3339(started)
                .chars()
                .take(19)
                .filter(|c| *c != '-' && *c != ':')
                .collect();
            let safe: String = workload
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            PathBuf::from("runs").join(format!("{safe}-{stamp}Z"))
        }
    }
}

/// Creates the directory; refuses one that holds an earlier run.
pub fn create(dir: &Path) -> Result<(), String> {
    if dir.join("run.json").exists() || crate::runfiles::exists(dir, crate::runfiles::REQUESTS) {
        return Err(format!(
            "{} already holds a run; choose another --out",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Removes `user:password@` from a URL.
pub fn sanitize_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// What the engine learned about the server and the run's plumbing, for `run.json`.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The request-id header and the run-unique UUID prefix.
    pub request_ids: Value,
    /// The chat-template overhead measured before the run (or why it was not).
    pub prompt_calibration: Value,
    /// Connection reuse as the server allowed it.
    pub connections: Value,
    /// The Prometheus scrape: URL, scrapes, or why there was none.
    pub server_metrics: Value,
}

/// Where the run stands, for `run.json`.
pub struct State<'a> {
    pub findings: &'a Findings,
    pub wall_start: std::time::SystemTime,
    pub phases: &'a [PhaseSpan],
    pub ending: Ending,
    pub error: Option<&'a str>,
    pub counts: Value,
}

/// Writes `run.json` (atomically: a temporary file renamed over it).
pub fn write(dir: &Path, meta: &RunMeta, schedule: &Schedule, state: &State) -> Result<(), String> {
    let (wall_start, phases, ending, error, counts) = (
        state.wall_start,
        state.phases,
        state.ending,
        state.error,
        &state.counts,
    );
    let w = &meta.workload;
    let t = &schedule.target;
    let doc = json!({
        "tool": "llmw",
        "version": env!("CARGO_PKG_VERSION"),
        "workload": w.name,
        "description": w.description,
        "plan_hash": schedule.hash,
        "seed": schedule.seed,
        "overrides": meta.sets,
        "params": w.params.iter().map(|p| json!({"name": p.name, "value": p.value, "overridden": p.overridden})).collect::<Vec<_>>(),
        "source": meta.sources.first().map(|(name, text)| json!({"file": name, "text": text})),
        "includes": meta.sources.iter().skip(1).map(|(name, text)| json!({"file": name, "text": text})).collect::<Vec<_>>(),
        "target": {
            "url": sanitize_url(&meta.target_url),
            "api": match t.api { Api::Chat => "chat", Api::Completions => "completions" },
            "model": meta.model,
            "stream": t.stream,
            "ignore_eos": t.ignore_eos,
            "timeout_ns": t.timeout_ns,
            "header_names": t.headers.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            "request_id_header": t.request_id_header,
            "prompt_tokens": t.prompt_tokens.as_str(),
        },
        "simulator": meta.simulator,
        "request_ids": state.findings.request_ids,
        "prompt_calibration": state.findings.prompt_calibration,
        "connections": state.findings.connections,
        "server_metrics": state.findings.server_metrics,
        "started_at": rfc3339(wall_start),
        "phases": schedule.phases.iter().zip(phases.iter().map(Some).chain(std::iter::repeat(None))).map(|(p, span)| json!({
            "name": p.name,
            "measure": p.measure,
            "loop": match p.kind { crate::schedule::LoopKind::Open => "open", crate::schedule::LoopKind::Closed => "closed" },
            "planned_start_ns": p.start_ns,
            "start_ns": span.map(|s| s.start_ns),
            "end_ns": span.and_then(|s| s.end_ns),
            "steps": p.steps.iter().map(|s| json!({"step": s.index, "start_ns": s.start_ns, "end_ns": s.end_ns, "level": s.level})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "slo": w.slo.iter().map(|o| json!({"metric": o.metric, "stat": o.stat, "op": o.op.as_str(), "threshold": o.threshold, "text": o.text})).collect::<Vec<_>>(),
        "status": ending.as_str(),
        "error": error,
        "counts": counts,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    let tmp = dir.join("run.json.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join("run.json")).map_err(|e| format!("cannot write run.json: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_file() {
        assert_eq!(
            sanitize_url("https://user:secret@host:8000/v1"),
            "https://host:8000/v1"
        );
        assert_eq!(
            sanitize_url("http://127.0.0.1:8000"),
            "http://127.0.0.1:8000"
        );
        assert_eq!(sanitize_url("http://host/path@x"), "http://host/path@x");
    }
}
