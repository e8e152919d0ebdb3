//! Multi-turn sessions: the language's `session` blocks, the conversations the plan makes of
//! them (exact prompt lengths, `max_context`, fanout, prompts that extend the previous turn),
//! the statistics of turns and think times, the engine's turn order and gaps against the
//! in-process simulator (open and closed loop, `history = live`, limits, a phase that ends
//! mid-session), trace replay of sessions (BurstGPT v3 and a generic CSV), and the session
//! view of the analysis against an independent computation.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::runs::{requests, run_json, Req};
use llmw::schedule::{PlannedRequest, Schedule};
use llmw::sim::{Behaviour, Profile, ProfileName, SimConfig};

/// Every conversation of an open-loop plan: its requests in plan order.
fn sessions(s: &Schedule) -> Vec<Vec<PlannedRequest>> {
    llmw::schedule::units(&s.requests)
        .filter(|u| u[0].session.is_some())
        .map(<[PlannedRequest]>::to_vec)
        .collect()
}

fn turn(r: &PlannedRequest) -> u32 {
    r.session.expect("a session request").turn
}

fn new_tokens(r: &PlannedRequest) -> u32 {
    r.session.expect("a session request").new_tokens
}

/// Branch 0 of each turn, in turn order.
fn main_line(conv: &[PlannedRequest]) -> Vec<PlannedRequest> {
    conv.iter()
        .filter(|r| r.session.is_some_and(|t| t.branch == 0))
        .copied()
        .collect()
}

fn chat(extra: &str, phase: &str) -> String {
    format!(
        r#"workload "s" {{
  seed = 3
  session "chat" {{
    turns  = uniform(2, 8)
    input  = uniform(20, 80)
    output = uniform(10, 40)
    {extra}
  }}
  phase "p" {{
    {phase}
  }}
}}"#
    )
}

#[test]
fn each_turns_prompt_is_the_conversation_so_far_plus_its_new_text() {
    let s = common::plan(&chat(
        "system = shared(tokens: 64, groups: 3)",
        "arrival = poisson(rate: 5/s)\n    requests = 2000",
    ));
    let convs = sessions(&s);
    assert!(convs.len() > 200, "{} conversations", convs.len());
    for conv in &convs {
        let head = conv[0];
        let t = head.session.expect("session");
        assert_eq!(t.id, head.id, "a session's id is its first request's");
        assert!(head.at_ns.is_some(), "the first turn has a send time");
        let line = main_line(conv);
        let mut so_far = head.prefix_tokens;
        for (k, r) in line.iter().enumerate() {
            assert_eq!(turn(r), k as u32);
            assert_eq!(r.prefix_group, head.prefix_group, "one system prompt");
            assert_eq!(r.prefix_tokens, 64);
            assert_eq!(
                r.input_tokens,
                so_far + new_tokens(r),
                "turn {k} of {}",
                t.id
            );
            if k > 0 {
                assert_eq!(r.at_ns, None, "later turns wait for answers");
                assert!(r.think_ns.is_none(), "no think time given: none planned");
            }
            assert_eq!(r.session.map(|t| t.first_turn), Some(0));
            so_far += new_tokens(r) + r.output_tokens;
        }
    }
    // `requests = 2000` counts requests, not conversations.
    assert_eq!(s.requests.len(), 2000);
}

#[test]
fn max_context_drops_the_oldest_turns_and_the_plan_records_which() {
    let s = common::plan(&chat(
        "system = shared(tokens: 50, groups: 1)\n    max_context = 300",
        "arrival = poisson(rate: 5/s)\n    requests = 3000",
    ));
    let mut dropped = 0;
    for conv in sessions(&s) {
        let line = main_line(&conv);
        let sizes: Vec<u32> = line
            .iter()
            .map(|r| new_tokens(r) + r.output_tokens)
            .collect();
        for (k, r) in line.iter().enumerate() {
            // The oldest turn kept: the first from which the rest fits.
            let fits = |f: usize| 50 + sizes[f..k].iter().sum::<u32>() + new_tokens(r) <= 300;
            let first = (0..k).find(|&f| fits(f)).unwrap_or(k);
            let t = r.session.expect("session");
            assert_eq!(t.first_turn as usize, first, "turn {k}");
            assert_eq!(
                r.input_tokens,
                50 + sizes[first..k].iter().sum::<u32>() + new_tokens(r)
            );
            assert!(r.input_tokens <= 300, "new text alone fits here");
            dropped += usize::from(first > 0);
        }
    }
    assert!(dropped > 100, "max_context dropped turns {dropped} times");
}

