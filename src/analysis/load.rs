//! Reading a run directory back: `run.json`, `requests.parquet`, `chunks.parquet` and (when the
//! run scraped one) `server_metrics.parquet`, into columns. Analysis uses nothing else — never
//! anything the engine kept in memory. Columns added after the first release (`first_content_ns`,
//! `cached_tokens`, …) are optional, so older run directories still load.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::rundir::manifest::Manifest;
use crate::rundir::tables::{requests as rq, server_metrics as sm};
use arrow_array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::AnalysisError;
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
    /// The run timed connection set-up (it has the `connect_ns` column).
    pub timed_setup: bool,
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
    /// The chunk table, read by passes (`chunks.rs`), never held.
    pub chunks: ChunkFiles,
    /// Each request id's row in [`Requests`].
    pub rows_of: HashMap<i64, u32>,
    pub server: ServerMetrics,
    /// The shards of the plan this run holds, when it is one or several parts of a plan run
    /// with `--shard` (`shards.rs`).
    pub shards: Option<super::shard_set::Shards>,
}

/// The columns of `path` (from its schema), to tell optional columns that are absent.
fn names(path: &Path) -> Result<Vec<String>, AnalysisError> {
    let bad = |e: String| AnalysisError::Unreadable {
        path: path.to_path_buf(),
        reason: e,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    let schema = builder.parquet_schema();
    Ok((0..schema.num_columns())
        .map(|i| schema.column(i).name().to_string())
        .collect())
}

/// An optional column of a batch: `None` for every row when the file has no such column.
fn optional<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Option<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
}

fn opt_at<T: Array + 'static, V>(
    a: Option<&T>,
    i: usize,
    get: impl Fn(&T, usize) -> V,
) -> Option<V> {
    a.filter(|a| !a.is_null(i)).map(|a| get(a, i))
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, AnalysisError>>>;

/// The files of `table` in `dir` (one file, or the parts of a run cut short).
fn table_files(dir: &Path, table: &str) -> Result<Vec<PathBuf>, AnalysisError> {
    crate::rundir::layout::files(dir, table).map_err(|reason| AnalysisError::Unreadable {
        path: dir.join(table),
        reason,
    })
}

/// A table's rows and its batches of the given columns, read lazily file after file.
fn open_table(
    dir: &Path,
    table: &str,
    columns: &[&str],
) -> Result<(usize, Batches), AnalysisError> {
    let mut rows = 0;
    let mut all: Batches = Box::new(std::iter::empty());
    for f in table_files(dir, table)? {
        let (n, batches) = open(&f, columns)?;
        rows += n;
        all = Box::new(all.chain(batches));
    }
    Ok((rows, all))
}

/// The file's rows (from its metadata) and its batches of the given columns, read lazily.
pub(super) fn open(
    path: &Path,
    columns: &[&str],
) -> Result<
    (
        usize,
        impl Iterator<Item = Result<RecordBatch, AnalysisError>>,
    ),
    AnalysisError,
> {
    let bad = |e: String| AnalysisError::Unreadable {
        path: path.to_path_buf(),
        reason: e,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let schema = builder.parquet_schema();
    let mut indices = Vec::new();
    for c in columns {
        let i = (0..schema.num_columns())
            .find(|i| schema.column(*i).name() == *c)
            .ok_or_else(|| bad(format!("no column '{c}'")))?;
        indices.push(i);
    }
    let mask = ProjectionMask::leaves(schema, indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let path = path.to_path_buf();
    Ok((
        rows,
        reader.map(move |b| {
            b.map_err(|e| AnalysisError::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            })
        }),
    ))
}

pub(super) fn column<'a, T: 'static>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a T, AnalysisError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| AnalysisError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("column '{name}' is missing or has the wrong type"),
        })
}

fn opt64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Reads the run directory `dir`. A damaged file is an error naming it, even where the Parquet
/// reader would panic (`rundir::layout::guard`).
pub fn load(dir: &Path) -> Result<Run, AnalysisError> {
    guarded(dir, || read_run(dir))
}

/// Runs `read` of files under `dir` with the Parquet reader's panics turned into errors.
pub(super) fn guarded<T>(
    dir: &Path,
    read: impl FnOnce() -> Result<T, AnalysisError>,
) -> Result<T, AnalysisError> {
    let mut typed = None;
    let outcome = crate::rundir::layout::guard(|| {
        read().map_err(|e| {
            let text = e.to_string();
            typed = Some(e);
            text
        })
    });
    outcome.map_err(|reason| {
        typed.unwrap_or(AnalysisError::Unreadable {
            path: dir.to_path_buf(),
            reason,
        })
    })
}

