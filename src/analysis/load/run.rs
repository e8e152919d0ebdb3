//! The run type: a run directory as the analysis holds it — the manifest, the request rows as
//! columns, the server's samples, the chunk files (read by passes, never held) and which shards
//! of a plan it is. Types and their plain constructors only: reading the files is `read.rs`,
//! merging shards `shards.rs`.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use super::chunks::ChunkFiles;
use crate::rundir::manifest::Manifest;
pub use crate::rundir::record::{ErrorKind, Status};

/// The requests of a run, one vector per column (`None` for nulls).
#[derive(Debug, Default, Clone)]
pub struct Requests {
    pub request_id: Vec<i64>,
    pub phase: Vec<String>,
    pub step: Vec<i32>,
    pub scheduled_ns: Vec<Option<i64>>,
    pub sent_ns: Vec<i64>,
    pub first_token_ns: Vec<Option<i64>>,
    pub last_token_ns: Vec<Option<i64>>,
    pub done_ns: Vec<i64>,
    pub input_tokens: Vec<i32>,
    pub output_tokens: Vec<Option<i32>>,
    pub status: Vec<Status>,
    /// What went wrong with a request that did not end `ok` (`None` for `ok` rows and for
    /// runs written before the `error_kind` column).
    pub error_kind: Vec<Option<ErrorKind>>,
    pub prompt_tokens: Vec<Option<i32>>,
    pub cached_tokens: Vec<Option<i32>>,
    pub first_content_ns: Vec<Option<i64>>,
    pub reasoning_tokens: Vec<Option<i32>>,
    pub conn_reused: Vec<Option<bool>>,
    pub resent: Vec<bool>,
    /// Conversations: the session id, turn, branch and the session's planned turns (`None`
    /// outside sessions, and for runs from before sessions).
    pub session: Vec<Option<i64>>,
    pub turn: Vec<Option<i32>>,
    pub branch: Vec<Option<i32>>,
    pub session_turns: Vec<Option<i32>>,
    /// Connection set-up of a request that opened one (ns): connect, TLS handshake; and the
    /// pause its user took after it failed (`None` for runs from before these columns).
    pub connect_ns: Vec<Option<i64>>,
    pub tls_ns: Vec<Option<i64>>,
    pub backoff_ns: Vec<Option<i64>>,
    /// An embeddings request's inputs (`None` for the other APIs and older runs).
    pub inputs: Vec<Option<i32>>,
    /// The run timed connection set-up (it has the `connect_ns` column).
    pub timed_setup: bool,
    /// Each row's class, API, model and target, by name (an API, model or target `""` in
    /// runs from before those columns).
    pub class: Labels,
    pub api: Labels,
    pub model: Labels,
    pub target: Labels,
}

/// A string column held as each row's index into its distinct values (a run has a handful of
/// classes and models, and many rows).
#[derive(Debug, Default, Clone)]
pub struct Labels {
    pub names: Vec<String>,
    pub of_row: Vec<u32>,
}

impl Labels {
    pub fn push(&mut self, name: &str) {
        let at = match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        self.of_row.push(at as u32);
    }

    /// Row `i`'s name.
    pub fn of(&self, i: usize) -> &str {
        self.of_row
            .get(i)
            .and_then(|&k| self.names.get(k as usize))
            .map_or("", String::as_str)
    }

    /// `from`'s rows after these (merging shards).
    pub fn extend(&mut self, from: &Labels) {
        for &k in &from.of_row {
            self.push(&from.names[k as usize]);
        }
    }
}

impl Requests {
    /// The columns of request rows held in memory (a search's probe, measured while the run
    /// goes: the same rows the engine writes to `requests.parquet`).
    pub fn from_rows(meta: &Manifest, rows: &[crate::rundir::record::RequestRow]) -> Requests {
        let mut r = Requests {
            timed_setup: true,
            ..Requests::default()
        };
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let small = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        for row in rows {
            r.request_id.push(int(row.request_id));
            r.phase.push(
                meta.phases
                    .get(row.phase as usize)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
            );
            r.step.push(small(row.step));
            r.scheduled_ns.push(row.scheduled_ns.map(int));
            r.sent_ns.push(int(row.sent_ns));
            r.first_token_ns.push(row.first_token_ns.map(int));
            r.last_token_ns.push(row.last_token_ns.map(int));
            r.done_ns.push(int(row.done_ns));
            r.input_tokens.push(small(row.input_tokens));
            r.output_tokens.push(row.output_tokens.map(small));
            r.status.push(row.status);
            r.error_kind.push(row.error_kind);
            r.prompt_tokens.push(row.prompt_tokens.map(small));
            r.cached_tokens.push(row.cached_tokens.map(small));
            r.first_content_ns.push(row.first_content_ns.map(int));
            r.reasoning_tokens.push(row.reasoning_tokens.map(small));
            r.conn_reused.push(row.conn_reused);
            r.resent.push(row.resent);
            r.session.push(row.session.map(int));
            r.turn.push(row.turn.map(small));
            r.branch.push(row.branch.map(small));
            r.session_turns.push(row.session_turns.map(small));
            r.connect_ns.push(row.connect_ns.map(int));
            r.tls_ns.push(row.tls_ns.map(int));
            r.backoff_ns.push(row.backoff_ns.map(int));
            r.inputs.push(row.inputs.map(small));
            // Rows in memory carry the class's index, not its name (`run.json` has none).
            r.class.push(&row.class.to_string());
            r.api.push(row.api.unwrap_or(""));
            r.model.push(row.model.as_deref().unwrap_or(""));
            r.target.push(row.target.as_deref().unwrap_or(""));
        }
        r
    }

    pub fn len(&self) -> usize {
        self.request_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.request_id.is_empty()
    }
}

/// Samples of the server's Prometheus metrics, in scrape order (empty without the file).
#[derive(Debug, Default, Clone)]
pub struct ServerMetrics {
    pub at_ns: Vec<i64>,
    pub name: Vec<String>,
    pub labels: Vec<String>,
    pub value: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub meta: Manifest,
    pub requests: Requests,
    /// The chunk table, read by passes (`measure/scan.rs`), never held.
    pub chunks: ChunkFiles,
    /// Each request id's row in [`Requests`].
    pub rows_of: HashMap<i64, u32>,
    pub server: ServerMetrics,
    /// The shards of the plan this run holds, when it is one or several parts of a plan run
    /// with `--shard` (`shards.rs`).
    pub shards: Option<Shards>,
}

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
