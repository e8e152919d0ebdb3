//! Which shards of a plan a run holds: the count, the present and missing ones, their
//! directories and time offsets. A leaf the loader and the shard merger share.

use serde::Serialize;

use crate::rundir::manifest::Manifest;

/// Which shards of a plan a run holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shards {
    pub count: u32,
    pub present: Vec<u32>,
    pub missing: Vec<u32>,
    /// Each present shard's directory, in shard order.
    pub dirs: Vec<String>,
    /// Each present shard's time 0 after the earliest one's, ms (0 with one `--start-at`).
    pub offsets_ms: Vec<f64>,
}

impl Shards {
    pub fn partial(&self) -> bool {
        !self.missing.is_empty()
    }
}

/// A single directory's shard, as it is (a lone shard is a partial set).
pub fn alone(meta: &Manifest) -> Option<Shards> {
    let s = meta.shard?;
    Some(Shards {
        count: s.count,
        present: vec![s.index],
        missing: (0..s.count).filter(|i| *i != s.index).collect(),
        dirs: Vec::new(),
        offsets_ms: vec![0.0],
    })
}
