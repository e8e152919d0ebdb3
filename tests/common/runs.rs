//! Reading a run directory back, for tests: rows of the requests and chunks tables (one file
//! each after a completed run, a directory of parts after one cut short).
#![allow(dead_code)]

use std::fs::File;
use std::path::Path;

use arrow_array::{Array, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A request row for hand-built runs: phase 0, class 0, the given times (ns), 100 prompt tokens,
/// 8 asked for, every optional field empty; a test sets the rest with `..`.
pub fn request_row(
    id: u64,
    step: u32,
    status: llmw::rundir::record::Status,
    times: (u64, Option<u64>, Option<u64>, u64),
    output_tokens: Option<u32>,
) -> llmw::rundir::record::RequestRow {
    llmw::rundir::record::RequestRow {
        input_tokens: 100,
        output_tokens_requested: 8,
        output_tokens,
        conn_reused: Some(false),
        ..llmw::rundir::record::RequestRow::bare(id, step, status, times)
    }
}

#[derive(Debug, Clone)]
pub struct Req {
    pub request_id: i64,
    pub phase: String,
    pub step: i32,
    pub class: String,
    pub scheduled_ns: Option<i64>,
    pub sent_ns: i64,
    pub first_token_ns: Option<i64>,
    pub last_token_ns: Option<i64>,
    pub done_ns: i64,
    pub input_tokens: i32,
    pub output_tokens_requested: i32,
    pub prompt_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub chunks: i32,
    pub status: String,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    pub request_uuid: Option<String>,
    pub conn_reused: Option<bool>,
    pub resent: bool,
    pub finish_reason: Option<String>,
    pub cached_tokens: Option<i32>,
    pub first_content_ns: Option<i64>,
    pub reasoning_tokens: Option<i32>,
    pub session: Option<i64>,
    pub turn: Option<i32>,
    pub branch: Option<i32>,
    pub session_turns: Option<i32>,
    pub connect_ns: Option<i64>,
    pub tls_ns: Option<i64>,
    pub backoff_ns: Option<i64>,
    pub api: Option<String>,
    pub model: Option<String>,
    pub inputs: Option<i32>,
    pub target: Option<String>,
    pub images: Option<i32>,
    pub image_pixels: Option<i64>,
    pub image_bytes: Option<i64>,
    pub body_bytes: Option<i64>,
    pub tools: Option<i32>,
    pub tool_calls: Option<i32>,
    pub first_tool_ns: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Chunk {
    pub request_id: i64,
    pub seq: i32,
    pub at_ns: i64,
    pub tokens: i32,
    pub bytes: i32,
    pub reasoning: bool,
}

pub fn table_file(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{} is not valid Parquet: {e}", path.display()))
        .build()
        .expect("reader");
    reader.map(|b| b.expect("batch")).collect()
}

/// Every batch of `table` in the run directory `dir`, in either layout.
pub fn table(dir: &Path, table: &str) -> Vec<RecordBatch> {
    llmw::rundir::layout::files(dir, table)
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .flat_map(|f| table_file(f))
        .collect()
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name} missing"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("column {name} has the wrong type"))
}

fn opt_i64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn opt_i32(a: &Int32Array, i: usize) -> Option<i32> {
    (!a.is_null(i)).then(|| a.value(i))
}

pub fn requests(dir: &Path) -> Vec<Req> {
    let mut out = Vec::new();
    for b in table(dir, "requests") {
        let i64c = |n| col::<Int64Array>(&b, n);
        let i32c = |n| col::<Int32Array>(&b, n);
        let s = |n| col::<StringArray>(&b, n);
        let opt_s = |n, i| (!s(n).is_null(i)).then(|| s(n).value(i).to_string());
        let bools = |n| col::<BooleanArray>(&b, n);
        for i in 0..b.num_rows() {
            out.push(Req {
                request_id: i64c("request_id").value(i),
                phase: s("phase").value(i).to_string(),
                step: i32c("step").value(i),
                class: s("class").value(i).to_string(),
                scheduled_ns: opt_i64(i64c("scheduled_ns"), i),
                sent_ns: i64c("sent_ns").value(i),
                first_token_ns: opt_i64(i64c("first_token_ns"), i),
                last_token_ns: opt_i64(i64c("last_token_ns"), i),
                done_ns: i64c("done_ns").value(i),
                input_tokens: i32c("input_tokens").value(i),
                output_tokens_requested: i32c("output_tokens_requested").value(i),
                prompt_tokens: opt_i32(i32c("prompt_tokens"), i),
                output_tokens: opt_i32(i32c("output_tokens"), i),
                chunks: i32c("chunks").value(i),
                status: s("status").value(i).to_string(),
                http_status: opt_i32(i32c("http_status"), i),
                error: opt_s("error", i),
                error_kind: opt_s("error_kind", i),
                request_uuid: opt_s("request_uuid", i),
                conn_reused: (!bools("conn_reused").is_null(i))
                    .then(|| bools("conn_reused").value(i)),
                resent: bools("resent").value(i),
                finish_reason: opt_s("finish_reason", i),
                cached_tokens: opt_i32(i32c("cached_tokens"), i),
                first_content_ns: opt_i64(i64c("first_content_ns"), i),
                reasoning_tokens: opt_i32(i32c("reasoning_tokens"), i),
                session: opt_i64(i64c("session"), i),
                turn: opt_i32(i32c("turn"), i),
                branch: opt_i32(i32c("branch"), i),
                session_turns: opt_i32(i32c("session_turns"), i),
                connect_ns: opt_i64(i64c("connect_ns"), i),
                tls_ns: opt_i64(i64c("tls_ns"), i),
                backoff_ns: opt_i64(i64c("backoff_ns"), i),
                api: opt_s("api", i),
                model: opt_s("model", i),
                target: opt_s("target", i),
                images: opt_i32(i32c("images"), i),
                image_pixels: opt_i64(i64c("image_pixels"), i),
                image_bytes: opt_i64(i64c("image_bytes"), i),
                body_bytes: opt_i64(i64c("body_bytes"), i),
                tools: opt_i32(i32c("tools"), i),
                tool_calls: opt_i32(i32c("tool_calls"), i),
                first_tool_ns: opt_i64(i64c("first_tool_ns"), i),
                inputs: opt_i32(i32c("inputs"), i),
            });
        }
    }
    out
}

pub fn chunks(dir: &Path) -> Vec<Chunk> {
    let mut out = Vec::new();
    for b in table(dir, "chunks") {
        let i64c = |n| col::<Int64Array>(&b, n);
        let i32c = |n| col::<Int32Array>(&b, n);
        for i in 0..b.num_rows() {
            out.push(Chunk {
                request_id: i64c("request_id").value(i),
                seq: i32c("seq").value(i),
                at_ns: i64c("at_ns").value(i),
                tokens: i32c("tokens").value(i),
                bytes: i32c("bytes").value(i),
                reasoning: col::<BooleanArray>(&b, "reasoning").value(i),
            });
        }
    }
    out
}

pub fn run_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("run.json")).expect("run.json");
    serde_json::from_str(&text).expect("run.json is JSON")
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "llmw-test-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
}

