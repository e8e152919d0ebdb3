//! End-to-end runs against the simulator started in-process on 127.0.0.1: rows, chunks, timing
//! against the simulator's configured cost model, faults, drops and non-streaming responses.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::runs::{chunks, median, requests, run_json, Req};
use llmw::engine::{self, Ending, RunResult};
use llmw::schedule::Schedule;
use llmw::sim::{Fault, Faults, Profile, ProfileName, SimConfig};

fn sim(profile: Profile, faults: Faults) -> SimConfig {
    SimConfig {
        model: "test-model".into(),
        profile,
        faults,
        record_timings: false,
        ..SimConfig::default()
    }
}

/// A profile where every step takes exactly `step_ms` and nothing else costs time.
fn flat(step_ms: f64) -> Profile {
    Profile {
        step_base_us: step_ms * 1000.0,
        per_seq_us: 0.0,
        per_prefill_token_us: 0.0,
        per_kv_token_ns: 0.0,
        ..Profile::named(ProfileName::Default)
    }
}

async fn run(
    text: &str,
    config: SimConfig,
    target: Option<String>,
    name: &str,
) -> (std::path::PathBuf, Arc<Schedule>, RunResult) {
    // Without a target, a simulator with `config` serves the run.
    let server = match &target {
        Some(_) => None,
        None => Some(common::runs::simulator(config).await),
    };
    let url = target.unwrap_or_else(|| {
        server
            .as_ref()
            .map(llmw::sim::SimServer::url)
            .unwrap_or_default()
    });
    let p = common::runs::prepare(text, name, url, Default::default());
    let (dir, schedule) = (p.dir.clone(), p.schedule.clone());
    let result = engine::run(p.schedule, p.options).await.expect("run");
    (dir, schedule, result)
}

