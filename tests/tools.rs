//! Tools end to end: llama.cpp's recorded tool-call streams in the three APIs read through the
//! client's own stream reader (every argument byte a chunk of output); a workload offering
//! tools in each API run against the simulator, row by row (the tools offered, the calls, the
//! definitions' words the server counted); and what the checker refuses.

mod common;

use std::collections::BTreeMap;

use llmw::schedule::{Api, PlannedRequest};
use serde_json::Value;

/// The SSE `data:` payloads of a recorded stream.
fn events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("recorded JSON"))
        .collect()
}

/// The tool call's arguments as the recording has them, read independently of llmw's reader.
fn arguments(api: Api, body: &str) -> String {
    let mut out = String::new();
    for e in events(body) {
        let piece = match api {
            Api::Chat => e
                .pointer("/choices/0/delta/tool_calls/0/function/arguments")
                .cloned(),
            Api::Responses if e["type"] == "response.function_call_arguments.delta" => {
                e.get("delta").cloned()
            }
            Api::Messages if e.pointer("/delta/type") == Some(&Value::from("input_json_delta")) => {
                e.pointer("/delta/partial_json").cloned()
            }
            _ => None,
        };
        if let Some(Value::String(s)) = piece {
            out.push_str(&s);
        }
    }
    out
}

#[test]
fn recorded_tool_calls_are_read_as_output_in_every_api() {
    for (api, file) in [
        (Api::Chat, "chat_required.sse"),
        (Api::Responses, "resp_required.sse"),
        (Api::Messages, "msg_any.sse"),
    ] {
        let body =
            std::fs::read_to_string(format!("tests/fixtures/tool-calls/{file}")).expect("fixture");
        let args = arguments(api, &body);
        assert!(args.contains("Paris"), "{api:?}: {args}");
        // Split into reads of 50 bytes: events cut across reads read the same.
        let reads: Vec<&[u8]> = body.as_bytes().chunks(50).collect();
        let (chunks, failure) = llmw::engine::replay_stream(api, &reads, 256);
        assert_eq!(failure, None, "{api:?}");
        let bytes: u32 = chunks.iter().map(|c| c.bytes).sum();
        assert_eq!(
            bytes as usize,
            args.len(),
            "{api:?}: every argument byte is a chunk's"
        );
        assert!(chunks.iter().all(|c| !c.reasoning));
    }
}

const TOOLS: &str = r#"workload "tools" {
  seed = 8
  target { model = "m"  ignore_eos = true  timeout = 30s }
  class "chat" weight 1 { tools = 3  tool_tokens = uniform(20, 40)  tool_choice = required  input = 20  output = 4 }
  class "responses" weight 1 { api = responses  tools = 2  input = 20  output = 4 }
  class "messages" weight 1 { api = messages  tools = 1  tool_tokens = 30  tool_choice = auto  input = 20  output = 4 }
  class "plain" weight 1 { input = 20  output = 4 }
  phase "p" { requests = 80  concurrency = 4 }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_offered_as_planned_and_the_server_counts_their_words() {
    let config = llmw::sim::SimConfig {
        model: "m".into(),
        ..Default::default()
    };
    let (_, schedule, rows) = common::runs::run_with(TOOLS, config, "tools").await;
    let plan = schedule.closed_sequence(0, 0, 1000);
    let planned: BTreeMap<i64, &PlannedRequest> = plan.iter().map(|r| (r.id as i64, r)).collect();
    assert_eq!(rows.len(), 80);
    let mut sets = BTreeMap::<String, Vec<(String, usize)>>::new();
    for r in &rows {
        assert_eq!(r.status, "ok", "{:?}", r.error);
        let tools = llmw::prompt::tools(&schedule, planned[&r.request_id]);
        let each: Vec<usize> = tools.iter().map(common::definition_words).collect();
        let words: usize = each.iter().sum();
        let want = match r.class.as_str() {
            "chat" => 3,
            "responses" => 2,
            "messages" => 1,
            _ => 0,
        };
        assert_eq!(tools.len(), want, "{}", r.class);
        if want == 0 {
            assert_eq!((r.tools, r.tool_calls), (None, None));
            assert_eq!(r.prompt_tokens, Some(r.input_tokens));
            continue;
        }
        // Offered, not called (the simulator answers in text), the definitions' words counted.
        assert_eq!(r.tools, Some(want as i32));
        assert_eq!((r.tool_calls, r.first_tool_ns), (Some(0), None));
        assert_eq!(
            r.prompt_tokens,
            Some(r.input_tokens + words as i32),
            "request {}",
            r.request_id
        );
        match r.class.as_str() {
            "chat" => assert!(each.iter().all(|n| (20..=40).contains(n)), "{each:?}"),
            "messages" => assert_eq!(each, vec![30]),
            _ => assert_eq!(each, vec![64, 64], "the default 64 words a tool"),
        }
        // Every request of a class offers the same definitions, as an agent does.
        let set: Vec<(String, usize)> = tools
            .iter()
            .map(|t| (t.name.clone(), t.description.len()))
            .collect();
        let first = sets.entry(r.class.clone()).or_insert_with(|| set.clone());
        assert_eq!(*first, set, "{}", r.class);
    }
    assert_eq!(sets.len(), 3);
}

