//! Multi-turn sessions run against the in-process simulator: the engine's turn order and gaps
//! (open and closed loop), the prefix cache by turn, `history = live`, limits, a phase or a run
//! that ends mid-session, the shipped session examples, and the analysis' session view
//! against an independent computation.

mod common;

use common::sessions::*;
use std::collections::BTreeMap;

use common::runs::{requests, run_json, run_with, Req};
use llmw::schedule::PlannedRequest;
use llmw::sim::Behaviour;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_turns_follow_the_answer_plus_think_never_before() {
    let text = chat(
        "think = uniform(20ms, 120ms)\n  }\n  target { ignore_eos = true",
        "arrival = poisson(rate: 20/s)\n    requests = 120",
    );
    let (_, s, rows) = run_with(&text, sim(costly_prefill(2.0, 0.0)), "sessions-open").await;
    assert_eq!(rows.len(), 120);
    assert!(rows.iter().all(|r| r.status == "ok"), "every turn answered");
    let plan: BTreeMap<i64, PlannedRequest> =
        s.requests.iter().map(|r| (r.id as i64, *r)).collect();
    let think: BTreeMap<i64, u64> = s
        .requests
        .iter()
        .map(|r| (r.id as i64, r.think_ns.unwrap_or(0)))
        .collect();
    let mut gaps = 0;
    for (id, conv) in by_session(&rows) {
        assert_eq!(conv[0].request_id, id);
        assert_eq!(conv[0].turn, Some(0));
        for w in conv.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert_eq!(
                b.turn,
                a.turn.map(|t| t + 1),
                "turns in order, none skipped"
            );
            let due = a.done_ns + think[&b.request_id] as i64;
            assert!(b.sent_ns >= due, "turn sent {} ns early", due - b.sent_ns);
            // The planned send time of a later turn is when it became due.
            assert_eq!(b.scheduled_ns, Some(due));
            assert!(
                b.sent_ns - due < 200_000_000,
                "turn sent {} ms late",
                (b.sent_ns - due) / 1_000_000
            );
            // The prompt grew by the previous answer and the new text, as planned.
            let new = new_tokens(&plan[&b.request_id]) as i32;
            assert_eq!(
                b.input_tokens,
                a.input_tokens + a.output_tokens.unwrap_or(0) + new
            );
            gaps += 1;
        }
    }
    assert!(gaps > 40, "{gaps} turn gaps checked");
    // The server saw the prompt lengths the plan says (no chat template in the simulator).
    for r in &rows {
        assert_eq!(
            r.prompt_tokens,
            Some(r.input_tokens),
            "request {}",
            r.request_id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_never_has_two_turns_of_a_session_in_flight_but_sends_branches_together() {
    let text = r#"workload "agents" {
  seed = 4
  target { ignore_eos = true }
  session "agent" {
    turns  = uniform(3, 6)
    input  = uniform(30, 90)
    output = uniform(5, 20)
    think  = 10ms
    fanout = choice(1: 0.5, 3: 0.5)
  }
  phase "p" { concurrency = 4  requests = 150 }
}"#;
    let (_, _, rows) = run_with(text, sim(costly_prefill(2.0, 0.0)), "sessions-closed").await;
    let sent = rows.iter().filter(|r| r.status != "cancelled").count();
    assert_eq!(sent, 150, "the requests limit counts turns");
    let mut fanned = 0;
    for conv in by_session(&rows).values() {
        let mut turns: BTreeMap<i32, Vec<&Req>> = BTreeMap::new();
        for r in conv.iter().filter(|r| r.status != "cancelled") {
            turns.entry(r.turn.unwrap_or(-1)).or_default().push(r);
        }
        let list: Vec<&Vec<&Req>> = turns.values().collect();
        for w in list.windows(2) {
            let done = w[0].iter().map(|r| r.done_ns).max().unwrap_or(0);
            let next = w[1].iter().map(|r| r.sent_ns).min().unwrap_or(0);
            assert!(
                next >= done + 10_000_000,
                "a turn overlapped the previous one (or skipped think)"
            );
        }
        for branches in turns.values().filter(|b| b.len() > 1) {
            let first = branches.iter().map(|r| r.sent_ns).min().unwrap_or(0);
            let last = branches.iter().map(|r| r.sent_ns).max().unwrap_or(0);
            assert!(
                last - first < 50_000_000,
                "branches sent {} ms apart",
                (last - first) / 1_000_000
            );
            fanned += 1;
        }
    }
    assert!(fanned > 5, "{fanned} fanned-out turns");
    // A cancelled row is a turn that was due when the limit stopped its session: the last of
    // its session, after an answered turn.
    for conv in by_session(&rows).values() {
        if let Some(c) = conv.iter().position(|r| r.status == "cancelled") {
            assert!(
                conv[c..].iter().all(|r| r.status == "cancelled"),
                "nothing after a cancelled turn"
            );
            let turn = conv[c].turn;
            assert!(
                conv[c..].iter().all(|r| r.turn == turn),
                "only the turn that was due"
            );
        }
    }
    // Each user's conversation at most was cut by the limit, at the turn then due.
    let cut: std::collections::BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.status == "cancelled")
        .filter_map(|r| r.session)
        .collect();
    assert!(cut.len() <= 4, "conversations cut: {cut:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefix_cache_serves_earlier_turns_so_ttft_by_turn_shows_it() {
    // One user, so nothing shares a step; prefill costs 100 µs a token: turn 7's 1,950-token
    // prompt would take 195 ms of prefill uncached.
    let text = r#"workload "cache" {
  seed = 5
  target { ignore_eos = true }
  session "chat" {
    turns  = 8
    input  = 200
    output = 50
    think  = 5ms
  }
  phase "p" { concurrency = 1  requests = 40 }
}"#;
    let (dir, _, rows) = run_with(text, sim(costly_prefill(1.0, 100.0)), "sessions-cache").await;
    // Exactly: each turn's cached tokens are the previous turn's whole prompt, in 16-token
    // blocks (the plan's reply differs from the simulator's words, so it is not cached).
    for conv in by_session(&rows).values() {
        assert_eq!(conv[0].cached_tokens, Some(0));
        for w in conv.windows(2) {
            assert_eq!(
                w[1].cached_tokens,
                Some(w[0].input_tokens / 16 * 16),
                "{:?}",
                w[1]
            );
        }
    }
    let a = llmw::analyze(&llmw::load_run(&dir).expect("loads"), &Default::default())
        .expect("analyses");
    let s = a.groups[0].sessions.as_ref().expect("a session view");
    // One user runs five 8-turn conversations in 40 requests.
    assert_eq!((s.started, s.completed), (5, 5));
    assert_eq!(s.turns.mean, Some(8.0));
    assert_eq!(s.by_turn.len(), 8);
    let turn7: Vec<&Req> = rows.iter().filter(|r| r.turn == Some(7)).collect();
    let cached: i64 = turn7
        .iter()
        .map(|r| r.cached_tokens.unwrap_or(0) as i64)
        .sum();
    let prompt: i64 = turn7
        .iter()
        .map(|r| r.prompt_tokens.unwrap_or(0) as i64)
        .sum();
    assert_eq!(
        s.by_turn[7].cache_hit_share,
        Some(cached as f64 / prompt as f64)
    );
    assert_eq!(s.by_turn[7].prompt_tokens_mean, Some(1950.0));
    // TTFT by turn shows it: turn 7 prefills its 262 uncached tokens (~26 ms), far from the
    // 195 ms the whole prompt would take.
    let ttft = s.by_turn[7].ttft_ms.p50.expect("ttft");
    assert!(
        ttft < 0.5 * 195.0,
        "TTFT {ttft:.1} ms at turn 7: the cache did not serve it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_live_sends_the_servers_own_replies_back() {
    // No ignore_eos: the simulator stops early, so its replies are shorter than planned.
    let text = r#"workload "live" {
  seed = 6
  session "chat" {
    turns   = 5
    system  = shared(tokens: 30, groups: 1)
    input   = uniform(10, 30)
    output  = 200
    history = live
  }
  phase "p" { concurrency = 2  requests = 30 }
}"#;
    let mut config = sim(costly_prefill(1.0, 0.0));
    // A reasoning model: the first 5 tokens of each answer are reasoning, which is not sent
    // back (a chat client keeps the answer's content).
    config.behaviour = Behaviour {
        chat_template_tokens: 7,
        reasoning_tokens: 5,
        ..Behaviour::default()
    };
    let (_, s, rows) = run_with(text, config, "sessions-live").await;
    // Users take the step's sequence in order: the plan of every request sent.
    let plan: BTreeMap<i64, PlannedRequest> = s
        .closed_sequence(0, 0, 200)
        .into_iter()
        .map(|r| (r.id as i64, r))
        .collect();
    let mut differ = 0;
    for conv in by_session(&rows).values() {
        let mut so_far = 30;
        // A turn the phase's request count cut before it was sent records the plan's length,
        // not a prompt sent: whether the last turns go out depends on timing.
        for r in conv.iter().filter(|r| r.status != "cancelled") {
            let planned = plan[&r.request_id];
            let new = planned.session.expect("session").new_tokens as i32;
            // What was sent: the system prompt, every earlier question and real answer, the new text.
            assert_eq!(r.input_tokens, so_far + new, "request {}", r.request_id);
            // ... which the server counted, with its template on top.
            assert_eq!(r.prompt_tokens, Some(r.input_tokens + 7));
            differ += usize::from(r.input_tokens as u32 != planned.input_tokens);
            let answer = r.output_tokens.expect("answered") - r.reasoning_tokens.unwrap_or(0);
            assert_eq!(r.reasoning_tokens, Some(5));
            so_far += new + answer;
        }
    }
    assert!(
        differ > 5,
        "the real replies were shorter than the plan's {differ} times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_that_ends_mid_session_sends_no_later_turn() {
    let text = chat(
        "turns = 50\n    think = 100ms\n  }\n  target { ignore_eos = true",
        "arrival = constant(rate: 4/s)\n    duration = 2s",
    )
    .replace("    turns  = uniform(2, 8)\n", "");
    let (dir, _, rows) = run_with(&text, sim(costly_prefill(2.0, 0.0)), "sessions-cut").await;
    let m = run_json(&dir);
    let end = m["phases"][0]["end_ns"].as_i64().expect("phase end");
    assert!(
        rows.iter().all(|r| r.sent_ns <= end + 20_000_000),
        "a turn went out after the phase"
    );
    assert!(
        rows.iter().all(|r| r.status == "ok"),
        "unsent turns are not rows"
    );
    let convs = by_session(&rows);
    assert!(
        (7..=9).contains(&convs.len()),
        "{} conversations started in 2 s at 4/s",
        convs.len()
    );
    assert!(
        convs.values().all(|c| c.len() < 50),
        "none could finish 50 turns"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_over_max_in_flight_is_dropped_and_ends_its_session() {
    let text = chat(
        "turns = 6\n  }\n  target { ignore_eos = true",
        "arrival = constant(rate: 40/s)\n    requests = 300\n    max_in_flight = 3",
    )
    .replace("    turns  = uniform(2, 8)\n", "");
    let (_, _, rows) = run_with(&text, sim(costly_prefill(20.0, 0.0)), "sessions-drop").await;
    let dropped = rows.iter().filter(|r| r.status == "dropped").count();
    assert!(dropped > 5, "{dropped} dropped");
    for conv in by_session(&rows).values() {
        if let Some(d) = conv.iter().position(|r| r.status == "dropped") {
            assert_eq!(
                d + 1,
                conv.len(),
                "a conversation goes on after a dropped turn"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_view_matches_an_independent_count_and_its_schema() {
    let text = r#"workload "view" {
  seed = 8
  target { ignore_eos = true }
  requests weight 1 { input = 20  output = 5 }
  session "chat" weight 2 {
    turns  = uniform(1, 5)
    input  = 20
    output = 5
    think  = 5ms
    fanout = choice(1: 0.7, 2: 0.3)
  }
  phase "p" { concurrency = 3  requests = 80 }
}"#;
    let (dir, _, rows) = run_with(text, sim(costly_prefill(1.0, 0.0)), "sessions-view").await;
    let a = llmw::analyze(&llmw::load_run(&dir).expect("loads"), &Default::default())
        .expect("analyses");
    let s = a.groups[0].sessions.as_ref().expect("a session view");
    let convs = by_session(&rows);
    let started = convs.values().filter(|c| c[0].turn == Some(0)).count();
    let completed = convs
        .values()
        .filter(|c| {
            let planned = c[0].session_turns.unwrap_or(0);
            c.iter().all(|r| r.status == "ok") && c.last().and_then(|r| r.turn) == Some(planned - 1)
        })
        .count();
    assert_eq!(s.started, started);
    assert_eq!(s.completed, completed);
    let turn0 = rows.iter().filter(|r| r.turn == Some(0)).count();
    assert_eq!(s.by_turn[0].requests, turn0);
    let singles = rows.iter().filter(|r| r.session.is_none()).count();
    assert!(singles > 0, "one-shot requests mix with conversations");
    assert_eq!(a.groups[0].requests.total, rows.len());
    let json = serde_json::to_value(&a).expect("json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("docs/analysis.schema.json").expect("schema"),
    )
    .expect("schema json");
    let problems = common::schema::validate(&schema, &json);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_cache_keeps_answers_so_live_history_hits_the_reply_too() {
    // As vLLM's and SGLang's prefix caches keep generated blocks: a turn that sends the real
    // reply back finds it cached; the plan's own reply (other words) is not.
    let text = |history: &str| {
        format!(
            r#"workload "c" {{
  seed = 9
  target {{ ignore_eos = true }}
  session "chat" {{
    turns   = 2
    input   = uniform(40, 90)
    output  = uniform(20, 60)
    history = {history}
  }}
  phase "p" {{ concurrency = 1  requests = 20 }}
}}"#
        )
    };
    let block = |n: i32| n / 16 * 16;
    for history in ["planned", "live"] {
        let name = format!("sessions-sim-cache-{history}");
        let (_, _, rows) = run_with(&text(history), sim(costly_prefill(1.0, 0.0)), &name).await;
        let convs = by_session(&rows);
        assert_eq!(convs.len(), 10);
        for conv in convs.values() {
            let (first, second) = (&conv[0], &conv[1]);
            let out = first.output_tokens.expect("answered");
            let expected = match history {
                "live" => block(first.input_tokens + out),
                _ => block(first.input_tokens),
            };
            assert_eq!(
                second.cached_tokens,
                Some(expected),
                "{history}: {second:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_mid_session_ends_at_once_and_keeps_what_was_answered() {
    let text = chat(
        "turns = 40\n    think = 300ms\n  }\n  target { ignore_eos = true",
        "concurrency = 4\n    duration = 1m",
    )
    .replace("    turns  = uniform(2, 8)\n", "");
    let server = common::runs::simulator(sim(costly_prefill(2.0, 0.0))).await;
    let p = common::runs::prepare(&text, "sessions-stop", server.url(), Default::default());
    let (dir, stopper) = (p.dir.clone(), p.options.stopper.clone());
    let started = std::time::Instant::now();
    let run = tokio::spawn(llmw::engine::run(p.schedule, p.options));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stopper.stop(llmw::engine::Ending::Interrupted, "test stop");
    let result = run.await.expect("joined").expect("run");
    assert_eq!(result.ending, llmw::engine::Ending::Interrupted);
    assert!(started.elapsed().as_secs() < 20, "the stop was not prompt");
    let rows = requests(&dir);
    assert!(rows.len() >= 8, "{} rows", rows.len());
    let statuses: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.status.as_str()).collect();
    assert!(
        statuses.iter().all(|s| ["ok", "cancelled"].contains(s)),
        "{statuses:?}"
    );
    // Every conversation's turns are in order with none skipped; nothing after a cancelled turn.
    for conv in by_session(&rows).values() {
        for (k, r) in conv.iter().enumerate() {
            assert_eq!(r.turn, Some(k as i32));
        }
        if let Some(c) = conv.iter().position(|r| r.status == "cancelled") {
            assert_eq!(c + 1, conv.len());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_phase_with_a_duration_and_a_requests_limit_ends_at_whichever_comes_first() {
    // 30 requests of 3-turn conversations are done in a second or two; the duration is a minute.
    let text = chat(
        "turns = 3\n    think = 10ms\n  }\n  target { ignore_eos = true",
        "arrival = poisson(rate: 20/s)\n    requests = 30\n    duration = 1m",
    )
    .replace("    turns  = uniform(2, 8)\n", "");
    let started = std::time::Instant::now();
    let (dir, s, rows) =
        run_with(&text, sim(costly_prefill(1.0, 0.0)), "sessions-limit-open").await;
    assert_eq!(s.phases[0].duration_ns, Some(60_000_000_000));
    assert_eq!(rows.len(), 30);
    assert!(
        started.elapsed().as_secs() < 30,
        "the phase waited for its duration"
    );
    let end = run_json(&dir)["phases"][0]["end_ns"].as_i64().expect("end");
    assert!(end < 30_000_000_000, "phase ended at {end} ns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_examples_run_against_the_simulator() {
    let cases: [(&str, &[&str]); 3] = [
        (
            "chat-sessions",
            &["users_per_second=8/s", "reading=50ms", "total=60"],
        ),
        ("agent-loop", &["agents=4", "tool_time=5ms", "total=60"]),
        ("burstgpt-sessions", &["speed=4000x", "rows=60"]),
    ];
    for (name, sets) in cases {
        let schedule = std::sync::Arc::new(example(name, sets));
        let server = common::runs::simulator(sim(costly_prefill(1.0, 20.0))).await;
        // The options of a run; the schedule is the example's.
        let stand_in = "workload \"x\" { requests { input = 1 output = 1 } phase \"p\" { concurrency = 1 requests = 1 } }";
        let mut p = common::runs::prepare(stand_in, name, server.url(), Default::default());
        p.schedule = schedule;
        let dir = p.dir.clone();
        let result = llmw::engine::run(p.schedule, p.options).await.expect("run");
        assert_eq!(
            result.ending,
            llmw::engine::Ending::Completed,
            "{name}: {:?}",
            result.error
        );
        let rows = requests(&dir);
        assert!(
            rows.iter().filter(|r| r.status == "ok").count() >= 50,
            "{name}: {} rows",
            rows.len()
        );
        let a = llmw::analyze(&llmw::load_run(&dir).expect("loads"), &Default::default())
            .expect("analyses");
        let s = a.groups[0].sessions.as_ref().expect("a session view");
        assert!(
            s.started >= 5 && s.completed >= 1,
            "{name}: {} started, {} completed",
            s.started,
            s.completed
        );
        assert!(s.by_turn.len() >= 2, "{name}");
        let later = s.by_turn[1..]
            .iter()
            .filter_map(|t| t.cache_hit_share)
            .fold(0.0, f64::max);
        assert!(
            later > 0.3,
            "{name}: the cache never served a later turn ({later})"
        );
        let html = llmw::analysis::report::html(&[a]);
        assert!(
            html.contains("TTFT by turn") && html.contains("by turn"),
            "{name}: no session charts"
        );
    }
}
