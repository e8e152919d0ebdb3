//! Agent sessions (`tool_result`): every turn but the last calls one of the session's tools,
//! and the next turn's new input is that call's result. The planned history (each call with
//! valid JSON arguments, each result answering the call before it, in the chat form and in the
//! Responses and Messages forms), a run in every API against the simulator row by row (it
//! refuses a result without its call and counts the words of every call and result), and
//! what the checker refuses.

mod common;

use std::collections::BTreeMap;

use common::sessions::{main_line, new_tokens, sessions, turn};
use serde_json::Value;

fn agent(api: &str, extra: &str) -> String {
    agent_in(api, extra, "requests = 120  concurrency = 4")
}

/// The plan's own conversations need an open loop (a closed loop's are made as users take them).
fn open(extra: &str) -> String {
    agent_in(
        "chat",
        extra,
        "arrival = poisson(rate: 5/s)  requests = 400",
    )
}

fn agent_in(api: &str, extra: &str, phase: &str) -> String {
    format!(
        r#"workload "agent" {{
  seed = 11
  target {{ model = "m"  ignore_eos = true  timeout = 30s }}
  session "loop" {{
    api = {api}
    tools = 3
    tool_tokens = uniform(10, 20)
    turns = uniform(2, 6)
    system = shared(tokens: 16, groups: 2)
    input = 30
    tool_result = uniform(40, 80)
    output = uniform(5, 12)
    {extra}
  }}
  phase "p" {{ {phase} }}
}}"#
    )
}

/// The words of every string value of a call's arguments (JSON text).
fn argument_words(arguments: &str) -> usize {
    let v: Value = serde_json::from_str(arguments).expect("arguments are valid JSON");
    v.as_object()
        .expect("an object")
        .values()
        .map(|x| x.as_str().expect("string").split_whitespace().count())
        .sum()
}

#[test]
fn every_turn_but_the_last_calls_a_tool_and_the_next_turn_sends_its_result() {
    let s = common::plan(&open(""));
    let convs = sessions(&s);
    assert!(convs.len() > 20, "{} conversations", convs.len());
    for conv in &convs {
        let line = main_line(conv);
        let offered: Vec<String> = llmw::prompt::tools(&s, &line[0])
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(offered.len(), 3);
        for (i, r) in conv.iter().enumerate() {
            let k = turn(r) as usize;
            // Turn 0 is the user's text (`input`), every later turn a tool's result.
            if k == 0 {
                assert_eq!(new_tokens(r), 30);
            } else {
                assert!((40..=80).contains(&new_tokens(r)), "{}", new_tokens(r));
            }
            let (prompt, tokens) = llmw::prompt::conversation(&s, conv, i, None);
            assert_eq!(tokens, r.input_tokens);
            let messages = prompt.to_json().as_array().cloned().expect("messages");
            let roles: Vec<&str> = messages
                .iter()
                .map(|m| m["role"].as_str().unwrap_or(""))
                .collect();
            let mut want = vec!["system", "user"];
            for _ in 0..k {
                want.extend(["assistant", "tool"]);
            }
            assert_eq!(roles, want, "turn {k}");
            // Each call: one of the offered tools, valid JSON arguments of its turn's planned
            // reply length; each result: the call before it, of its turn's new length.
            for (j, pair) in messages[2..].chunks(2).enumerate() {
                let call = &pair[0]["tool_calls"][0];
                assert_eq!(pair[0]["content"], Value::Null);
                let name = call["function"]["name"].as_str().expect("name");
                assert!(offered.iter().any(|o| o == name), "{name}");
                let arguments = call["function"]["arguments"].as_str().expect("a string");
                assert_eq!(argument_words(arguments) as u32, line[j].output_tokens);
                assert_eq!(pair[1]["tool_call_id"], call["id"]);
                let result = pair[1]["content"].as_str().expect("text");
                let answered = if j + 1 == k { *r } else { line[j + 1] };
                assert_eq!(
                    result.split_whitespace().count() as u32,
                    new_tokens(&answered)
                );
            }
        }
    }
    // The same plan gives the same calls, byte for byte.
    let again = common::plan(&open(""));
    let (a, b) = (&convs[2], &sessions(&again)[2]);
    assert_eq!(
        llmw::prompt::conversation(&s, a, a.len() - 1, None),
        llmw::prompt::conversation(&again, b, b.len() - 1, None)
    );
}

