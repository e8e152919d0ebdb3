//! Several targets end to end against simulators in-process: every turn of a conversation on
//! one replica (`spread = session`), requests dealt by id (`round_robin`) and by class
//! (`class`), row by row; each replica's `/metrics` scraped into rows labelled with it, whose
//! request counters agree with the rows sent there; the analysis by target; and a dead replica
//! that fails its own requests while the run completes on the others.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::Array;
use common::runs::{requests, run_json, table, Req};
use llmw::engine::{Ending, Metrics};
use llmw::sim::SimConfig;

const FLEET: &str = r#"workload "fleet" {
  seed = 5
  target { model = "m" ignore_eos = true timeout = 30s SPREAD }
  class "short" weight 1 { input = uniform(20, 40) output = uniform(4, 8) }
  session "chat" weight 2 { turns = uniform(2, 4) system = shared(tokens: 16, groups: 2) input = 12 output = 4 }
  phase "p" { requests = 150 concurrency = 6 }
}"#;

fn fleet(spread: &str) -> String {
    FLEET.replace("SPREAD", spread)
}

async fn simulators(n: usize) -> Vec<llmw::sim::SimServer> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            common::runs::simulator(SimConfig {
                model: "m".into(),
                ..SimConfig::default()
            })
            .await,
        );
    }
    out
}

/// Runs `text` against `urls` and returns its directory and the rows of requests it sent (a
/// conversation cut short at the phase's request count leaves `cancelled` rows of turns never
/// sent, left out); the run must complete.
async fn run(
    text: &str,
    name: &str,
    urls: &[String],
    metrics: Metrics,
) -> (std::path::PathBuf, Vec<Req>) {
    let mut p = common::runs::prepare(text, name, urls[0].clone(), metrics);
    p.options.targets = urls.to_vec();
    let result = llmw::engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(result.ending, Ending::Completed, "{:?}", result.error);
    let rows = requests(&p.dir)
        .into_iter()
        .filter(|r| r.status != "cancelled")
        .collect();
    (p.dir, rows)
}

fn target(r: &Req) -> &str {
    r.target.as_deref().expect("every row names its target")
}

