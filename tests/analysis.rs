//! Analysis on hand-built run directories whose metrics are known exactly, and a cross-check of
//! a real simulated run against an independent computation.

mod common;

use std::path::Path;

use llmw::analysis::{self, Options};
use llmw::engine::writer::{Msg, TraceWriter};
use llmw::rundir::record::{ChunkRow, RequestRow, Status};
use serde_json::json;

const MS: u64 = 1_000_000;

/// A request row; `t` is (sent, first token, last token, done) in ms.
fn row(
    id: u64,
    step: u32,
    status: Status,
    t: (u64, Option<u64>, Option<u64>, u64),
    out: Option<u32>,
) -> RequestRow {
    let (sent, first, last, done) = t;
    let ms = |t: u64| t * MS;
    RequestRow {
        input_tokens: 100 + id as u32 * 10,
        ..common::runs::request_row(
            id,
            step,
            status,
            (ms(sent), first.map(ms), last.map(ms), ms(done)),
            out,
        )
    }
}

fn chunks(id: u64, at_ms: &[u64], tokens: &[u32]) -> Vec<ChunkRow> {
    at_ms
        .iter()
        .zip(tokens)
        .enumerate()
        .map(|(i, (a, t))| ChunkRow {
            request_id: id,
            seq: i as u32,
            at_ns: a * MS,
            tokens: *t,
            bytes: 4,
            reasoning: false,
        })
        .collect()
}

