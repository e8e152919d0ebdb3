//! `run.json`, typed: what was run, against what, when, and how it ended. The engine writes it
//! (every second while the run goes, and at its end), the analysis and the `llmw` trace reader
//! read it back with the same type. `docs/run.schema.json` is its published JSON Schema.
//!
//! No secret is ever in it: not the API key, not header values, not URL credentials.
//!
//! | file | owns |
//! | --- | --- |
//! | `mod.rs` | [`Manifest`], the whole file's keys, and [`SCHEMA_VERSION`] |
//! | `workload.rs` | what was run: parameters, source files, `on_error`, objectives |
//! | `target.rs` | what it ran against: the target, request ids, prompt calibration, the simulator, connections, the metrics scrape |
//! | `host.rs` | where and when: shards, `--start-at`, the host clock, the client's own load |
//! | `phases.rs` | phases and steps as planned and run, a search's settings and probes |
//! | `ending.rs` | how the run ended and the rows it wrote |
//! | `file.rs` | `run.json` on disk: read (version 0 included, [`ManifestError`]) and written atomically |

use serde::{Deserialize, Serialize};

mod ending;
mod file;
mod host;
mod phases;
mod target;
mod workload;

pub use ending::{Counts, Ending};
pub use file::ManifestError;
pub use host::{ClientSample, ClientWatch, HostClock, Shard, StartAt};
pub use phases::{Loop, Phase, ProbeMeasure, ProbeRecord, Search, Step};
pub use target::{
    Api, Connections, Fleet, Probe, PromptCalibration, PromptTokens, Replica, RequestIds,
    ServerMetrics, Simulator, Target,
};
pub use workload::{BackoffRule, Objective, OnError, Param, SourceFile};

/// The manifest's layout version. Raise it when a key changes meaning or a required key is added;
/// a reader refuses a newer version. Optional keys may be added without raising it: readers
/// ignore keys they do not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The file's name in the run directory.
pub const FILE: &str = "run.json";

/// A pinned plan: the hash (or prefix) expected, where it was given, and that it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPin {
    pub expected: String,
    /// `expect_plan` (the workload) or `--expect` (the command line).
    pub from: String,
    pub held: bool,
}

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
    /// The pin the plan was held to (`expect_plan`, `--expect`), when one was given. A run
    /// whose pin does not hold never starts, so a run's pin always says `held: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_pin: Option<PlanPin>,
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
    /// Several targets: how requests were spread and each one (`target.url` is the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Fleet>,
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

impl Manifest {
    /// Whether the run used streaming (non-streamed runs have no chunks to time).
    pub fn streamed(&self) -> bool {
        self.target.stream
    }
}
