//! The load a phase applies: open-loop arrivals or closed-loop concurrency, and the
//! time-varying levels (`steps`, `ramp`, `sine`) either may follow.

#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Requests sent at pre-computed times.
    Open(Arrival),
    /// N virtual users; the level is a user count.
    Closed(Level),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    Process { process: Process, rate: Level },
    Trace(TraceRef),
}

/// The shape of the gaps between arrivals, at unit rate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Process {
    Constant,
    Poisson,
    /// Gamma gaps with this coefficient of variation.
    Gamma {
        cv: f64,
    },
    /// Poisson arrivals while on; nothing while off; repeated.
    OnOff {
        on_ns: u64,
        off_ns: u64,
    },
}

/// A rate (per second) or a user count that may change over the phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Level {
    Fixed(f64),
    /// Each value held for `hold_ns`, in order; each is a metric step of its own.
    Steps {
        values: Vec<f64>,
        hold_ns: u64,
    },
    /// From `from` to `to` over the phase; geometric when `exponential`.
    Ramp {
        from: f64,
        to: f64,
        exponential: bool,
    },
    /// `mean + amplitude · sin(2πt / period)`.
    Sine {
        mean: f64,
        amplitude: f64,
        period_ns: u64,
    },
    /// `search(lo..hi, hold: 20s, ...)`: the levels are chosen while the run goes, each probe
    /// held for `hold_ns` (its first `warmup_ns` not measured).
    Search(SearchLevel),
}

/// A searched level's range and budget (`crate::search` steers it).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SearchLevel {
    pub lo: f64,
    pub hi: f64,
    pub hold_ns: u64,
    pub warmup_ns: u64,
    pub tolerance: f64,
    pub probes: u32,
}

impl Level {
    /// The phase length the level fixes by itself (only `steps` does).
    pub fn fixed_duration_ns(&self) -> Option<u64> {
        match self {
            Level::Steps { values, hold_ns } => Some(hold_ns.saturating_mul(values.len() as u64)),
            _ => None,
        }
    }

    /// True when the level needs the phase's duration to be defined (`ramp`, `sine`).
    pub fn needs_duration(&self) -> bool {
        matches!(self, Level::Ramp { .. })
    }

    /// The largest value the level reaches.
    pub fn peak(&self) -> f64 {
        match self {
            Level::Fixed(v) => *v,
            Level::Steps { values, .. } => values.iter().copied().fold(0.0, f64::max),
            Level::Ramp { from, to, .. } => from.max(*to),
            Level::Sine {
                mean, amplitude, ..
            } => mean + amplitude.abs(),
            Level::Search(s) => s.hi,
        }
    }
}

/// A trace file reference: `trace("file", format: F, ...)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceRef {
    pub path: super::FileRef,
    pub format: String,
    pub speed: f64,
    pub window_ns: Option<(u64, u64)>,
    pub limit: Option<u64>,
    /// Mooncake block size in tokens.
    pub block: Option<u64>,
    /// Generic formats: `at`, `input`, `output` → column names.
    pub columns: Vec<(String, String)>,
    pub time_unit: Option<crate::trace::TimeUnit>,
    pub max_gap_ns: Option<u64>,
    pub scale: Option<f64>,
    /// BurstGPT failed rows: `Some(true)` replay them, `Some(false)` skip them.
    pub replay_failed: Option<bool>,
    /// Malformed rows are skipped (and counted) rather than an error (`llmw replay
    /// --skip-bad-rows`). (Left out of the plan hash's encoding when false.)
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_bad_rows: bool,
    /// `sessions: false`: rows of one conversation are replayed as independent requests at
    /// their own times. (Left out of the hash encoding when true, the default.)
    #[serde(skip_serializing_if = "is_true")]
    pub sessions: bool,
    /// `models: {...}`: the trace's model names and the workload's model each row's request
    /// names instead. (Left out of the hash encoding when empty.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<(String, String)>,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Load {
    /// A short description for people: `poisson 8/s`, `steps 1, 2, 4 users`, `ramp 1→30/s`.
    pub fn describe(&self) -> String {
        match self {
            Load::Closed(users) => users.describe(" users"),
            Load::Open(Arrival::Trace(t)) => format!("trace ({})", t.format),
            Load::Open(Arrival::Process { process, rate }) => {
                let rate = rate.describe("/s");
                match process {
                    Process::Constant => format!("constant {rate}"),
                    Process::Poisson => format!("poisson {rate}"),
                    Process::Gamma { cv } => format!("gamma cv {} {rate}", num(*cv)),
                    Process::OnOff { on_ns, off_ns } => {
                        format!(
                            "onoff {rate} {}s on/{}s off",
                            num(*on_ns as f64 / 1e9),
                            num(*off_ns as f64 / 1e9)
                        )
                    }
                }
            }
        }
    }
}

impl Level {
    fn describe(&self, unit: &str) -> String {
        match self {
            Level::Fixed(v) => format!("{}{unit}", num(*v)),
            Level::Steps { values, .. } => {
                let v: Vec<String> = values.iter().map(|v| num(*v)).collect();
                format!("steps {}{unit}", v.join(", "))
            }
            Level::Ramp {
                from,
                to,
                exponential,
            } => {
                let shape = if *exponential { " (exponential)" } else { "" };
                format!("ramp {}→{}{unit}{shape}", num(*from), num(*to))
            }
            Level::Sine {
                mean, amplitude, ..
            } => format!("sine {}±{}{unit}", num(*mean), num(*amplitude)),
            Level::Search(s) => format!("search {}..{}{unit}", num(s.lo), num(s.hi)),
        }
    }
}

/// Up to three decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
