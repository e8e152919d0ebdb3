//! Failure pacing in closed loops (`on_error { backoff }`, src/engine/pace.rs): a user whose
//! request failed waits before its next one, so a dead or refusing server is not flooded.
//! Every bound here follows from the backoff's arithmetic: with the default (100 ms doubling,
//! half of each pause drawn), the k-th retry of a user starts no sooner than
//! 50 ms · (2^k − 1) after its first request.

mod common;

use common::runs::{prepare, requests, run_json, simulator, Req};
use llmw::engine::{self, Ending, Metrics};
use llmw::sim::{Faults, SimConfig};

/// A port on this machine where nothing listens.
fn refused_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

async fn run(
    url: String,
    text: &str,
    name: &str,
) -> (Ending, Option<String>, Vec<Req>, std::path::PathBuf) {
    let p = prepare(text, name, url, Metrics::Off);
    let dir = p.dir.clone();
    let r = engine::run(p.schedule, p.options).await.expect("the run");
    let rows = requests(&dir);
    (r.ending, r.error, rows, dir)
}

/// 32 users against a refused port for 4 s, never aborting: each user's k-th retry starts no
/// sooner than 50 ms · (2^k − 1), so within 4 s a user sends at most 7 requests (k ≤ 6), not
/// the 60,000 a second an unpaced loop sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_back_off_from_a_refused_port() {
    let text = r#"workload "refused" {
  target { api = completions  model = "m" }
  requests { input = 5  output = 2 }
  phase "p" { duration = 4s  concurrency = 32 }
  abort = off
}"#;
    let (ending, _, rows, dir) = run(refused_port(), text, "pacing-refused").await;
    assert_eq!(ending, Ending::Completed);
    assert!(rows.len() >= 32, "every user tried: {}", rows.len());
    assert!(rows.len() <= 32 * 7, "{} rows in 4 s", rows.len());
    for r in &rows {
        assert_eq!(r.status, "error", "{r:?}");
        let b = r
            .backoff_ns
            .expect("a failed request is followed by a pause");
        assert!((50_000_000..=10_000_000_000).contains(&b), "{r:?}");
    }
    let meta = run_json(&dir);
    assert_eq!(meta["on_error"]["backoff"]["from_ns"], 100_000_000);
    assert_eq!(meta["on_error"]["backoff"]["jitter"], true);
    // The analysis says the load was lower than written.
    let run = llmw::load_run(&dir).expect("load");
    let a = llmw::analyze(&run, &Default::default()).expect("analyze");
    let g = &a.groups[0];
    assert_eq!(g.backoff.pauses, rows.len());
    let total: f64 = rows
        .iter()
        .map(|r| r.backoff_ns.unwrap_or(0) as f64 / 1e9)
        .sum();
    assert!(
        (g.backoff.total_s - total).abs() < 1e-6,
        "{} vs {total}",
        g.backoff.total_s
    );
}

/// The default abort rule still ends such a run, after its 10 s window, with the reason; and
/// the rows stay far below the 5,000 of the issue's bound (32 users, at most 9 requests each
/// in 11 s by the arithmetic above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_is_aborted_with_few_rows() {
    let text = r#"workload "refused" {
  target { api = completions  model = "m" }
  requests { input = 5  output = 2 }
  phase "p" { duration = 60s  concurrency = 32 }
}"#;
    let (ending, error, rows, _) = run(refused_port(), text, "pacing-abort").await;
    assert_eq!(ending, Ending::Failed);
    let error = error.expect("a reason");
    assert!(error.contains("aborted"), "{error}");
    assert!(error.contains("cannot connect"), "{error}");
    assert!(rows.len() <= 32 * 9, "{} rows", rows.len());
}