/// A closed-loop phase "p" with two steps (0: 0–1000 ms, 1: 1000–2000 ms) and an unmeasured
/// warm-up phase.
fn fixture(dir: &Path, slo: serde_json::Value) {
    std::fs::create_dir_all(dir).expect("dir");
    let w = TraceWriter::create(dir, vec!["p".into(), "warm".into()], vec!["default".into()])
        .expect("writer");
    let send = |r: RequestRow, c: Vec<ChunkRow>| {
        let r = RequestRow {
            chunks: c.len() as u32,
            ..r
        };
        w.tx.send(Msg::Request(r, c)).expect("send");
    };
    // Step 0.
    send(
        row(1, 0, Status::Ok, (0, Some(100), Some(400), 410), Some(4)),
        chunks(1, &[100, 200, 300, 400], &[1, 1, 1, 1]),
    );
    send(
        row(2, 0, Status::Ok, (50, Some(150), Some(150), 160), Some(1)),
        chunks(2, &[150], &[1]),
    );
    send(row(3, 0, Status::Ok, (60, None, None, 80), Some(0)), vec![]);
    send(row(4, 0, Status::Error, (70, None, None, 90), None), vec![]);
    // Several tokens per chunk: 6 tokens in 3 chunks.
    send(
        row(5, 0, Status::Ok, (100, Some(300), Some(700), 800), Some(6)),
        chunks(5, &[300, 500, 700], &[2, 2, 2]),
    );
    send(
        row(
            6,
            0,
            Status::Timeout,
            (200, Some(250), Some(260), 900),
            Some(2),
        ),
        chunks(6, &[250, 260], &[1, 1]),
    );
    // An open-loop arrival dropped at 300 ms (max_in_flight): counted, never timed.
    send(
        RequestRow {
            scheduled_ns: Some(300 * MS),
            ..row(9, 0, Status::Dropped, (300, None, None, 300), None)
        },
        vec![],
    );
    // Step 1.
    send(
        row(
            7,
            1,
            Status::Ok,
            (1000, Some(1200), Some(1500), 1600),
            Some(4),
        ),
        chunks(7, &[1200, 1300, 1400, 1500], &[1, 1, 1, 1]),
    );
    // The unmeasured phase.
    send(
        RequestRow {
            phase: 1,
            ..row(
                8,
                0,
                Status::Ok,
                (2000, Some(2100), Some(2200), 2300),
                Some(2),
            )
        },
        chunks(8, &[2100, 2200], &[1, 1]),
    );
    w.finish(true).expect("closed");
    let meta = common::runs::manifest(json!({
        "workload": "fixture", "plan_hash": "abc", "status": "completed", "slo": slo,
        "phases": [
            {"name": "p", "measure": true, "loop": "closed", "start_ns": 0, "end_ns": 2_000_000_000u64,
             "steps": [{"step": 0, "start_ns": 0, "end_ns": 1_000_000_000u64, "level": 4.0},
                       {"step": 1, "start_ns": 1_000_000_000u64, "end_ns": 2_000_000_000u64, "level": 8.0}]},
            {"name": "warm", "measure": false, "loop": "closed", "start_ns": 2_000_000_000u64, "end_ns": 3_000_000_000u64,
             "steps": [{"step": 0, "start_ns": 0, "end_ns": 1_000_000_000u64, "level": 1.0}]}
        ]
    }));
    std::fs::write(dir.join("run.json"), meta.to_string()).expect("run.json");
}

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn metrics_of_a_hand_built_run_are_exact() {
    let dir = common::runs::temp_dir("fixture");
    fixture(&dir, json!([]));
    let run = analysis::load(&dir).expect("loads");
    let a = analysis::analyze(&run, &Options::default()).expect("analyses");
    assert_eq!(a.groups.len(), 2, "the unmeasured phase is excluded");
    let g = &a.groups[0];
    assert_eq!(
        (
            g.requests.total,
            g.requests.ok,
            g.requests.error,
            g.requests.timeout,
            g.requests.dropped
        ),
        (7, 4, 1, 1, 1)
    );
    close(g.drop_rate, 1.0 / 7.0);
    assert_eq!(g.send_lag_ms.count, 0, "a dropped arrival was never sent");
    // TTFT over ok requests with a first token: 100, 100, 200 ms.
    assert_eq!(g.ttft_ms.count, 3);
    close(g.ttft_ms.p50, 100.0);
    close(g.ttft_ms.mean, 400.0 / 3.0);
    close(g.ttft_ms.max, 200.0);
    // ITL needs ≥ 2 tokens: (400−100)/3 = 100 and (700−300)/5 = 80.
    assert_eq!(g.itl_ms.count, 2);
    close(g.itl_ms.p50, 90.0);
    // LLMPerf's convention folds TTFT in: 410/4, 110/1, 700/6 (request 3 has no tokens).
    assert_eq!(g.itl_llmperf_ms.count, 3);
    close(g.itl_llmperf_ms.p50, 110.0);
    close(g.itl_llmperf_ms.max, 700.0 / 6.0);
    // Chunk gaps of ok requests: 100, 100, 100 and 200, 200 (the timed-out request is excluded).
    assert_eq!(g.chunk_gap_ms.count, 5);
    close(g.chunk_gap_ms.mean, 140.0);
    // e2e of ok requests: 410, 110, 20, 700.
    close(g.e2e_ms.p50, (110.0 + 410.0) / 2.0);
    // Per-user tokens/s: 4/0.41, 1/0.11, 6/0.7.
    close(g.tps_user.max, 4.0 / 0.41);
    close(g.tps_user.p50, 1.0 / 0.11);
    // System tps: 11 tokens over (max done 900 − min sent 0) ms.
    close(g.tps, 11.0 / 0.9);
    close(g.rps, 4.0 / 0.9);
    // Errors over finished requests (ok, error, timeout), not over drops.
    close(g.error_rate, 2.0 / 6.0);
    close(g.timeout_rate, 1.0 / 6.0);
    assert_eq!(g.goodput, None, "no objectives, no goodput");
    let g1 = &a.groups[1];
    assert_eq!(g1.requests.ok, 1);
    close(g1.ttft_ms.p50, 200.0);
    close(g1.tps, 4.0 / 0.6);
    // One hundred ms per token from position 1 on: no trend.
    close(g1.diagnostics.itl_trend, 1.0);
}

#[test]
fn warmup_and_cooldown_drop_requests_inside_each_group() {
    let dir = common::runs::temp_dir("fixture-window");
    fixture(&dir, json!([]));
    let run = analysis::load(&dir).expect("loads");
    let a = analysis::analyze(
        &run,
        &Options {
            warmup_ns: 55 * MS as i64,
            cooldown_ns: 150 * MS as i64,
            partial: false,
        },
    )
    .expect("analyses");
    let g = &a.groups[0];
    // Sent before 55 ms: requests 1 and 2. Done after 1000 − 150 = 850 ms: request 6.
    assert_eq!((g.excluded.warmup, g.excluded.cooldown), (2, 1));
    assert_eq!(g.requests.total, 4);
    close(g.ttft_ms.p50, 200.0);
}

