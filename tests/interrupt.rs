//! Every way a run can end, on a child `llmw run`: SIGINT, SIGTERM and SIGHUP stop it cleanly
//! (in-flight requests `cancelled`, files valid, `run.json` interrupted, within 2 s); a second
//! signal ends it at once; SIGKILL loses at most about a second of rows and the run still
//! analyses; a dead server trips the abort rule; too few file descriptors are refused up front.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use common::runs::{chunks, requests, run_json, temp_dir};

fn llmw() -> Command {
    Command::new(env!("CARGO_BIN_EXE_llmw"))
}

/// Writes `text` as a workload in a fresh directory; returns (workload file, run directory).
fn setup(name: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("{name}.llmw"));
    std::fs::write(&file, text).expect("write workload");
    (file, dir.join("run"))
}

/// `llmw run FILE --out OUT --quiet EXTRA...`.
fn run_cmd(file: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = llmw();
    c.args([
        "run",
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--quiet",
    ])
    .args(extra);
    c
}

fn start(file: &Path, out: &Path, extra: &[&str]) -> Child {
    run_cmd(file, out, extra)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("llmw runs")
}

/// Waits until run.json exists, then `settle` more.
fn wait_started(out: &Path, settle: Duration) -> Instant {
    let started = Instant::now();
    while !out.join("run.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let at = Instant::now();
    std::thread::sleep(settle);
    at
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// Waits for the child; returns its exit code and how long it took.
fn wait_exit(child: &mut Child, limit: Duration) -> (Option<i32>, Duration) {
    let since = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return (s.code(), since.elapsed());
        }
        assert!(
            since.elapsed() < limit,
            "llmw did not stop within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

const LONG: &str = "workload \"long\" {\n target { ignore_eos = true }\n requests { input = 100  output = 2000 }\n phase \"p\" { duration = 10m  concurrency = 4 }\n}\n";

fn stops_cleanly_on(sig: &str) {
    let (file, out) = setup(&format!("signal-{sig}"), LONG);
    let mut child = start(&file, &out, &[]);
    wait_started(&out, Duration::from_secs(1));
    signal(&child, sig);
    let (code, took) = wait_exit(&mut child, Duration::from_secs(10));
    assert!(
        took < Duration::from_secs(2),
        "stopping on {sig} took {took:?}"
    );
    assert_eq!(code, Some(1));
    let meta = run_json(&out);
    assert_eq!(meta["status"], "interrupted");
    assert_eq!(meta["error"], format!("SIG{sig} received"));
    let rows = requests(&out);
    // Four users each had a 2000-token request in flight (each takes ~20 s in the default profile).
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.status == "cancelled"), "{rows:?}");
    let got = chunks(&out);
    assert!(
        !got.is_empty(),
        "chunks received before the signal are kept"
    );
    for r in &rows {
        let n = got.iter().filter(|c| c.request_id == r.request_id).count() as i32;
        assert_eq!(n, r.chunks);
    }
    let analysed = llmw()
        .args(["analyze", out.to_str().expect("utf-8")])
        .output()
        .expect("analyze");
    assert_eq!(
        analysed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&analysed.stderr)
    );
}

#[test]
fn sigint_leaves_valid_files_marked_interrupted() {
    stops_cleanly_on("INT");
}

#[test]
fn sigterm_ends_a_run_like_ctrl_c() {
    stops_cleanly_on("TERM");
}

#[test]
fn sighup_ends_a_run_like_ctrl_c() {
    stops_cleanly_on("HUP");
}

/// Short requests that keep finishing: about 40 a second at 4 users in the default profile.
const BUSY: &str = "workload \"busy\" {\n target { ignore_eos = true }\n requests { input = 50  output = 10 }\n phase \"p\" { duration = 10m  concurrency = 4 }\n}\n";

