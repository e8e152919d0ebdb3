//! A time window of a run, in seconds from its start: the shared type of groups, series, the
//! server's and the client's metrics. A leaf.

use serde::Serialize;

/// A time window in seconds from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
}