#[test]
fn tools_where_an_api_cannot_carry_them_are_errors() {
    let with = |class: &str| {
        common::errors(&format!(
            "workload \"w\" {{\n  {class}\n  phase \"p\" {{ requests = 1 concurrency = 1 }}\n}}"
        ))
    };
    let e = with(r#"class "c" { api = completions tools = 2 input = 10 output = 4 }"#);
    assert!(e.contains("completions, which carries no tools"), "{e}");
    let e = with(r#"class "c" { api = embeddings tool_choice = auto input = 10 }"#);
    assert!(e.contains("embeddings, which carries no tools"), "{e}");
    let e = with(r#"class "c" { tools = 500 input = 10 output = 4 }"#);
    assert!(e.contains("over the limit of 128"), "{e}");
    let e = with(r#"class "c" { tools = 2 tool_choice = always input = 10 output = 4 }"#);
    assert!(e.contains("required"), "{e}");
}

/// A simulator that answers half of the requests offering tools with a call.
fn calling() -> llmw::sim::SimConfig {
    llmw::sim::SimConfig {
        model: "m".into(),
        behaviour: llmw::sim::Behaviour {
            tool_call_share: 0.5,
            reasoning_tokens: 2,
            ..Default::default()
        },
        // No model delay, and answers that end on their own (mostly) before the cap.
        profile: llmw::sim::Profile {
            natural_output_mean: 20,
            ..llmw::sim::Profile::named(llmw::sim::ProfileName::Fast)
        },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_call_a_tool_are_read_in_every_api_streamed_and_whole() {
    for stream in [true, false] {
        let text = format!(
            r#"workload "calls" {{
  seed = 3
  target {{ model = "m"  timeout = 30s  stream = {stream} }}
  class "chat" weight 1 {{ tools = 2  input = 20  output = 40 }}
  class "responses" weight 1 {{ api = responses  tools = 2  input = 20  output = 40 }}
  class "messages" weight 1 {{ api = messages  tools = 2  input = 20  output = 40 }}
  class "never" weight 1 {{ tools = 2  tool_choice = none  input = 20  output = 40 }}
  phase "p" {{ requests = 240  concurrency = 8 }}
}}"#
        );
        let (_, _, rows) = common::runs::run_with(&text, calling(), "tool-calls").await;
        let mut called = BTreeMap::<String, (usize, usize)>::new();
        for r in &rows {
            assert_eq!(r.status, "ok", "{:?}", r.error);
            let calls = r.tool_calls.expect("tools were offered");
            let n = called.entry(r.class.clone()).or_default();
            n.1 += 1;
            if calls == 0 {
                assert_eq!(
                    r.first_tool_ns, None,
                    "{} stream {stream} {:?}",
                    r.class, r.finish_reason
                );
                continue;
            }
            n.0 += 1;
            assert_eq!(calls, 1, "one call an answer");
            let first = r.first_tool_ns.expect("a call's first byte");
            // Reasoning came first, then the call: its first byte is after the first token.
            assert!(
                first >= r.first_token_ns.expect("first token"),
                "request {}",
                r.request_id
            );
            assert!(
                r.reasoning_tokens.unwrap_or(0) >= 1,
                "reasoning before the call"
            );
            let reason = r.finish_reason.as_deref().expect("finish");
            let want = match r.class.as_str() {
                "chat" => ["tool_calls", "length"],
                "responses" => ["completed", "max_output_tokens"],
                _ => ["tool_use", "max_tokens"],
            };
            assert!(want.contains(&reason), "{}: {reason}", r.class);
            // The call's arguments are the output: all of it counted, as text would be.
            assert!(
                r.output_tokens.expect("output") > 2 && r.chunks >= 1,
                "{} stream {stream}: {:?} {}",
                r.class,
                r.output_tokens,
                r.chunks
            );
        }
        assert_eq!(
            called["never"].0, 0,
            "tool_choice = none is never answered with a call"
        );
        for class in ["chat", "responses", "messages"] {
            let (k, n) = called[class];
            // Binomial(n, 1/2): within 4 standard deviations.
            let sd = (n as f64 * 0.25).sqrt();
            assert!(
                (k as f64 - n as f64 / 2.0).abs() <= 4.0 * sd,
                "{class} (stream {stream}): {k} of {n}"
            );
        }
    }
}
