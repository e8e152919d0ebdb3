//! The analysis' one error type: what loading, merging and comparing runs can fail with. A leaf:
//! every layer returns it, it uses none of them.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// `run.json` is missing, not a manifest, or of a newer llmw.
    #[error("{0}")]
    Manifest(String),
    /// The shard directories given do not make a whole plan.
    #[error("{0}")]
    Shards(String),
    #[error("the runs have different plans ({a} has {ha:.12}…, {b} has {hb:.12}…); pass --allow-different-plans to compare them anyway")]
    DifferentPlans {
        a: String,
        ha: String,
        b: String,
        hb: String,
    },
}
