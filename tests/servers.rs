//! Real servers' ways, taught to the simulator (docs/servers.md): connections closed after every
//! response (llama.cpp), closed when idle (uvicorn), closed after N requests (nginx), request ids
//! that must be UUIDs (llama-cpp-python), chat templates, reasoning streams, several tokens per
//! chunk, prefix-cache counts and Prometheus metrics. Every planned request must reach the server
//! exactly once and come back `ok`.

mod common;

use common::runs::{chunks, prepare, requests, run_json, Chunk, Req};
use llmw::engine::{self, Ending, Metrics};
use llmw::sim::{self, Behaviour, Profile, ProfileName, SimConfig};

struct Ran {
    rows: Vec<Req>,
    chunks: Vec<Chunk>,
    meta: serde_json::Value,
    /// Completion requests the simulator took in.
    served: u64,
    connections: u64,
    dir: std::path::PathBuf,
}

/// Runs `text` against a simulator with `behaviour` started on 127.0.0.1:0.
async fn run_against(text: &str, behaviour: Behaviour, metrics: Metrics, name: &str) -> Ran {
    let config = SimConfig {
        model: "sim".into(),
        profile: Profile {
            step_base_us: 2_000.0,
            ..Profile::named(ProfileName::Fast)
        },
        behaviour,
        ..SimConfig::default()
    };
    run_with(config, text, metrics, name).await
}

async fn run_with(config: SimConfig, text: &str, metrics: Metrics, name: &str) -> Ran {
    let server = sim::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("simulator");
    let p = prepare(text, name, server.url(), metrics);
    let dir = p.dir.clone();
    let result = engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(result.ending, Ending::Completed);
    Ran {
        rows: requests(&dir),
        chunks: chunks(&dir),
        meta: run_json(&dir),
        served: server.requests(),
        connections: server.connections(),
        dir,
    }
}

fn all_ok(ran: &Ran) {
    let bad: Vec<&Req> = ran.rows.iter().filter(|r| r.status != "ok").collect();
    assert!(
        bad.is_empty(),
        "{} failed, first: {:?}",
        bad.len(),
        bad.first()
    );
}