#[test]
fn sigkill_loses_at_most_about_a_second_and_the_run_still_analyses() {
    let (file, out) = setup("sigkill", BUSY);
    let mut child = start(&file, &out, &[]);
    let began = wait_started(&out, Duration::from_secs(4));
    signal(&child, "KILL");
    let elapsed = began.elapsed();
    wait_exit(&mut child, Duration::from_secs(5));
    let meta = run_json(&out);
    assert_eq!(
        meta["status"], "running",
        "nobody was left to say otherwise"
    );
    let rows = requests(&out);
    assert!(rows.len() >= 40, "only {} rows survived", rows.len());
    // Parts close every second: the newest surviving row finished at most ~1 s before the kill
    // (2.5 s allowed: part interval, process start-up and a loaded CI machine).
    let newest = rows.iter().map(|r| r.done_ns).max().unwrap_or(0) as f64 / 1e9;
    assert!(
        newest >= elapsed.as_secs_f64() - 2.5,
        "newest row at {newest:.2} s of a run killed after {:.2} s",
        elapsed.as_secs_f64()
    );
    // run.json's heartbeat never claims more rows than the files hold.
    let claimed = meta["counts"]["requests"]
        .as_u64()
        .expect("heartbeat counts");
    assert!(
        claimed as usize <= rows.len(),
        "{claimed} claimed, {} on disk",
        rows.len()
    );
    let a = llmw()
        .args(["analyze", out.to_str().expect("utf-8")])
        .output()
        .expect("analyze");
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    let text = String::from_utf8_lossy(&a.stdout);
    assert!(text.contains("cut short"), "{text}");
}

#[test]
fn a_second_signal_ends_at_once_and_the_files_stay_readable() {
    let (file, out) = setup("second-signal", BUSY);
    let mut child = start(&file, &out, &[]);
    wait_started(&out, Duration::from_secs(2));
    signal(&child, "TERM");
    signal(&child, "TERM");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(1));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Whatever the moment, every table file on disk is whole.
    let rows = requests(&out);
    assert!(!rows.is_empty());
    chunks(&out);
}

fn run_to_end(file: &Path, out: &Path, extra: &[&str]) -> Output {
    run_cmd(file, out, extra).output().expect("llmw runs")
}

#[test]
fn a_dead_server_trips_the_abort_rule_instead_of_filling_the_disk() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    }; // nothing listens there now
    let text = "workload \"storm\" {\n target { model = \"m\" }\n requests { input = 10  output = 5 }\n phase \"p\" { duration = 60s  concurrency = 32 }\n abort { errors > 90%  over = 2s }\n}\n";
    let (file, out) = setup("storm", text);
    let began = Instant::now();
    let o = run_to_end(
        &file,
        &out,
        &["--target", &format!("http://127.0.0.1:{port}")],
    );
    let took = began.elapsed();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        took < Duration::from_secs(20),
        "the abort took {took:?} of a 60 s run"
    );
    let meta = run_json(&out);
    assert_eq!(meta["status"], "failed");
    let why = meta["error"].as_str().unwrap_or("");
    assert!(
        why.starts_with("aborted:") && why.contains("connect"),
        "{why}"
    );
    let rows = requests(&out);
    // Errors, and the requests in flight when the rule tripped, cancelled.
    assert!(rows.iter().any(|r| r.status == "error"));
    assert!(rows
        .iter()
        .all(|r| r.status == "error" || r.status == "cancelled"));
}

#[test]
fn too_few_file_descriptors_are_refused_up_front() {
    let text = "workload \"wide\" {\n requests { input = 10  output = 5 }\n phase \"p\" { duration = 5s  concurrency = 300 }\n}\n";
    let (file, out) = setup("fd-limit", text);
    let script = format!(
        "ulimit -n 128 && exec '{}' run '{}' --out '{}' --quiet",
        env!("CARGO_BIN_EXE_llmw"),
        file.display(),
        out.display()
    );
    let o = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("may open 128") && err.contains("ulimit -n"),
        "{err}"
    );
    assert!(!out.join("run.json").exists(), "nothing was started");
}

#[test]
fn a_table_that_cannot_be_written_ends_the_run_failed_with_the_rows_before_it() {
    // The chunks table's directory is replaced by a file mid-run: the next part cannot be
    // written (as a full or failing disk cannot), and the run must end `failed`, not carry on
    // recording nothing or hang.
    let (file, out) = setup("disk-fails", BUSY);
    let mut child = start(&file, &out, &[]);
    wait_started(&out, Duration::from_secs(2));
    let parts = out.join("chunks");
    std::fs::remove_dir_all(&parts).expect("remove the parts");
    std::fs::write(&parts, b"in the way").expect("a file in the way");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(15));
    assert_eq!(code, Some(1));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let meta = run_json(&out);
    assert_eq!(meta["status"], "failed");
    let why = meta["error"].as_str().unwrap_or("");
    assert!(why.contains("writing chunks/part-"), "{why}");
    // The requests table was untouched: every part written is readable.
    assert!(!requests(&out).is_empty());
}