#[test]
fn fanout_branches_share_one_context_and_branch_zero_carries_on() {
    let s = common::plan(&chat(
        "fanout = 3",
        "arrival = poisson(rate: 5/s)\n    requests = 600",
    ));
    let convs = sessions(&s);
    for conv in &convs {
        let mut by_turn: BTreeMap<u32, Vec<PlannedRequest>> = BTreeMap::new();
        for r in conv {
            by_turn.entry(turn(r)).or_default().push(*r);
        }
        let mut history = 0;
        for (k, branches) in &by_turn {
            let last_turn = *k == by_turn.keys().copied().max().unwrap_or(0);
            if !(last_turn && branches.len() < 3) {
                // (the plan's last conversation may be cut by `requests`)
                assert_eq!(branches.len(), 3, "turn {k}");
            }
            for (b, r) in branches.iter().enumerate() {
                assert_eq!(r.session.map(|t| t.branch), Some(b as u32));
                assert_eq!(r.input_tokens, history + new_tokens(r), "same context");
                assert_eq!(r.think_ns, branches[0].think_ns, "sent together");
            }
            history += new_tokens(&branches[0]) + branches[0].output_tokens;
        }
    }
    // Ids: consecutive positions, unique.
    let ids: std::collections::BTreeSet<u64> = s.requests.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), s.requests.len());
}

#[test]
fn each_turns_messages_begin_with_the_previous_turns_prompt_and_reply() {
    let s = common::plan(&chat(
        "system = shared(tokens: 40, groups: 2)",
        "arrival = poisson(rate: 5/s)\n    requests = 300",
    ));
    for conv in sessions(&s).iter().take(40) {
        let mut previous: Option<Vec<serde_json::Value>> = None;
        for (i, r) in conv.iter().enumerate() {
            let (prompt, tokens) = llmw::prompt::conversation(s.seed, conv, i, None);
            assert_eq!(tokens, r.input_tokens);
            // Completions: the text is exactly `input_tokens` words.
            let text = prompt.text();
            assert_eq!(text.split_whitespace().count() as u32, r.input_tokens);
            let messages = prompt.to_json().as_array().cloned().expect("messages");
            assert_eq!(messages[0]["role"], "system");
            assert_eq!(
                messages.last().map(|m| m["role"].clone()),
                Some("user".into())
            );
            if let Some(before) = &previous {
                // The previous prompt whole, then its (planned) reply, then the new user text.
                assert_eq!(&messages[..before.len()], &before[..], "turn {}", turn(r));
                assert_eq!(messages[before.len()]["role"], "assistant");
                let reply = messages[before.len()]["content"].as_str().unwrap_or("");
                assert_eq!(
                    reply.split_whitespace().count() as u32,
                    conv[i - 1].output_tokens
                );
                assert_eq!(messages.len(), before.len() + 2);
            }
            previous = Some(messages);
        }
    }
    // Identical text for an identical plan: the same bytes on every machine.
    let again = common::plan(&chat(
        "system = shared(tokens: 40, groups: 2)",
        "arrival = poisson(rate: 5/s)\n    requests = 300",
    ));
    assert_eq!(again.hash, s.hash);
    let c = &sessions(&s)[3];
    let d = &sessions(&again)[3];
    assert_eq!(
        llmw::prompt::conversation(s.seed, c, c.len() - 1, None),
        llmw::prompt::conversation(again.seed, d, d.len() - 1, None)
    );
}