/// Median of a list of values.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A run ready to go: `text` checked and compiled, and options that record into a fresh
/// directory `name` against `target`.
pub struct Prepared {
    pub schedule: std::sync::Arc<llmw::Schedule>,
    pub options: llmw::engine::RunOptions,
    pub dir: std::path::PathBuf,
}

pub fn prepare(text: &str, name: &str, target: String, metrics: llmw::engine::Metrics) -> Prepared {
    let schedule = std::sync::Arc::new(super::plan(text));
    let dir = temp_dir(name);
    let options = llmw::engine::RunOptions {
        secret_headers: Vec::new(),
        out: Some(dir.clone()),
        targets: vec![target],
        api_key: Some("sk-test-secret-key".into()),
        anthropic_key: None,
        ca_cert: None,
        progress: false,
        provenance: llmw::engine::Provenance {
            sources: vec![("test.llmw".into(), text.into())],
            ..Default::default()
        },
        metrics,
        stopper: llmw::engine::Stopper::new(),
        start_at: None,
        judge: Some(std::sync::Arc::new(llmw::analysis::search::ProbeJudge)),
        levels: None,
        warn: None,
    };
    Prepared {
        schedule,
        options,
        dir,
    }
}

/// Runs `text` against a simulator of `config` on a free port; the run must complete. Its
/// directory, its plan and its rows.
pub async fn run_with(
    text: &str,
    config: llmw::sim::SimConfig,
    name: &str,
) -> (std::path::PathBuf, llmw::Schedule, Vec<Req>) {
    let server = simulator(config).await;
    let p = prepare(text, name, server.url(), Default::default());
    let (dir, schedule) = (p.dir.clone(), (*p.schedule).clone());
    let result = llmw::engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(
        result.ending,
        llmw::engine::Ending::Completed,
        "{:?}",
        result.error
    );
    let rows = requests(&dir);
    (dir, schedule, rows)
}

/// The simulator on a free local port, for the length of the test.
pub async fn simulator(config: llmw::sim::SimConfig) -> llmw::sim::SimServer {
    llmw::sim::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("simulator")
}

/// A `run.json` for hand-built fixtures: the required keys of the manifest with placeholder
/// values, then `fields` over them.
pub fn manifest(fields: serde_json::Value) -> serde_json::Value {
    let mut m = serde_json::json!({
        "schema_version": llmw::rundir::manifest::SCHEMA_VERSION, "tool": "llmw", "version": "test",
        "workload": "fixture", "plan_hash": "abc", "seed": 0,
        "target": {"url": "http://127.0.0.1:1", "api": "chat", "model": "m", "stream": true,
                   "ignore_eos": true, "prompt_tokens": "exact"},
        "request_ids": {"uuid_prefix": "00000000-0000-4000", "format": "test"},
        "prompt_calibration": {"mode": "exact", "overhead_tokens": 0},
        "started_at": "2026-12-01T00:00:00Z", "phases": [], "status": "completed"
    });
    for (k, v) in fields.as_object().expect("an object") {
        m[k] = v.clone();
    }
    m
}
