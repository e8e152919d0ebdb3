//! Token traces on disk: the `requests`, `chunks` and `server_metrics` tables, written by a
//! dedicated thread as rows arrive. Every second (or sooner when rows pile up) what has arrived
//! is written as one closed, synced Parquet part of each table (`rundir::layout` has the layout), so a
//! SIGKILL or a power cut loses at most about a second of rows and memory stays bounded however
//! long the run. When a run completes, each table's parts are merged into `<table>.parquet`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::rundir::layout;
use crate::rundir::record::{ChunkRow, MetricRow, RequestRow};

/// A part is written at least this often while rows arrive.
pub const PART_EVERY: Duration = Duration::from_secs(1);
/// Rows buffered before a part is written early.
const PART_ROWS: usize = 65_536;
/// Requests (with their chunks) queued for the writer at most.
const QUEUE: usize = 2048;
/// Rows per row group when parts are merged.
const ROW_GROUP_ROWS: usize = 65_536;
/// How long a sender waits for room in a full queue, and the end of the run for the writer,
/// before the disk counts as stalled.
pub const STALL: Duration = Duration::from_secs(30);

// Requests are nearly every message: boxing them would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Request(RequestRow, Vec<ChunkRow>),
    /// One scrape of the server's metrics.
    Metrics(Vec<MetricRow>),
    /// The run is over: write what is left and close, even if some sender still lives (a
    /// virtual user asleep in its think time when its phase ended).
    Close,
}

/// How far the writer thread got, reported as it goes.
enum Stage {
    /// Every row received is on disk (the merge, if any, comes next).
    Flushed,
    Ended(Ended),
}

pub fn metrics_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("at_ns", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("labels", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]))
}

pub fn requests_schema() -> SchemaRef {
    let i64n = |n: &str, null: bool| Field::new(n, DataType::Int64, null);
    let i32n = |n: &str, null: bool| Field::new(n, DataType::Int32, null);
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        i64n("request_id", false),
        s("phase", false),
        i32n("step", false),
        s("class", false),
        i64n("scheduled_ns", true),
        i64n("sent_ns", false),
        i64n("first_token_ns", true),
        i64n("last_token_ns", true),
        i64n("done_ns", false),
        i32n("input_tokens", false),
        i32n("output_tokens_requested", false),
        i32n("prompt_tokens", true),
        i32n("output_tokens", true),
        i32n("chunks", false),
        s("status", false),
        i32n("http_status", true),
        s("error", true),
        i32n("prefix_group", true),
        s("request_uuid", true),
        Field::new("conn_reused", DataType::Boolean, true),
        Field::new("resent", DataType::Boolean, false),
        s("finish_reason", true),
        i32n("cached_tokens", true),
        i64n("first_content_ns", true),
        i32n("reasoning_tokens", true),
    ]))
}

pub fn chunks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("request_id", DataType::Int64, false),
        Field::new("seq", DataType::Int32, false),
        Field::new("at_ns", DataType::Int64, false),
        Field::new("tokens", DataType::Int32, false),
        Field::new("bytes", DataType::Int32, false),
        Field::new("reasoning", DataType::Boolean, false),
    ]))
}

fn props(delta_columns: &[&str]) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for c in delta_columns {
        // Monotonic-ish nanosecond columns compress far better with delta encoding.
        b = b
            .set_column_encoding(ColumnPath::from(*c), Encoding::DELTA_BINARY_PACKED)
            .set_column_dictionary_enabled(ColumnPath::from(*c), false);
    }
    b.build()
}

/// What the writer has put on disk so far (read live for `run.json`).
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub chunks: AtomicU64,
    pub metrics: AtomicU64,
}

/// What the writer saw, for the caller's summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub requests: u64,
    pub chunks: u64,
    pub metrics: u64,
}

impl Counters {
    pub fn snapshot(&self) -> Written {
        Written {
            requests: self.requests.load(Ordering::Relaxed),
            chunks: self.chunks.load(Ordering::Relaxed),
            metrics: self.metrics.load(Ordering::Relaxed),
        }
    }
}