#[test]
fn slo_objectives_pass_and_fail_with_goodput() {
    let dir = common::runs::temp_dir("fixture-slo");
    let slo = json!([
        {"metric": "ttft", "stat": "p50", "op": "<", "threshold": 0.15, "text": "ttft.p50 < 150ms"},
        {"metric": "errors", "stat": null, "op": "<", "threshold": 0.01, "text": "errors < budget"},
        {"metric": "e2e", "stat": "max", "op": "<", "threshold": 0.5, "text": "e2e.max < 500ms"}
    ]);
    fixture(&dir, slo);
    let a = analysis::analyze(&analysis::load(&dir).expect("loads"), &Options::default())
        .expect("analyses");
    let slo = a.slo.as_ref().expect("objectives");
    // Pooled over both steps: TTFT 100, 100, 200, 200 → p50 150 ms: not < 150 ms.
    assert!(!slo[0].pass);
    close(slo[0].measured, 0.15);
    // Errors: 2 of 7 finished (the dropped arrival does not count).
    assert!(!slo[1].pass);
    close(slo[1].measured, 2.0 / 7.0);
    // The unit comes from the metric, not from the objective's text (`param budget = 1%`).
    let text = analysis::text::analysis(&a);
    assert!(
        text.contains("errors < budget") && text.contains("measured 28.57 %"),
        "{text}"
    );
    assert!(text.contains("measured 150.0 ms"), "{text}");
    // e2e max 700 ms.
    assert!(!slo[2].pass);
    assert!(a.slo_missed());
    // Goodput: ok requests of step 0 meeting ttft < 150 ms and e2e < 500 ms: requests 1, 2 and 3
    // (3 has no first token, so only e2e applies); request 5 has TTFT 200 ms.
    close(a.groups[0].goodput, 3.0 / 0.9);
}

#[test]
fn a_corrupt_file_is_a_clear_error() {
    let dir = common::runs::temp_dir("fixture-bad");
    fixture(&dir, json!([]));
    std::fs::write(dir.join("chunks.parquet"), b"not parquet").expect("write");
    let err = analysis::load(&dir).expect_err("corrupt");
    assert!(err.to_string().contains("chunks.parquet"), "{err}");
}

/// A conversation's request: `row` with its session, turn, planned turns and prompt counts.
fn turn_row(base: RequestRow, session: u64, turn: u32, prompt: (u32, u32)) -> RequestRow {
    RequestRow {
        session: Some(session),
        turn: Some(turn),
        branch: Some(0),
        session_turns: Some(3),
        prompt_tokens: Some(prompt.0),
        cached_tokens: Some(prompt.1),
        ..base
    }
}

