//! The API dialects end to end against the simulator in-process: chat, completions, the
//! Responses API and the Messages API mixed in one workload, streamed and whole, each read into
//! the same rows (prompt tokens as planned after each API's own template calibration, reasoning
//! and answer chunks, each API's finish reason); the Messages API's key in `x-api-key`; a route
//! the server does not serve.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::runs::{chunks, requests, run_json, Req};
use llmw::sim::{Behaviour, SimConfig};

/// Four single-request classes, one per API, and a conversation in each of the two new APIs.
fn mixed(stream: bool) -> String {
    format!(
        r#"workload "dialects" {{
  seed = 11
  target {{ ignore_eos = true stream = {stream} timeout = 30s }}
  class "chat" weight 1 {{ input = uniform(40, 80) output = uniform(8, 16) }}
  class "completions" weight 1 {{ api = completions input = uniform(40, 80) output = uniform(8, 16) }}
  class "responses" weight 1 {{ api = responses input = uniform(40, 80) output = uniform(8, 16) }}
  class "messages" weight 1 {{ api = messages input = uniform(40, 80) output = uniform(8, 16) }}
  session "agent" weight 1 {{ api = responses turns = 3 system = shared(tokens: 20, groups: 2) input = 20 output = 8 }}
  session "claude" weight 1 {{ api = messages turns = 3 system = shared(tokens: 20, groups: 2) input = 20 output = 8 }}
  phase "p" {{ requests = 120 concurrency = 6 }}
}}"#
    )
}

/// A simulator whose template adds 30 tokens to every templated prompt and whose answers
/// begin with 3 reasoning tokens.
fn templated() -> SimConfig {
    SimConfig {
        model: "m".into(),
        behaviour: Behaviour {
            chat_template_tokens: 30,
            reasoning_tokens: 3,
            ..Behaviour::default()
        },
        ..SimConfig::default()
    }
}

async fn run(
    text: &str,
    config: SimConfig,
    name: &str,
    keys: (Option<&str>, Option<&str>),
) -> PathBuf {
    let server = common::runs::simulator(config).await;
    let mut p = common::runs::prepare(text, name, server.url(), Default::default());
    p.options.api_key = keys.0.map(str::to_string);
    p.options.anthropic_key = keys.1.map(str::to_string);
    let result = llmw::engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(
        result.ending,
        llmw::engine::Ending::Completed,
        "{:?}",
        result.error
    );
    p.dir
}

fn by_class(rows: &[Req]) -> BTreeMap<String, Vec<Req>> {
    let mut out: BTreeMap<String, Vec<Req>> = BTreeMap::new();
    for r in rows {
        out.entry(r.class.clone()).or_default().push(r.clone());
    }
    out
}