fn by_status(rows: &[Req]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r.status.clone()).or_insert(0) += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_records_every_request_and_chunk_with_the_simulators_timing() {
    let text = r#"workload "e2e" {
  seed = 5
  target { ignore_eos = true  timeout = 30s }
  requests { input = uniform(50, 150)  output = uniform(5, 15) }
  phase "open" { duration = 2s  arrival = poisson(rate: 10/s) }
  phase "closed" { duration = 2s  concurrency = steps(1, 3, hold: 1s) }
}"#;
    let (dir, schedule, result) = run(text, sim(flat(20.0), Faults::default()), None, "e2e").await;
    assert_eq!(result.ending, Ending::Completed);
    let rows = requests(&dir);
    let chunk_rows = chunks(&dir);

    // One row per planned open-loop request, with the plan's ids, lengths and schedule.
    let planned: BTreeMap<u64, _> = schedule
        .phase_requests(&schedule.phases[0])
        .iter()
        .map(|r| (r.id, *r))
        .collect();
    let open: Vec<&Req> = rows.iter().filter(|r| r.phase == "open").collect();
    assert_eq!(open.len(), planned.len());
    let mut shifts = BTreeSet::new();
    for r in &open {
        let p = planned.get(&(r.request_id as u64)).expect("a planned id");
        assert_eq!(
            (r.input_tokens as u32, r.output_tokens_requested as u32),
            (p.input_tokens, p.output_tokens)
        );
        let scheduled = r.scheduled_ns.expect("open loop");
        // Every send time is the plan's, shifted by the phase's real start (the same for all).
        shifts.insert(scheduled - p.at_ns.expect("open loop") as i64);
        assert!(r.sent_ns >= scheduled);
    }
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    assert!(
        shifts.iter().all(|s| (0..100_000_000).contains(s)),
        "the phase started {shifts:?} ns late"
    );
    // Closed-loop requests come from their step's sequence, in order and without gaps.
    let mut closed_ids: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.phase == "closed") {
        assert_eq!(r.scheduled_ns, None);
        closed_ids
            .entry(r.step)
            .or_default()
            .insert(r.request_id % 1_000_000_000);
    }
    for (step, positions) in &closed_ids {
        let expected: BTreeSet<i64> = (0..positions.len() as i64).collect();
        assert_eq!(positions, &expected, "step {step}");
    }
    assert_eq!(closed_ids.len(), 2);

    let mut per_request: BTreeMap<i64, Vec<_>> = BTreeMap::new();
    for c in &chunk_rows {
        per_request.entry(c.request_id).or_default().push(*c);
    }
    let mut itl = Vec::new();
    let mut ttft = Vec::new();
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
        assert_eq!(r.http_status, Some(200));
        // ignore_eos: exactly the requested output, one token per chunk, counted both ways.
        assert_eq!(r.output_tokens, Some(r.output_tokens_requested));
        // The simulator counts whitespace-separated words: the synthesized prompt is exact.
        assert_eq!(r.prompt_tokens, Some(r.input_tokens));
        let cs = per_request.get(&r.request_id).expect("chunks");
        assert_eq!(cs.len() as i32, r.chunks);
        assert_eq!(
            cs.iter().map(|c| c.tokens).sum::<i32>(),
            r.output_tokens.expect("tokens")
        );
        assert!(cs
            .windows(2)
            .all(|w| w[0].seq + 1 == w[1].seq && w[0].at_ns <= w[1].at_ns));
        assert_eq!(Some(cs[0].at_ns), r.first_token_ns);
        assert_eq!(cs.last().map(|c| c.at_ns), r.last_token_ns);
        assert!(r.sent_ns <= cs[0].at_ns && r.last_token_ns <= Some(r.done_ns));
        ttft.push((r.first_token_ns.expect("first") - r.sent_ns) as f64 / 1e6);
        let n = f64::from(r.output_tokens.expect("n"));
        itl.push(
            (r.last_token_ns.expect("last") - r.first_token_ns.expect("first")) as f64
                / 1e6
                / (n - 1.0),
        );
    }
    // Every step of the simulator lasts ≥ 20 ms (it sleeps that long) plus timer slack, which
    // tokio keeps to about a millisecond; the first token needs one step (prefill), and may wait
    // for the step in progress when it arrives (≤ one more step).
    let (itl, ttft) = (median(itl), median(ttft));
    assert!((19.5..26.0).contains(&itl), "median ITL {itl} ms");
    assert!((19.5..46.0).contains(&ttft), "median TTFT {ttft} ms");

    let meta = run_json(&dir);
    assert_eq!(meta["status"], "completed");
    assert_eq!(meta["plan_hash"], schedule.hash);
    assert_eq!(meta["target"]["model"], "test-model");
    assert_eq!(meta["counts"]["requests"], rows.len());
    // No secret anywhere in the run directory.
    for f in ["run.json", "requests.parquet", "chunks.parquet"] {
        let bytes = std::fs::read(dir.join(f)).expect("file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("sk-test-secret-key"),
            "{f} holds the key"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_become_the_right_statuses_and_the_run_carries_on() {
    let faults = Faults {
        error_rate: 0.15,
        cut_rate: 0.1,
        stall_rate: 0.1,
        malformed_rate: 0.1,
        ..Faults::default()
    };
    let text = r#"workload "faults" {
  target { ignore_eos = true  timeout = 1500ms }
  requests { input = 20  output = 8 }
  phase "p" { requests = 60  concurrency = 6 }
}"#;
    let (dir, _, result) = run(
        text,
        sim(Profile::named(ProfileName::Fast), faults.clone()),
        None,
        "faults",
    )
    .await;
    assert_eq!(result.ending, Ending::Completed);
    let rows = requests(&dir);
    assert_eq!(rows.len(), 60);
    // The simulator decides each fault by arrival number, so the totals are known exactly. The
    // two chat-template probes before the run are arrivals 0 and 1.
    let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
    for n in 2..62 {
        let kind = match faults.pick(n) {
            Fault::None => "ok",
            Fault::Status(_) | Fault::Throttle(_) => "status",
            Fault::Cut => "cut",
            Fault::Stall => "stall",
            Fault::Malformed => "malformed",
        };
        *expected.entry(kind).or_insert(0) += 1;
    }
    let count = |f: &dyn Fn(&Req) -> bool| rows.iter().filter(|r| f(r)).count();
    let status = count(&|r| {
        r.status == "error"
            && matches!(r.http_status, Some(429 | 500))
            && r.error
                .as_deref()
                .is_some_and(|e| e.starts_with("HTTP 429") || e.starts_with("HTTP 500"))
    });
    let cut = count(&|r| {
        r.status == "error"
            && r.http_status == Some(200)
            && r.error
                .as_deref()
                .is_some_and(|e| e.contains("stream broken"))
    });
    let stall = count(&|r| {
        r.status == "timeout"
            && r.error
                .as_deref()
                .is_some_and(|e| e.contains("no complete response"))
    });
    let malformed = count(&|r| {
        r.status == "error"
            && r.error
                .as_deref()
                .is_some_and(|e| e.starts_with("invalid JSON in SSE data"))
    });
    let ok = count(&|r| r.status == "ok");
    assert_eq!(
        status,
        expected.get("status").copied().unwrap_or(0),
        "{:?}",
        by_status(&rows)
    );
    assert_eq!(cut, expected.get("cut").copied().unwrap_or(0));
    assert_eq!(stall, expected.get("stall").copied().unwrap_or(0));
    assert_eq!(malformed, expected.get("malformed").copied().unwrap_or(0));
    assert_eq!(ok, expected.get("ok").copied().unwrap_or(0));
    // Streams cut or stalled halfway keep the chunks that arrived.
    for r in rows.iter().filter(|r| {
        r.status == "timeout"
            || r.error
                .as_deref()
                .is_some_and(|e| e.contains("stream broken"))
    }) {
        assert!(r.chunks >= 3, "{r:?}");
        assert_eq!(r.output_tokens, Some(r.chunks));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_over_max_in_flight_are_dropped_rows() {
    let text = r#"workload "drops" {
  target { ignore_eos = true }
  requests { input = 10  output = 60 }
  phase "p" { duration = 1s  arrival = constant(rate: 50/s)  max_in_flight = 2 }
}"#;
    let (dir, schedule, _) = run(text, sim(flat(25.0), Faults::default()), None, "drops").await;
    let rows = requests(&dir);
    assert_eq!(rows.len(), schedule.requests.len());
    let s = by_status(&rows);
    // Each request takes ≥ 60 steps of 25 ms, longer than the phase: the first two arrivals are
    // sent and every later one finds two in flight.
    assert_eq!(s.get("ok").copied().unwrap_or(0), 2, "{s:?}");
    assert_eq!(s.get("dropped").copied().unwrap_or(0), 48);
    for r in rows.iter().filter(|r| r.status == "dropped") {
        assert_eq!(r.error.as_deref(), Some("max_in_flight (2) reached"));
        assert_eq!(r.chunks, 0);
        assert!(r.scheduled_ns.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_non_streaming_responses() {
    let text = r#"workload "plain" {
  target { api = completions  stream = false  ignore_eos = true }
  requests { input = 30  output = 12 }
  phase "p" { requests = 5  concurrency = 2 }
}"#;
    let (dir, _, _) = run(
        text,
        sim(Profile::named(ProfileName::Fast), Faults::default()),
        None,
        "plain",
    )
    .await;
    let rows = requests(&dir);
    assert_eq!(rows.len(), 5);
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
        assert_eq!(r.chunks, 1);
        assert_eq!(r.output_tokens, Some(12));
        assert_eq!(r.first_token_ns, r.last_token_ns);
    }
    assert_eq!(chunks(&dir).iter().map(|c| c.tokens).sum::<i32>(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_there_gives_error_rows() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener); // nothing listens there now
    let text = r#"workload "refused" {
  target { model = "m" }
  requests { input = 10  output = 5 }
  phase "p" { duration = 300ms  arrival = constant(rate: 10/s) }
}"#;
    let (dir, _, result) = run(
        text,
        sim(Profile::named(ProfileName::Fast), Faults::default()),
        Some(format!("http://127.0.0.1:{port}/v1")),
        "refused",
    )
    .await;
    assert_eq!(result.ending, Ending::Completed);
    let rows = requests(&dir);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.status, "error");
        assert_eq!(r.http_status, None);
        assert!(
            r.error
                .as_deref()
                .is_some_and(|e| e.to_lowercase().contains("connect")),
            "{r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_sweep_shows_throughput_plateau_and_queueing() {
    // The default cost model with a small batch limit (16), so saturation comes quickly.
    let profile = Profile {
        max_seqs: 16,
        ..Profile::named(ProfileName::Default)
    };
    let text = r#"workload "sweep" {
  target { ignore_eos = true }
  requests { input = 100  output = 40 }
  phase "sweep" { concurrency = steps(1, 4, 16, 48, hold: 3s) }
}"#;
    let (dir, _, _) = run(text, sim(profile, Faults::default()), None, "sweep").await;
    let rows = requests(&dir);
    let mut tps = Vec::new();
    let mut ttft = Vec::new();
    for step in 0..4 {
        let group: Vec<&Req> = rows
            .iter()
            .filter(|r| r.step == step && r.status == "ok")
            .collect();
        let tokens: i64 = group
            .iter()
            .map(|r| i64::from(r.output_tokens.unwrap_or(0)))
            .sum();
        let span = group.iter().map(|r| r.done_ns).max().unwrap_or(0)
            - group.iter().map(|r| r.sent_ns).min().unwrap_or(0);
        tps.push(tokens as f64 / (span as f64 / 1e9));
        ttft.push(median(
            group
                .iter()
                .map(|r| (r.first_token_ns.unwrap_or(0) - r.sent_ns) as f64 / 1e6)
                .collect(),
        ));
    }
    // One step costs 7 ms + 60 µs per running sequence: throughput grows almost linearly up to
    // the batch limit (ideal ratios 3.9 and 3.6), then stays flat while requests queue.
    assert!(tps[1] > 2.5 * tps[0], "{tps:?}");
    assert!(tps[2] > 2.0 * tps[1], "{tps:?}");
    assert!(
        (tps[3] / tps[2] - 1.0).abs() < 0.25,
        "beyond 16 users throughput plateaus: {tps:?}"
    );
    // 48 users for 16 slots: a request waits about two services (~0.6 s) before its prefill.
    assert!(
        ttft[3] > 5.0 * ttft[2],
        "TTFT jumps once requests queue: {ttft:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_of_a_real_run_matches_an_independent_computation_and_its_schema() {
    let text = r#"workload "xcheck" {
  seed = 2
  target { ignore_eos = true }
  requests { input = uniform(20, 400)  output = uniform(4, 24) }
  phase "open" { duration = 2s  arrival = poisson(rate: 15/s) }
  phase "closed" { duration = 2s  concurrency = steps(2, 6, hold: 1s) }
  slo { ttft.p99 < 10s  errors < 1% }
}"#;
    let (dir, _, _) = run(text, sim(flat(5.0), Faults::default()), None, "xcheck").await;
    let a = llmw::analysis::analyze(
        &llmw::analysis::load(&dir).expect("loads"),
        &Default::default(),
    )
    .expect("analyses");
    let rows = requests(&dir);
    assert_eq!(a.groups.len(), 3);
    for g in &a.groups {
        // Independently: the group's rows, TTFT median and throughput straight from the rows.
        let rows: Vec<&Req> = rows
            .iter()
            .filter(|r| r.phase == g.phase && r.step == g.step as i32)
            .collect();
        assert_eq!(g.requests.total, rows.len());
        let mut ttft: Vec<f64> = rows
            .iter()
            .map(|r| (r.first_token_ns.expect("first") - r.sent_ns) as f64 / 1e6)
            .collect();
        ttft.sort_by(f64::total_cmp);
        let pos = (ttft.len() - 1) as f64 * 0.5;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        let p50 = ttft[lo] + (ttft[hi] - ttft[lo]) * (pos - lo as f64);
        assert!((g.ttft_ms.p50.expect("p50") - p50).abs() < 1e-9);
        let tokens: i64 = rows
            .iter()
            .map(|r| i64::from(r.output_tokens.unwrap_or(0)))
            .sum();
        let span = rows.iter().map(|r| r.done_ns).max().unwrap_or(0)
            - rows.iter().map(|r| r.sent_ns).min().unwrap_or(0);
        assert!((g.tps.expect("tps") - tokens as f64 / (span as f64 / 1e9)).abs() < 1e-6);
    }
    // The steps of the closed phase carry their concurrency, the open phase its rate.
    assert_eq!(a.groups[0].load, llmw::analysis::groups::Load::Rate(15.0));
    assert_eq!(
        a.groups[2].load,
        llmw::analysis::groups::Load::Concurrency(6.0)
    );
    let slo = a.slo.as_ref().expect("slo");
    assert!(slo.iter().all(|o| o.pass), "{slo:?}");

    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/analysis.schema.json").expect("schema"),
    )
    .expect("json");
    let output = serde_json::to_value(&a).expect("serializes");
    let errors = common::schema::validate(&schema, &output);
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema checker itself rejects what it should.
    let mut broken = output.clone();
    broken["groups"][0]["ttft_ms"]["p50"] = serde_json::json!("fast");
    assert!(!common::schema::validate(&schema, &broken).is_empty());

    // run.json against its published schema: every key the engine writes is in it, and the
    // typed reader accepts it.
    let run_schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/run.schema.json").expect("schema"))
            .expect("json");
    let manifest = run_json(&dir);
    let errors = common::schema::validate(&run_schema, &manifest);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(manifest["slo"][1]["metric"], "errors");
    let typed = llmw::rundir::manifest::Manifest::read(&dir).expect("reads");
    assert_eq!(typed.schema_version, llmw::rundir::manifest::SCHEMA_VERSION);
    let mut extra = manifest.clone();
    extra["surprise"] = serde_json::json!(1);
    assert!(!common::schema::validate(&run_schema, &extra).is_empty());
    let mut wrong = manifest.clone();
    wrong["status"] = serde_json::json!("exploded");
    assert!(!common::schema::validate(&run_schema, &wrong).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_limit_ends_a_timed_phase_early() {
    let text = r#"workload "limit" {
  target { ignore_eos = true }
  requests { input = 10  output = 5 }
  phase "a" { duration = 30s  requests = 12  concurrency = 3 }
  phase "b" { duration = 200ms  arrival = constant(rate: 10/s) }
}"#;
    let (dir, _, result) = run(
        text,
        sim(Profile::named(ProfileName::Fast), Faults::default()),
        None,
        "limit",
    )
    .await;
    assert_eq!(result.ending, Ending::Completed);
    let rows = requests(&dir);
    assert_eq!(rows.iter().filter(|r| r.phase == "a").count(), 12);
    assert_eq!(rows.iter().filter(|r| r.phase == "b").count(), 2);
    // Phase a ended when its 12 requests were answered, far before its 30 s; b followed at once.
    let meta = run_json(&dir);
    let a_end = meta["phases"][0]["end_ns"].as_i64().expect("end");
    let b_start = meta["phases"][1]["start_ns"].as_i64().expect("start");
    assert!(a_end < 5_000_000_000, "phase a ended at {a_end} ns");
    assert!(b_start >= a_end && b_start - a_end < 100_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_limit_with_think_times_sends_exactly_that_many() {
    // Users thinking when another reaches the limit still send the request they claimed.
    let text = r#"workload "think-limit" {
  target { ignore_eos = true }
  requests { input = 10  output = 2 }
  phase "p" { requests = 60  concurrency = 3  think = uniform(20ms, 40ms) }
}"#;
    let (dir, _, result) = run(
        text,
        sim(Profile::named(ProfileName::Fast), Faults::default()),
        None,
        "think-limit",
    )
    .await;
    assert_eq!(result.ending, Ending::Completed);
    let rows = requests(&dir);
    assert_eq!(rows.len(), 60, "{:?}", by_status(&rows));
    assert!(rows.iter().all(|r| r.status == "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_that_ends_while_users_think_ends_the_run_at_once() {
    // The users are asleep in a 20 s think when the 1 s phase ends; the run must not wait for
    // them (they hold the writer's sender), and must end completed.
    let text = r#"workload "thinkers" {
  target { ignore_eos = true }
  requests { input = 10  output = 2 }
  phase "p" { duration = 1s  concurrency = 2  think = 20s }
}"#;
    let began = std::time::Instant::now();
    let (dir, _, result) = run(
        text,
        sim(Profile::named(ProfileName::Fast), Faults::default()),
        None,
        "thinkers",
    )
    .await;
    assert_eq!(result.ending, Ending::Completed, "{:?}", result.error);
    assert!(
        began.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(
        requests(&dir).len(),
        2,
        "each user's first request, then the think"
    );
    assert!(
        dir.join("requests.parquet").exists(),
        "a completed run's parts are merged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_says_which_changes_are_beyond_the_noise() {
    // One plan against a simulator whose steps take 5 ms, and against one whose take 15 ms:
    // ITL triples, far outside its intervals. (Two runs against one server may differ by more
    // than one run's sampling noise — the intervals say how sure one run is — so the "same"
    // case is a run against itself.)
    let text = "workload \"ci\" {\n  seed = 1\n  target { ignore_eos = true }\n  requests { input = 64  output = 12 }\n  phase \"p\" { concurrency = 4  requests = 200 }\n}\n";
    let analyse = |dir: &std::path::Path| {
        let run = llmw::load_run(dir).expect("loads");
        llmw::analyze(&run, &Default::default()).expect("analyses")
    };
    let (a, _, _) = run(text, sim(flat(5.0), Faults::default()), None, "ci-fast").await;
    let (c, _, _) = run(text, sim(flat(15.0), Faults::default()), None, "ci-slow").await;
    let (a, c) = (analyse(&a), analyse(&c));
    let g = &a.groups[0];
    let [lo, hi] = g.ttft_ms.p50_ci95.expect("200 samples give a p50 interval");
    assert!(lo <= g.ttft_ms.p50.unwrap_or(0.0) && g.ttft_ms.p50.unwrap_or(0.0) <= hi);
    assert_eq!(
        g.ttft_ms.p99_ci95, None,
        "200 samples are too few for a p99 interval"
    );
    let [lo, hi] = g.tps_ci95.expect("a throughput interval");
    // Centred on the throughput; a width of zero is possible (a steady server can finish the
    // same number of requests in every tenth of the span).
    let tps = g.tps.unwrap_or(0.0);
    assert!(lo <= tps && tps <= hi && (hi + lo - 2.0 * tps).abs() < 1e-6 * tps);
    let verdict = |x: &llmw::Analysis, y: &llmw::Analysis, metric: &str| {
        let cmp = llmw::analysis::compare(vec![x.clone(), y.clone()], false).expect("same plan");
        cmp.deltas
            .iter()
            .find(|d| d.metric == metric)
            .and_then(|d| d.beyond_noise)
    };
    assert_eq!(verdict(&a, &c, "itl_p50_ms"), Some(true));
    assert_eq!(verdict(&a, &c, "tps"), Some(true));
    assert_eq!(
        verdict(&a, &a, "itl_p50_ms"),
        Some(false),
        "a run against itself"
    );
    assert_eq!(
        verdict(&a, &c, "ttft_p99_ms"),
        None,
        "no p99 interval to judge by"
    );
}

/// A chunk that waits in the socket while the client is busy is stamped when it arrived (the
/// kernel's receive stamp, `llmw::arrival`), not when the client got round to reading it: a
/// server writes the first token, and later the stream's end, each while the client's only
/// thread is blocked for 500 ms.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn a_chunk_is_stamped_when_it_arrived_not_when_a_busy_client_read_it() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    fn unix_now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as i64
    }
    const BLOCK: Duration = Duration::from_millis(500);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    // The server asks for a block, waits 100 ms into it and writes; it says when it wrote.
    let (block_tx, mut block_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let written = Arc::new(Mutex::new(Vec::<i64>::new()));
    let wrote = written.clone();
    // The server runs on threads of its own, so that blocking the client does not block it.
    // It answers a streamed request with a scripted stream, anything else (llmw's probe of the
    // chat template) with a 404.
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let (block, wrote) = (block_tx.clone(), wrote.clone());
            std::thread::spawn(move || loop {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.ends_with(b"}") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                if !String::from_utf8_lossy(&req).contains(r#""stream":true"#) {
                    let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
                    continue;
                }
                let event = |json: &str| {
                    let data = format!("data: {json}\n\n");
                    format!("{:x}\r\n{data}\r\n", data.len())
                };
                let parts = [
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{}",
                        event(r#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#)
                    ),
                    format!(
                        "{}e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n",
                        event(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
                    ),
                ];
                for part in parts {
                    let _ = block.send(());
                    std::thread::sleep(Duration::from_millis(100));
                    let at = unix_now();
                    if s.write_all(part.as_bytes()).is_err() {
                        return;
                    }
                    wrote.lock().expect("written").push(at);
                    // The client's block ends, and it reads, before the next part.
                    std::thread::sleep(BLOCK + Duration::from_millis(200));
                }
            });
        }
    });
    let blocked = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    let spans = blocked.clone();
    let blocker = tokio::spawn(async move {
        while block_rx.recv().await.is_some() {
            let from = unix_now();
            std::thread::sleep(BLOCK);
            spans.lock().expect("blocked").push((from, unix_now()));
        }
    });
    let text = r#"workload "busy" {
  target { model = "m"  timeout = 10s }
  requests { input = 5  output = 2 }
  phase "p" { requests = 1  concurrency = 1 }
}"#;
    let p = common::runs::prepare(text, "arrival", url, llmw::engine::Metrics::Off);
    let dir = p.dir.clone();
    engine::run(p.schedule, p.options).await.expect("run");
    blocker.abort();
    let (written, blocked) = (
        written.lock().expect("written").clone(),
        blocked.lock().expect("blocked").clone(),
    );
    assert_eq!(written.len(), 2, "both parts written");
    assert_eq!(blocked.len(), 2, "the client was blocked twice");
    // Each part was written while the client was blocked, at least 300 ms before it could read.
    for (w, (from, to)) in written.iter().zip(&blocked) {
        assert!(
            *from <= *w && *w + 300_000_000 <= *to,
            "{w} not inside {from}..{to}"
        );
    }
    let rows = requests(&dir);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "ok", "{:?}", rows[0]);
    let started = run_json(&dir)["started_unix_ns"]
        .as_i64()
        .expect("started_unix_ns");
    // Stamped within a few ms of each write (the run clock and the wall clock agree to well
    // under that over a second); read at the block's end, 300 ms or more after.
    let first = started + rows[0].first_token_ns.expect("a first token");
    let done = started + rows[0].done_ns;
    for (what, at, w) in [
        ("first token", first, written[0]),
        ("end", done, written[1]),
    ] {
        let late_ms = (at - w) as f64 / 1e6;
        assert!(
            (-5.0..100.0).contains(&late_ms),
            "{what} stamped {late_ms:.1} ms after the server wrote it (the client read it 300+ ms after)"
        );
    }
}

/// The simulator's own timings and llmw's traces share the host's wall clock: a request reaches
/// the simulator's socket after llmw sent it and before the simulator takes it, and llmw stamps
/// the first token after the simulator handed it over and (being idle) within milliseconds —
/// the split `benches/engine/stats.py` makes of the client's overhead.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_arrival_stamps_split_a_request_into_client_and_server_time() {
    let text = r#"workload "split" {
  seed = 3
  target { ignore_eos = true  timeout = 30s }
  requests { input = 20  output = 4 }
  phase "p" { requests = 12  concurrency = 3 }
}"#;
    let config = SimConfig {
        record_timings: true,
        ..sim(flat(10.0), Faults::default())
    };
    let server = common::runs::simulator(config).await;
    // Linux turns stamping on for the host in a work item of its own when the first socket asks
    // (`llmw::arrival`): ask with one socket kept open for the test, and give it time to run.
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let _stamping = llmw::arrival::Socket::new(tcp).expect("socket");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let p = common::runs::prepare(text, "split", server.url(), Default::default());
    let dir = p.dir.clone();
    engine::run(p.schedule, p.options).await.expect("run");
    let started = run_json(&dir)["started_unix_ns"]
        .as_i64()
        .expect("started_unix_ns") as f64;
    let timings: BTreeMap<u64, llmw::sim::Timing> = server
        .timings()
        .into_iter()
        .filter_map(|t| Some((t.plan_id?, t)))
        .collect();
    let rows = requests(&dir);
    assert_eq!(rows.len(), 12);
    // Clock reads on either side and the two clocks' mapping: a few ms of slack.
    let slack = 3e6;
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
        let t = &timings[&(r.request_id as u64)];
        let arrived = t.arrived_unix_ns.expect("the kernel stamped the request") as f64;
        let (received, handed) = (t.received_unix_ns as f64, t.first_token_unix_ns as f64);
        let sent = started + r.sent_ns as f64;
        let first = started + r.first_token_ns.expect("first token") as f64;
        assert!(
            arrived + slack >= sent,
            "arrived before it was sent: {r:?} {t:?}"
        );
        assert!(
            arrived <= received + slack,
            "taken before it arrived: {t:?}"
        );
        assert!(
            first + slack >= handed,
            "stamped before it was handed over: {r:?} {t:?}"
        );
        assert!(
            first <= handed + 50e6,
            "stamped 50 ms after the hand-off: {r:?} {t:?}"
        );
    }
}