fn read_run(dir: &Path) -> Result<Run, AnalysisError> {
    let meta = Manifest::read(dir).map_err(|e| AnalysisError::Manifest(e.to_string()))?;

    let rpath = dir.join(crate::rundir::layout::REQUESTS);
    let present = match table_files(dir, crate::rundir::layout::REQUESTS)?.first() {
        Some(first) => names(first)?,
        None => Vec::new(),
    };
    let extra: Vec<&str> = OPTIONAL
        .iter()
        .copied()
        .filter(|c| present.iter().any(|p| p == c))
        .collect();
    let cols = [
        rq::REQUEST_ID,
        rq::PHASE,
        rq::STEP,
        rq::SCHEDULED_NS,
        rq::SENT_NS,
        rq::FIRST_TOKEN_NS,
        rq::LAST_TOKEN_NS,
        rq::DONE_NS,
        rq::INPUT_TOKENS,
        rq::OUTPUT_TOKENS,
        rq::STATUS,
    ];
    let cols: Vec<&str> = cols.iter().copied().chain(extra).collect();
    let mut r = Requests {
        timed_setup: present.iter().any(|c| c == rq::CONNECT_NS),
        ..Requests::default()
    };
    let (_, batches) = open_table(dir, crate::rundir::layout::REQUESTS, &cols)?;
    for b in batches {
        let b = b?;
        let id = column::<Int64Array>(&b, rq::REQUEST_ID, &rpath)?;
        let phase = column::<StringArray>(&b, rq::PHASE, &rpath)?;
        let step = column::<Int32Array>(&b, rq::STEP, &rpath)?;
        let sched = column::<Int64Array>(&b, rq::SCHEDULED_NS, &rpath)?;
        let sent = column::<Int64Array>(&b, rq::SENT_NS, &rpath)?;
        let first = column::<Int64Array>(&b, rq::FIRST_TOKEN_NS, &rpath)?;
        let last = column::<Int64Array>(&b, rq::LAST_TOKEN_NS, &rpath)?;
        let done = column::<Int64Array>(&b, rq::DONE_NS, &rpath)?;
        let input = column::<Int32Array>(&b, rq::INPUT_TOKENS, &rpath)?;
        let output = column::<Int32Array>(&b, rq::OUTPUT_TOKENS, &rpath)?;
        let status = column::<StringArray>(&b, rq::STATUS, &rpath)?;
        let prompt = optional::<Int32Array>(&b, rq::PROMPT_TOKENS);
        let cached = optional::<Int32Array>(&b, rq::CACHED_TOKENS);
        let content = optional::<Int64Array>(&b, rq::FIRST_CONTENT_NS);
        let reasoning = optional::<Int32Array>(&b, rq::REASONING_TOKENS);
        let reused = optional::<BooleanArray>(&b, rq::CONN_REUSED);
        let resent = optional::<BooleanArray>(&b, rq::RESENT);
        let session = optional::<Int64Array>(&b, rq::SESSION);
        let turn = optional::<Int32Array>(&b, rq::TURN);
        let branch = optional::<Int32Array>(&b, rq::BRANCH);
        let session_turns = optional::<Int32Array>(&b, rq::SESSION_TURNS);
        let connect = optional::<Int64Array>(&b, rq::CONNECT_NS);
        let tls = optional::<Int64Array>(&b, rq::TLS_NS);
        let backoff = optional::<Int64Array>(&b, rq::BACKOFF_NS);
        let kind = optional::<StringArray>(&b, rq::ERROR_KIND);
        for i in 0..b.num_rows() {
            let named = kind.filter(|k| !k.is_null(i)).map(|k| k.value(i));
            r.error_kind.push(match named {
                None => None,
                Some(named) => Some(ErrorKind::parse(named).ok_or_else(|| {
                    AnalysisError::Unreadable {
                        path: dir.to_path_buf(),
                        reason: format!(
                            "request {} has error kind '{named}', which this llmw does not know (a newer llmw wrote it?)",
                            id.value(i)
                        ),
                    }
                })?),
            });
            r.connect_ns.push(opt_at(connect, i, Int64Array::value));
            r.tls_ns.push(opt_at(tls, i, Int64Array::value));
            r.backoff_ns.push(opt_at(backoff, i, Int64Array::value));
            r.session.push(opt_at(session, i, Int64Array::value));
            r.turn.push(opt_at(turn, i, Int32Array::value));
            r.branch.push(opt_at(branch, i, Int32Array::value));
            r.session_turns
                .push(opt_at(session_turns, i, Int32Array::value));
            r.prompt_tokens.push(opt_at(prompt, i, Int32Array::value));
            r.cached_tokens.push(opt_at(cached, i, Int32Array::value));
            r.first_content_ns
                .push(opt_at(content, i, Int64Array::value));
            r.reasoning_tokens
                .push(opt_at(reasoning, i, Int32Array::value));
            r.conn_reused.push(opt_at(reused, i, BooleanArray::value));
            r.resent
                .push(opt_at(resent, i, BooleanArray::value).unwrap_or(false));
            r.request_id.push(id.value(i));
            r.phase.push(phase.value(i).to_string());
            r.step.push(step.value(i));
            r.scheduled_ns.push(opt64(sched, i));
            r.sent_ns.push(sent.value(i));
            r.first_token_ns.push(opt64(first, i));
            r.last_token_ns.push(opt64(last, i));
            r.done_ns.push(done.value(i));
            r.input_tokens.push(input.value(i));
            r.output_tokens
                .push((!output.is_null(i)).then(|| output.value(i)));
            let named = status.value(i);
            r.status.push(Status::parse(named).ok_or_else(|| AnalysisError::Unreadable {
                path: dir.to_path_buf(),
                reason: format!(
                    "request {} has status '{named}', which this llmw does not know (a newer llmw wrote it?)",
                    id.value(i)
                ),
            })?);
        }
    }

    let rows_of: HashMap<i64, u32> = r
        .request_id
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    // The chunk files are opened here, so a missing or damaged one is an error now; their
    // rows are read by the analysis' passes.
    let mut chunks = ChunkFiles::default();
    for path in table_files(dir, crate::rundir::layout::CHUNKS)? {
        let (rows, _) = open(&path, &[])?;
        chunks.rows += rows as u64;
        chunks.parts.push(ChunkPart { path, offset_ns: 0 });
    }
    let server = if crate::rundir::layout::exists(dir, crate::rundir::layout::SERVER_METRICS) {
        server_metrics(dir)?
    } else {
        ServerMetrics::default()
    };
    Ok(Run {
        dir: dir.to_path_buf(),
        shards: super::shard_set::alone(&meta),
        meta,
        requests: r,
        chunks,
        rows_of,
        server,
    })
}