/// A closed phase with a request budget ends when the budget is spent, even while its users
/// are pausing: 4 users, 8 requests, each failure followed by a pause of 4 s then 8 s (no
/// jitter). The eight requests are sent within the first two rounds (0 s and 4 s); the users
/// pausing after that have nothing left to claim, so the phase ends by ≈ 4 s plus the cost of
/// a refused connect, not at 12 s when the last pause would run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_ends_the_phase_during_a_pause() {
    let text = r#"workload "spent" {
  target { api = completions  model = "m" }
  requests { input = 5  output = 2 }
  phase "p" { requests = 8  concurrency = 4 }
  on_error { backoff = exponential(from: 4s, to: 8s)  jitter = false }
  abort = off
}"#;
    let started = std::time::Instant::now();
    let (ending, _, rows, _) = run(refused_port(), text, "pacing-spent").await;
    let took = started.elapsed();
    assert_eq!(ending, Ending::Completed);
    assert_eq!(rows.len(), 8, "{rows:?}");
    for r in &rows {
        assert_eq!(r.status, "error", "{r:?}");
        assert_eq!(r.error_kind.as_deref(), Some("connect"), "{r:?}");
    }
    // Without the fix the last users wake at 12 s; 9 s leaves 5 s for a busy machine.
    assert!(took < std::time::Duration::from_secs(9), "took {took:?}");
}

fn throttled(retry_after_s: u32) -> SimConfig {
    SimConfig {
        faults: Faults {
            throttle_rate: 1.0,
            retry_after_s,
            ..Faults::default()
        },
        ..SimConfig::default()
    }
}

/// A gateway that answers 429 with `Retry-After: 1`: the user's next request goes out at
/// least a second after each answer, whatever its own backoff says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let sim = simulator(throttled(1)).await;
    let text = r#"workload "throttled" {
  target { api = completions  model = "m" }
  requests { input = 5  output = 2 }
  phase "p" { duration = 3500ms  concurrency = 1 }
  abort = off
}"#;
    let (_, _, mut rows, _) = run(sim.url(), text, "pacing-retry-after").await;
    rows.sort_by_key(|r| r.sent_ns);
    assert!((3..=5).contains(&rows.len()), "{} rows", rows.len());
    for pair in rows.windows(2) {
        assert_eq!(pair[0].http_status, Some(429));
        let gap = pair[1].sent_ns - pair[0].done_ns;
        assert!(gap >= 1_000_000_000, "{gap} ns after a Retry-After: 1");
    }
    // Four users: each sends at most once a second.
    let text = text.replace("concurrency = 1", "concurrency = 4");
    let (_, _, rows, _) = run(sim.url(), &text, "pacing-retry-after-4").await;
    assert!(rows.len() <= 4 * 4, "{} rows", rows.len());
}

/// `backoff = none` opts out: the user sends again as soon as an answer fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_none_sends_again_at_once() {
    let sim = simulator(throttled(1)).await;
    let text = r#"workload "unpaced" {
  target { api = completions  model = "m" }
  requests { input = 5  output = 2 }
  phase "p" { duration = 1s  concurrency = 1 }
  abort = off
  on_error { backoff = none }
}"#;
    let (_, _, rows, dir) = run(sim.url(), text, "pacing-none").await;
    assert!(rows.len() > 20, "{} rows in 1 s unpaced", rows.len());
    assert!(rows.iter().all(|r| r.backoff_ns.is_none()));
    assert!(run_json(&dir)["on_error"]["backoff"].is_null());
}

/// The rule's fields are checked where they are written.
#[test]
fn on_error_is_checked_at_its_span() {
    let bad = |block: &str| {
        common::errors(&format!(
            "workload \"w\" {{ requests {{ input = 5  output = 2 }} phase \"p\" {{ requests = 1  concurrency = 1 }} {block} }}"
        ))
    };
    assert!(
        bad("on_error { backoff = exponential(from: 1s, to: 100ms) }")
            .contains("a backoff goes from")
    );
    assert!(bad("on_error { backoff = exponental(from: 1s, to: 2s) }")
        .contains("did you mean 'exponential'"));
    assert!(bad("on_error { backoff = exponential(from: 1s) }").contains("needs 'to'"));
    assert!(bad("on_error { jiter = true }").contains("did you mean 'jitter'"));
    assert!(bad("on_error { backoff = 5 }").contains("backoff expects"));
    let ok = common::plan(
        "workload \"w\" { requests { input = 5  output = 2 } phase \"p\" { requests = 1  concurrency = 1 } on_error { jitter = false  backoff = exponential(from: 1s, to: 2s) } }",
    );
    assert_eq!(
        ok.backoff,
        Some(llmw::schedule::Backoff {
            from_ns: 1_000_000_000,
            to_ns: 2_000_000_000,
            jitter: false
        })
    );
}
