//! The `llmw` binary: exit codes, formats and files, as scripts see them.

mod common;

use std::process::{Command, Output};

fn llmw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args(args)
        .output()
        .expect("llmw runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_accepts_every_example_and_exits_0() {
    let mut args = vec!["check"];
    let files: Vec<String> = std::fs::read_dir("workloads")
        .expect("workloads/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "llmw"))
        .map(|p| p.display().to_string())
        .collect();
    args.extend(files.iter().map(String::as_str));
    let o = llmw(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.starts_with("ok")).count(),
        files.len()
    );
}

#[test]
fn check_reports_diagnostics_and_exits_2() {
    let o = llmw(&[
        "check",
        "tests/broken/typos.llmw",
        "workloads/quickstart.llmw",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("tests/broken/typos.llmw:5:5: unknown field 'duraton'"),
        "{err}"
    );
    assert!(stdout(&o).contains("ok  workloads/quickstart.llmw"));
}

#[test]
fn missing_and_non_utf8_files_are_clear_errors() {
    let o = llmw(&["check", "no/such/file.llmw"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read 'no/such/file.llmw'"),
        "{}",
        stderr(&o)
    );

    let dir = std::env::temp_dir().join(format!("llmw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("latin1.llmw");
    std::fs::write(&bad, b"workload \"caf\xe9\" {}").expect("write");
    let o = llmw(&["check", bad.to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not UTF-8 text (invalid byte at offset 13)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn plan_formats_agree_on_the_requests() {
    let file = "workloads/bursty-gamma.llmw";
    let jsonl = stdout(&llmw(&["plan", file, "--format", "jsonl"]));
    let csv = stdout(&llmw(&["plan", file, "--format", "csv"]));
    let json = stdout(&llmw(&["plan", file, "--format", "json"]));
    let summary = stdout(&llmw(&["plan", file]));

    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(csv.lines().count(), rows.len() + 1);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json document");
    assert_eq!(doc["requests"].as_array().map(Vec::len), Some(rows.len()));
    assert!(
        summary.contains(&format!("{} open-loop requests planned", rows.len())),
        "{summary}"
    );
    assert!(summary.contains(doc["hash"].as_str().expect("hash")));

    let mut ids = std::collections::BTreeSet::new();
    let mut last_at = 0.0;
    for r in &rows {
        for field in [
            "id",
            "phase",
            "step",
            "class",
            "at",
            "input_tokens",
            "output_tokens",
        ] {
            assert!(r.get(field).is_some(), "missing {field} in {r}");
        }
        assert!(ids.insert(r["id"].as_u64().expect("integer id")));
        let at = r["at"].as_f64().expect("open-loop rows have a number");
        assert!(at >= last_at, "rows are in schedule order");
        last_at = at;
    }
}

#[test]
fn closed_loop_rows_have_null_at_and_a_step() {
    let out = stdout(&llmw(&[
        "plan",
        "workloads/quickstart.llmw",
        "--format",
        "jsonl",
        "--closed-preview",
        "3",
    ]));
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let closed: Vec<_> = rows.iter().filter(|r| r["at"].is_null()).collect();
    // warmup: 1 step, concurrency: 3 steps, 3 rows each.
    assert_eq!(closed.len(), 12);
    let steps: Vec<u64> = closed
        .iter()
        .filter(|r| r["phase"] == "concurrency")
        .map(|r| r["step"].as_u64().expect("step"))
        .collect();
    assert_eq!(steps, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
}

#[test]
fn set_overrides_are_type_checked() {
    let ok = llmw(&["plan", "workloads/quickstart.llmw", "--set", "rate=80/s"]);
    assert_eq!(ok.status.code(), Some(0));
    let base = stdout(&llmw(&["plan", "workloads/quickstart.llmw"]));
    assert_ne!(stdout(&ok), base);

    let wrong = llmw(&["plan", "workloads/quickstart.llmw", "--set", "rate=80"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("param 'rate' is a rate, but --set gives a number"),
        "{}",
        stderr(&wrong)
    );

    let unknown = llmw(&["plan", "workloads/quickstart.llmw", "--set", "rat=8/s"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("did you mean 'rate'?"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn plan_writes_to_a_file_and_is_reproducible() {
    let dir = std::env::temp_dir().join(format!("llmw-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let a = dir.join("a.jsonl");
    let b = dir.join("b.jsonl");
    for path in [&a, &b] {
        let o = llmw(&[
            "plan",
            "workloads/prefix-cache.llmw",
            "--format",
            "jsonl",
            "-o",
            path.to_str().expect("utf-8"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let (x, y) = (std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    assert!(!x.is_empty());
    assert_eq!(x, y);
    let other = stdout(&llmw(&[
        "plan",
        "workloads/prefix-cache.llmw",
        "--format",
        "jsonl",
        "--seed",
        "6",
    ]));
    assert_ne!(other.as_bytes(), &x[..]);
}

#[test]
fn a_trace_phase_plans_from_its_file_and_an_empty_trace_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("llmw-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("t.csv"),
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n",
    )
    .expect("write");
    let file = dir.join("w.llmw");
    std::fs::write(
        &file,
        "workload \"t\" {\n phase \"p\" { arrival = trace(\"t.csv\", format: azure) }\n}\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    // `check` compiles too, so it reports what `plan` would, with the same message.
    for cmd in ["check", "plan"] {
        let o = llmw(&[cmd, path]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&o).contains("t.csv: the file has no rows"),
            "{cmd}: {}",
            stderr(&o)
        );
    }

    let real = llmw(&[
        "plan",
        "traces/azure_conv_head2000.csv",
        "--format",
        "summary",
    ]);
    assert_eq!(real.status.code(), Some(2), "a trace is not a workload");
    let stats = llmw(&[
        "trace",
        "stats",
        "traces/azure_conv_head2000.csv",
        "--format",
        "azure",
    ]);
    assert_eq!(stats.status.code(), Some(0));
    assert!(
        stdout(&stats).contains("rows            2000"),
        "{}",
        stdout(&stats)
    );
    let failed = llmw(&[
        "replay",
        "traces/burstgpt1_head400.csv",
        "--format",
        "burstgpt",
        "--limit",
        "2",
    ]);
    assert_eq!(failed.status.code(), Some(2));
    assert!(
        stderr(&failed).contains("--failed skip|replay"),
        "{}",
        stderr(&failed)
    );
}

/// Runs a small workload through the binary against the in-process simulator.
fn run_workload(name: &str, text: &str) -> (std::path::PathBuf, Output) {
    let dir = std::env::temp_dir().join(format!("llmw-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("w.llmw");
    std::fs::write(&file, text).expect("write");
    let out = dir.join("run");
    let o = llmw(&[
        "run",
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--sim-profile",
        "fast",
    ]);
    (out, o)
}

#[test]
fn a_missed_slo_exits_3_from_run_and_analyze_and_the_report_is_self_contained() {
    let text = "workload \"slo\" {\n target { ignore_eos = true }\n requests { input = 10 output = 5 }\n phase \"p\" { requests = 20 concurrency = 2 }\n slo { ttft.p50 < 1ms  e2e.max < 0.001ms  errors < 1% }\n}\n";
    let (dir, o) = run_workload("slo", text);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // No request over loopback takes under a microsecond (under 1 ms all twenty can, with
    // the fast profile on a quiet machine).
    assert!(stdout(&o).contains("FAIL  e2e.max < "), "{}", stdout(&o));
    let path = dir.to_str().expect("utf-8");
    let analyzed = llmw(&["analyze", path, "--format", "json"]);
    assert_eq!(analyzed.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_str(&stdout(&analyzed)).expect("json");
    assert_eq!(v["groups"][0]["requests"]["ok"], 20);
    assert_eq!(v["slo"][2]["pass"], true, "no errors");
    let csv = llmw(&["analyze", path, "--format", "csv"]);
    assert_eq!(stdout(&csv).lines().count(), 2);

    let report = dir.join("report.html");
    let r = llmw(&["report", path, "-o", report.to_str().expect("utf-8")]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let html = std::fs::read_to_string(&report).expect("report");
    assert!(html.matches("<svg").count() >= 10);
    // Self-contained: the only URL is the SVG namespace.
    let urls = html.matches("http").count();
    assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count());
    assert!(!html.contains("<script"));
}

#[test]
fn comparing_runs_of_different_plans_needs_a_flag() {
    let a = run_workload("cmp-a", "workload \"a\" {\n seed = 1\n requests { input = 10 output = 3 }\n phase \"p\" { requests = 5 concurrency = 1 }\n}\n").0;
    let b = run_workload("cmp-b", "workload \"a\" {\n seed = 1\n requests { input = 10 output = 3 }\n phase \"p\" { requests = 5 concurrency = 1 }\n}\n").0;
    let c = run_workload("cmp-c", "workload \"a\" {\n seed = 2\n requests { input = 20 output = 3 }\n phase \"p\" { requests = 5 concurrency = 1 }\n}\n").0;
    let (a, b, c) = (
        a.to_str().expect("a"),
        b.to_str().expect("b"),
        c.to_str().expect("c"),
    );
    let same = llmw(&["analyze", a, b]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stdout(&same).contains("changes against"));
    let different = llmw(&["analyze", a, c]);
    assert_eq!(different.status.code(), Some(2));
    assert!(stderr(&different).contains("--allow-different-plans"));
    assert_eq!(
        llmw(&["analyze", a, c, "--allow-different-plans"])
            .status
            .code(),
        Some(0)
    );
    let json = llmw(&["analyze", a, b, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(2));
    assert!(!v["deltas"].as_array().expect("deltas").is_empty());
}

#[test]
fn dataset_prompts_are_planned_shown_and_sent() {
    let dir = std::env::temp_dir().join(format!("llmw-dataset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fixture = std::fs::canonicalize("tests/fixtures/prompts.jsonl").expect("fixture");
    let file = dir.join("d.llmw");
    std::fs::write(
        &file,
        format!("workload \"d\" {{\n target {{ ignore_eos = true }}\n requests {{ prompts = dataset(\"{}\")  output = 4 }}\n phase \"p\" {{ requests = 12  concurrency = 2 }}\n}}\n", fixture.display()),
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    let o = llmw(&["plan", path, "--format", "jsonl", "--with-prompts"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 12);
    for r in &rows {
        match &r["prompt"] {
            serde_json::Value::String(s) => assert_eq!(
                r["input_tokens"].as_u64(),
                Some(s.chars().count().div_ceil(4) as u64)
            ),
            serde_json::Value::Array(m) => assert_eq!(m[1]["content"], "What is prefix caching?"),
            other => panic!("no prompt: {other}"),
        }
    }
    // Synthesized prompts are shown too.
    let synth = stdout(&llmw(&[
        "plan",
        "workloads/quickstart.llmw",
        "--format",
        "jsonl",
        "--with-prompts",
        "--closed-preview",
        "1",
    ]));
    let first: serde_json::Value =
        serde_json::from_str(synth.lines().next().expect("row")).expect("json");
    assert_eq!(
        first["prompt"]
            .as_str()
            .map(|p| p.split_whitespace().count() as u64),
        first["input_tokens"].as_u64()
    );
    // And sent: the simulator counts the words it received.
    let out = dir.join("run");
    let run = llmw(&[
        "run",
        path,
        "--out",
        out.to_str().expect("utf-8"),
        "--sim-profile",
        "fast",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // The simulator reports the words of the prompt it received as `prompt_tokens`: every
    // request carried its planned dataset prompt (a string, or the messages' contents).
    let words = |p: &serde_json::Value| -> i32 {
        match p {
            serde_json::Value::String(s) => s.split_whitespace().count() as i32,
            serde_json::Value::Array(m) => m
                .iter()
                .map(|msg| {
                    msg["content"]
                        .as_str()
                        .map_or(0, |c| c.split_whitespace().count())
                })
                .sum::<usize>() as i32,
            other => panic!("no prompt: {other}"),
        }
    };
    let planned: std::collections::BTreeMap<i64, i32> = rows
        .iter()
        .map(|r| (r["id"].as_i64().expect("id"), words(&r["prompt"])))
        .collect();
    let sent = common::runs::requests(&out);
    assert_eq!(sent.len(), 12);
    for r in &sent {
        assert_eq!(r.status, "ok", "{r:?}");
        assert_eq!(
            r.prompt_tokens,
            planned.get(&r.request_id).copied(),
            "{r:?}"
        );
    }
}

#[test]
fn dataset_prompts_are_measured_with_a_tokenizer_when_one_is_named() {
    // SmolLM2's tokenizer, from the workplace's shared/ (beside every checkout, CI's too;
    // Apache-2.0); the counts are what a llama.cpp server running SmolLM2 answers on /tokenize
    // for the same texts (docs/servers.md).
    let dir = std::env::temp_dir().join(format!("llmw-tokenizer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fixtures = std::fs::canonicalize("tests/fixtures").expect("fixtures");
    let tokenizer = std::fs::canonicalize("../shared/tokenizers/smollm2-135m/tokenizer.json")
        .expect("../shared/tokenizers/smollm2-135m/tokenizer.json (the workplace's shared/)");
    let file = dir.join("t.llmw");
    std::fs::write(
        &file,
        format!("workload \"t\" {{\n requests {{ prompts = dataset(\"{0}/prompts.jsonl\")  tokenizer = \"{1}\"  output = 4 }}\n phase \"p\" {{ requests = 12  concurrency = 2 }}\n}}\n", fixtures.display(), tokenizer.display()),
    )
    .expect("write");
    let o = llmw(&[
        "plan",
        file.to_str().expect("utf-8"),
        "--format",
        "jsonl",
        "--with-prompts",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut seen = std::collections::BTreeSet::new();
    for line in stdout(&o).lines() {
        let r: serde_json::Value = serde_json::from_str(line).expect("json");
        let (which, expected) = match &r["prompt"] {
            serde_json::Value::String(s) if s.starts_with("Summarise") => ("first", 13),
            serde_json::Value::String(s) if s.starts_with("Write a haiku") => ("second", 10),
            serde_json::Value::Array(_) => ("messages", 5 + 5),
            other => panic!("unexpected prompt {other}"),
        };
        assert_eq!(r["input_tokens"].as_u64(), Some(expected), "{r}");
        seen.insert(which);
    }
    assert_eq!(seen.len(), 3, "all three prompts were planned");
    // A file that is not a tokenizer is a clear error naming it.
    std::fs::write(
        &file,
        format!("workload \"t\" {{\n requests {{ prompts = dataset(\"{0}/prompts.jsonl\")  tokenizer = \"{0}/prompts.jsonl\"  output = 4 }}\n phase \"p\" {{ requests = 2  concurrency = 1 }}\n}}\n", fixtures.display()),
    )
    .expect("write");
    let o = llmw(&["plan", file.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A diagnostic at the `tokenizer = "..."` that named the file (its text wraps at 80 columns).
    let err = stderr(&o);
    let words: Vec<&str> = err
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>();
    let said = words.join(" ");
    assert!(
        said.contains("not a Hugging Face tokenizer.json") && said.contains("t.llmw:2:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    // `llmw trace stats … | head -0`: the reader is gone before llmw prints (with println!).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_llmw"))
        .args([
            "trace",
            "stats",
            "traces/azure_conv_head2000.csv",
            "--format",
            "azure",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("llmw runs");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn replay_flags_reach_the_real_read() {
    let dir = std::env::temp_dir().join(format!("llmw-replay-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let trace = dir.join("t.csv");
    std::fs::write(&trace, "t,in,out\n0.00,10,2\n0.01,oops,2\n0.02,12,2\n").expect("write");
    let t = trace.to_str().expect("utf-8");
    let common = ["--format", "csv", "--columns", "at=t,input=in,output=out"];
    // An unknown time unit is a usage error, not seconds.
    let mut args = vec!["replay", t];
    args.extend(common);
    args.extend(["--time-unit", "weeks"]);
    let o = llmw(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("weeks"), "{}", stderr(&o));
    // Without --skip-bad-rows the bad row stops the replay; with it, the good rows are replayed.
    let mut args = vec!["replay", t];
    args.extend(common);
    let o = llmw(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = dir.join("run");
    let mut args = vec![
        "replay",
        t,
        "--skip-bad-rows",
        "--quiet",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend(common);
    let o = llmw(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(common::runs::requests(&out).len(), 2);
}

#[test]
fn targets_file_lists_urls_and_a_url_given_twice_is_refused() {
    let dir = common::runs::temp_dir("cli-targets");
    std::fs::create_dir_all(&dir).expect("dir");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "# nothing here\n\n").expect("write");
    let o = llmw(&[
        "run",
        "workloads/quickstart.llmw",
        "--targets-file",
        empty.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("lists no URL"), "{}", stderr(&o));
    // The file's URL (after its comment) is the --target's again, spelled with /v1.
    let twice = dir.join("twice.txt");
    std::fs::write(&twice, "http://127.0.0.1:9/v1  # gpu-0\n").expect("write");
    let out = dir.join("run");
    let o = llmw(&[
        "run",
        "workloads/quickstart.llmw",
        "--target",
        "http://127.0.0.1:9",
        "--targets-file",
        twice.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("http://127.0.0.1:9 is given twice"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.exists(),
        "nothing recorded for a run refused before it started"
    );
}