/// Columns of `requests.parquet` read when present.
const OPTIONAL: [&str; 14] = [
    rq::PROMPT_TOKENS,
    rq::CACHED_TOKENS,
    rq::FIRST_CONTENT_NS,
    rq::REASONING_TOKENS,
    rq::CONN_REUSED,
    rq::RESENT,
    rq::SESSION,
    rq::TURN,
    rq::BRANCH,
    rq::SESSION_TURNS,
    rq::CONNECT_NS,
    rq::TLS_NS,
    rq::BACKOFF_NS,
    rq::ERROR_KIND,
];

fn server_metrics(dir: &Path) -> Result<ServerMetrics, AnalysisError> {
    let table = crate::rundir::layout::SERVER_METRICS;
    let path = &dir.join(table);
    let (n, batches) = open_table(dir, table, &[sm::AT_NS, sm::NAME, sm::LABELS, sm::VALUE])?;
    let mut m = ServerMetrics {
        at_ns: Vec::with_capacity(n),
        name: Vec::with_capacity(n),
        labels: Vec::with_capacity(n),
        value: Vec::with_capacity(n),
    };
    for b in batches {
        let b = b?;
        m.at_ns
            .extend_from_slice(column::<Int64Array>(&b, sm::AT_NS, path)?.values());
        let name = column::<StringArray>(&b, sm::NAME, path)?;
        let labels = column::<StringArray>(&b, sm::LABELS, path)?;
        for i in 0..b.num_rows() {
            m.name.push(name.value(i).to_string());
            m.labels.push(labels.value(i).to_string());
        }
        m.value
            .extend_from_slice(column::<Float64Array>(&b, sm::VALUE, path)?.values());
    }
    Ok(m)
}

/// The files of a run's chunk table, in order (one per table, or the parts of a run cut short;
/// a merged run has every shard's), each with the offset that puts its times on the run's axis.
#[derive(Debug, Clone, Default)]
pub struct ChunkFiles {
    pub parts: Vec<ChunkPart>,
    /// Rows in all (from the files' metadata).
    pub rows: u64,
}

#[derive(Debug, Clone)]
pub struct ChunkPart {
    pub path: PathBuf,
    pub offset_ns: i64,
}
