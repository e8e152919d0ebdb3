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

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::rundir::record::{ChunkRow, MetricRow, RequestRow};
use crate::rundir::{layout, tables};

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
                tables::requests::schema(),
                &[tables::requests::SENT_NS, tables::requests::DONE_NS],
            )?,
            Table::create(
                dir,
                layout::CHUNKS,
                tables::chunks::schema(),
                &[tables::chunks::AT_NS, tables::chunks::REQUEST_ID],
            )?,
            Table::create(
                dir,
                layout::SERVER_METRICS,
                tables::server_metrics::schema(),
                &[tables::server_metrics::AT_NS],
            )?,
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
                crate::engine::record::niceness::lower_this_thread();
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
            req.write(&tables::requests::batch(reqs, &self.phases, &self.classes)?)?;
            self.counters
                .requests
                .fetch_add(reqs.len() as u64, Ordering::Relaxed);
            reqs.clear();
        }
        if !chunks.is_empty() {
            chk.write(&tables::chunks::batch(chunks)?)?;
            self.counters
                .chunks
                .fetch_add(chunks.len() as u64, Ordering::Relaxed);
            chunks.clear();
        }
        if !samples.is_empty() {
            met.write(&tables::server_metrics::batch(samples)?)?;
            self.counters
                .metrics
                .fetch_add(samples.len() as u64, Ordering::Relaxed);
            samples.clear();
        }
        Ok(())
    }
}