#[test]
fn turns_and_think_times_follow_their_distributions() {
    let text = r#"workload "s" {
  seed = 21
  session "chat" {
    turns  = uniform(2, 8)
    input  = 10
    output = 10
    think  = exponential(mean: 2s)
  }
  phase "p" { concurrency = 4  duration = 1m  think = 500ms }
}"#;
    let s = common::plan(text);
    let seq = s.closed_sequence(0, 0, 60_000);
    let convs: Vec<&[PlannedRequest]> = llmw::schedule::units(&seq).collect();
    // Drop the last conversation: the sequence may cut it.
    let convs = &convs[..convs.len() - 1];
    let turns: Vec<f64> = convs.iter().map(|c| c.len() as f64).collect();
    let n = turns.len();
    assert!(n > 8000, "{n} conversations");
    // uniform(2, 8): each of 7 values with probability 1/7; χ² with 6 degrees of freedom,
    // below its 0.999 quantile (22.46).
    let mut counts = [0f64; 7];
    for t in &turns {
        counts[*t as usize - 2] += 1.0;
    }
    let expected = n as f64 / 7.0;
    let chi2: f64 = counts
        .iter()
        .map(|c| (c - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 22.46, "χ² {chi2} over {counts:?}");
    for c in convs {
        assert_eq!(c[0].session.map(|t| t.turns), Some(c.len() as u32));
        // Before the first turn, the phase's think: a user between conversations.
        assert_eq!(c[0].think_ns, Some(500_000_000));
    }
    let thinks: Vec<f64> = convs
        .iter()
        .flat_map(|c| {
            c[1..]
                .iter()
                .map(|r| r.think_ns.expect("think") as f64 / 1e9)
        })
        .collect();
    let d = common::ks(&thinks, |x| 1.0 - (-x / 2.0).exp());
    assert!(
        d < common::ks_limit(thinks.len()),
        "KS {d} over {} think times",
        thinks.len()
    );
}

#[test]
fn session_mistakes_are_diagnosed_at_their_spans() {
    let base = |body: &str| {
        format!(
            "workload \"s\" {{\n  session \"chat\" {{\n{body}\n  }}\n  phase \"p\" {{ concurrency = 1  duration = 1s }}\n}}\n"
        )
    };
    let e = common::errors(&base("    input = 10\n    output = 10"));
    assert!(e.contains("session \"chat\" does not say its turns"), "{e}");
    let e = common::errors(&base(
        "    turns = 3\n    input = 10\n    output = 10\n    fanout = 0",
    ));
    assert!(e.contains("fanout must be at least 1"), "{e}");
    let e = common::errors(&base(
        "    turns = 3\n    input = 10\n    output = 10\n    think = 5",
    ));
    assert!(e.contains("think"), "{e}");
    assert!(e.contains("duration"), "{e}");
    let e = common::errors(&base(
        "    turns = 3\n    system = shared(tokens: 500, groups: 1)\n    input = 10\n    output = 10\n    max_context = 400",
    ));
    assert!(
        e.contains("max_context 400 is below one turn (520 tokens"),
        "{e}"
    );
    let e = common::errors(&base(
        "    turns = 3\n    input = 10\n    output = 10\n    history = remembered",
    ));
    assert!(e.contains("unknown history 'remembered'"), "{e}");
    let e = common::errors(&base(
        "    turns = 3\n    input = 10\n    output = 10\n    turn = 3",
    ));
    assert!(e.contains("did you mean 'turns'"), "{e}");
    let e = common::errors(
        "workload \"s\" {\n  session { turns = 2 input = 1 output = 1 }\n  phase \"p\" { concurrency = 1  duration = 1s }\n}\n",
    );
    assert!(e.contains("a session needs a name"), "{e}");
    let e = common::errors(
        "workload \"s\" {\n  class \"x\" { input = 1 output = 1 }\n  session \"x\" { turns = 2 input = 1 output = 1 }\n  phase \"p\" { concurrency = 1  duration = 1s }\n}\n",
    );
    assert!(
        e.contains("a class and a session are both named 'x'"),
        "{e}"
    );
    let e = common::errors(
        "workload \"s\" {\n  session \"x\" { turns = 2 input = 1 output = 1 }\n  phase \"p\" { concurrency = 1  duration = 1s  class \"x\" { input = 5 } }\n}\n",
    );
    assert!(
        e.contains("this class 'x' would override the workload's session of that name"),
        "{e}"
    );
    // A phase's session block overrides the workload's same-named session, field by field.
    let s = common::plan(
        "workload \"s\" {\n  session \"x\" { turns = 2 input = 1 output = 1 }\n  phase \"p\" { concurrency = 1  duration = 1s  session \"x\" { turns = 5 } }\n}\n",
    );
    assert_eq!(s.closed_unit(0, 0, 0).len(), 5);
}

