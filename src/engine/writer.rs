//! Token traces on disk: `requests.parquet`, `chunks.parquet` and `server_metrics.parquet`
//! (the scraped Prometheus samples), written by a dedicated thread
//! as rows arrive, flushed in row groups so memory stays bounded however long the run, and
//! closed (footer written) on every way out, so each file left behind is valid Parquet.

use std::fs::File;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use super::record::{ChunkRow, MetricRow, RequestRow};

/// Rows buffered before they are handed to the Parquet encoder.
const BATCH_ROWS: usize = 8192;
/// Requests (with their chunks) queued for the writer at most.
const QUEUE: usize = 2048;
/// Rows per row group (each closed row group is on disk).
const ROW_GROUP_ROWS: usize = 65_536;

// Requests are nearly every message: boxing them would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Request(RequestRow, Vec<ChunkRow>),
    /// One scrape of the server's metrics.
    Metrics(Vec<MetricRow>),
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

/// What the writer saw, for the caller's summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub requests: u64,
    pub chunks: u64,
    pub metrics: u64,
}

pub struct TraceWriter {
    pub tx: mpsc::SyncSender<Msg>,
    thread: JoinHandle<Result<Written, String>>,
}

impl TraceWriter {
    /// Creates both files in `dir` and starts the writer thread. `phases` and `classes` name
    /// the indices in rows.
    pub fn create(
        dir: &Path,
        phases: Vec<String>,
        classes: Vec<String>,
    ) -> Result<TraceWriter, String> {
        let open =
            |name: &str, schema: SchemaRef, delta: &[&str]| -> Result<ArrowWriter<File>, String> {
                let path = dir.join(name);
                let file = File::create(&path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                ArrowWriter::try_new(file, schema, Some(props(delta)))
                    .map_err(|e| format!("cannot start {}: {e}", path.display()))
            };
        let req = open(
            "requests.parquet",
            requests_schema(),
            &["sent_ns", "done_ns"],
        )?;
        let chk = open("chunks.parquet", chunks_schema(), &["at_ns", "request_id"])?;
        let met = open("server_metrics.parquet", metrics_schema(), &["at_ns"])?;
        // Bounded: if the disk falls behind, senders wait rather than memory growing.
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("llmw-writer".into())
            .spawn(move || write_loop(rx, [req, chk, met], &phases, &classes))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(TraceWriter { tx, thread })
    }

    /// Closes the files once every sender is dropped; returns what was written.
    pub fn finish(self) -> Result<Written, String> {
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| "the trace writer thread panicked".to_string())?
    }
}

fn write_loop(
    rx: mpsc::Receiver<Msg>,
    files: [ArrowWriter<File>; 3],
    phases: &[String],
    classes: &[String],
) -> Result<Written, String> {
    let [mut req, mut chk, mut met] = files;
    let mut reqs: Vec<RequestRow> = Vec::with_capacity(BATCH_ROWS);
    let mut chunks: Vec<ChunkRow> = Vec::with_capacity(BATCH_ROWS);
    let mut samples: Vec<MetricRow> = Vec::new();
    let mut written = Written::default();
    let mut failure: Option<String> = None;
    // Keep receiving even after a failure, so senders never block or error; report it at the end.
    for msg in rx {
        match msg {
            Msg::Request(row, rows) => {
                reqs.push(row);
                chunks.extend(rows);
            }
            Msg::Metrics(rows) => samples.extend(rows),
        }
        if failure.is_none() && reqs.len() >= BATCH_ROWS {
            failure = flush_requests(&mut req, &mut reqs, phases, classes, &mut written).err();
        }
        if failure.is_none() && chunks.len() >= BATCH_ROWS {
            failure = flush_chunks(&mut chk, &mut chunks, &mut written).err();
        }
        if failure.is_none() && samples.len() >= BATCH_ROWS {
            failure = flush_metrics(&mut met, &mut samples, &mut written).err();
        }
        if failure.is_some() {
            reqs.clear();
            chunks.clear();
            samples.clear();
        }
    }
    if failure.is_none() {
        failure = flush_requests(&mut req, &mut reqs, phases, classes, &mut written).err();
    }
    if failure.is_none() {
        failure = flush_chunks(&mut chk, &mut chunks, &mut written).err();
    }
    if failure.is_none() {
        failure = flush_metrics(&mut met, &mut samples, &mut written).err();
    }
    // Always write the footers, so whatever was written stays readable.
    let closed = [
        ("requests.parquet", req.close().map(|_| ())),
        ("chunks.parquet", chk.close().map(|_| ())),
        ("server_metrics.parquet", met.close().map(|_| ())),
    ];
    if let Some(f) = failure {
        return Err(f);
    }
    for (name, result) in closed {
        result.map_err(|e| format!("closing {name}: {e}"))?;
    }
    Ok(written)
}

fn flush_metrics(
    w: &mut ArrowWriter<File>,
    rows: &mut Vec<MetricRow>,
    written: &mut Written,
) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let mut at = Int64Builder::with_capacity(n);
    let mut name = StringBuilder::new();
    let mut labels = StringBuilder::new();
    let mut value = Float64Builder::with_capacity(n);
    for r in rows.iter() {
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
    let batch = RecordBatch::try_new(metrics_schema(), columns)
        .map_err(|e| format!("metrics batch: {e}"))?;
    w.write(&batch)
        .map_err(|e| format!("writing server_metrics.parquet: {e}"))?;
    written.metrics += n as u64;
    rows.clear();
    Ok(())
}

fn flush_requests(
    w: &mut ArrowWriter<File>,
    rows: &mut Vec<RequestRow>,
    phases: &[String],
    classes: &[String],
    written: &mut Written,
) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
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
    let batch = RecordBatch::try_new(requests_schema(), columns)
        .map_err(|e| format!("requests batch: {e}"))?;
    w.write(&batch)
        .map_err(|e| format!("writing requests.parquet: {e}"))?;
    written.requests += n as u64;
    rows.clear();
    Ok(())
}

fn flush_chunks(
    w: &mut ArrowWriter<File>,
    rows: &mut Vec<ChunkRow>,
    written: &mut Written,
) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
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
    let batch =
        RecordBatch::try_new(chunks_schema(), columns).map_err(|e| format!("chunks batch: {e}"))?;
    w.write(&batch)
        .map_err(|e| format!("writing chunks.parquet: {e}"))?;
    written.chunks += n as u64;
    rows.clear();
    Ok(())
}
