//! What was run, in `run.json` beside the workload's name and plan hash: its parameters and
//! source files, how closed-loop users paced themselves after failures (`on_error`), and the
//! SLO's objectives.

use serde::{Deserialize, Serialize};

use crate::metric::{CmpOp, Metric, Stat};

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