#[test]
fn the_session_view_of_a_hand_built_run_is_exact() {
    let dir = common::runs::temp_dir("sessions-fixture");
    std::fs::create_dir_all(&dir).expect("dir");
    let w = TraceWriter::create(&dir, vec!["p".into()], vec!["chat".into()]).expect("writer");
    let send = |r: RequestRow| w.tx.send(Msg::Request(r, Vec::new())).expect("send");
    // Conversation 10: three turns answered (sent 0 ms, last answer at 800 ms).
    send(turn_row(
        row(10, 0, Status::Ok, (0, Some(100), Some(300), 310), Some(3)),
        10,
        0,
        (100, 0),
    ));
    send(turn_row(
        row(11, 0, Status::Ok, (400, Some(450), Some(650), 660), Some(3)),
        10,
        1,
        (200, 100),
    ));
    send(turn_row(
        row(12, 0, Status::Ok, (700, Some(720), Some(780), 800), Some(2)),
        10,
        2,
        (300, 250),
    ));
    // Conversation 20: its second turn failed, so it ended there.
    send(turn_row(
        row(20, 0, Status::Ok, (50, Some(250), Some(250), 300), Some(1)),
        20,
        0,
        (100, 0),
    ));
    send(turn_row(
        row(21, 0, Status::Error, (350, None, None, 360), None),
        20,
        1,
        (0, 0),
    ));
    // A one-shot request beside them, and a conversation whose first turn is not here (it
    // began in another group): neither counts as started.
    send(row(
        30,
        0,
        Status::Ok,
        (10, Some(60), Some(60), 70),
        Some(1),
    ));
    send(turn_row(
        row(41, 0, Status::Ok, (500, Some(530), Some(530), 540), Some(1)),
        40,
        1,
        (150, 0),
    ));
    w.finish(true).expect("closed");
    let meta = common::runs::manifest(json!({
        "workload": "fixture", "plan_hash": "abc", "status": "completed", "slo": [],
        "phases": [{"name": "p", "measure": true, "loop": "closed", "start_ns": 0, "end_ns": 1_000_000_000u64,
                    "steps": [{"step": 0, "start_ns": 0, "end_ns": 1_000_000_000u64, "level": 2.0}]}]
    }));
    std::fs::write(dir.join("run.json"), meta.to_string()).expect("run.json");
    let a = analysis::analyze(&analysis::load(&dir).expect("loads"), &Options::default())
        .expect("analyses");
    let s = a.groups[0].sessions.as_ref().expect("a session view");
    assert_eq!((s.started, s.completed), (2, 1));
    assert_eq!(s.turns.count, 2);
    close(s.turns.mean, 2.5);
    assert_eq!(s.duration_s.count, 1);
    close(s.duration_s.p50, 0.8);
    let t: Vec<(u32, usize, usize)> = s
        .by_turn
        .iter()
        .map(|t| (t.turn, t.requests, t.ok))
        .collect();
    assert_eq!(t, vec![(0, 2, 2), (1, 3, 2), (2, 1, 1)]);
    // Turn 0: TTFT 100 and 200 ms, nothing cached; turn 1: 50 and 30 ms, 100 of 350 cached.
    close(s.by_turn[0].ttft_ms.p50, 150.0);
    close(s.by_turn[0].cache_hit_share, 0.0);
    close(s.by_turn[1].ttft_ms.mean, 40.0);
    close(s.by_turn[1].cache_hit_share, 100.0 / 350.0);
    close(s.by_turn[1].prompt_tokens_mean, 175.0);
    // ITL by turn: (300−100)/2 = 100 ms at turn 0 (request 20 has one token), 100 at turn 1.
    assert_eq!(s.by_turn[0].itl_ms.count, 1);
    close(s.by_turn[0].itl_ms.p50, 100.0);
    close(s.by_turn[2].ttft_ms.p50, 20.0);
    close(s.by_turn[2].cache_hit_share, 250.0 / 300.0);
    // The CSV of turns carries the same numbers.
    let csv = analysis::csv::write_turns(std::slice::from_ref(&a));
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(
        csv.lines()
            .nth(2)
            .is_some_and(|l| l.contains(",p,0,1,3,2,")),
        "{csv}"
    );
    // A run without conversations has no session view.
    let plain = common::runs::temp_dir("fixture-no-sessions");
    fixture(&plain, json!([]));
    let b = analysis::analyze(&analysis::load(&plain).expect("loads"), &Options::default())
        .expect("analyses");
    assert!(b.groups.iter().all(|g| g.sessions.is_none()));
}

