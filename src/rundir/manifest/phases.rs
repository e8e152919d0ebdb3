//! A run's phases in `run.json`, as planned and as they ran: their steps and levels, and a
//! searched phase's settings, probes and what each probe measured.

use serde::{Deserialize, Serialize};

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
