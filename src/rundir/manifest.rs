//! `run.json`, typed: what was run, against what, when, and how it ended. The engine writes it
//! (every second while the run goes, and at its end), the analysis and the `llmw` trace reader
//! read it back with the same type. `docs/run.schema.json` is its published JSON Schema.
//!
//! No secret is ever in it: not the API key, not header values, not URL credentials.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::limits::MAX_SHARDS;
use crate::metric::{CmpOp, Metric, Stat};

/// The manifest's layout version. Raise it when a key changes meaning or a required key is added;
/// a reader refuses a newer version. Optional keys may be added without raising it: readers
/// ignore keys they do not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The file's name in the run directory.
pub const FILE: &str = "run.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// Always `llmw`.
    pub tool: String,
    /// The llmw version that wrote the run.
    pub version: String,
    pub workload: String,
    #[serde(default)]
    pub description: Option<String>,
    /// SHA-256 of the plan (hex); runs of one plan share it.
    pub plan_hash: String,
    pub seed: u64,
    /// The `--set NAME=VALUE` overrides, as given.
    #[serde(default)]
    pub overrides: Vec<String>,
    #[serde(default)]
    pub params: Vec<Param>,
    /// The workload file (for `llmw replay`, the workload it generated).
    #[serde(default)]
    pub source: Option<SourceFile>,
    #[serde(default)]
    pub includes: Vec<SourceFile>,
    pub target: Target,
    /// How closed-loop users paced themselves after failures (`None` for runs from before it).
    #[serde(default)]
    pub on_error: Option<OnError>,
    /// Set when the run used the in-process simulator.
    #[serde(default)]
    pub simulator: Option<Simulator>,
    pub request_ids: RequestIds,
    pub prompt_calibration: PromptCalibration,
    /// When the run sent to more than one API: each API's own (`prompt_calibration` is the
    /// target's).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub prompt_calibration_by_api: std::collections::BTreeMap<String, PromptCalibration>,
    /// Known at the end of the run.
    #[serde(default)]
    pub connections: Option<Connections>,
    /// Known at the end of the run.
    #[serde(default)]
    pub server_metrics: Option<ServerMetrics>,
    /// The wall-clock time of the run's time 0: RFC 3339, UTC.
    pub started_at: String,
    /// The same instant in ns since the Unix epoch (absent in runs from before shards), so the
    /// shards of one plan line up on one time axis.
    #[serde(default)]
    pub started_unix_ns: Option<i64>,
    /// `--start-at`: the instant asked for (time 0 is that instant) and how late this process
    /// reached it.
    #[serde(default)]
    pub start_at: Option<StartAt>,
    /// This run is part `index` of `count` of the plan (`--shard`); `plan_hash` is the whole
    /// plan's.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// The host clock's synchronisation as the kernel reported it at time 0, to judge the
    /// offset between the clocks of a run's machines.
    #[serde(default)]
    pub host_clock: Option<HostClock>,
    /// How busy the client was, second by second (known at the end of the run).
    #[serde(default)]
    pub client: Option<ClientWatch>,
    pub phases: Vec<Phase>,
    #[serde(default)]
    pub slo: Vec<Objective>,
    pub status: Ending,
    #[serde(default)]
    pub error: Option<String>,
    /// Rows written so far (while running) or in all (at the end); `None` when the writer failed.
    #[serde(default)]
    pub counts: Option<Counts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartAt {
    /// RFC 3339, UTC: the same as `started_at`.
    pub requested: String,
    /// How long after that instant the process began its run (0 when it waited for it); the
    /// first requests of a late shard go out that late, and their send lag shows it.
    pub late_ms: f64,
}

/// The client watching itself (`engine/watch.rs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientWatch {
    /// Cores this process may use.
    pub cores: u32,
    /// Where the CPU time was read (`None`: not on this system).
    #[serde(default)]
    pub cpu_source: Option<String>,
    pub samples: Vec<ClientSample>,
}

