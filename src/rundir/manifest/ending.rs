//! How a run ended ([`Ending`]) and the rows it wrote ([`Counts`]), in `run.json`.

use serde::{Deserialize, Serialize};

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
