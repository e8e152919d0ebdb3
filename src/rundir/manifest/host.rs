//! Where and when a run ran, in `run.json`: its part of the plan ([`Shard`]), the instant it
//! was started at (`--start-at`), the host clock's synchronisation, and the client's own load
//! second by second.

use serde::{Deserialize, Serialize};

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