/// One second of the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSample {
    /// The end of the second, since time 0.
    pub t_s: f64,
    /// CPU the llmw process used in the second, in cores (1.0 = one core busy).
    #[serde(default)]
    pub cpu_cores: Option<f64>,
    /// How long a task that yielded waited to run again (sampled every 10 ms): the second's
    /// p99 and max, ms.
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
    /// In a merged run of shards (never in a run's own file): which shard's machine, and its
    /// cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<(u32, u32)>,
}

/// The kernel's view of the wall clock (Linux `adjtimex`), or why there is none.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostClock {
    /// Whether the kernel considers the clock synchronised (NTP/PTP daemon disciplining it).
    #[serde(default)]
    pub synchronized: Option<bool>,
    /// The kernel's estimated error of the wall clock, ms.
    #[serde(default)]
    pub estimated_error_ms: Option<f64>,
    /// The kernel's maximum error bound, ms.
    #[serde(default)]
    pub maximum_error_ms: Option<f64>,
    /// Why the clock state is unknown.
    #[serde(default)]
    pub unavailable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: String,
    pub overridden: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    pub file: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Chat,
    Completions,
    Responses,
    Messages,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptTokens {
    Exact,
    Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The base URL, credentials removed.
    pub url: String,
    pub api: Api,
    pub model: String,
    pub stream: bool,
    pub ignore_eos: bool,
    #[serde(default)]
    pub timeout_ns: Option<u64>,
    /// The names of the extra headers sent (never their values).
    #[serde(default)]
    pub header_names: Vec<String>,
    #[serde(default)]
    pub request_id_header: Option<String>,
    pub prompt_tokens: PromptTokens,
}

/// `on_error` as the run applied it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnError {
    /// `None`: `backoff = none`, the next request at once.
    pub backoff: Option<BackoffRule>,
}

/// `exponential(from, to)`, with or without jitter; `Retry-After` is a floor, up to
/// `retry_after_cap_ns`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackoffRule {
    pub from_ns: u64,
    pub to_ns: u64,
    pub jitter: bool,
    pub retry_after_cap_ns: u64,
}

/// The in-process simulator's cost model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulator {
    pub in_process: bool,
    pub model: String,
    pub step_base_us: f64,
    pub per_seq_us: f64,
    pub per_prefill_token_us: f64,
    pub per_kv_token_ns: f64,
    pub max_seqs: u32,
    pub kv_capacity: u64,
    pub prefill_budget: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestIds {
    /// The header each request's UUID is sent in (`None`: not sent).
    #[serde(default)]
    pub header: Option<String>,
    /// The run-unique first 18 characters of every request's UUID.
    pub uuid_prefix: String,
    pub format: String,
}

/// The chat template's tokens, measured before the run (or why not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptCalibration {
    pub mode: PromptTokens,
    pub overhead_tokens: u32,
    #[serde(default)]
    pub tokens_per_word: Option<f64>,
    /// Each probe's words and the prompt tokens the server counted.
    #[serde(default)]
    pub probes: Vec<Probe>,
    #[serde(default)]
    pub note: Option<String>,
    /// Why the probes could not measure it.
    #[serde(default)]
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub words: u32,
    pub prompt_tokens: u32,
}

/// Connection reuse as the server allowed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connections {
    pub reuse: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// The Prometheus scrape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerMetrics {
    /// `--no-metrics`.
    #[serde(default)]
    pub off: bool,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub scrapes: u64,
    #[serde(default)]
    pub failed_scrapes: u64,
    #[serde(default)]
    pub samples: u64,
    /// Why nothing was recorded (the first scrape failed).
    #[serde(default)]
    pub unavailable: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loop {
    Open,
    Closed,
}

/// A phase as planned and as it really ran. Step times are relative to the phase's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub measure: bool,
    #[serde(rename = "loop")]
    pub kind: Loop,
    /// `None` when an earlier phase has no fixed length.
    #[serde(default)]
    pub planned_start_ns: Option<u64>,
    /// When it began, ns since the run's start (`None`: it never began).
    #[serde(default)]
    pub start_ns: Option<u64>,
    /// When it ended (`None`: running, or never began).
    #[serde(default)]
    pub end_ns: Option<u64>,
    pub steps: Vec<Step>,
    /// A searched load (`search(...)`): what was searched and what the probes found; its
    /// steps are the probes, then the verification holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
}