const COMPLETIONS: &str = r#"workload "conn" {
  target { api = completions  ignore_eos = true  model = "sim" }
  requests { input = 20  output = 6 }
  phase "p" { requests = 40  concurrency = 2 }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_closes_after_every_response_loses_no_request_and_sees_each_once() {
    let ran = run_against(
        COMPLETIONS,
        Behaviour {
            close_after_response: true,
            ..Behaviour::default()
        },
        Metrics::Off,
        "close-after",
    )
    .await;
    assert_eq!(ran.rows.len(), 40);
    all_ok(&ran);
    assert_eq!(
        ran.served, 40,
        "each planned request reaches the server once"
    );
    // The server lingers before it closes, so a pooled connection is always written to first:
    // those requests went again on a fresh connection, and reuse was then turned off.
    let resent = ran.rows.iter().filter(|r| r.resent).count();
    assert!(resent >= 1, "no request needed a resend");
    assert!(ran
        .rows
        .iter()
        .filter(|r| r.resent)
        .all(|r| r.conn_reused == Some(false)));
    assert_eq!(
        ran.meta["connections"]["reuse"], false,
        "{}",
        ran.meta["connections"]
    );
    assert!(
        ran.connections >= 40,
        "one connection per request: {}",
        ran.connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_when_idle_cost_no_request_with_think_times_past_the_timeout() {
    let text = r#"workload "idle" {
  target { api = completions  ignore_eos = true  model = "sim" }
  requests { input = 20  output = 4 }
  phase "p" { requests = 12  concurrency = 3  think = uniform(250ms, 450ms) }
}"#;
    let ran = run_against(
        text,
        Behaviour {
            idle_close: Some(0.3),
            ..Behaviour::default()
        },
        Metrics::Off,
        "idle-close",
    )
    .await;
    assert_eq!(ran.rows.len(), 12);
    all_ok(&ran);
    assert_eq!(ran.served, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_and_keep_alive_max_are_honoured_without_resends() {
    let text = r#"workload "max" {
  target { api = completions  ignore_eos = true  model = "sim" }
  requests { input = 20  output = 4 }
  phase "p" { requests = 30  concurrency = 1 }
}"#;
    let ran = run_against(
        text,
        Behaviour {
            max_requests_per_connection: Some(3),
            ..Behaviour::default()
        },
        Metrics::Off,
        "max-requests",
    )
    .await;
    all_ok(&ran);
    assert_eq!(ran.served, 30);
    assert_eq!(ran.rows.iter().filter(|r| r.resent).count(), 0);
    // Three requests a connection: 10 connections (plus at most the pre-opened one).
    assert!((10..=11).contains(&ran.connections), "{}", ran.connections);
    let reused = ran
        .rows
        .iter()
        .filter(|r| r.conn_reused == Some(true))
        .count();
    assert!(reused >= 18, "connections were reused up to max: {reused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_uuids_unique_per_run_and_name_their_row() {
    let behaviour = Behaviour {
        require_uuid_request_id: true,
        ..Behaviour::default()
    };
    let a = run_against(COMPLETIONS, behaviour.clone(), Metrics::Off, "uuid-a").await;
    let b = run_against(COMPLETIONS, behaviour.clone(), Metrics::Off, "uuid-b").await;
    all_ok(&a);
    all_ok(&b);
    for r in &a.rows {
        let uuid = r.request_uuid.as_deref().expect("uuid recorded");
        assert!(llmw::request_id::is_uuid(uuid), "{uuid}");
        assert_eq!(llmw::request_id::plan_id(uuid), Some(r.request_id as u64));
    }
    let ids = |ran: &Ran| -> std::collections::BTreeSet<String> {
        ran.rows
            .iter()
            .filter_map(|r| r.request_uuid.clone())
            .collect()
    };
    assert_eq!(ids(&a).len(), 40, "unique within the run");
    assert!(
        ids(&a).is_disjoint(&ids(&b)),
        "two runs of one plan never share an id"
    );
    let prefix = a.meta["request_ids"]["uuid_prefix"]
        .as_str()
        .expect("prefix");
    assert!(ids(&a).iter().all(|u| u.starts_with(prefix)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_with_an_empty_body_is_still_described() {
    // The id header turned off, and a non-UUID id of the user's own: the server answers 400
    // with nothing but a status line.
    let text = r#"workload "bad-id" {
  target { api = completions  model = "sim"  request_id_header = off  headers = { "x-request-id": "17" } }
  requests { input = 20  output = 4 }
  phase "p" { requests = 3  concurrency = 1 }
}"#;
    let behaviour = Behaviour {
        require_uuid_request_id: true,
        ..Behaviour::default()
    };
    let ran = run_against(text, behaviour, Metrics::Off, "empty-400").await;
    assert_eq!(ran.rows.len(), 3);
    for r in &ran.rows {
        assert_eq!(r.status, "error");
        assert_eq!(r.http_status, Some(400));
        assert_eq!(r.error.as_deref(), Some("HTTP 400 Bad Request, empty body"));
    }
    assert_eq!(ran.meta["request_ids"]["header"], serde_json::Value::Null);
}

const CHAT: &str = r#"workload "chat" {
  target { api = chat  ignore_eos = true  model = "sim" }
  requests { input = uniform(40, 120)  output = 8 }
  phase "p" { requests = 20  concurrency = 2 }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_prompts_are_shortened_by_the_measured_template() {
    let behaviour = Behaviour {
        chat_template_tokens: 30,
        ..Behaviour::default()
    };
    let ran = run_against(CHAT, behaviour.clone(), Metrics::Off, "chat-exact").await;
    all_ok(&ran);
    assert_eq!(ran.meta["prompt_calibration"]["overhead_tokens"], 30);
    assert_eq!(ran.served, 22, "20 requests and the two probes");
    for r in &ran.rows {
        assert_eq!(r.prompt_tokens, Some(r.input_tokens), "{r:?}");
    }
    // `prompt_tokens = text`: no probe, the template on top.
    let text_mode = CHAT.replace("model = \"sim\"", "model = \"sim\"  prompt_tokens = text");
    let ran = run_against(&text_mode, behaviour, Metrics::Off, "chat-text").await;
    all_ok(&ran);
    assert_eq!(ran.served, 20);
    assert_eq!(ran.meta["prompt_calibration"]["mode"], "text");
    for r in &ran.rows {
        assert_eq!(r.prompt_tokens, Some(r.input_tokens + 30), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_streams_count_thinking_and_answer_apart() {
    let text = r#"workload "think" {
  target { api = chat  ignore_eos = true  model = "sim" }
  requests { input = 30  output = 12 }
  phase "p" { requests = 6  concurrency = 2 }
}"#;
    let behaviour = Behaviour {
        reasoning_tokens: 5,
        ..Behaviour::default()
    };
    let ran = run_against(text, behaviour.clone(), Metrics::Off, "reasoning").await;
    all_ok(&ran);
    for r in &ran.rows {
        assert_eq!(r.output_tokens, Some(12));
        assert_eq!(r.reasoning_tokens, Some(5));
        let (first, content) = (
            r.first_token_ns.expect("ttft"),
            r.first_content_ns.expect("ttfo"),
        );
        assert!(
            content > first,
            "the answer comes after the thinking: {r:?}"
        );
        let mine: Vec<&Chunk> = ran
            .chunks
            .iter()
            .filter(|c| c.request_id == r.request_id)
            .collect();
        assert_eq!(
            mine.iter()
                .filter(|c| c.reasoning)
                .map(|c| c.tokens)
                .sum::<i32>(),
            5
        );
        assert_eq!(
            mine.iter()
                .filter(|c| !c.reasoning)
                .map(|c| c.tokens)
                .sum::<i32>(),
            7
        );
        let first_answer = mine.iter().find(|c| !c.reasoning).expect("answer");
        assert_eq!(first_answer.at_ns, content);
        assert_eq!(r.finish_reason.as_deref(), Some("length"));
    }
    let g = analysed(&ran);
    assert_eq!(
        (g.tokens.reasoning, g.tokens.answer, g.tokens.output),
        (30, 42, 72)
    );
    assert_eq!(g.ttfo_ms.count, 6);
    assert!(
        g.ttfo_ms.p50 > g.ttft_ms.p50,
        "TTFO {:?} after TTFT {:?}",
        g.ttfo_ms.p50,
        g.ttft_ms.p50
    );
    // Not streamed: one reasoning chunk and one answer chunk, the same counts.
    let whole = text.replace("model = \"sim\"", "model = \"sim\"  stream = false");
    let ran = run_against(&whole, behaviour, Metrics::Off, "reasoning-whole").await;
    all_ok(&ran);
    for r in &ran.rows {
        assert_eq!(r.reasoning_tokens, Some(5));
        let mine: Vec<&Chunk> = ran
            .chunks
            .iter()
            .filter(|c| c.request_id == r.request_id)
            .collect();
        assert_eq!(mine.len(), 2);
        assert_eq!((mine[0].reasoning, mine[0].tokens), (true, 5));
        assert_eq!((mine[1].reasoning, mine[1].tokens), (false, 7));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_tokens_per_chunk_are_counted_exactly() {
    let text = r#"workload "spec" {
  target { api = completions  ignore_eos = true  model = "sim" }
  requests { input = 30  output = 10 }
  phase "p" { requests = 5  concurrency = 1 }
}"#;
    let behaviour = Behaviour {
        tokens_per_chunk: 4,
        ..Behaviour::default()
    };
    let ran = run_against(text, behaviour, Metrics::Off, "multi-token").await;
    all_ok(&ran);
    for r in &ran.rows {
        let tokens: Vec<i32> = ran
            .chunks
            .iter()
            .filter(|c| c.request_id == r.request_id)
            .map(|c| c.tokens)
            .collect();
        assert_eq!(tokens, vec![4, 4, 2], "{r:?}");
        assert_eq!(r.chunks, 3);
        assert_eq!(r.output_tokens, Some(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_prompt_tokens_and_server_metrics_are_recorded() {
    let text = r#"workload "cache" {
  target { api = completions  ignore_eos = true  model = "sim" }
  requests { input = 32  output = 40  prefix = shared(tokens: 160, groups: 1) }
  phase "p" { duration = 2500ms  concurrency = 2 }
}"#;
    let ran = run_against(
        text,
        Behaviour::default(),
        Metrics::Default,
        "cache-metrics",
    )
    .await;
    all_ok(&ran);
    // Every request after the first finds the shared 160-token prefix cached (10 full blocks).
    let later: Vec<&Req> = ran
        .rows
        .iter()
        .filter(|r| r.sent_ns > ran.rows[0].done_ns)
        .collect();
    assert!(!later.is_empty());
    for r in later {
        assert_eq!(r.cached_tokens, Some(160), "{r:?}");
    }
    let g = analysed(&ran);
    let (prompt, cached) = ran
        .rows
        .iter()
        .filter_map(|r| Some((i64::from(r.prompt_tokens?), i64::from(r.cached_tokens?))))
        .fold((0, 0), |(p, c), (a, b)| (p + a, c + b));
    assert_eq!(g.prompt.cached_tokens, cached);
    assert_eq!(
        g.prompt.cache_hit_share,
        Some(cached as f64 / prompt as f64)
    );
    let server = g.server.as_ref().expect("server side");
    // The report lines the server's view up with the step too.
    let run = llmw::analysis::load(&ran.dir).expect("loads");
    let a = llmw::analysis::analyze(&run, &Default::default()).expect("analyses");
    let html = llmw::analysis::report::html(&[a]);
    assert!(html.contains("<th>running</th>") && html.contains("<th>KV mean</th>"));
    assert!(server.scrapes >= 2);
    // Two users, one request each at all times: the server ran between 0 and 2.
    assert!(
        server.running.is_some_and(|r| (0.0..=2.0).contains(&r)),
        "{server:?}"
    );
    assert!(server.generation_tps.is_some_and(|t| t > 0.0));
    let m = &ran.meta["server_metrics"];
    assert!(m["scrapes"].as_u64().unwrap_or(0) >= 2, "{m}");
    assert_eq!(m["unavailable"], serde_json::Value::Null);
    let names = metric_names(&ran.dir);
    for n in [
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
    ] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_metrics_is_noted_not_an_error() {
    let text = r#"workload "nometrics" {
  target { api = completions  model = "sim" }
  requests { input = 10  output = 2 }
  phase "p" { requests = 2  concurrency = 1 }
}"#;
    let bad_url = Metrics::Url("http://127.0.0.1:9/metrics".into());
    let ran = run_against(text, Behaviour::default(), bad_url, "no-metrics").await;
    all_ok(&ran);
    assert!(
        ran.meta["server_metrics"]["unavailable"].is_string(),
        "{}",
        ran.meta["server_metrics"]
    );
    assert!(metric_names(&ran.dir).is_empty());
    let off = run_against(text, Behaviour::default(), Metrics::Off, "metrics-off").await;
    assert_eq!(off.meta["server_metrics"]["off"], true);
}

/// The analysis of a one-group run.
fn analysed(ran: &Ran) -> llmw::analysis::Group {
    let run = llmw::analysis::load(&ran.dir).expect("loads");
    let a = llmw::analysis::analyze(&run, &Default::default()).expect("analyses");
    assert_eq!(a.groups.len(), 1);
    a.groups[0].clone()
}

fn metric_names(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    use arrow_array::{Array, StringArray};
    let mut out = std::collections::BTreeSet::new();
    for b in common::runs::table(dir, "server_metrics") {
        let names = b
            .column_by_name("name")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .expect("name column");
        for i in 0..names.len() {
            out.insert(names.value(i).to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_abandoned_with_a_bare_done_is_an_error_not_ok() {
    // llama-cpp-python's default: each new request ends the stream in progress with [DONE].
    let text = r#"workload "interrupt" {
  target { api = completions  ignore_eos = true  model = "sim" }
  requests { input = 20  output = 30 }
  phase "p" { requests = 10  concurrency = 2 }
}"#;
    let behaviour = Behaviour {
        interrupt_on_new_request: true,
        ..Behaviour::default()
    };
    let ran = run_against(text, behaviour, Metrics::Off, "interrupt").await;
    assert_eq!(ran.rows.len(), 10);
    let cut: Vec<&Req> = ran.rows.iter().filter(|r| r.status == "error").collect();
    assert!(!cut.is_empty(), "two users always interrupt each other");
    for r in &cut {
        let e = r.error.as_deref().unwrap_or("");
        assert!(e.contains("without a finish_reason"), "{e}");
        assert!(r.output_tokens.unwrap_or(0) < 30);
        assert_eq!(r.finish_reason, None);
    }
    for r in ran.rows.iter().filter(|r| r.status == "ok") {
        assert_eq!(r.output_tokens, Some(30));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_responses_keep_their_connection() {
    // Every request answered 429 or 500 with a small JSON body: read to its end, the connection
    // serves the next request, so a storm of errors is not a storm of new connections.
    let config = SimConfig {
        model: "sim".into(),
        profile: Profile::named(ProfileName::Fast),
        faults: llmw::sim::Faults {
            error_rate: 1.0,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let text = r#"workload "errors" {
  target { api = completions  model = "sim" }
  requests { input = 5  output = 2 }
  phase "p" { requests = 20  concurrency = 1 }
  abort = off
  on_error { backoff = none }
}"#;
    let ran = run_with(config, text, Metrics::Off, "error-reuse").await;
    assert_eq!(ran.rows.len(), 20);
    assert!(ran
        .rows
        .iter()
        .all(|r| matches!(r.http_status, Some(429 | 500))));
    assert!(
        ran.connections <= 2,
        "{} connections for 20 errors",
        ran.connections
    );
}