/// One table: its parts directory, schema and the next part's number.
struct Table {
    dir: PathBuf,
    name: &'static str,
    schema: SchemaRef,
    props: WriterProperties,
    next: u32,
}

impl Table {
    fn create(
        run: &Path,
        name: &'static str,
        schema: SchemaRef,
        delta: &[&str],
    ) -> Result<Table, String> {
        let dir = layout::parts_dir(run, name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut t = Table {
            dir,
            name,
            props: props(delta),
            schema: schema.clone(),
            next: 0,
        };
        // An empty first part: the table has its schema from the start, for every reader.
        t.write(&RecordBatch::new_empty(schema))?;
        Ok(t)
    }

    /// Writes `batch` as the next part: a `.tmp` file, closed and synced, then renamed.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        let name = layout::part_name(self.next);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let what = |e: &dyn std::fmt::Display| format!("writing {}/{name}: {e}", self.name);
        let file = File::create(&tmp).map_err(|e| what(&e))?;
        let mut w = ArrowWriter::try_new(file, self.schema.clone(), Some(self.props.clone()))
            .map_err(|e| what(&e))?;
        w.write(batch).map_err(|e| what(&e))?;
        let file = w.into_inner().map_err(|e| what(&e))?;
        file.sync_all().map_err(|e| what(&e))?;
        std::fs::rename(&tmp, self.dir.join(&name)).map_err(|e| what(&e))?;
        self.next += 1;
        Ok(())
    }