/// The last value of `name` each target's server reported, by target.
fn last_counter(dir: &std::path::Path, name: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for b in table(dir, "server_metrics") {
        let col = |c: &str| {
            b.column_by_name(c)
                .unwrap_or_else(|| panic!("server_metrics has {c}"))
                .clone()
        };
        let names = col("name");
        let names = names
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("names");
        let values = col("value");
        let values = values
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .expect("values");
        let targets = col("target");
        let targets = targets
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("targets");
        for i in 0..b.num_rows() {
            if names.value(i) == name {
                assert!(!targets.is_null(i), "each page's rows name its target");
                // Rows are in scrape order: the last one is the run's end.
                out.insert(targets.value(i).to_string(), values.value(i));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_stay_on_one_replica_and_each_replica_is_scraped() {
    let sims = simulators(3).await;
    let urls: Vec<String> = sims.iter().map(|s| s.url()).collect();
    let (dir, rows) = run(&fleet(""), "fleet-session", &urls, Metrics::Default).await;
    assert!(rows.len() >= 140, "{} rows", rows.len());
    assert!(
        rows.iter().all(|r| r.status == "ok"),
        "every request answered"
    );
    let mut on: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        assert!(
            urls.iter().any(|u| u == target(r)),
            "{} is one of the fleet",
            target(r)
        );
        match r.session {
            Some(s) => {
                on.entry(s).or_default().insert(target(r));
            }
            // Requests outside conversations go round robin by id.
            None => assert_eq!(
                target(r),
                urls[r.request_id as usize % 3],
                "request {}",
                r.request_id
            ),
        }
    }
    assert!(on.len() >= 20, "{} conversations", on.len());
    for (s, targets) in &on {
        assert_eq!(targets.len(), 1, "conversation {s} went to {targets:?}");
    }
    // Conversations are hashed over the fleet: with 20 or more of them, a replica that got none
    // has probability under 3·(2/3)^20 = 0.1 %.
    let used: BTreeSet<&str> = on.values().flatten().copied().collect();
    assert_eq!(used.len(), 3, "conversations went to {used:?}");

    // Each replica's own counter of finished requests, from its own page, is the rows sent there
    // (and the first's, the template probes sent before the run).
    let meta = run_json(&dir);
    let probes = meta["prompt_calibration"]["probes"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(probes > 0, "{}", meta["prompt_calibration"]);
    let sent: BTreeMap<String, f64> = urls
        .iter()
        .map(|u| {
            (
                u.clone(),
                rows.iter().filter(|r| target(r) == u).count() as f64,
            )
        })
        .collect();
    let mut answered = sent.clone();
    *answered.get_mut(&urls[0]).expect("first") += probes as f64;
    assert_eq!(last_counter(&dir, "vllm:request_success_total"), answered);
    assert_eq!(meta["fleet"]["spread"], "session");
    let fleet = meta["fleet"]["targets"].as_array().expect("fleet targets");
    assert_eq!(fleet.len(), 3);
    for (t, u) in fleet.iter().zip(&urls) {
        assert_eq!(t["url"], u.as_str());
        assert!(t["server_metrics"]["scrapes"].as_u64() >= Some(1), "{t}");
        assert!(t["server_metrics"]["unavailable"].is_null(), "{t}");
    }
    assert_eq!(
        meta["server_metrics"]["samples"].as_u64(),
        Some(
            fleet
                .iter()
                .map(|t| t["server_metrics"]["samples"].as_u64().unwrap_or(0))
                .sum()
        )
    );
    common::schema::conforms("docs/run.schema.json", &meta);

    // The analysis has one slice per replica, and they add up to the run.
    let run = llmw::analysis::load(&dir).expect("load");
    let a = llmw::analysis::analyze(&run, &Default::default()).expect("analyze");
    let slices: Vec<_> = a.slices.iter().filter(|s| s.by == "target").collect();
    assert_eq!(slices.len(), 3);
    for s in &slices {
        assert_eq!(s.group.requests.ok as f64, sent[&s.name], "{}", s.name);
    }
    common::schema::conforms(
        "docs/analysis.schema.json",
        &serde_json::to_value(&a).expect("json"),
    );
    let text = llmw::analysis::text::analysis(&a);
    assert!(text.contains("by target"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_and_class_spreads_deal_as_written() {
    let sims = simulators(2).await;
    let urls: Vec<String> = sims.iter().map(|s| s.url()).collect();
    let (_, rows) = run(
        &fleet("spread = round_robin"),
        "fleet-rr",
        &urls,
        Metrics::Off,
    )
    .await;
    assert!(rows.len() >= 140, "{} rows", rows.len());
    for r in &rows {
        assert_eq!(
            target(r),
            urls[r.request_id as usize % 2],
            "request {}",
            r.request_id
        );
    }
    // Turns of one conversation alternate replicas under round robin.
    assert!(rows.iter().filter(|r| r.session.is_some()).any(|r| {
        rows.iter()
            .any(|o| o.session == r.session && target(o) != target(r))
    }));

    let text = fleet("spread = class");
    let schedule = common::plan(&text);
    let (_, rows) = run(&text, "fleet-class", &urls, Metrics::Off).await;
    let mut by_class: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        by_class.entry(&r.class).or_default().insert(target(r));
    }
    assert_eq!(by_class.len(), 2);
    for (class, targets) in by_class {
        let k = schedule
            .classes
            .iter()
            .position(|c| c == class)
            .expect("class");
        assert_eq!(
            targets,
            BTreeSet::from([urls[k % 2].as_str()]),
            "class {class}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replica_fails_its_own_requests_and_the_run_goes_on() {
    let sims = simulators(2).await;
    // A port nothing listens on: bound, then closed.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    // The dead one first: the model is asked of the next that answers.
    let urls = vec![dead.clone(), sims[0].url(), sims[1].url()];
    let text = fleet("spread = round_robin").replace("model = \"m\" ", "");
    let (dir, rows) = run(&text, "fleet-dead", &urls, Metrics::Default).await;
    assert!(rows.len() >= 140, "{} rows", rows.len());
    for r in &rows {
        if target(r) == dead {
            assert_eq!(r.status, "error", "request {}", r.request_id);
            assert_eq!(r.error_kind.as_deref(), Some("connect"), "{:?}", r.error);
        } else {
            assert_eq!(r.status, "ok", "request {}: {:?}", r.request_id, r.error);
            assert_eq!(r.model.as_deref(), Some("m"));
        }
    }
    let dead_rows = rows.iter().filter(|r| target(r) == dead).count();
    assert_eq!(
        dead_rows,
        rows.iter().filter(|r| r.request_id % 3 == 0).count()
    );
    let meta = run_json(&dir);
    assert!(meta["fleet"]["targets"][0]["server_metrics"]["unavailable"].is_string());
    assert!(meta["fleet"]["targets"][1]["server_metrics"]["unavailable"].is_null());
    assert!(
        meta["server_metrics"]["unavailable"].is_null(),
        "two pages of three answered"
    );
}

#[tokio::test]
async fn metrics_urls_must_match_the_targets() {
    let sims = simulators(2).await;
    let urls: Vec<String> = sims.iter().map(|s| s.url()).collect();
    let mut p = common::runs::prepare(&fleet(""), "fleet-metrics", urls[0].clone(), Metrics::Off);
    p.options.targets = urls.clone();
    p.options.metrics = Metrics::Each(vec![format!("{}/metrics", urls[0])]);
    let err = llmw::engine::run(p.schedule.clone(), p.options)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("1 metrics URLs for 2 targets"),
        "{err}"
    );

    let mut p = common::runs::prepare(&fleet(""), "fleet-twice", urls[0].clone(), Metrics::Off);
    p.options.targets = vec![urls[0].clone(), format!("{}/v1/", urls[0])];
    let err = llmw::engine::run(p.schedule, p.options)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("given twice"), "{err}");
}

#[test]
fn spread_is_one_of_three_words() {
    let e = common::errors(&fleet("spread = sticky"));
    assert!(
        e.contains("session") && e.contains("round_robin") && e.contains("sticky"),
        "{e}"
    );
    for ok in ["session", "round_robin", "class"] {
        let s = common::plan(&fleet(&format!("spread = {ok}")));
        assert_eq!(s.target.spread.as_str(), ok);
    }
}
