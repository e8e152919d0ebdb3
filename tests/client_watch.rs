//! The client watches itself: a run whose event loop is starved (a task that blocks the
//! runtime's only worker 40 ms at a time) is flagged as a busy client, step by step; the same
//! run on an idle client is not. (One test in its own binary: other tests running beside it
//! would load the machine.)

mod common;

use llmw::sim::{Profile, ProfileName, SimConfig};

const TEXT: &str = "workload \"watch\" {\n  seed = 1\n  target { ignore_eos = true }\n  requests { input = 20  output = 20 }\n  phase \"p\" { concurrency = steps(2, 4, hold: 3s) }\n}\n";

fn flat() -> SimConfig {
    SimConfig {
        model: "test-model".into(),
        profile: Profile {
            step_base_us: 2000.0,
            per_seq_us: 0.0,
            per_prefill_token_us: 0.0,
            per_kv_token_ns: 0.0,
            ..Profile::named(ProfileName::Default)
        },
        ..SimConfig::default()
    }
}

async fn run(name: &str) -> llmw::Analysis {
    let server = common::runs::simulator(flat()).await;
    let prepared = common::runs::prepare(TEXT, name, server.url(), llmw::engine::Metrics::Off);
    llmw::engine::run(prepared.schedule, prepared.options)
        .await
        .expect("runs");
    let m = common::runs::run_json(&prepared.dir);
    let samples = m["client"]["samples"].as_array().expect("samples").len();
    assert!(
        (4..=8).contains(&samples),
        "one a second over ~6 s: {samples}"
    );
    llmw::analyze(
        &llmw::load_run(&prepared.dir).expect("loads"),
        &Default::default(),
    )
    .expect("analyses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_starved_client_is_flagged_and_an_idle_one_is_not() {
    let idle = run("watch-idle").await;
    for g in &idle.groups {
        let c = g.client.as_ref().expect("a self-watch");
        assert_eq!(c.busy, None, "step {}: {c:?}", g.step);
        assert!(c.seconds >= 2);
    }
    // A neighbour that takes the runtime's only worker for 40 ms out of every 50.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hog = {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(40));
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    let starved = run("watch-starved").await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = hog.await;
    for g in &starved.groups {
        let c = g.client.as_ref().expect("a self-watch");
        let why = c
            .busy
            .as_deref()
            .unwrap_or_else(|| panic!("step {}: {c:?}", g.step));
        assert!(
            why.contains("event loop was late") && why.contains("--shard"),
            "{why}"
        );
        assert!(c.lag_max_ms >= 20.0, "{c:?}");
    }
    assert!(llmw::analysis::text::analysis(&starved).contains("CLIENT BUSY in p step 0"));
}
