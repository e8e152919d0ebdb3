//! A time window of the run: the one type every measure lines its figures up by (a group's
//! window, its measured part, its steady state). A leaf: the measures use it, it uses none.

use serde::Serialize;

/// A time window in seconds from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
}
