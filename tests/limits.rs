//! Nothing in a workload file can make llmw allocate without bound or read for ever, and
//! `llmw check` reports every limit `plan` and `run` enforce, with the same message.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn llmw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(args)
        .output()
        .expect("llmw runs")
}

/// stderr with miette's line wrapping undone: margins dropped, whitespace collapsed.
fn said(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn file(name: &str, text: &str) -> PathBuf {
    let dir = common::runs::temp_dir(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join(format!("{name}.llmw"));
    std::fs::write(&f, text).expect("write");
    f
}

/// `llmw check` and `llmw plan` both refuse `text`, saying `needle`.
fn refused(name: &str, text: &str, needle: &str) {
    let f = file(name, text);
    let path = f.to_str().expect("utf-8");
    for cmd in ["check", "plan"] {
        let o = llmw(&[cmd, path]);
        let err = said(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains(needle),
            "{cmd} said:\n{err}\n(expected '{needle}')"
        );
    }
}

fn workload(shape: &str, phase: &str) -> String {
    format!("workload \"w\" {{\n requests {{ {shape} }}\n phase \"p\" {{ {phase} }}\n}}\n")
}

#[test]
fn lengths_prefixes_and_users_have_limits() {
    refused(
        "input",
        &workload(
            "input = 2000000000  output = 4",
            "requests = 1  concurrency = 1",
        ),
        "input is over the limit of 1048576 tokens",
    );
    refused(
        "prefix",
        &workload(
            "input = 10  output = 4  prefix = shared(tokens: 4000000000, groups: 1)",
            "requests = 1  concurrency = 1",
        ),
        "1 ≤ tokens ≤ 1048576",
    );
    refused(
        "users",
        &workload(
            "input = 10  output = 4",
            "duration = 1m  concurrency = 1000000000000",
        ),
        "users is over the limit of 100000",
    );
    refused(
        "ramp",
        &workload(
            "input = 10  output = 4",
            "duration = 1m  concurrency = ramp(from: 1, to: 1000000000)",
        ),
        "over the limit of 100000",
    );
}

#[test]
fn a_plan_too_large_to_hold_is_refused_by_check_as_by_plan() {
    refused(
        "poisson",
        &workload(
            "input = 10  output = 4",
            "duration = 1h  arrival = poisson(rate: 100000/s)",
        ),
        "would plan more than 20000000 requests",
    );
}

#[test]
fn includes_are_workload_files_only_and_never_echoed() {
    let path_value = std::env::var("PATH").unwrap_or_default();
    let text = "workload \"w\" {\n include \"/proc/self/environ\"\n requests { input = 1  output = 1 }\n phase \"p\" { requests = 1  concurrency = 1 }\n}\n";
    let f = file("environ", text);
    let o = llmw(&["check", f.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("only .llmw files can be included"), "{err}");
    assert!(
        path_value.is_empty() || !err.contains(&path_value),
        "the environment leaked:\n{err}"
    );

    // A FIFO named like a workload is not a regular file: no blocking read.
    let dir = f.parent().expect("dir").to_path_buf();
    let fifo = dir.join("pipe.llmw");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let big = dir.join("big.llmw");
    std::fs::write(&big, vec![b'#'; 2 << 20]).expect("write");
    for (inc, needle) in [
        ("pipe.llmw", "is not a regular file"),
        ("big.llmw", "a workload file is at most 1048576"),
    ] {
        let text = format!("workload \"w\" {{\n include \"{inc}\"\n requests {{ input = 1  output = 1 }}\n phase \"p\" {{ requests = 1  concurrency = 1 }}\n}}\n");
        let f = dir.join(format!("inc-{inc}.llmw"));
        std::fs::write(&f, text).expect("write");
        let o = llmw(&["check", f.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
    // And the main file the same way.
    let o = llmw(&["check", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a regular file"));
}

#[test]
fn non_finite_numbers_on_flags_are_usage_errors() {
    for flag in [["--speed", "NaN"], ["--speed", "inf"], ["--scale", "NaN"]] {
        let o = llmw(&[
            "replay",
            "traces/azure_conv_head2000.csv",
            "--format",
            "azure",
            flag[0],
            flag[1],
            "--limit",
            "1",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag:?}: {err}");
        assert!(err.contains("finite numbers above 0"), "{err}");
    }
    let o = llmw(&["analyze", ".", "--warmup", "NaNs"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_abort_rule_is_checked() {
    let ok = "workload \"w\" {\n requests { input = 1  output = 1 }\n phase \"p\" { requests = 1  concurrency = 1 }\n abort { errors > 50%  over = 10s  min_requests = 20 }\n}\n";
    let f = file("abort-ok", ok);
    assert_eq!(
        llmw(&["check", f.to_str().expect("utf-8")]).status.code(),
        Some(0)
    );
    let off = ok.replace(
        "abort { errors > 50%  over = 10s  min_requests = 20 }",
        "abort = off",
    );
    let f = file("abort-off", &off);
    assert_eq!(
        llmw(&["check", f.to_str().expect("utf-8")]).status.code(),
        Some(0)
    );
    for (bad, needle) in [
        ("abort { errors < 50% }", "errors > SHARE"),
        ("abort { ttft > 1s }", "one condition: errors > SHARE"),
        ("abort { errors > 50%  over = 10ms }", "at least 1s"),
        (
            "abort { errors > 50%  window = 10s }",
            "abort has no field 'window'",
        ),
        ("abort = sometimes", "abort"),
    ] {
        let text = ok.replace("abort { errors > 50%  over = 10s  min_requests = 20 }", bad);
        let f = file("abort-bad", &text);
        let o = llmw(&["check", f.to_str().expect("utf-8")]);
        let err = said(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(needle), "{bad}: {err}");
    }
}

#[test]
fn unclosed_braces_are_found_before_the_parser_can_backtrack_for_minutes() {
    // The fuzzer's find: a 1.3 KB file of unclosed blocks took the backtracking grammar 23 s
    // (release) to reject. Braces are now paired before parsing.
    let mut text = String::from("workload \"w\" {\n");
    for i in 0..25 {
        text.push_str(&format!(
            "  class \"c{i}\" {{ input = 1  output = 1\n  phase \"p{i}\" {{ duration = 1m\n"
        ));
    }
    let f = file("unclosed", &text);
    let began = std::time::Instant::now();
    let o = llmw(&["check", f.to_str().expect("utf-8")]);
    // A generous bound: the old parser needed minutes here in a debug build, now milliseconds.
    assert!(
        began.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        said(&o).contains("this '{' is never closed"),
        "{}",
        said(&o)
    );
    let closes = file(
        "stray",
        "workload \"w\" {\n requests { input = 1  output = 1 } }\n}\n",
    );
    let o = llmw(&["check", closes.to_str().expect("utf-8")]);
    assert!(said(&o).contains("this '}' closes no '{'"), "{}", said(&o));
}

#[test]
fn a_damaged_parquet_file_is_an_error_not_a_panic() {
    // The fuzzer's find: the parquet crate panics on this file ("column start and length should
    // not be negative"). Reading it as a trace or as a run's requests table must say so plainly.
    let bytes =
        std::fs::read("fuzz/corpus/trace/regression-parquet-negative-offset").expect("seed");
    let dir = common::runs::temp_dir("damaged");
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("requests.parquet");
    std::fs::write(&f, &bytes[1..]).expect("write");
    std::fs::write(
        dir.join("run.json"),
        common::runs::manifest(serde_json::json!({})).to_string(),
    )
    .expect("write");
    std::fs::write(dir.join("chunks.parquet"), b"").expect("write");
    for args in [
        vec![
            "trace",
            "stats",
            f.to_str().expect("utf-8"),
            "--format",
            "llmw",
        ],
        vec!["analyze", dir.to_str().expect("utf-8")],
    ] {
        let o = llmw(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains("damaged Parquet file") || err.contains("requests.parquet"),
            "{args:?}: {err}"
        );
    }
}
