//! One workload on many machines: the shards of every example partition its plan exactly, three
//! shards run at once with one `--start-at` and analysed together match the unsharded run, and
//! merged shard directories give exactly the analysis of the same rows in one directory.

mod common;

use std::path::{Path, PathBuf};

use llmw::analysis::{self, Options};
use llmw::engine::writer::{Msg, TraceWriter};
use llmw::rundir::record::{ChunkRow, RequestRow, Status};
use llmw::schedule::{LoopKind, PlannedRequest, Shard};
use llmw::sim::{Profile, ProfileName, SimConfig};
use llmw::Schedule;
use serde_json::{json, Value};

fn plan_file(path: &Path) -> Schedule {
    let (_, resolved) = llmw::load_file(path, &llmw::Overrides::default());
    let resolved = resolved.unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    llmw::compile(&resolved).expect("compiles")
}

fn units(requests: &[PlannedRequest]) -> Vec<Vec<PlannedRequest>> {
    llmw::schedule::units(requests).map(<[_]>::to_vec).collect()
}

/// Every shard count from 1 to 8: the shards hold the plan's units exactly, unit k in shard
/// k mod N in order, and carry an equal share of every stretch of the plan.
#[test]
fn the_shards_of_every_example_partition_its_plan() {
    let files = common::examples();
    assert!(files.len() >= 6);
    for path in &files {
        let whole = plan_file(path);
        for n in 1..=8u32 {
            let parts: Vec<Schedule> = (0..n)
                .map(|i| whole.clone().shard(Shard { index: i, count: n }))
                .collect();
            let name = format!("{} in {n}", path.display());
            for (p, phase) in whole.phases.iter().enumerate() {
                assert!(parts.iter().all(|s| s.hash == whole.hash), "{name}: hash");
                match phase.kind {
                    LoopKind::Open => {
                        let all = units(whole.phase_requests(phase));
                        let shares: Vec<Vec<Vec<PlannedRequest>>> = parts
                            .iter()
                            .map(|s| units(s.phase_requests(&s.phases[p])))
                            .collect();
                        assert_eq!(
                            shares.iter().map(Vec::len).sum::<usize>(),
                            all.len(),
                            "{name}: units of phase {p}"
                        );
                        for (k, unit) in all.iter().enumerate() {
                            let part = &shares[k % n as usize];
                            assert_eq!(&part[k / n as usize], unit, "{name}: unit {k}");
                        }
                        // Any 10·N consecutive units: each shard holds 10 (± 1 at the edges).
                        let owner: std::collections::HashMap<u64, usize> = shares
                            .iter()
                            .enumerate()
                            .flat_map(|(i, units)| units.iter().map(move |u| (u[0].id, i)))
                            .collect();
                        let width = 10 * n as usize;
                        for window in all.windows(width).step_by(7) {
                            let mut held = vec![0; n as usize];
                            window.iter().for_each(|u| held[owner[&u[0].id]] += 1);
                            assert!(
                                held.iter().all(|h| (9..=11).contains(h)),
                                "{name}: {held:?} in a window"
                            );
                        }
                    }
                    LoopKind::Closed => {
                        for (c, at) in phase.users.iter().enumerate() {
                            let sum: u32 = parts.iter().map(|s| s.phases[p].users[c].users).sum();
                            assert_eq!(sum, at.users, "{name}: users");
                        }
                        if let Some(m) = phase.max_requests {
                            let sum: u64 =
                                parts.iter().filter_map(|s| s.phases[p].max_requests).sum();
                            assert_eq!(sum, m, "{name}: requests limit");
                        }
                        for step in &phase.steps {
                            // Unit k is user (k mod U)'s, and user u runs in part u mod N.
                            let peak = phase
                                .users
                                .iter()
                                .filter(|u| u.step == step.index)
                                .map(|u| u.users)
                                .max()
                                .unwrap_or(0);
                            let all = units(&whole.closed_sequence(p as u32, step.index, 400));
                            let all = &all[..all.len() - 1]; // the last may be cut
                            for (i, part) in parts.iter().enumerate() {
                                let expect: Vec<&Vec<PlannedRequest>> = all
                                    .iter()
                                    .enumerate()
                                    .filter(|(k, _)| {
                                        (*k as u64 % u64::from(peak.max(1))) % u64::from(n)
                                            == i as u64
                                    })
                                    .map(|(_, u)| u)
                                    .collect();
                                let got = units(&part.closed_sequence(p as u32, step.index, 400));
                                let users = u64::from(peak) / u64::from(n)
                                    + u64::from(u64::from(peak) % u64::from(n) > i as u64);
                                if users == 0 {
                                    assert!(got.is_empty(), "{name}: part {i} has no users");
                                    continue;
                                }
                                let common = expect.len().min(got.len().saturating_sub(1));
                                assert!(common > 0 || expect.is_empty(), "{name}: part {i}");
                                for k in 0..common {
                                    assert_eq!(&got[k], expect[k], "{name}: part {i} unit {k}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_shard_is_named_i_of_n() {
    assert!(Shard::parse("3/3").is_err());
    assert!(Shard::parse("0/0").is_err());
    assert_eq!(
        Shard::parse(" 1/4 ").map(|s| s.to_string()),
        Ok("1/4".into())
    );
}

/// Every step takes exactly `step_ms`: latencies do not depend on who sent what.
fn flat(step_ms: f64) -> SimConfig {
    SimConfig {
        model: "test-model".into(),
        profile: Profile {
            step_base_us: step_ms * 1000.0,
            per_seq_us: 0.0,
            per_prefill_token_us: 0.0,
            per_kv_token_ns: 0.0,
            ..Profile::named(ProfileName::Default)
        },
        ..SimConfig::default()
    }
}

const FLEET: &str = r#"workload "fleet" {
  seed = 5
  target { ignore_eos = true  timeout = 20s }
  requests { input = uniform(20, 60)  output = uniform(4, 12) }
  # No duration: the phase lasts until its conversations end, so every planned turn is sent
  # however fast the server answers.
  phase "open" {
    requests = 90
    arrival = poisson(rate: 30/s)
    session "chat" weight 0.3 { turns = 3  input = 20  output = 6  think = 20ms }
  }
  # Single requests: which `requests = N` are sent is then the plan's, not the run's.
  phase "closed" { concurrency = 6  requests = 90 }
}
"#;

fn options(
    dir: &Path,
    target: &str,
    start_at: Option<std::time::SystemTime>,
) -> llmw::engine::RunOptions {
    llmw::engine::RunOptions {
        secret_headers: Vec::new(),
        out: Some(dir.to_path_buf()),
        targets: vec![target.to_string()],
        api_key: None,
        anthropic_key: None,
        ca_cert: None,
        progress: false,
        provenance: Default::default(),
        metrics: llmw::engine::Metrics::Off,
        stopper: llmw::engine::Stopper::new(),
        start_at,
        judge: None,
        levels: None,
        warn: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_at_one_start_time_analyse_as_the_unsharded_run() {
    let server = common::runs::simulator(flat(5.0)).await;
    let whole = common::plan(FLEET);
    let base = common::runs::temp_dir("fleet");
    let single = base.join("single");
    llmw::engine::run(
        std::sync::Arc::new(whole.clone()),
        options(&single, &server.url(), None),
    )
    .await
    .expect("runs");

    let start = std::time::SystemTime::now() + std::time::Duration::from_millis(1500);
    let dirs: Vec<PathBuf> = (0..3).map(|i| base.join(format!("shard{i}"))).collect();
    let runs = (0..3u32).map(|i| {
        let part = std::sync::Arc::new(whole.clone().shard(Shard { index: i, count: 3 }));
        llmw::engine::run(part, options(&dirs[i as usize], &server.url(), Some(start)))
    });
    for r in futures_util::future::join_all(runs).await {
        assert_eq!(r.expect("runs").ending, llmw::engine::Ending::Completed);
    }
    for (i, d) in dirs.iter().enumerate() {
        let m = common::runs::run_json(d);
        assert_eq!(m["shard"], json!({"index": i, "count": 3}));
        assert_eq!(m["plan_hash"], json!(whole.hash));
        assert_eq!(
            m["start_at"]["requested"],
            json!(llmw::engine::rfc3339(start))
        );
        assert_eq!(m["start_at"]["requested"], m["started_at"]);
        assert!(m["start_at"]["late_ms"]
            .as_f64()
            .is_some_and(|l| (0.0..500.0).contains(&l)));
        assert!(m["host_clock"].is_object());
    }
    // Every planned request once, with the plan's ids.
    let mut ids: Vec<u64> = dirs
        .iter()
        .flat_map(|d| common::runs::requests(d))
        .map(|r| r.request_id as u64)
        .collect();
    let mut planned: Vec<u64> = common::runs::requests(&single)
        .iter()
        .map(|r| r.request_id as u64)
        .collect();
    ids.sort_unstable();
    planned.sort_unstable();
    assert_eq!(ids, planned);

    let merged = analysis::analyze_dirs(&dirs, &Options::default()).expect("merges");
    assert_eq!(merged.len(), 1, "one run of three shards");
    let (m, s) = (
        &merged[0],
        &analysis::analyze_dirs(&[&single], &Options::default()).expect("analyses")[0],
    );
    assert_eq!(
        m.shards.as_ref().map(|x| x.present.clone()),
        Some(vec![0, 1, 2])
    );
    assert_eq!(m.groups.len(), s.groups.len());
    for (a, b) in m.groups.iter().zip(&s.groups) {
        assert_eq!(
            a.requests, b.requests,
            "{} step {}: counts",
            a.phase, a.step
        );
        assert_eq!(a.ttft_ms.count, b.ttft_ms.count);
        assert_eq!(a.chunk_gap_ms.count, b.chunk_gap_ms.count);
        // The sharded and the whole run ran one after the other, so their latencies agree only
        // as far as the machine let the simulator keep its 5 ms step: one step is the timing
        // noise of a first token and gaps are whole steps on a quiet machine, and on a busy one
        // every step stretches by the CPU it did not get (seen: ITL p50 7.7 vs 6.3 ms with both
        // cores busy), so a third of the value is allowed too. Per-request latencies do not
        // depend on the shards' time offsets; what a wrong merge would break (counts, ids) is
        // checked exactly above.
        let near = |x: Option<f64>, y: Option<f64>, tol: f64, what: &str| {
            let (x, y) = (x.expect(what), y.expect(what));
            let tol = tol.max(x.max(y) / 3.0);
            assert!((x - y).abs() <= tol, "{} {what}: {x} vs {y}", a.phase);
        };
        near(a.ttft_ms.p50, b.ttft_ms.p50, 6.0, "ttft p50");
        near(a.itl_ms.p50, b.itl_ms.p50, 1.0, "itl p50");
        near(a.chunk_gap_ms.p50, b.chunk_gap_ms.p50, 1.0, "gap p50");
    }
    // The shards of one plan need each other.
    let err = analysis::analyze_dirs(&dirs[..2], &Options::default()).expect_err("shard 2 missing");
    assert!(
        err.to_string().contains("shard 2/3") && err.to_string().contains("--partial"),
        "{err}"
    );
    let partial = analysis::analyze_dirs(
        &dirs[..2],
        &Options {
            partial: true,
            ..Default::default()
        },
    )
    .expect("a partial set when asked");
    assert_eq!(
        partial[0].shards.as_ref().map(|x| x.missing.clone()),
        Some(vec![2])
    );
    assert!(analysis::text::analysis(&partial[0]).contains("PARTIAL"));
    let twice = [
        dirs[0].clone(),
        dirs[1].clone(),
        dirs[1].clone(),
        dirs[2].clone(),
    ];
    let err = analysis::analyze_dirs(&twice, &Options::default()).expect_err("duplicated");
    assert!(
        err.to_string().contains("shard 1/3 is given twice"),
        "{err}"
    );
    // A sharded fleet beside a single run is a comparison of the two.
    let both = analysis::analyze_dirs(
        &[&dirs[0], &single, &dirs[1], &dirs[2]],
        &Options::default(),
    )
    .expect("two runs");
    assert_eq!(both.len(), 2);
}

const MS: u64 = 1_000_000;

/// A run's rows, made up: `n` requests in two steps, a few failed, chunk timings from an LCG.
fn rows(n: u64) -> Vec<(RequestRow, Vec<ChunkRow>)> {
    let mut x = 7u64;
    let mut next = move |m: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    };
    (0..n)
        .map(|id| {
            let step = (id * 2 / n) as u32;
            let sent = u64::from(step) * 1000 * MS + 50 * MS + next(850) * MS;
            let first = sent + 20 * MS + next(80) * MS;
            let k = 1 + next(12) as u32;
            let chunks: Vec<ChunkRow> = (0..k)
                .map(|s| ChunkRow {
                    request_id: id,
                    seq: s,
                    at_ns: first + u64::from(s) * (8 * MS + next(3 * MS)),
                    tokens: 1,
                    bytes: 3,
                    reasoning: false,
                })
                .collect();
            let last = chunks.last().map_or(first, |c| c.at_ns);
            let status = if next(25) == 0 {
                Status::Error
            } else {
                Status::Ok
            };
            let row = RequestRow {
                scheduled_ns: Some(sent),
                input_tokens: 50,
                output_tokens_requested: k,
                prompt_tokens: Some(50),
                chunks: k,
                http_status: Some(200),
                ..common::runs::request_row(
                    id,
                    step,
                    status,
                    (sent, Some(first), Some(last), last + MS),
                    Some(k),
                )
            };
            (row, chunks)
        })
        .collect()
}

/// Writes `rows` (times moved `shift_ns` earlier) as a run directory whose time 0 is
/// `started_unix_ns`.
fn write(
    dir: &Path,
    rows: &[(RequestRow, Vec<ChunkRow>)],
    shard: Value,
    started_unix_ns: i64,
    shift_ns: u64,
) {
    std::fs::create_dir_all(dir).expect("dir");
    let w = TraceWriter::create(dir, vec!["p".into()], vec!["default".into()]).expect("writer");
    for (r, c) in rows {
        let move_ = |t: u64| t - shift_ns;
        let r = RequestRow {
            scheduled_ns: r.scheduled_ns.map(move_),
            sent_ns: move_(r.sent_ns),
            first_token_ns: r.first_token_ns.map(move_),
            last_token_ns: r.last_token_ns.map(move_),
            done_ns: move_(r.done_ns),
            ..r.clone()
        };
        let c = c
            .iter()
            .map(|c| ChunkRow {
                at_ns: move_(c.at_ns),
                ..*c
            })
            .collect();
        w.tx.send(Msg::Request(r, c)).expect("send");
    }
    w.finish(true).expect("closed");
    let shift = shift_ns as i64;
    let meta = common::runs::manifest(json!({
        "plan_hash": "one-plan", "shard": shard, "started_unix_ns": started_unix_ns,
        "phases": [{"name": "p", "measure": true, "loop": "open", "start_ns": 0, "end_ns": 2_000_000_000i64 - shift,
                    "steps": [{"step": 0, "start_ns": 0, "end_ns": 1_000_000_000u64, "level": 10.0},
                              {"step": 1, "start_ns": 1_000_000_000u64, "end_ns": 2_000_000_000u64, "level": 20.0}]}],
    }));
    std::fs::write(dir.join("run.json"), meta.to_string()).expect("run.json");
}

/// `a` and `b` equal, numbers to 1e-9 relative (sums taken in another order).
fn same(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: length");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}: keys"
            );
            for (k, v) in x {
                same(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn merged_shards_give_exactly_the_analysis_of_their_rows_together() {
    let base = common::runs::temp_dir("merge-exact");
    let all = rows(600);
    let t0 = 1_795_000_000_000_000_000i64;
    write(&base.join("one"), &all, Value::Null, t0, 0);
    // Shard 1 started 40 ms late by its wall clock: its times are 40 ms smaller, and the
    // merge puts them back.
    for i in 0..3u64 {
        let part: Vec<_> = all
            .iter()
            .filter(|(r, _)| r.request_id % 3 == i)
            .cloned()
            .collect();
        let late = if i == 1 { 40 * MS } else { 0 };
        write(
            &base.join(format!("s{i}")),
            &part,
            json!({"index": i, "count": 3}),
            t0 + late as i64,
            late,
        );
    }
    let analyse = |dirs: &[PathBuf]| {
        let mut v = serde_json::to_value(
            &analysis::analyze_dirs(dirs, &Options::default()).expect("analyses")[0],
        )
        .expect("json");
        let map = v.as_object_mut().expect("object");
        map.remove("run");
        map.remove("shards");
        v
    };
    let shards: Vec<PathBuf> = (0..3).map(|i| base.join(format!("s{i}"))).collect();
    let merged = analyse(&shards);
    same(&merged, &analyse(&[base.join("one")]), "analysis");
    assert!(merged["groups"][0]["chunk_gap_ms"]["count"]
        .as_u64()
        .is_some_and(|n| n > 1000));
    let text = analysis::text::analysis(
        &analysis::analyze_dirs(&shards, &Options::default()).expect("analyses")[0],
    );
    assert!(
        text.contains("all 3 shards") && text.contains("40.000 ms apart"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_with_none_of_a_phases_users_ends_it_at_once() {
    // 2 users in 3 parts: part 2 has none, and the phase has no duration to wait out.
    let text = "workload \"few\" {\n  seed = 1\n  target { ignore_eos = true }\n  requests { input = 10  output = 3 }\n  phase \"p\" { concurrency = 2  requests = 10 }\n}\n";
    let server = common::runs::simulator(flat(2.0)).await;
    let whole = common::plan(text);
    let base = common::runs::temp_dir("few-users");
    let mut rows = 0;
    for i in 0..3u32 {
        let part = std::sync::Arc::new(whole.clone().shard(Shard { index: i, count: 3 }));
        let dir = base.join(format!("s{i}"));
        let run = llmw::engine::run(part, options(&dir, &server.url(), None));
        let done = tokio::time::timeout(std::time::Duration::from_secs(30), run)
            .await
            .expect("ends")
            .expect("runs");
        assert_eq!(done.ending, llmw::engine::Ending::Completed);
        let n = common::runs::requests(&dir).len();
        assert_eq!(n, [5, 5, 0][i as usize], "part {i}");
        rows += n;
    }
    assert_eq!(rows, 10);
}

#[test]
fn start_times_and_shards_are_checked_on_the_command_line() {
    let llmw = env!("CARGO_BIN_EXE_llmw");
    for (flag, bad) in [
        ("--start-at", "€€a"),
        ("--start-at", "2026-12-01T10:00:00"),
        ("--start-at", "tomorrow"),
        ("--shard", "4/4"),
    ] {
        let out = std::process::Command::new(llmw)
            .args(["run", "workloads/quickstart.llmw", flag, bad])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && !err.contains("panicked"), "{err}");
    }
}
