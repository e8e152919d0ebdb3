//! Why a checked workload could not be compiled into a schedule. A leaf: every file of the
//! compiler returns it; it uses none of them.

use thiserror::Error;

use crate::limits::MAX_STEPS;

#[derive(Debug, Error, PartialEq)]
pub enum CompileError {
    #[error("phase '{phase}' would plan more than {limit} requests; lower its rate or duration, or split it")]
    TooLarge { phase: String, limit: u64 },
    #[error("phase '{phase}': {message}")]
    Trace { phase: String, message: String },
    #[error("phase '{phase}' has {count} steps; at most {MAX_STEPS} are supported")]
    TooManySteps { phase: String, count: usize },
}
