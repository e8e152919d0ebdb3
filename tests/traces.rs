//! Trace replay: every format read from its real slice, every kind of bad input a clear error,
//! transformations exact, Mooncake prefixes shared byte for byte, and a replay against the
//! simulator that keeps the trace's timing and lengths.

mod common;

use std::path::{Path, PathBuf};

use llmw::trace::{self, Format, ReadOptions, TraceError, Transform};

fn read(path: &str, format: Format) -> trace::Trace {
    trace::read(Path::new(path), format, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = common::runs::temp_dir("traces");
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn error(path: &Path, format: Format, opts: &ReadOptions) -> String {
    trace::read(path, format, opts)
        .expect_err("should fail")
        .to_string()
}

#[test]
fn real_slices_of_every_format_read_in_full() {
    let azure = read("traces/azure_conv_head2000.csv", Format::Azure);
    assert_eq!(azure.rows.len(), 2000);
    // CRLF and no final newline: the last row is whole.
    let last = azure.rows.last().expect("rows");
    assert!(last.input > 0 && last.output > 0);
    // Full precision: the first two rows are 18:15:46.6805900 and 18:15:50.9951690.
    assert_eq!(azure.rows[1].at_ns - azure.rows[0].at_ns, 4_314_579_000);

    let moon = read("traces/mooncake_conv_head300.jsonl", Format::Mooncake);
    assert_eq!(moon.rows.len(), 300);
    assert!(moon
        .rows
        .iter()
        .all(|r| r.blocks.len() as u32 == r.input.div_ceil(512)));

    let burst = read("traces/burstgpt1_head400.csv", Format::Burstgpt);
    assert_eq!(burst.rows.len(), 400);
    assert_eq!(burst.rows.iter().filter(|r| r.failed).count(), 17);
    assert_eq!(burst.rows[0].at_ns, 5_000_000_000);
}

#[test]
fn azure_2024_timestamps_and_generic_formats() {
    let p = temp("a24.csv", b"TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:00.009930+00:00,10,2\n2024-05-10 00:00:01+00:00,20,3\n");
    let t = trace::read(&p, Format::Azure, &ReadOptions::default()).expect("reads");
    assert_eq!(t.rows[1].at_ns - t.rows[0].at_ns, 990_070_000);

    let cols = vec![
        ("at".to_string(), "t".to_string()),
        ("input".into(), "in".into()),
        ("output".into(), "out".into()),
    ];
    let csv = temp("g.csv", b"t,in,out,extra\n1500,10,5,x\n2500,20,6,y\n");
    let opts = ReadOptions {
        columns: cols.clone(),
        time_unit: Some(llmw::trace::TimeUnit::Ms),
        skip_bad_rows: false,
    };
    let t = trace::read(&csv, Format::Csv, &opts).expect("reads");
    assert_eq!(
        t.rows
            .iter()
            .map(|r| (r.at_ns, r.input, r.output))
            .collect::<Vec<_>>(),
        vec![(1_500_000_000, 10, 5), (2_500_000_000, 20, 6)]
    );
    let jsonl = temp(
        "g.jsonl",
        b"{\"t\": 0.5, \"in\": 7, \"out\": 8}\n\n{\"t\": \"1.5\", \"in\": 9, \"out\": 1}\n",
    );
    let opts = ReadOptions {
        columns: cols,
        time_unit: Some(llmw::trace::TimeUnit::S),
        skip_bad_rows: false,
    };
    let t = trace::read(&jsonl, Format::Jsonl, &opts).expect("reads");
    assert_eq!(t.rows[1].at_ns, 1_500_000_000);
    assert_eq!(t.rows[1].line, 3);
}

#[test]
fn bad_input_is_a_clear_error_naming_file_line_and_field() {
    let none = ReadOptions::default();
    let empty = temp("empty.csv", b"");
    assert!(error(&empty, Format::Azure, &none).ends_with("empty.csv: the file is empty"));
    let missing = temp(
        "m.csv",
        b"TIMESTAMP,Context,GeneratedTokens\n2023-11-16 18:15:46,1,2\n",
    );
    assert!(error(&missing, Format::Azure, &none).contains(
        "missing column 'ContextTokens' (the header has: TIMESTAMP, Context, GeneratedTokens)"
    ));
    let time = temp(
        "t.csv",
        b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\nnot a time,1,2\n",
    );
    assert!(error(&time, Format::Azure, &none)
        .ends_with("t.csv:3: TIMESTAMP: cannot read the time 'not a time'"));
    let negative = temp(
        "n.csv",
        b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-4,2\n",
    );
    assert!(error(&negative, Format::Azure, &none)
        .contains("n.csv:2: ContextTokens: expected a whole number of tokens ≥ 0, found '-4'"));
    let absurd = temp(
        "x.csv",
        b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,99999999999,2\n",
    );
    assert!(error(&absurd, Format::Azure, &none).contains("is not a plausible length"));
    let latin = temp("l.csv", b"TIMESTAMP,ContextTokens,GeneratedTokens\n\xff\n");
    assert!(
        error(&latin, Format::Azure, &none).contains("not UTF-8 text (invalid byte at offset 40)")
    );
    let json = temp("j.jsonl", b"{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [0]}\n{oops\n");
    assert!(error(&json, Format::Mooncake, &none).contains("j.jsonl:2: row: invalid JSON"));
    assert!(matches!(
        trace::read(Path::new("no/such.csv"), Format::Azure, &none),
        Err(TraceError::File { .. })
    ));

    // --skip-bad-rows: skipped and counted.
    let skip = ReadOptions {
        skip_bad_rows: true,
        ..ReadOptions::default()
    };
    let t = trace::read(&time, Format::Azure, &skip).expect("skips");
    assert_eq!((t.rows.len(), t.skipped), (1, 1));
    assert!(t.skipped_examples[0].contains(":3: TIMESTAMP"));
}

#[test]
fn a_window_at_a_speed_keeps_exact_offsets() {
    let azure = read("traces/azure_conv_head2000.csv", Format::Azure);
    let t = Transform {
        window_ns: Some((60_000_000_000, 120_000_000_000)),
        speed: 2.0,
        ..Transform::default()
    };
    let p = trace::transform(&azure, &t);
    let first = azure.rows[0].at_ns;
    let kept: Vec<i64> = azure
        .rows
        .iter()
        .map(|r| r.at_ns - first)
        .filter(|rel| (60_000_000_000..120_000_000_000).contains(rel))
        .collect();
    assert_eq!(p.rows.len(), kept.len());
    for ((offset, _), rel) in p.rows.iter().zip(&kept) {
        assert_eq!(*offset, ((rel - kept[0]) as f64 / 2.0).round() as u64);
    }
}

/// Runs `schedule` against the in-process simulator (fast profile); returns the run directory.
async fn run_in_simulator(schedule: std::sync::Arc<llmw::Schedule>, name: &str) -> PathBuf {
    let dir = common::runs::temp_dir(name);
    let server = common::runs::simulator(llmw::sim::SimConfig {
        profile: llmw::sim::Profile::named(llmw::sim::ProfileName::Fast),
        ..Default::default()
    })
    .await;
    let opts = llmw::engine::RunOptions {
        secret_headers: Vec::new(),
        out: Some(dir.clone()),
        targets: vec![server.url()],
        api_key: None,
        anthropic_key: None,
        ca_cert: None,
        progress: false,
        provenance: Default::default(),
        metrics: Default::default(),
        stopper: llmw::engine::Stopper::new(),
        start_at: None,
        judge: None,
        levels: None,
        warn: None,
    };
    llmw::engine::run(schedule, opts).await.expect("runs");
    dir
}

fn plan(text: &str, name: &str) -> llmw::Schedule {
    let dir = std::env::current_dir().expect("cwd").join("traces");
    let file = dir.join(format!("{name}.test.llmw"));
    let (sources, result) =
        llmw::load_text(file.to_str().expect("utf-8"), text, &Default::default());
    let _ = sources;
    let r = result.unwrap_or_else(|d| panic!("{d:?}"));
    llmw::compile(&r).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn mooncake_requests_that_share_leading_blocks_share_prompt_prefixes() {
    let s = plan("workload \"m\" {\n phase \"p\" { arrival = trace(\"traces/mooncake_conv_head300.jsonl\", format: mooncake) }\n}\n", "moon");
    let rows = read("traces/mooncake_conv_head300.jsonl", Format::Mooncake).rows;
    assert_eq!(s.requests.len(), 300);
    let prompts: Vec<Vec<String>> = s
        .requests
        .iter()
        .map(|r| {
            llmw::prompt::for_request(&s, r)
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .collect();
    for (r, p) in s.requests.iter().zip(&prompts) {
        assert_eq!(p.len() as u32, r.input_tokens);
    }
    // Every pair among the first 40: the common leading block run gives exactly that many
    // identical words (the last block may be partial).
    for i in 0..40 {
        for j in (i + 1)..40 {
            let shared = rows[i]
                .blocks
                .iter()
                .zip(&rows[j].blocks)
                .take_while(|(a, b)| a == b)
                .count();
            let words = (shared * 512).min(prompts[i].len()).min(prompts[j].len());
            assert_eq!(
                prompts[i][..words],
                prompts[j][..words],
                "rows {i} and {j} share {shared} blocks"
            );
            if shared * 512 < prompts[i].len().min(prompts[j].len()) {
                assert_ne!(
                    prompts[i][..words + 512.min(prompts[i].len() - words)],
                    prompts[j][..words + 512.min(prompts[j].len() - words)]
                );
            }
        }
    }
    // Every request starts with block 0, the shared system prompt.
    assert!(prompts.iter().all(|p| p[..64] == prompts[0][..64]));
}

#[test]
fn failed_burstgpt_rows_need_an_explicit_choice() {
    let text = |failed: &str| {
        format!("workload \"b\" {{\n phase \"p\" {{ arrival = trace(\"traces/burstgpt1_head400.csv\", format: burstgpt{failed}) }}\n}}\n")
    };
    // Refused where the trace is named, before anything is planned.
    let (sources, resolved) = llmw::load_text("b.llmw", &text(""), &Default::default());
    let diags = resolved.expect_err("needs a choice");
    let err = llmw::diag::render(&sources, &diags, llmw::diag::Style::Plain);
    assert!(err.contains("17 rows are failed requests"), "{err}");
    assert!(
        err.contains("b.llmw:2:") && err.contains("failed: skip or failed: replay"),
        "{err}"
    );
    assert_eq!(plan(&text(", failed: skip"), "skip").requests.len(), 383);
    assert_eq!(
        plan(&text(", failed: replay"), "replay").requests.len(),
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_window_keeps_the_traces_timing_and_lengths() {
    let text = "workload \"r\" {\n target { ignore_eos = true }\n phase \"p\" { arrival = trace(\"traces/azure_conv_head2000.csv\", format: azure, window: 30s..45s, speed: 2x) }\n}\n";
    let schedule = std::sync::Arc::new(common::plan(text));
    let azure = read("traces/azure_conv_head2000.csv", Format::Azure);
    let first = azure.rows[0].at_ns;
    let window: Vec<&trace::Row> = azure
        .rows
        .iter()
        .filter(|r| (30_000_000_000..45_000_000_000).contains(&(r.at_ns - first)))
        .collect();
    let dir = run_in_simulator(schedule, "replay").await;
    let mut rows = common::runs::requests(&dir);
    rows.sort_by_key(|r| r.request_id);
    assert_eq!(rows.len(), window.len(), "the same request count");
    let base = rows[0].scheduled_ns.expect("open loop");
    let mut lag = Vec::new();
    for (r, t) in rows.iter().zip(&window) {
        assert_eq!(
            (r.input_tokens as u32, r.output_tokens_requested as u32),
            (t.input, t.output),
            "the same lengths"
        );
        // Scheduled exactly at the trace's offset divided by the speed.
        let expected = ((t.at_ns - window[0].at_ns) as f64 / 2.0).round() as i64;
        assert_eq!(r.scheduled_ns.expect("open loop") - base, expected);
        assert_eq!(r.status, "ok");
        lag.push((r.sent_ns - r.scheduled_ns.expect("open loop")) as f64 / 1e6);
    }
    // Send precision is a benchmark (docs/benchmarks.md); here only that sends are not late
    // by more than a scheduling hiccup on a shared machine.
    assert!(common::runs::median(lag) < 20.0);
}

#[test]
fn sample_draws_real_pairs_and_empirical_resamples_a_column() {
    let s = plan(
        "workload \"s\" {\n requests { sample = trace(\"traces/azure_conv_head2000.csv\", format: azure) }\n phase \"p\" { duration = 10s  arrival = constant(rate: 50/s) }\n}\n",
        "sample",
    );
    let pairs: std::collections::HashSet<(u32, u32)> =
        read("traces/azure_conv_head2000.csv", Format::Azure)
            .rows
            .iter()
            .map(|r| (r.input, r.output))
            .collect();
    assert_eq!(s.requests.len(), 500);
    assert!(
        s.requests
            .iter()
            .all(|r| pairs.contains(&(r.input_tokens, r.output_tokens))),
        "every request is a row of the trace"
    );
    let distinct: std::collections::HashSet<_> = s
        .requests
        .iter()
        .map(|r| (r.input_tokens, r.output_tokens))
        .collect();
    assert!(
        distinct.len() > 300,
        "rows are drawn at random, not repeated"
    );

    let e = plan(
        "workload \"e\" {\n requests { input = empirical(\"traces/azure_conv_head2000.csv\", column: \"ContextTokens\") clamp 1..2000  output = 8 }\n phase \"p\" { duration = 10s  arrival = constant(rate: 50/s) }\n}\n",
        "empirical",
    );
    let column: std::collections::HashSet<u32> =
        read("traces/azure_conv_head2000.csv", Format::Azure)
            .rows
            .iter()
            .map(|r| r.input.min(2000))
            .collect();
    assert!(e
        .requests
        .iter()
        .all(|r| column.contains(&r.input_tokens) && r.output_tokens == 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_run_replays_with_its_send_times_lengths_and_classes() {
    let text = "workload \"orig\" {\n seed = 3\n requests weight 3 { input = uniform(10, 90) output = uniform(2, 9) }\n class \"long\" { input = 500 }\n phase \"p\" { duration = 2s  arrival = poisson(rate: 20/s) }\n}\n";
    let schedule = std::sync::Arc::new(common::plan(text));
    let dir = run_in_simulator(schedule.clone(), "orig").await;

    let replay = format!(
        "workload \"again\" {{\n class \"long\" {{ input = 1  output = 1 }}\n phase \"p\" {{ arrival = trace(\"{}\", format: llmw) }}\n}}\n",
        dir.display()
    );
    let again = common::plan(&replay);
    let original = schedule.phase_requests(&schedule.phases[0]);
    assert_eq!(again.requests.len(), original.len());
    let t0 = original[0].at_ns.expect("open");
    for (a, o) in again.requests.iter().zip(original) {
        assert_eq!(
            a.at_ns.map(|t| t - again.requests[0].at_ns.unwrap_or(0)),
            o.at_ns.map(|t| t - t0),
            "same send offsets"
        );
        assert_eq!(
            (a.input_tokens, a.output_tokens),
            (o.input_tokens, o.output_tokens),
            "same lengths"
        );
        assert_eq!(
            again.classes[a.class as usize], schedule.classes[o.class as usize],
            "same classes"
        );
    }
}

#[test]
fn burstgpt_columns_are_read_by_name_in_both_layouts() {
    let v3 = temp(
        "b3.csv",
        b"Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n19440110.0,1722ac82-0a46-4bf0-aa08-89794e7a2b3f,43,GPT-4,906,446,1352,Conversation log\n19440161.0,,2,ChatGPT,36,29,65,API log\n19440170.0,,0,ChatGPT,0,0,0,API log\n",
    );
    let t = trace::read(&v3, Format::Burstgpt, &ReadOptions::default()).expect("reads");
    assert_eq!(
        t.rows
            .iter()
            .map(|r| (r.input, r.output, r.failed))
            .collect::<Vec<_>>(),
        vec![(906, 446, false), (36, 29, false), (1, 0, true)]
    );
    assert_eq!(t.rows[1].at_ns - t.rows[0].at_ns, 51_000_000_000);
}