/// A searched phase's settings and outcome (`crate::search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// `[lo, hi]`: users (closed loop) or requests per second (open loop).
    pub range: [f64; 2],
    pub hold_ns: u64,
    pub warmup_ns: u64,
    pub tolerance: f64,
    /// The search's probes at most.
    pub probes: u32,
    pub verify: bool,
    /// Set when the levels were replayed from this run directory (`--levels-from`) rather
    /// than searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels_from: Option<String>,
    /// Why the search ended (`None` while it runs).
    #[serde(default)]
    pub ended: Option<String>,
    /// The saturation point's and the SLO limit's brackets as the run found them.
    #[serde(default)]
    pub saturation: Option<crate::search::Bracket>,
    #[serde(default)]
    pub slo_limit: Option<crate::search::Bracket>,
    /// Set when `verify = true` held no levels, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_skipped: Option<String>,
}

impl Search {
    /// The search's settings for [`crate::search`]: whole users for a closed loop, and the SLO
    /// limit searched too when the workload has objectives.
    pub fn spec(&self, closed: bool, slo: bool) -> crate::search::Spec {
        crate::search::Spec {
            lo: self.range[0],
            hi: self.range[1],
            whole: closed,
            tolerance: self.tolerance,
            probes: self.probes,
            slo,
        }
    }
}

/// What a search's probe (or verification hold) was, and what the run measured of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// A verification hold at this share of the saturation throughput (`None`: a probe).
    #[serde(default)]
    pub verify: Option<f64>,
    /// What the run measured when it chose the next level (`None` when it could not).
    #[serde(default)]
    pub measured: Option<ProbeMeasure>,
    #[serde(default)]
    pub saturated: Option<bool>,
}

/// A probe's figures, measured by the analysis' own rules over the probe's requests after
/// its warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbeMeasure {
    /// The load really applied: users, or requests sent per second of the measured stretch.
    pub load: Option<f64>,
    pub tps: Option<f64>,
    pub error_rate: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    /// Every objective met over the probe's requests (`None` without objectives).
    pub slo: Option<bool>,
    /// Requests still running one hold after the probe ended.
    pub overrun: bool,
}

impl ProbeMeasure {
    pub fn to_search(&self, level: f64) -> crate::search::Measured {
        crate::search::Measured {
            level,
            load: self.load.unwrap_or(level),
            tps: self.tps,
            error_rate: self.error_rate,
            slo: self.slo,
            overrun: self.overrun,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub step: u32,
    pub start_ns: u64,
    /// `None` for the last step of a phase without a fixed length.
    #[serde(default)]
    pub end_ns: Option<u64>,
    /// Requests per second (open loop) or users (closed loop).
    pub level: f64,
    /// A search's probe: the first this long of it is not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeRecord>,
}

/// An SLO objective, its threshold in base units (seconds, a fraction, per second).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub metric: Metric,
    #[serde(default)]
    pub stat: Option<Stat>,
    pub op: CmpOp,
    pub threshold: f64,
    /// As written, e.g. `ttft.p99 < 2s`.
    pub text: String,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: u64,
    pub chunks: u64,
    /// (Absent in runs from before the scrape: 0.)
    #[serde(default)]
    pub server_metrics: u64,
    /// While running: when the heartbeat wrote these counts.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A version-0 manifest (llmw before `schema_version`) with the keys added since filled in as
/// "not recorded"; the keys every version had stay required.
fn legacy(mut v: serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let defaults = [
        ("schema_version", json!(0)),
        ("tool", json!("llmw")),
        ("version", json!("(before 0.1 recorded it)")),
        ("seed", json!(0)),
        ("started_at", json!("")),
        (
            "request_ids",
            json!({"uuid_prefix": "", "format": "(not recorded)"}),
        ),
        (
            "prompt_calibration",
            json!({"mode": "text", "overhead_tokens": 0, "note": "(not recorded)"}),
        ),
        (
            "target",
            json!({"url": "", "api": "chat", "model": "", "stream": true, "ignore_eos": false}),
        ),
    ];
    if let Some(map) = v.as_object_mut() {
        for (key, value) in defaults {
            map.entry(key).or_insert(value);
        }
        if let Some(target) = map
            .get_mut("target")
            .and_then(serde_json::Value::as_object_mut)
        {
            target.entry("prompt_tokens").or_insert(json!("text"));
        }
    }
    v
}

/// What reading `run.json` can go wrong with.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is not an llmw run manifest: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "{path} has schema_version {found}; this llmw reads up to {SCHEMA_VERSION} (upgrade llmw)"
    )]
    Newer { path: String, found: u64 },
}

