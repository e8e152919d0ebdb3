//! Failed requests by kind: the `error_kind` column read back and grouped in the analysis (text,
//! JSON, CSV), a run directory written before the column still loads, and a kind this llmw does
//! not know is a load error that names it.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use llmw::analysis::{self, Options};
use llmw::engine::writer::{Msg, TraceWriter};
use llmw::rundir::record::{ErrorKind, RequestRow, Status};
use parquet::arrow::ArrowWriter;
use serde_json::json;

const MS: u64 = 1_000_000;

/// A closed phase "p" of one step (0–10 s) holding `rows`.
fn run_dir(name: &str, rows: Vec<RequestRow>) -> std::path::PathBuf {
    let dir = common::runs::temp_dir(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let w = TraceWriter::create(&dir, vec!["p".into()], vec!["default".into()]).expect("writer");
    for r in rows {
        w.tx.send(Msg::Request(r, vec![])).expect("send");
    }
    w.finish(true).expect("closed");
    let meta = common::runs::manifest(json!({
        "phases": [{"name": "p", "measure": true, "loop": "closed", "start_ns": 0,
                    "end_ns": 10_000_000_000u64,
                    "steps": [{"step": 0, "start_ns": 0, "end_ns": 10_000_000_000u64, "level": 4.0}]}]
    }));
    std::fs::write(dir.join("run.json"), meta.to_string()).expect("run.json");
    dir
}

/// Request `id` sent at `id` ms, ended 5 ms later with `status` and `kind`.
fn failed(id: u64, status: Status, kind: Option<ErrorKind>) -> RequestRow {
    let t = id * MS;
    let ok = status == Status::Ok;
    RequestRow {
        error_kind: kind,
        error: (!ok).then(|| "it went wrong".to_string()),
        ..common::runs::request_row(
            id,
            0,
            status,
            (
                t,
                ok.then_some(t + MS),
                ok.then_some(t + 4 * MS),
                t + 5 * MS,
            ),
            ok.then_some(4),
        )
    }
}

/// Rewrites every `requests` file of `dir` through `change`.
fn rewrite_requests(dir: &Path, change: impl Fn(RecordBatch) -> RecordBatch) {
    let files = llmw::rundir::layout::files(dir, llmw::rundir::layout::REQUESTS).expect("files");
    assert!(!files.is_empty(), "no requests file in {}", dir.display());
    for path in files {
        let batches = common::runs::table_file(&path);
        let changed: Vec<RecordBatch> = batches.into_iter().map(&change).collect();
        let file = std::fs::File::create(&path).expect("create");
        let mut w = ArrowWriter::try_new(file, changed[0].schema(), None).expect("writer");
        for b in &changed {
            w.write(b).expect("write");
        }
        w.close().expect("close");
    }
}

#[test]
fn failures_are_counted_by_kind_in_text_json_and_csv() {
    let dir = run_dir(
        "failures-kinds",
        vec![
            failed(1, Status::Ok, None),
            failed(2, Status::Error, Some(ErrorKind::Connect)),
            failed(3, Status::Error, Some(ErrorKind::Connect)),
            failed(4, Status::Error, Some(ErrorKind::HttpStatus)),
            failed(5, Status::Error, Some(ErrorKind::Stream)),
            failed(6, Status::Timeout, Some(ErrorKind::Timeout)),
            failed(7, Status::Ok, None),
        ],
    );
    let run = analysis::load(&dir).expect("loads");
    assert_eq!(
        run.requests.error_kind[1..4],
        [
            Some(ErrorKind::Connect),
            Some(ErrorKind::Connect),
            Some(ErrorKind::HttpStatus)
        ]
    );
    let a = analysis::analyze(&run, &Options::default()).expect("analysis");
    let c = &a.groups[0].requests;
    assert_eq!((c.total, c.ok, c.error, c.timeout), (7, 2, 4, 1));
    let by_kind: Vec<(&str, usize)> = c.by_kind.iter().map(|(k, n)| (*k, *n)).collect();
    assert_eq!(
        by_kind,
        [
            ("connect", 2),
            ("http_status", 1),
            ("stream", 1),
            ("timeout", 1)
        ]
    );

    let text = analysis::text::analysis(&a);
    let table = text
        .split("failed requests by kind")
        .nth(1)
        .unwrap_or_else(|| panic!("no failures table in\n{text}"));
    let mut lines = table.lines().skip(1);
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "phase",
            "step",
            "failed",
            "connect",
            "http_status",
            "stream",
            "timeout"
        ]
    );
    let row: Vec<&str> = lines.next().expect("row").split_whitespace().collect();
    assert_eq!(row, ["p", "0", "5/7", "2", "1", "1", "1"]);

    let json = serde_json::to_value(&a).expect("json");
    assert_eq!(
        json["groups"][0]["requests"]["by_kind"],
        json!({"connect": 2, "http_status": 1, "stream": 1, "timeout": 1})
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/analysis.schema.json").expect("schema"),
    )
    .expect("schema json");
    let errors = common::schema::validate(&schema, &json);
    assert!(errors.is_empty(), "{errors:#?}");
    let mut unknown = json.clone();
    unknown["groups"][0]["requests"]["by_kind"]["gremlins"] = json!(1);
    assert!(
        !common::schema::validate(&schema, &unknown).is_empty(),
        "the schema lets an unknown kind through"
    );

    let csv = analysis::csv::write(std::slice::from_ref(&a));
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let row: Vec<&str> = lines.next().expect("row").split(',').collect();
    let at = |name: &str| {
        let i = header.iter().position(|h| *h == name);
        row[i.unwrap_or_else(|| panic!("no column {name} in {header:?}"))]
    };
    assert_eq!(at("errors_connect"), "2");
    assert_eq!(at("errors_http_status"), "1");
    assert_eq!(at("errors_tls"), "0");
    assert_eq!(at("errors_unclassified"), "0");
}