// ---------------------------------------------------------------------------------------------
// Runs against the simulator
// ---------------------------------------------------------------------------------------------

/// A profile where a step costs `step_ms` plus `prefill_us` per prompt token not in the cache.
fn costly_prefill(step_ms: f64, prefill_us: f64) -> Profile {
    Profile {
        step_base_us: step_ms * 1000.0,
        per_seq_us: 0.0,
        per_prefill_token_us: prefill_us,
        per_kv_token_ns: 0.0,
        ..Profile::named(ProfileName::Default)
    }
}

async fn run_with(text: &str, config: SimConfig, name: &str) -> (PathBuf, Schedule, Vec<Req>) {
    let server = common::runs::simulator(config).await;
    let p = common::runs::prepare(text, name, server.url(), Default::default());
    let (dir, schedule) = (p.dir.clone(), (*p.schedule).clone());
    let result = llmw::engine::run(p.schedule, p.options).await.expect("run");
    assert_eq!(
        result.ending,
        llmw::engine::Ending::Completed,
        "{:?}",
        result.error
    );
    let rows = requests(&dir);
    (dir, schedule, rows)
}

fn sim(profile: Profile) -> SimConfig {
    SimConfig {
        model: "m".into(),
        profile,
        ..SimConfig::default()
    }
}

/// Rows by session, each session's rows by (turn, branch).
fn by_session(rows: &[Req]) -> BTreeMap<i64, Vec<Req>> {
    let mut out: BTreeMap<i64, Vec<Req>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.session.is_some()) {
        out.entry(r.session.unwrap_or(0))
            .or_default()
            .push(r.clone());
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|r| (r.turn, r.branch));
    }
    out
}

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
        for r in conv {
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

// ---------------------------------------------------------------------------------------------
// Trace replay of sessions
// ---------------------------------------------------------------------------------------------

const BURSTGPT3: &str = "traces/burstgpt3_head400.csv";

#[test]
fn burstgpt_v3_sessions_replay_as_conversations_in_order() {
    let text = format!(
        r#"workload "b" {{ phase "r" {{ arrival = trace("{}/{BURSTGPT3}", format: burstgpt, speed: 1000x, failed: skip) }} }}"#,
        env!("CARGO_MANIFEST_DIR")
    );
    let s = common::plan(&text);
    // The slice: 400 rows, one failed (skipped), 134 conversations and 6 API calls outside any.
    assert_eq!(s.requests.len(), 399);
    let convs = sessions(&s);
    assert_eq!(convs.len(), 134);
    assert_eq!(s.requests.iter().filter(|r| r.session.is_none()).count(), 6);
    let mut rows = csv::Reader::from_path(BURSTGPT3).expect("trace");
    let mut by_id: BTreeMap<String, Vec<(f64, u32)>> = BTreeMap::new();
    for r in rows.records() {
        let r = r.expect("row");
        if &r[5] == "0" || r[1].is_empty() {
            continue;
        }
        by_id
            .entry(r[1].to_string())
            .or_default()
            .push((r[0].parse().expect("time"), r[4].parse().expect("tokens")));
    }
    let mut sizes: Vec<usize> = by_id.values().map(Vec::len).collect();
    let mut planned: Vec<usize> = convs.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    planned.sort_unstable();
    assert_eq!(sizes, planned, "each conversation's rows, all of them");
    for conv in &convs {
        let times: Vec<u64> = conv
            .iter()
            .map(|r| r.at_ns.expect("recorded time"))
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "turns in time order"
        );
        // The recorded prompt length includes the conversation so far: each turn carries the
        // kept history and adds the rest.
        for (k, r) in conv.iter().enumerate() {
            let t = r.session.expect("session");
            assert_eq!(t.turn, k as u32);
            let carried: u32 = conv[t.first_turn as usize..k]
                .iter()
                .map(|q| new_tokens(q) + q.output_tokens)
                .sum();
            assert_eq!(r.input_tokens, carried + t.new_tokens);
        }
    }
    // sessions: false replays the same rows as independent requests.
    let flat = common::plan(&text.replace("failed: skip", "failed: skip, sessions: false"));
    assert_eq!(flat.requests.len(), 399);
    assert!(flat.requests.iter().all(|r| r.session.is_none()));
    assert_ne!(flat.hash, s.hash);
}

