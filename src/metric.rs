//! The names objectives are written in: the metrics an `slo` (or an `abort` rule) may name, their
//! statistics and comparisons. One enum each, shared by the checker, the run manifest and the
//! analysis, so a name is spelled once and its unit is known everywhere.

use serde::{Deserialize, Serialize};

/// A metric an SLO objective names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Ttft,
    Itl,
    /// Another name for `itl` (time per output token).
    Tpot,
    E2e,
    Tps,
    TpsUser,
    Errors,
    Dropped,
}

/// What a metric's threshold is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Stored in seconds, shown in ms.
    Seconds,
    /// Tokens per second.
    Rate,
    /// A fraction of requests, shown in %.
    Fraction,
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Metric::Ttft,
        Metric::Itl,
        Metric::Tpot,
        Metric::E2e,
        Metric::Tps,
        Metric::TpsUser,
        Metric::Errors,
        Metric::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Ttft => "ttft",
            Metric::Itl => "itl",
            Metric::Tpot => "tpot",
            Metric::E2e => "e2e",
            Metric::Tps => "tps",
            Metric::TpsUser => "tps_user",
            Metric::Errors => "errors",
            Metric::Dropped => "dropped",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Ttft | Metric::Itl | Metric::Tpot | Metric::E2e => Unit::Seconds,
            Metric::Tps | Metric::TpsUser => Unit::Rate,
            Metric::Errors | Metric::Dropped => Unit::Fraction,
        }
    }

    /// One value per request, so it has a distribution (and each request passes or fails it).
    pub fn per_request(self) -> bool {
        !matches!(self, Metric::Tps | Metric::Errors | Metric::Dropped)
    }

    /// `tpot` is measured as `itl`.
    pub fn canonical(self) -> Metric {
        match self {
            Metric::Tpot => Metric::Itl,
            m => m,
        }
    }
}

/// A statistic of a per-request metric's distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    Mean,
    P50,
    P90,
    P95,
    P99,
    Max,
}

impl Stat {
    pub const ALL: [Stat; 6] = [
        Stat::Mean,
        Stat::P50,
        Stat::P90,
        Stat::P95,
        Stat::P99,
        Stat::Max,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::Max => "max",
        }
    }

    pub fn parse(name: &str) -> Option<Stat> {
        Stat::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A comparison: `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether `value OP threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CmpOp::Lt => value < threshold,
            CmpOp::Le => value <= threshold,
            CmpOp::Gt => value > threshold,
            CmpOp::Ge => value >= threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).expect("serializes"), m.as_str());
        }
        for s in Stat::ALL {
            assert_eq!(Stat::parse(s.as_str()), Some(s));
        }
        assert_eq!(Metric::parse("latency"), None);
        assert_eq!(serde_json::to_value(CmpOp::Le).expect("serializes"), "<=");
    }

    #[test]
    fn comparisons_hold_at_the_boundary_only_when_inclusive() {
        assert!(CmpOp::Le.holds(1.0, 1.0) && !CmpOp::Lt.holds(1.0, 1.0));
        assert!(CmpOp::Ge.holds(1.0, 1.0) && !CmpOp::Gt.holds(1.0, 1.0));
    }
}