/// 10 000 rows written without the `error_kind` column (as before it existed) load, and their
/// failures are counted by the kind their status implies.
#[test]
fn a_run_written_before_the_error_kind_column_still_loads() {
    let rows = (0..10_000)
        .map(|i| match i % 10 {
            0 => failed(i, Status::Error, Some(ErrorKind::Connect)),
            1 => failed(i, Status::Timeout, Some(ErrorKind::Timeout)),
            _ => failed(i, Status::Ok, None),
        })
        .collect();
    let dir = run_dir("failures-old", rows);
    rewrite_requests(&dir, |b| {
        let keep: Vec<usize> = (0..b.num_columns())
            .filter(|&i| b.schema().field(i).name() != "error_kind")
            .collect();
        b.project(&keep).expect("project")
    });
    let names = common::runs::table(&dir, "requests")[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect::<Vec<_>>();
    assert!(!names.iter().any(|n| n == "error_kind"), "{names:?}");

    let run = analysis::load(&dir).expect("an older run loads");
    assert_eq!(run.requests.len(), 10_000);
    assert!(run.requests.error_kind.iter().all(Option::is_none));
    let a = analysis::analyze(&run, &Options::default()).expect("analysis");
    let c = &a.groups[0].requests;
    assert_eq!(
        (c.total, c.ok, c.error, c.timeout),
        (10_000, 8_000, 1_000, 1_000)
    );
    assert_eq!(c.by_kind.get("unclassified"), Some(&1_000));
    assert_eq!(c.by_kind.get("timeout"), Some(&1_000));
    assert_eq!(c.by_kind.len(), 2, "{:?}", c.by_kind);
}

#[test]
fn an_unknown_error_kind_is_a_load_error_that_names_it() {
    let dir = run_dir(
        "failures-unknown",
        vec![
            failed(1, Status::Ok, None),
            failed(2, Status::Error, Some(ErrorKind::Connect)),
        ],
    );
    rewrite_requests(&dir, |b| {
        let i = b.schema().index_of("error_kind").expect("column");
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        cols[i] = Arc::new(StringArray::from(vec![None, Some("gremlins")]));
        RecordBatch::try_new(b.schema(), cols).expect("batch")
    });
    let err = analysis::load(&dir).expect_err("an unknown kind");
    let msg = err.to_string();
    assert!(msg.contains("gremlins"), "{msg}");
    assert!(msg.contains("request 2"), "{msg}");
}
