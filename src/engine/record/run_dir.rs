//! The run directory and its `run.json`: what was run, against what, when, and how it ended.
//! No secret is ever written: not the API key, not header values, not URL credentials.

use std::path::{Path, PathBuf};

use crate::engine::wire::clock::rfc3339;
use crate::rundir::manifest::{self, Manifest};
use crate::schedule::{Api, LoopKind, PromptTokens, Schedule};

pub use crate::rundir::manifest::Ending;

/// Where the run came from, for its record: given by the caller, not in the schedule.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Every source file read, as (name, text): the workload file first, then its includes.
    pub sources: Vec<(String, String)>,
    /// The `--set` overrides as given.
    pub sets: Vec<String>,
    /// Set when the caller started the in-process simulator for this run.
    pub simulator: Option<manifest::Simulator>,
    /// The pin the plan held to, when one was given.
    pub pin: Option<manifest::PlanPin>,
}

/// Facts about the run that are not in the schedule.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub provenance: Provenance,
    pub target_url: String,
    pub model: String,
}

/// A phase as it really ran.
#[derive(Debug, Clone)]
pub struct PhaseSpan {
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// A searched phase: its probes so far (as steps) and the search's record.
    pub search: Option<(manifest::Search, Vec<manifest::Step>)>,
}

/// A searched phase's record before it has probed anything.
pub fn search_record(plan: &crate::schedule::PhasePlan) -> Option<manifest::Search> {
    let s = plan.search?;
    Some(manifest::Search {
        range: [s.level.lo, s.level.hi],
        hold_ns: s.level.hold_ns,
        warmup_ns: s.level.warmup_ns,
        tolerance: s.level.tolerance,
        probes: s.level.probes,
        verify: s.verify,
        levels_from: None,
        ended: None,
        saturation: None,
        slo_limit: None,
        verify_skipped: None,
    })
}

/// `runs/<workload>-<UTC time>` (`…-shard-I-of-N` for a shard) unless `--out` names the
/// directory.
pub fn choose(
    out: Option<&Path>,
    workload: &str,
    started: std::time::SystemTime,
    shard: Option<crate::schedule::Shard>,
) -> PathBuf {
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
            let part = shard.map_or(String::new(), |s| {
                format!("-shard-{}-of-{}", s.index, s.count)
            });
            PathBuf::from("runs").join(format!("{safe}-{stamp}Z{part}"))
        }
    }
}