/// 1,000 ok requests with TTFTs of 1, 2, …, 1000 ms: the p50 is 500.5 ms and its 95 % interval
/// (order statistics 469 and 532) about 469–532 ms.
#[test]
fn an_slo_verdict_inside_its_interval_is_marked_uncertain() {
    let dir = common::runs::temp_dir("slo-uncertain");
    std::fs::create_dir_all(&dir).expect("dir");
    let w = TraceWriter::create(&dir, vec!["p".into()], vec!["default".into()]).expect("writer");
    for id in 0..1000u64 {
        let sent = id * 10;
        let first = sent + id + 1;
        let r = RequestRow {
            chunks: 1,
            ..row(
                id,
                0,
                Status::Ok,
                (sent, Some(first), Some(first), first + 1),
                Some(1),
            )
        };
        w.tx.send(Msg::Request(r, chunks(id, &[first], &[1])))
            .expect("send");
    }
    w.finish(true).expect("closed");
    let meta = common::runs::manifest(json!({
        "slo": [
            {"metric": "ttft", "stat": "p50", "op": "<", "threshold": 0.5, "text": "ttft.p50 < 500ms"},
            {"metric": "ttft", "stat": "p50", "op": "<", "threshold": 0.6, "text": "ttft.p50 < 600ms"},
            {"metric": "ttft", "stat": "p90", "op": "<", "threshold": 0.9, "text": "ttft.p90 < 900ms"}
        ],
        "phases": [{"name": "p", "measure": true, "loop": "open", "start_ns": 0, "end_ns": 20_000_000_000u64,
                    "steps": [{"step": 0, "start_ns": 0, "end_ns": 20_000_000_000u64, "level": 1.0}]}]
    }));
    std::fs::write(dir.join("run.json"), meta.to_string()).expect("run.json");
    let a = analysis::analyze(&analysis::load(&dir).expect("loads"), &Options::default())
        .expect("analyses");
    let slo = a.slo.as_ref().expect("objectives");
    close(slo[0].measured, 0.5005);
    let [lo, hi] = slo[0].ci95.expect("a p50 interval");
    assert!(
        (0.46..0.48).contains(&lo) && (0.52..0.54).contains(&hi),
        "{lo} {hi}"
    );
    assert!(
        !slo[0].pass && slo[0].uncertain,
        "500.5 ms misses 500 ms, inside its interval"
    );
    assert!(
        slo[1].pass && !slo[1].uncertain,
        "600 ms is beyond the interval"
    );
    assert!(
        slo[2].ci95.is_none() && !slo[2].uncertain,
        "a p90 has no interval"
    );
    let text = analysis::text::analysis(&a);
    assert!(text.contains("UNCERTAIN: its 95 % interval"), "{text}");
}

/// A step whose answers come ever faster (every request done at √ of a uniform grid: the
/// token rate rises linearly to the end) has no steady state; the same requests evenly spread
/// do.
#[test]
fn a_group_whose_throughput_still_drifts_has_no_steady_state() {
    let analyse = |name: &str, at: &dyn Fn(u64) -> u64| {
        let dir = common::runs::temp_dir(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let w =
            TraceWriter::create(&dir, vec!["p".into()], vec!["default".into()]).expect("writer");
        for id in 0..600u64 {
            let done = at(id);
            let r = RequestRow {
                chunks: 1,
                ..row(
                    id,
                    0,
                    Status::Ok,
                    (done - 5, Some(done - 1), Some(done - 1), done),
                    Some(1),
                )
            };
            w.tx.send(Msg::Request(r, chunks(id, &[done - 1], &[1])))
                .expect("send");
        }
        w.finish(true).expect("closed");
        let meta = common::runs::manifest(json!({
            "phases": [{"name": "p", "measure": true, "loop": "closed", "start_ns": 0, "end_ns": 60_000_000_000u64,
                        "steps": [{"step": 0, "start_ns": 0, "end_ns": 60_000_000_000u64, "level": 4.0}]}]
        }));
        std::fs::write(dir.join("run.json"), meta.to_string()).expect("run.json");
        analysis::analyze(&analysis::load(&dir).expect("loads"), &Options::default())
            .expect("analyses")
    };
    // Times in ms over 60 s: evenly, and with the k-th answer at 60 s · √(k/600).
    let even = analyse("steady", &|k| 10 + k * 100);
    let rising = analyse("drifting", &|k| {
        10 + (60_000.0 * (k as f64 / 600.0).sqrt()) as u64
    });
    assert_eq!(even.groups[0].no_steady_state, None);
    let why = rising.groups[0].no_steady_state.as_deref().expect("drifts");
    assert!(why.starts_with("throughput rose"), "{why}");
    assert_eq!(rising.groups[0].steady_state, None);
    assert!(analysis::text::analysis(&rising).contains("NO STEADY STATE"));
}