#[test]
fn a_result_whose_call_max_context_dropped_goes_as_user_text() {
    let s = common::plan(&open("max_context = 200"));
    let mut cut = 0;
    for conv in sessions(&s) {
        for (i, r) in conv.iter().enumerate() {
            let first = r.session.expect("session").first_turn;
            let (prompt, tokens) = llmw::prompt::conversation(&s, &conv, i, None);
            assert_eq!(tokens, r.input_tokens);
            let messages = prompt.to_json().as_array().cloned().expect("messages");
            // Never a result before (or without) its call.
            let mut calls = Vec::new();
            for m in &messages {
                if let Some(c) = m.get("tool_calls") {
                    calls.push(c[0]["id"].clone());
                }
                if m["role"] == "tool" {
                    assert!(calls.contains(&m["tool_call_id"]), "{messages:?}");
                }
            }
            if first > 0 {
                cut += 1;
                assert_eq!(messages[1]["role"], "user", "the oldest kept text");
            }
        }
    }
    assert!(cut > 10, "{cut} turns dropped earlier turns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_sessions_run_in_every_api_and_the_server_counts_every_call_and_result() {
    for api in ["chat", "responses", "messages"] {
        let config = llmw::sim::SimConfig {
            model: "m".into(),
            ..Default::default()
        };
        let (_, schedule, rows) = common::runs::run_with(&agent(api, ""), config, "agent").await;
        // The requests limit may cut a conversation: its turns due after it are `cancelled`.
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.status != "cancelled")
            .collect();
        assert_eq!(rows.len(), 120, "{api}");
        let plan = schedule.closed_sequence(0, 0, 1000);
        let planned: BTreeMap<i64, _> = plan.iter().map(|r| (r.id as i64, r)).collect();
        let definitions: usize = llmw::prompt::tools(&schedule, &plan[0])
            .iter()
            .map(common::definition_words)
            .sum();
        let mut later = 0;
        for r in &rows {
            // The simulator refuses a result without its call (a 400), so every row ok
            // says every turn's history held together in this API's form.
            assert_eq!(r.status, "ok", "{api}: {:?}", r.error);
            let p = planned[&r.request_id];
            assert_eq!(r.input_tokens as u32, p.input_tokens, "{api}");
            // The server counted the system prompt, every user text, call argument and result,
            // and the definitions: exactly the planned prompt (it counts words alone).
            assert_eq!(
                r.prompt_tokens,
                Some(r.input_tokens + definitions as i32),
                "{api}: request {} turn {}",
                r.request_id,
                turn(p)
            );
            later += usize::from(turn(p) > 0);
        }
        assert!(later > 40, "{api}: {later} turns sent results");
    }
}

#[test]
fn a_tool_result_needs_tools_and_planned_history() {
    let with = |fields: &str| {
        common::errors(&format!(
            "workload \"w\" {{\n  session \"s\" {{ turns = 3 input = 10 output = 4 {fields} }}\n  phase \"p\" {{ requests = 1 concurrency = 1 }}\n}}"
        ))
    };
    let e = with("tool_result = 40");
    assert!(e.contains("offers no tools to call"), "{e}");
    let e = with("tools = 2 tool_result = 40 history = live");
    assert!(e.contains("needs history = planned"), "{e}");
    let e = with("tools = 2 tool_result = 40 images = 1");
    assert!(e.contains("carry no images"), "{e}");
    let e = with("api = completions tools = 2 tool_result = 40");
    assert!(e.contains("carries no tools"), "{e}");
    common::plan(
        "workload \"w\" {\n  session \"s\" { turns = 3 input = 10 output = 4 tools = 2 tool_result = 40 }\n  phase \"p\" { requests = 1 concurrency = 1 }\n}",
    );
}