impl Manifest {
    /// Reads `dir/run.json`. A missing required key is an error naming it; so is a value of the
    /// wrong type.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(FILE);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| ManifestError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Manifest::parse(&text, &shown)
    }

    /// Parses manifest text; `path` names it in errors. A run written before manifests had a
    /// version (`schema_version` absent) is read as version 0: the keys that were added since
    /// get their "not recorded" values, the rest must be there as for version 1.
    pub fn parse(text: &str, path: &str) -> Result<Manifest, ManifestError> {
        let invalid = |reason: String| ManifestError::Invalid {
            path: path.to_string(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if !value.is_object() {
            return Err(invalid("expected a JSON object".into()));
        }
        match value.get("schema_version").map(serde_json::Value::as_u64) {
            None => serde_json::from_value(legacy(value)).map_err(|e| invalid(e.to_string())),
            Some(Some(v)) if v > u64::from(SCHEMA_VERSION) => Err(ManifestError::Newer {
                path: path.to_string(),
                found: v,
            }),
            // From the text, so a wrong value is reported with its line and column.
            _ => serde_json::from_str(text).map_err(|e| invalid(e.to_string())),
        }
        .and_then(|m: Manifest| match m.shard {
            Some(s) if s.count == 0 || s.count > MAX_SHARDS || s.index >= s.count => {
                Err(invalid(format!(
                    "shard {}/{} is not a part of a plan (0 <= index < count <= {MAX_SHARDS})",
                    s.index, s.count
                )))
            }
            _ => Ok(m),
        })
    }

    /// Writes `dir/run.json` atomically (a temporary file renamed over it).
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = dir.join("run.json.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(FILE)).map_err(|e| format!("cannot write run.json: {e}"))
    }

    /// Whether the run used streaming (non-streamed runs have no chunks to time).
    pub fn streamed(&self) -> bool {
        self.target.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "schema_version": 1, "tool": "llmw", "version": "0", "workload": "w", "plan_hash": "h",
            "seed": 1,
            "target": {"url": "http://x", "api": "chat", "model": "m", "stream": true,
                       "ignore_eos": true, "prompt_tokens": "exact"},
            "request_ids": {"uuid_prefix": "p", "format": "f"},
            "prompt_calibration": {"mode": "text", "overhead_tokens": 0},
            "started_at": "2026-12-01T00:00:00Z",
            "phases": [], "status": "completed"
        })
    }

    #[test]
    fn a_minimal_manifest_reads() {
        let m = Manifest::parse(&minimal().to_string(), "run.json").expect("reads");
        assert_eq!(m.status, Ending::Completed);
        assert!(m.slo.is_empty() && m.counts.is_none());
    }

    #[test]
    fn a_missing_required_key_is_named() {
        let mut v = minimal();
        v.as_object_mut().expect("object").remove("plan_hash");
        let e = Manifest::parse(&v.to_string(), "run.json").expect_err("refused");
        assert!(e.to_string().contains("missing field `plan_hash`"), "{e}");
    }

    #[test]
    fn wrong_types_and_newer_versions_are_refused_unknown_keys_ignored() {
        let mut v = minimal();
        v["added_later"] = 1.into();
        assert!(Manifest::parse(&v.to_string(), "run.json").is_ok());
        let mut v = minimal();
        v["status"] = "exploded".into();
        let e = Manifest::parse(&v.to_string(), "run.json").expect_err("bad status");
        assert!(e.to_string().contains("exploded"), "{e}");
        let mut v = minimal();
        v["schema_version"] = 2.into();
        let e = Manifest::parse(&v.to_string(), "run.json").expect_err("newer");
        assert!(e.to_string().contains("upgrade llmw"), "{e}");
        let mut v = minimal();
        v["phases"] =
            serde_json::json!([{"name": "p", "measure": true, "loop": "sideways", "steps": []}]);
        let e = Manifest::parse(&serde_json::to_string_pretty(&v).expect("json"), "run.json")
            .expect_err("bad loop");
        assert!(
            e.to_string().contains("sideways") && e.to_string().contains("line"),
            "{e}"
        );
    }

    #[test]
    fn a_run_from_before_schema_version_reads_as_version_0() {
        // What llmw wrote before manifests were typed: no schema_version, request ids,
        // calibration or prompt_tokens.
        let old = serde_json::json!({
            "tool": "llmw", "version": "0.1.0", "workload": "w", "plan_hash": "h", "seed": 3,
            "target": {"url": "http://x", "api": "completions", "model": "m", "stream": true,
                       "ignore_eos": true, "timeout_ns": null, "header_names": []},
            "started_at": "2026-11-30T10:00:00Z",
            "phases": [{"name": "p", "measure": true, "loop": "closed", "planned_start_ns": 0,
                        "start_ns": 0, "end_ns": 5, "steps": [{"step": 0, "start_ns": 0, "end_ns": 5, "level": 2.0}]}],
            "slo": [{"metric": "ttft", "stat": "p99", "op": "<", "threshold": 2.0, "text": "ttft.p99 < 2s"}],
            "status": "completed", "error": null, "counts": {"requests": 4, "chunks": 9}
        });
        let mut old = old;
        let m = Manifest::parse(&old.to_string(), "run.json").expect("reads");
        assert_eq!(m.schema_version, 0);
        assert_eq!(m.target.prompt_tokens, PromptTokens::Text);
        assert_eq!(m.phases[0].steps[0].level, 2.0);
        // The keys every version had are still required.
        old.as_object_mut().expect("object").remove("plan_hash");
        let e = Manifest::parse(&old.to_string(), "run.json").expect_err("refused");
        assert!(e.to_string().contains("missing field `plan_hash`"), "{e}");
    }

    #[test]
    fn a_shard_outside_its_plan_is_refused() {
        for (shard, ok) in [
            (serde_json::json!({"index": 2, "count": 3}), true),
            (serde_json::json!({"index": 3, "count": 3}), false),
            (serde_json::json!({"index": 0, "count": 0}), false),
            (
                serde_json::json!({"index": 0, "count": 4_294_967_295u64}),
                false,
            ),
        ] {
            let mut v = minimal();
            v["shard"] = shard.clone();
            let read = Manifest::parse(&v.to_string(), "run.json");
            assert_eq!(read.is_ok(), ok, "{shard}: {read:?}");
        }
    }

    #[test]
    fn objectives_use_the_metric_names() {
        let mut v = minimal();
        v["slo"] = serde_json::json!([{"metric": "tps_user", "stat": "p50", "op": ">=",
                                       "threshold": 20.0, "text": "tps_user.p50 >= 20/s"}]);
        let m = Manifest::parse(&v.to_string(), "run.json").expect("reads");
        assert_eq!(m.slo[0].metric, Metric::TpsUser);
        assert_eq!(m.slo[0].op, CmpOp::Ge);
        v["slo"][0]["metric"] = "latency".into();
        assert!(Manifest::parse(&v.to_string(), "run.json").is_err());
    }
}