#[test]
fn a_generic_trace_orders_turns_by_its_turn_column() {
    let dir = common::runs::temp_dir("session-trace");
    std::fs::create_dir_all(&dir).expect("dir");
    let trace = dir.join("t.csv");
    // Conversation "a": turn 1 is recorded before turn 0 (clocks of two frontends).
    std::fs::write(
        &trace,
        "t,in,out,conv,k\n0.0,10,5,a,1\n0.5,30,5,b,0\n1.0,12,4,a,0\n2.0,40,6,b,1\n",
    )
    .expect("write");
    let text = format!(
        r#"workload "g" {{ phase "r" {{ arrival = trace("{}", format: csv, columns: {{ at: "t", input: "in", output: "out", session: "conv", turn: "k" }}) }} }}"#,
        trace.display()
    );
    let s = common::plan(&text);
    let got: Vec<(u64, u32, u32)> = s
        .requests
        .iter()
        .map(|r| {
            let t = r.session.expect("session");
            (t.id, t.turn, r.input_tokens)
        })
        .collect();
    // Conversations start at their first turn's time: "b" (0.5 s), then "a" (its turn 0, the
    // row that says 0, at 1.0 s).
    assert_eq!(got, vec![(0, 0, 30), (0, 1, 40), (2, 0, 12), (2, 1, 10)]);
    // b's turn 1 carries turn 0 (30 + 5) and adds 5; a's turn 1 records 10 tokens, less than
    // its history (12 + 4): it is sent as new text alone.
    assert_eq!(
        s.requests[1].session.map(|t| (t.first_turn, t.new_tokens)),
        Some((0, 5))
    );
    assert_eq!(
        s.requests[3].session.map(|t| (t.first_turn, t.new_tokens)),
        Some((1, 10))
    );
    assert_eq!(
        s.requests[3].at_ns,
        Some(0),
        "a turn keeps its recorded time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_turn_waits_for_its_recorded_time_and_the_previous_answer() {
    let text = format!(
        r#"workload "b" {{
  target {{ ignore_eos = true }}
  requests {{ output = 8 }}
  phase "r" {{ arrival = trace("{}/{BURSTGPT3}", format: burstgpt, speed: 2000x, limit: 60, failed: skip) }}
}}"#,
        env!("CARGO_MANIFEST_DIR")
    );
    let (_, _, rows) = run_with(&text, sim(costly_prefill(2.0, 0.0)), "sessions-replay").await;
    assert_eq!(rows.len(), 60);
    let mut waited = 0;
    for conv in by_session(&rows).values() {
        for w in conv.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let recorded = b
                .scheduled_ns
                .expect("a replayed turn keeps its recorded time");
            assert!(b.sent_ns >= recorded, "sent before its recorded time");
            assert!(b.sent_ns >= a.done_ns, "sent before the previous answer");
            waited += usize::from(a.done_ns > recorded);
        }
    }
    assert!(waited > 0, "no turn had to wait for its previous answer");
}