    /// Merges the parts into `<table>.parquet` and removes them.
    fn merge(&self, run: &Path) -> Result<(), String> {
        let out = layout::file(run, self.name);
        let tmp = run.join(format!("{}.parquet.tmp", self.name));
        let what = |e: &dyn std::fmt::Display| format!("merging {}: {e}", self.name);
        let file = File::create(&tmp).map_err(|e| what(&e))?;
        let mut w = ArrowWriter::try_new(file, self.schema.clone(), Some(self.props.clone()))
            .map_err(|e| what(&e))?;
        for part in layout::files(run, self.name)? {
            let f = File::open(&part).map_err(|e| what(&e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(f)
                .and_then(|b| b.with_batch_size(ROW_GROUP_ROWS).build())
                .map_err(|e| what(&e))?;
            for batch in reader {
                w.write(&batch.map_err(|e| what(&e))?)
                    .map_err(|e| what(&e))?;
            }
        }
        let file = w.into_inner().map_err(|e| what(&e))?;
        file.sync_all().map_err(|e| what(&e))?;
        std::fs::rename(&tmp, &out).map_err(|e| what(&e))?;
        std::fs::remove_dir_all(&self.dir).map_err(|e| what(&e))
    }
}

/// How the writer ended: what it wrote, or why it stopped.
type Ended = Result<Written, String>;

pub struct TraceWriter {
    pub tx: mpsc::SyncSender<Msg>,
    pub counters: Arc<Counters>,
    /// The writer's first failure, as soon as it happens (the run stops on it).
    pub failed: Arc<std::sync::Mutex<Option<String>>>,
    done: mpsc::Receiver<Stage>,
    merge: Arc<std::sync::atomic::AtomicBool>,
}

impl TraceWriter {
    /// Creates the tables in `dir` and starts the writer thread. `phases` and `classes` name
    /// the indices in rows.
    pub fn create(
        dir: &Path,
        phases: Vec<String>,
        classes: Vec<String>,
    ) -> Result<TraceWriter, String> {
        let tables = [
            Table::create(
                dir,
                layout::REQUESTS,
                requests_schema(),
                &["sent_ns", "done_ns"],
            )?,
            Table::create(
                dir,
                layout::CHUNKS,
                chunks_schema(),
                &["at_ns", "request_id"],
            )?,
            Table::create(dir, layout::SERVER_METRICS, metrics_schema(), &["at_ns"])?,
        ];
        // Bounded: if the disk falls behind, senders wait rather than memory growing.
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (done_tx, done) = mpsc::channel::<Stage>();
        let counters = Arc::new(Counters::default());
        let failed = Arc::new(std::sync::Mutex::new(None));
        let merge = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let state = Loop {
            rx,
            tables,
            phases,
            classes,
            run: dir.to_path_buf(),
            counters: counters.clone(),
            failed: failed.clone(),
            merge: merge.clone(),
        };
        std::thread::Builder::new()
            .name("llmw-writer".into())
            .spawn(move || {
                let ended = state.run(&done_tx);
                let _ = done_tx.send(Stage::Ended(ended));
            })
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(TraceWriter {
            tx,
            counters,
            failed,
            done,
            merge,
        })
    }

    /// The writer's failure so far, if any.
    pub fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    /// Closes the tables (merging the parts into one file each when `merge`); returns what was
    /// written. A writer that does not get its rows on disk within [`STALL`] (a stalled disk) or
    /// died is an error; the parts already closed stay readable. The merge itself is not timed:
    /// it makes steady progress through files already written, however long the run was.
    pub fn finish(self, merge: bool) -> Result<Written, String> {
        self.merge.store(merge, Ordering::SeqCst);
        let stalled = || {
            format!("the trace writer did not get its rows on disk within {STALL:?} (a stalled disk?); the parts written before are readable")
        };
        let died =
            || "the trace writer thread died; the parts written before are readable".to_string();
        let since = Instant::now();
        // The queue may be full: the close waits its turn, within STALL.
        let mut close = Msg::Close;
        loop {
            match self.tx.try_send(close) {
                Ok(()) => break,
                Err(mpsc::TrySendError::Disconnected(_)) => break,
                Err(mpsc::TrySendError::Full(back)) if since.elapsed() < STALL => {
                    close = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(mpsc::TrySendError::Full(_)) => return Err(stalled()),
            }
        }
        drop(self.tx);
        let left = STALL.saturating_sub(since.elapsed());
        match self.done.recv_timeout(left) {
            Ok(Stage::Flushed) => {}
            Ok(Stage::Ended(ended)) => return ended,
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(stalled()),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(died()),
        }
        match self.done.recv() {
            Ok(Stage::Ended(ended)) => ended,
            Ok(Stage::Flushed) | Err(_) => Err(died()),
        }
    }
}

struct Loop {
    rx: mpsc::Receiver<Msg>,
    tables: [Table; 3],
    phases: Vec<String>,
    classes: Vec<String>,
    run: PathBuf,
    counters: Arc<Counters>,
    failed: Arc<std::sync::Mutex<Option<String>>>,
    merge: Arc<std::sync::atomic::AtomicBool>,
}

impl Loop {
    fn run(mut self, progress: &mpsc::Sender<Stage>) -> Ended {
        let mut reqs: Vec<RequestRow> = Vec::new();
        let mut chunks: Vec<ChunkRow> = Vec::new();
        let mut samples: Vec<MetricRow> = Vec::new();
        let mut failure: Option<String> = None;
        let mut next_part = Instant::now() + PART_EVERY;
        // Keep receiving even after a failure, so senders never block; report it at the end.
        loop {
            let wait = next_part.saturating_duration_since(Instant::now());
            let open = match self.rx.recv_timeout(wait) {
                Ok(Msg::Request(row, rows)) => {
                    reqs.push(row);
                    chunks.extend(rows);
                    true
                }
                Ok(Msg::Metrics(rows)) => {
                    samples.extend(rows);
                    true
                }
                Ok(Msg::Close) => false,
                Err(mpsc::RecvTimeoutError::Timeout) => true,
                Err(mpsc::RecvTimeoutError::Disconnected) => false,
            };
            let due = Instant::now() >= next_part
                || reqs.len() >= PART_ROWS
                || chunks.len() >= PART_ROWS
                || samples.len() >= PART_ROWS;
            if (due || !open) && failure.is_none() {
                if let Err(e) = self.flush(&mut reqs, &mut chunks, &mut samples) {
                    if let Ok(mut f) = self.failed.lock() {
                        *f = Some(e.clone());
                    }
                    failure = Some(e);
                }
            }
            if failure.is_some() {
                reqs.clear();
                chunks.clear();
                samples.clear();
            }
            if due {
                next_part = Instant::now() + PART_EVERY;
            }
            if !open {
                break;
            }
        }
        if let Some(f) = failure {
            return Err(f);
        }
        let _ = progress.send(Stage::Flushed);
        if self.merge.load(Ordering::SeqCst) {
            for t in &self.tables {
                t.merge(&self.run)?;
            }
        }
        Ok(self.counters.snapshot())
    }

    fn flush(
        &mut self,
        reqs: &mut Vec<RequestRow>,
        chunks: &mut Vec<ChunkRow>,
        samples: &mut Vec<MetricRow>,
    ) -> Result<(), String> {
        let [req, chk, met] = &mut self.tables;
        if !reqs.is_empty() {
            req.write(&requests_batch(reqs, &self.phases, &self.classes)?)?;
            self.counters
                .requests
                .fetch_add(reqs.len() as u64, Ordering::Relaxed);
            reqs.clear();
        }
        if !chunks.is_empty() {
            chk.write(&chunks_batch(chunks)?)?;
            self.counters
                .chunks
                .fetch_add(chunks.len() as u64, Ordering::Relaxed);
            chunks.clear();
        }
        if !samples.is_empty() {
            met.write(&metrics_batch(samples)?)?;
            self.counters
                .metrics
                .fetch_add(samples.len() as u64, Ordering::Relaxed);
            samples.clear();
        }
        Ok(())
    }
}

fn requests_batch(
    rows: &[RequestRow],
    phases: &[String],
    classes: &[String],
) -> Result<RecordBatch, String> {
    let n = rows.len();
    let mut id = Int64Builder::with_capacity(n);
    let mut phase = StringBuilder::new();
    let mut step = Int32Builder::with_capacity(n);
    let mut class = StringBuilder::new();
    let mut scheduled = Int64Builder::with_capacity(n);
    let mut sent = Int64Builder::with_capacity(n);
    let mut first = Int64Builder::with_capacity(n);
    let mut last = Int64Builder::with_capacity(n);
    let mut done = Int64Builder::with_capacity(n);
    let mut input = Int32Builder::with_capacity(n);
    let mut requested = Int32Builder::with_capacity(n);
    let mut prompt = Int32Builder::with_capacity(n);
    let mut output = Int32Builder::with_capacity(n);
    let mut chunks = Int32Builder::with_capacity(n);
    let mut status = StringBuilder::new();
    let mut http = Int32Builder::with_capacity(n);
    let mut error = StringBuilder::new();
    let mut group = Int32Builder::with_capacity(n);
    let mut uuid = StringBuilder::new();
    let mut reused = BooleanBuilder::with_capacity(n);
    let mut resent = BooleanBuilder::with_capacity(n);
    let mut finish = StringBuilder::new();
    let mut cached = Int32Builder::with_capacity(n);
    let mut first_content = Int64Builder::with_capacity(n);
    let mut reasoning = Int32Builder::with_capacity(n);
    let i64_of = |v: u64| v.min(i64::MAX as u64) as i64;
    let i32_of = |v: u32| v.min(i32::MAX as u32) as i32;
    for r in rows.iter() {
        id.append_value(i64_of(r.request_id));
        phase.append_value(
            phases
                .get(r.phase as usize)
                .map(String::as_str)
                .unwrap_or("?"),
        );
        step.append_value(i32_of(r.step));
        class.append_value(
            classes
                .get(r.class as usize)
                .map(String::as_str)
                .unwrap_or("?"),
        );
        scheduled.append_option(r.scheduled_ns.map(i64_of));
        sent.append_value(i64_of(r.sent_ns));
        first.append_option(r.first_token_ns.map(i64_of));
        last.append_option(r.last_token_ns.map(i64_of));
        done.append_value(i64_of(r.done_ns));
        input.append_value(i32_of(r.input_tokens));
        requested.append_value(i32_of(r.output_tokens_requested));
        prompt.append_option(r.prompt_tokens.map(i32_of));
        output.append_option(r.output_tokens.map(i32_of));
        chunks.append_value(i32_of(r.chunks));
        status.append_value(r.status.as_str());
        http.append_option(r.http_status.map(i32::from));
        error.append_option(r.error.as_deref());
        group.append_option(r.prefix_group.map(i32_of));
        uuid.append_option(r.request_uuid.as_deref());
        reused.append_option(r.conn_reused);
        resent.append_value(r.resent);
        finish.append_option(r.finish_reason.as_deref());
        cached.append_option(r.cached_tokens.map(i32_of));
        first_content.append_option(r.first_content_ns.map(i64_of));
        reasoning.append_option(r.reasoning_tokens.map(i32_of));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(phase.finish()),
        Arc::new(step.finish()),
        Arc::new(class.finish()),
        Arc::new(scheduled.finish()),
        Arc::new(sent.finish()),
        Arc::new(first.finish()),
        Arc::new(last.finish()),
        Arc::new(done.finish()),
        Arc::new(input.finish()),
        Arc::new(requested.finish()),
        Arc::new(prompt.finish()),
        Arc::new(output.finish()),
        Arc::new(chunks.finish()),
        Arc::new(status.finish()),
        Arc::new(http.finish()),
        Arc::new(error.finish()),
        Arc::new(group.finish()),
        Arc::new(uuid.finish()),
        Arc::new(reused.finish()),
        Arc::new(resent.finish()),
        Arc::new(finish.finish()),
        Arc::new(cached.finish()),
        Arc::new(first_content.finish()),
        Arc::new(reasoning.finish()),
    ];
    RecordBatch::try_new(requests_schema(), columns).map_err(|e| format!("requests batch: {e}"))
}

fn chunks_batch(rows: &[ChunkRow]) -> Result<RecordBatch, String> {
    let n = rows.len();
    let mut id = Int64Builder::with_capacity(n);
    let mut seq = Int32Builder::with_capacity(n);
    let mut at = Int64Builder::with_capacity(n);
    let mut tokens = Int32Builder::with_capacity(n);
    let mut bytes = Int32Builder::with_capacity(n);
    let mut reasoning = BooleanBuilder::with_capacity(n);
    for c in rows.iter() {
        id.append_value(c.request_id.min(i64::MAX as u64) as i64);
        seq.append_value(c.seq.min(i32::MAX as u32) as i32);
        at.append_value(c.at_ns.min(i64::MAX as u64) as i64);
        tokens.append_value(c.tokens.min(i32::MAX as u32) as i32);
        bytes.append_value(c.bytes.min(i32::MAX as u32) as i32);
        reasoning.append_value(c.reasoning);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(seq.finish()),
        Arc::new(at.finish()),
        Arc::new(tokens.finish()),
        Arc::new(bytes.finish()),
        Arc::new(reasoning.finish()),
    ];
    RecordBatch::try_new(chunks_schema(), columns).map_err(|e| format!("chunks batch: {e}"))
}

fn metrics_batch(rows: &[MetricRow]) -> Result<RecordBatch, String> {
    let n = rows.len();
    let mut at = Int64Builder::with_capacity(n);
    let mut name = StringBuilder::new();
    let mut labels = StringBuilder::new();
    let mut value = Float64Builder::with_capacity(n);
    for r in rows {
        at.append_value(r.at_ns.min(i64::MAX as u64) as i64);
        name.append_value(&r.name);
        labels.append_value(&r.labels);
        value.append_value(r.value);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(at.finish()),
        Arc::new(name.finish()),
        Arc::new(labels.finish()),
        Arc::new(value.finish()),
    ];
    RecordBatch::try_new(metrics_schema(), columns).map_err(|e| format!("metrics batch: {e}"))
}