/// Checks every row of a mixed run; `stream` says whether chunks came one token at a time.
fn check_mixed(dir: &std::path::Path, stream: bool) {
    let rows = requests(dir);
    let classes = by_class(&rows);
    assert_eq!(
        classes.len(),
        6,
        "every class drew requests: {:?}",
        classes.keys()
    );
    let ok = |r: &Req| {
        r.status == "ok"
            || r.error
                .as_deref()
                .is_some_and(|e| e.contains("mid-session"))
    };
    for r in &rows {
        assert!(ok(r), "{} {}: {:?}", r.class, r.request_id, r.error);
    }
    let finish = [
        ("chat", "length"),
        ("completions", "length"),
        ("responses", "max_output_tokens"),
        ("messages", "max_tokens"),
        ("agent", "max_output_tokens"),
        ("claude", "max_tokens"),
    ];
    let chunk_rows = chunks(dir);
    for (class, reason) in finish {
        for r in classes[class].iter().filter(|r| r.status == "ok") {
            assert_eq!(
                r.finish_reason.as_deref(),
                Some(reason),
                "{class} {}",
                r.request_id
            );
            assert_eq!(r.output_tokens, Some(r.output_tokens_requested), "{class}");
            let templated = class != "completions";
            // Single requests are shortened by each API's own measured template; a
            // conversation's turns never are (each is an exact extension of the last).
            let expected = match (templated, r.session.is_some()) {
                (true, true) => r.input_tokens + 30,
                _ => r.input_tokens,
            };
            assert_eq!(r.prompt_tokens, Some(expected), "{class} {}", r.request_id);
            let thinking = if templated { 3 } else { 0 };
            // A whole Anthropic message counts no thinking tokens: llmw estimates them by the
            // reasoning's share of the text.
            let estimated = !stream && ["messages", "claude"].contains(&class);
            let near = |n: i32| match estimated {
                true => (n - thinking).abs() <= 1,
                false => n == thinking,
            };
            assert!(
                r.reasoning_tokens.is_some_and(near),
                "{class}: {:?}",
                r.reasoning_tokens
            );
            assert!(
                r.first_token_ns.is_some() && r.first_content_ns >= r.first_token_ns,
                "{class}"
            );
            let mine: Vec<_> = chunk_rows
                .iter()
                .filter(|c| c.request_id == r.request_id)
                .collect();
            let reasoning: i32 = mine.iter().filter(|c| c.reasoning).map(|c| c.tokens).sum();
            let answer: i32 = mine.iter().filter(|c| !c.reasoning).map(|c| c.tokens).sum();
            assert!(near(reasoning), "{class} {}: {reasoning}", r.request_id);
            assert_eq!(reasoning + answer, r.output_tokens_requested, "{class}");
            if stream {
                assert_eq!(
                    mine.len() as i32,
                    r.output_tokens_requested,
                    "one chunk a token: {class}"
                );
            } else {
                assert!(
                    mine.len() <= 2,
                    "{class}: a whole answer is at most reasoning + answer"
                );
            }
        }
    }
    let meta = run_json(dir);
    let by_api = &meta["prompt_calibration_by_api"];
    for api in ["chat", "responses", "messages"] {
        assert_eq!(by_api[api]["overhead_tokens"], 30, "{api}: {by_api}");
    }
    assert_eq!(by_api["completions"]["overhead_tokens"], 0, "{by_api}");
    assert_eq!(
        meta["prompt_calibration"]["overhead_tokens"], 30,
        "the target's (chat)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_streams_into_the_same_rows() {
    let dir = run(&mixed(true), templated(), "dialects-stream", (None, None)).await;
    check_mixed(&dir, true);
    // Every row names the API it went to; the analysis reads the classes side by side, each
    // with its API, in the published shape.
    let rows = requests(&dir);
    fn api_of(class: &str) -> &str {
        match class {
            "agent" => "responses",
            "claude" => "messages",
            c => c,
        }
    }
    for r in &rows {
        assert_eq!(r.api.as_deref(), Some(api_of(&r.class)), "{}", r.class);
        assert_eq!(r.model.as_deref(), Some("m"), "the discovered model");
    }
    let a = &llmw::analysis::analyze_dirs(&[&dir], &Default::default()).expect("analysis")[0];
    let by_class: Vec<(&str, Option<&str>, usize)> = a
        .slices
        .iter()
        .filter(|s| s.by == "class")
        .map(|s| (s.name.as_str(), s.api.as_deref(), s.group.requests.total))
        .collect();
    let counts = by_class_counts(&rows);
    let expected: Vec<(&str, Option<&str>, usize)> = counts
        .iter()
        .map(|(c, n)| (c.as_str(), Some(api_of(c)), *n))
        .collect();
    assert_eq!(by_class, expected);
    assert!(
        a.slices.iter().all(|s| s.by == "class"),
        "one model: no model slices"
    );
    for s in &a.slices {
        assert!(
            s.group.ttft_ms.p50.is_some() && s.group.itl_ms.p50.is_some(),
            "{}",
            s.name
        );
    }
    let text = llmw::analysis::text::analysis(a);
    assert!(
        text.contains("by class") && text.contains("responses"),
        "{text}"
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/analysis.schema.json").expect("schema"),
    )
    .expect("json");
    let errors = common::schema::validate(&schema, &serde_json::to_value(a).expect("json"));
    assert!(errors.is_empty(), "{errors:#?}");
    let run_schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/run.schema.json").expect("schema"))
            .expect("json");
    let errors = common::schema::validate(&run_schema, &run_json(&dir));
    assert!(errors.is_empty(), "{errors:#?}");
}

fn by_class_counts(rows: &[Req]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r.class.clone()).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_mix_is_drawn_per_request_and_per_conversation_as_planned() {
    let text = r#"workload "lora" {
  seed = 9
  param adapter = "lora-sql"
  target { model = "base" }
  class "sql" weight 1 { model = choice("base": 3, adapter: 1) input = 20 output = 4 }
  session "chat" weight 1 { model = choice("base": 1, "lora-chat": 1) turns = 3 input = 10 output = 4 }
  class "plain" weight 1 { input = 20 output = 4 }
  phase "p" { requests = 600 concurrency = 8 }
}"#;
    let server = common::runs::simulator(templated()).await;
    let p = common::runs::prepare(text, "dialects-models", server.url(), Default::default());
    let (dir, schedule) = (p.dir.clone(), p.schedule.clone());
    llmw::engine::run(p.schedule, p.options).await.expect("run");
    let rows = requests(&dir);
    let plan = schedule.closed_sequence(0, 0, 2000);
    let planned: BTreeMap<i64, &llmw::schedule::PlannedRequest> =
        plan.iter().map(|r| (r.id as i64, r)).collect();
    let mut sql = BTreeMap::<String, usize>::new();
    let mut conversations = BTreeMap::<i64, std::collections::BTreeSet<String>>::new();
    for r in &rows {
        let model = r.model.clone().expect("model");
        let want = planned[&r.request_id];
        // Row by row what the plan says this request names.
        assert_eq!(
            Some(model.as_str()),
            Some(schedule.model_of(want).unwrap_or("base"))
        );
        match r.class.as_str() {
            "sql" => *sql.entry(model).or_default() += 1,
            "chat" => {
                conversations
                    .entry(r.session.expect("a turn"))
                    .or_default()
                    .insert(model);
            }
            _ => assert_eq!(model, "base"),
        }
    }
    // Every turn of a conversation names one model.
    assert!(
        conversations.values().all(|m| m.len() == 1),
        "{conversations:?}"
    );
    let n = sql.values().sum::<usize>() as f64;
    let share = *sql.get("lora-sql").unwrap_or(&0) as f64 / n;
    // Binomial: within 4 standard deviations of the planned 1/4.
    let sd = (0.25 * 0.75 / n).sqrt();
    assert!(
        n > 100.0 && (share - 0.25).abs() < 4.0 * sd,
        "{share} of {n}"
    );
    assert_eq!(sql.len(), 2, "{sql:?}");
    let a = &llmw::analysis::analyze_dirs(&[&dir], &Default::default()).expect("analysis")[0];
    let models: Vec<&str> = a
        .slices
        .iter()
        .filter(|s| s.by == "model")
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(models, ["base", "lora-chat", "lora-sql"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_answers_whole_into_the_same_rows() {
    let dir = run(&mixed(false), templated(), "dialects-whole", (None, None)).await;
    check_mixed(&dir, false);
}

/// Every file of a run directory, as bytes.
fn every_file(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("run dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(every_file(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messages_api_carries_its_own_key_in_x_api_key_and_no_file_holds_it() {
    let (openai, anthropic) = ("sk-openai-planted-0001", "sk-ant-planted-0002");
    let text = r#"workload "keys" {
  seed = 2
  target { model = "m" }
  class "chat" weight 1 { input = 20 output = 4 }
  class "claude" weight 1 { api = messages input = 20 output = 4 }
  phase "p" { requests = 20 concurrency = 2 }
}"#;
    // The server takes only the Anthropic key: the Messages requests get through, chat's
    // (with the OpenAI key as a bearer token) are refused.
    let mut config = templated();
    config.behaviour.api_key = Some(anthropic.into());
    let dir = run(
        text,
        config,
        "dialects-keys",
        (Some(openai), Some(anthropic)),
    )
    .await;
    let rows = by_class(&requests(&dir));
    assert!(
        rows["claude"].iter().all(|r| r.status == "ok"),
        "{:?}",
        rows["claude"]
    );
    assert!(
        rows["chat"].iter().all(|r| r.http_status == Some(401)),
        "{:?}",
        rows["chat"]
    );
    for (path, bytes) in every_file(&dir) {
        for key in [openai, anthropic] {
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "{} holds a key",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_the_server_does_not_serve_is_an_error_that_names_route_and_api() {
    let text = r#"workload "unserved" {
  seed = 2
  class "chat" weight 1 { input = 20 output = 4 }
  class "agent" weight 1 { api = responses input = 20 output = 4 }
  phase "p" { requests = 20 concurrency = 2 }
}"#;
    let mut config = templated();
    config.behaviour.unserved = vec!["/v1/responses".into()];
    let dir = run(text, config, "dialects-unserved", (None, None)).await;
    let rows = by_class(&requests(&dir));
    assert!(rows["chat"].iter().all(|r| r.status == "ok"));
    for r in &rows["agent"] {
        assert_eq!((r.status.as_str(), r.http_status), ("error", Some(404)));
        assert_eq!(r.error_kind.as_deref(), Some("http_status"));
        let e = r.error.as_deref().unwrap_or("");
        assert!(
            e.contains("/v1/responses") && e.contains("api = responses") && e.contains("Not Found"),
            "{e}"
        );
    }
    let failed = &run_json(&dir)["prompt_calibration_by_api"]["responses"]["failed"];
    assert!(
        failed.as_str().is_some_and(|f| f.contains("404")),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_batches_beside_chat_are_counted_by_input_without_a_ttft() {
    let text = r#"workload "rag" {
  seed = 4
  target { ignore_eos = true }
  class "embed" weight 1 { api = embeddings inputs = uniform(2, 12) input = 32 }
  class "answer" weight 1 { input = 100 output = 8 }
  phase "p" { requests = 80 concurrency = 4 }
}"#;
    let dir = run(text, templated(), "dialects-embeddings", (None, None)).await;
    let rows = by_class(&requests(&dir));
    let embed = &rows["embed"];
    let mut inputs = 0;
    for r in embed {
        assert_eq!(r.status, "ok", "{:?}", r.error);
        assert_eq!(r.api.as_deref(), Some("embeddings"));
        let n = r.inputs.expect("an embeddings row counts its inputs");
        assert!((2..=12).contains(&n), "{n}");
        // Every input of `input` tokens, no template, nothing generated.
        assert_eq!(r.input_tokens, 32 * n);
        assert_eq!(r.prompt_tokens, Some(32 * n));
        assert_eq!((r.output_tokens_requested, r.output_tokens), (0, Some(0)));
        assert_eq!((r.first_token_ns, r.chunks), (None, 0));
        inputs += n as i64;
    }
    assert!(rows["answer"]
        .iter()
        .all(|r| r.inputs.is_none() && r.status == "ok"));
    let a = &llmw::analysis::analyze_dirs(&[&dir], &Default::default()).expect("analysis")[0];
    let e = a.groups[0].embeddings.as_ref().expect("embeddings figures");
    assert_eq!((e.requests, e.inputs), (embed.len(), inputs));
    assert_eq!(e.input_tokens, 32 * inputs);
    let span = a.groups[0].span_s.expect("span");
    assert!((e.inputs_per_s.expect("rate") - inputs as f64 / span).abs() < 1e-9);
    let slice = a
        .slices
        .iter()
        .find(|s| s.name == "embed")
        .expect("the class");
    assert_eq!(slice.api.as_deref(), Some("embeddings"));
    assert!(
        slice.group.ttft_ms.p50.is_none(),
        "no TTFT for an embedding"
    );
    assert!(slice
        .group
        .embeddings
        .as_ref()
        .is_some_and(|e| e.latency_ms.p50.is_some()));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/analysis.schema.json").expect("schema"),
    )
    .expect("json");
    let errors = common::schema::validate(&schema, &serde_json::to_value(a).expect("json"));
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn what_an_api_cannot_carry_is_an_error_at_its_field() {
    let cases = [
        (
            r#"class "e" { api = embeddings input = 10 output = 5 }"#,
            "an embeddings request generates nothing",
        ),
        (
            r#"class "c" { inputs = 4 input = 10 output = 5 }"#,
            "inputs is the batch of an embeddings request",
        ),
        (
            r#"session "s" { api = embeddings turns = 2 input = 10 output = 5 }"#,
            "the embeddings API does not hold",
        ),
        (
            r#"class "e" { api = embeddings inputs = 5000 input = 10 }"#,
            "over the limit of 2048",
        ),
    ];
    for (class, want) in cases {
        let text = format!(
            "workload \"w\" {{\n  {class}\n  phase \"p\" {{ requests = 4 concurrency = 1 }}\n}}"
        );
        let errors = common::errors(&text);
        assert!(errors.contains(want), "{class}: {errors}");
    }
    // Inherited from requests, a field the class's API does not take is left out quietly.
    let ok = r#"workload "w" {
  requests { input = 10 output = 5 }
  class "e" { api = embeddings inputs = 3 }
  phase "p" { requests = 4 concurrency = 1 }
}"#;
    let s = common::plan(ok);
    let first = s.closed_sequence(0, 0, 40);
    assert!(first
        .iter()
        .any(|r| r.inputs == Some(3) && r.output_tokens == 0));
}