// ---------------------------------------------------------------------------------------------
// The session view of the analysis
// ---------------------------------------------------------------------------------------------

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
async fn replaying_a_run_replays_its_conversations_and_their_branches() {
    let text = r#"workload "fan" {
  seed = 14
  target { ignore_eos = true }
  session "agent" {
    turns  = 3
    input  = uniform(10, 30)
    output = 8
    think  = 5ms
    fanout = 2
  }
  phase "p" { arrival = constant(rate: 10/s)  requests = 24 }
}"#;
    let (dir, _, rows) = run_with(text, sim(costly_prefill(1.0, 0.0)), "sessions-replay-run").await;
    assert_eq!(rows.len(), 24);
    let replay = format!(
        r#"workload "again" {{ target {{ ignore_eos = true }} phase "r" {{ arrival = trace("{}", format: llmw) }} }}"#,
        dir.display()
    );
    let s = common::plan(&replay);
    let convs = sessions(&s);
    assert_eq!(convs.len(), 4);
    for conv in &convs {
        let shape: Vec<(u32, u32)> = conv
            .iter()
            .map(|r| r.session.map(|t| (t.turn, t.branch)).unwrap_or_default())
            .collect();
        assert_eq!(shape, vec![(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]);
        // Branches share their turn's context: the same history under each.
        for pair in conv.chunks(2) {
            let (a, b) = (pair[0].session.expect("s"), pair[1].session.expect("s"));
            assert_eq!(a.first_turn, b.first_turn);
            assert_eq!(
                pair[0].input_tokens - a.new_tokens,
                pair[1].input_tokens - b.new_tokens
            );
        }
    }
    // The same lengths as the run sent.
    let mut sent: Vec<i32> = rows.iter().map(|r| r.input_tokens).collect();
    let mut planned: Vec<i32> = s.requests.iter().map(|r| r.input_tokens as i32).collect();
    sent.sort_unstable();
    planned.sort_unstable();
    assert_eq!(sent, planned);
}

/// Plans a shipped example with `--set` overrides.
fn example(name: &str, sets: &[&str]) -> Schedule {
    let overrides = llmw::Overrides {
        sets: sets.iter().map(|s| s.to_string()).collect(),
        seed: None,
    };
    let path = PathBuf::from(format!("workloads/{name}.llmw"));
    let (_, resolved) = llmw::load_file(&path, &overrides);
    llmw::compile(&resolved.unwrap_or_else(|d| panic!("{name}: {d:?}"))).expect("compiles")
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

#[test]
fn the_plan_listing_shows_session_turn_and_branch_and_each_turns_messages() {
    let s = example("agent-loop", &["total=40"]);
    let mut out = Vec::new();
    llmw::output::write_plan_with(
        &mut out,
        &s,
        llmw::output::PlanFormat::Jsonl,
        llmw::output::ClosedPreview::Auto,
        true,
    )
    .expect("writes");
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 40);
    let mut fanned = false;
    for (k, l) in lines.iter().enumerate() {
        assert!(
            l["session"].is_u64() && l["turn"].is_u64() && l["branch"].is_u64(),
            "{l}"
        );
        let messages = l["prompt"].as_array().expect("messages");
        assert_eq!(messages[0]["role"], "system");
        fanned |= l["branch"] == 1;
        if k > 0
            && l["session"] == lines[k - 1]["session"]
            && l["turn"].as_u64() == lines[k - 1]["turn"].as_u64().map(|t| t + 1)
            && lines[k - 1]["branch"] == 0
        {
            // The previous turn's prompt whole, then its reply, then the new text.
            let before = lines[k - 1]["prompt"].as_array().expect("messages");
            assert_eq!(&messages[..before.len()], &before[..]);
            assert_eq!(messages[before.len()]["role"], "assistant");
        }
    }
    assert!(fanned, "no fanout branch in 40 requests");
    // A plan without sessions lists no session fields.
    let q = example("quickstart", &[]);
    let mut out = Vec::new();
    llmw::output::write_plan(
        &mut out,
        &q,
        llmw::output::PlanFormat::Jsonl,
        llmw::output::ClosedPreview::Count(3),
    )
    .expect("writes");
    assert!(!String::from_utf8(out).expect("utf-8").contains("session"));
}