/// Creates the directory; refuses one that holds an earlier run.
pub fn create(dir: &Path) -> Result<(), String> {
    if dir.join(manifest::FILE).exists()
        || crate::rundir::layout::exists(dir, crate::rundir::layout::REQUESTS)
    {
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
#[derive(Debug, Clone)]
pub struct Findings {
    pub request_ids: manifest::RequestIds,
    pub prompt_calibration: manifest::PromptCalibration,
    pub prompt_calibration_by_api: std::collections::BTreeMap<String, manifest::PromptCalibration>,
    pub connections: Option<manifest::Connections>,
    pub server_metrics: Option<manifest::ServerMetrics>,
    /// Several targets: the spread and each target (its scrape known at the end).
    pub fleet: Option<manifest::Fleet>,
    pub start_at: Option<manifest::StartAt>,
    pub host_clock: Option<manifest::HostClock>,
    pub client: Option<manifest::ClientWatch>,
}

/// Where the run stands, for `run.json`.
pub struct State<'a> {
    pub findings: &'a Findings,
    pub wall_start: std::time::SystemTime,
    pub phases: &'a [PhaseSpan],
    pub ending: Ending,
    pub error: Option<&'a str>,
    pub counts: Option<manifest::Counts>,
}

/// The manifest of the run as it stands.
/// What `run.json` holds in place of a `--set` value that fills a header.
const NOT_RECORDED: &str = "(not recorded: it fills a header)";

pub fn manifest(meta: &RunMeta, schedule: &Schedule, state: &State) -> Manifest {
    let t = &schedule.target;
    let source = |(name, text): &(String, String)| manifest::SourceFile {
        file: name.clone(),
        text: text.clone(),
    };
    let sources = &meta.provenance.sources;
    let spans = state.phases.iter().map(Some).chain(std::iter::repeat(None));
    // A `--set` that fills a header may be a credential: its value is not archived.
    let fills_header = |name: &str| t.header_params.iter().any(|p| p == name);
    Manifest {
        schema_version: manifest::SCHEMA_VERSION,
        tool: "llmw".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        workload: schedule.workload.clone(),
        description: schedule.description.clone(),
        plan_hash: schedule.hash.clone(),
        plan_pin: meta.provenance.pin.clone(),
        seed: schedule.seed,
        overrides: meta
            .provenance
            .sets
            .iter()
            .map(|set| match set.split_once('=') {
                Some((name, _)) if fills_header(name.trim()) => format!("{name}={NOT_RECORDED}"),
                _ => set.clone(),
            })
            .collect(),
        params: schedule
            .params
            .iter()
            .map(|p| manifest::Param {
                name: p.name.clone(),
                value: if p.overridden && fills_header(&p.name) {
                    NOT_RECORDED.to_string()
                } else {
                    p.value.clone()
                },
                overridden: p.overridden,
            })
            .collect(),
        source: sources.first().map(source),
        includes: sources.iter().skip(1).map(source).collect(),
        target: manifest::Target {
            url: sanitize_url(&meta.target_url),
            api: match t.api {
                Api::Chat => manifest::Api::Chat,
                Api::Completions => manifest::Api::Completions,
                Api::Responses => manifest::Api::Responses,
                Api::Messages => manifest::Api::Messages,
                Api::Embeddings => manifest::Api::Embeddings,
            },
            model: meta.model.clone(),
            stream: t.stream,
            ignore_eos: t.ignore_eos,
            timeout_ns: t.timeout_ns,
            header_names: t
                .headers
                .iter()
                .chain(&t.header_env)
                .map(|(k, _)| k.clone())
                .collect(),
            request_id_header: t.request_id_header.clone(),
            prompt_tokens: prompt_tokens(t.prompt_tokens),
        },
        fleet: state.findings.fleet.clone(),
        on_error: Some(manifest::OnError {
            backoff: schedule.backoff.as_ref().map(|b| manifest::BackoffRule {
                from_ns: b.from_ns,
                to_ns: b.to_ns,
                jitter: b.jitter,
                retry_after_cap_ns: crate::engine::wire::retry_after::RETRY_AFTER_CAP.as_nanos()
                    as u64,
            }),
        }),
        simulator: meta.provenance.simulator.clone(),
        request_ids: state.findings.request_ids.clone(),
        prompt_calibration: state.findings.prompt_calibration.clone(),
        prompt_calibration_by_api: state.findings.prompt_calibration_by_api.clone(),
        connections: state.findings.connections.clone(),
        server_metrics: state.findings.server_metrics.clone(),
        started_at: rfc3339(state.wall_start),
        started_unix_ns: state
            .wall_start
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_nanos()).ok()),
        start_at: state.findings.start_at.clone(),
        shard: schedule.shard.map(|s| manifest::Shard {
            index: s.index,
            count: s.count,
        }),
        host_clock: state.findings.host_clock.clone(),
        client: state.findings.client.clone(),
        phases: schedule
            .phases
            .iter()
            .zip(spans)
            .map(|(p, span)| manifest::Phase {
                name: p.name.clone(),
                measure: p.measure,
                kind: match p.kind {
                    LoopKind::Open => manifest::Loop::Open,
                    LoopKind::Closed => manifest::Loop::Closed,
                },
                planned_start_ns: p.start_ns,
                start_ns: span.map(|s| s.start_ns),
                end_ns: span.and_then(|s| s.end_ns),
                steps: match span.and_then(|s| s.search.as_ref()) {
                    Some((_, probes)) => probes.clone(),
                    None => p
                        .steps
                        .iter()
                        .map(|s| manifest::Step {
                            step: s.index,
                            start_ns: s.start_ns,
                            end_ns: s.end_ns,
                            level: s.level,
                            warmup_ns: None,
                            probe: None,
                        })
                        .collect(),
                },
                search: span
                    .and_then(|s| s.search.as_ref())
                    .map(|(record, _)| record.clone())
                    .or_else(|| search_record(p)),
            })
            .collect(),
        slo: schedule
            .slo
            .iter()
            .map(|o| manifest::Objective {
                metric: o.metric,
                stat: o.stat,
                op: o.op,
                threshold: o.threshold,
                text: o.text.clone(),
            })
            .collect(),
        status: state.ending,
        error: state.error.map(str::to_string),
        counts: state.counts.clone(),
    }
}

pub fn prompt_tokens(p: PromptTokens) -> manifest::PromptTokens {
    match p {
        PromptTokens::Exact => manifest::PromptTokens::Exact,
        PromptTokens::Text => manifest::PromptTokens::Text,
    }
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
