//! Ctrl-C: SIGINT to a child `llmw run` stops dispatch, marks in-flight requests `cancelled`,
//! closes both Parquet files and records `interrupted` in run.json, within 2 seconds.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::runs::{chunks, requests, run_json, temp_dir};

#[test]
fn sigint_leaves_valid_files_marked_interrupted() {
    let dir = temp_dir("interrupt");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("long.llmw");
    std::fs::write(
        &file,
        "workload \"long\" {\n target { ignore_eos = true }\n requests { input = 100  output = 2000 }\n phase \"p\" { duration = 10m  concurrency = 4 }\n}\n",
    )
    .expect("write workload");
    let out = dir.join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args([
            "run",
            file.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--quiet",
        ])
        .spawn()
        .expect("llmw runs");
    // Wait until the run is under way: run.json written and a second of streaming.
    let started = Instant::now();
    while !out.join("run.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let signalled = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "llmw did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(2), "stopping took {took:?}");
    assert_eq!(code, Some(1));

    let meta = run_json(&out);
    assert_eq!(meta["status"], "interrupted");
    let rows = requests(&out);
    // Four users each had a 2000-token request in flight (each takes ~20 s in the default profile).
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.status == "cancelled"), "{rows:?}");
    let got = chunks(&out);
    assert!(
        !got.is_empty(),
        "chunks received before the interrupt are kept"
    );
    for r in &rows {
        let n = got.iter().filter(|c| c.request_id == r.request_id).count() as i32;
        assert_eq!(n, r.chunks);
    }
}
