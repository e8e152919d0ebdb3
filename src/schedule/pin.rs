//! Pinned plans: `expect_plan = "HASH"` in a workload, or `--expect HASH` on `check`, `plan`
//! and `run`, says which plan the workload must compile to. A plan whose hash is not the one
//! pinned is refused with both hashes, so a benchmark pipeline cannot run a different workload
//! after an edit or an llmw upgrade without someone updating the pin.

use thiserror::Error;

use super::Schedule;
pub use crate::workload::pin::{valid, MIN_DIGITS};

/// A pin that held: the hash (or prefix) expected, and where it was given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pin {
    pub expected: String,
    /// `expect_plan` (the workload) or `--expect` (the command line).
    pub from: &'static str,
}

#[derive(Debug, Error, PartialEq)]
pub enum PinError {
    #[error("the plan changed: {from} expects plan {expected}, this workload plans {actual}")]
    Changed {
        expected: String,
        actual: String,
        from: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Schedule {
    /// Checks the pin `expect` (the command line's) or else the workload's `expect_plan`: the
    /// pin that held, `None` without one, or why it did not.
    pub fn pin(&self, expect: Option<&str>) -> Result<Option<Pin>, PinError> {
        let (expected, from) = match (expect, &self.expect_plan) {
            (Some(e), _) => (e, "--expect"),
            (None, Some(e)) => (e.as_str(), "expect_plan"),
            (None, None) => return Ok(None),
        };
        valid(expected).map_err(PinError::Invalid)?;
        if self.hash.starts_with(&expected.to_ascii_lowercase()) {
            Ok(Some(Pin {
                expected: expected.to_string(),
                from,
            }))
        } else {
            Err(PinError::Changed {
                expected: expected.to_string(),
                actual: self.hash.clone(),
                from,
            })
        }
    }
}
