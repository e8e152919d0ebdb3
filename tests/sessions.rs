//! Multi-turn sessions in the language and the plan: the `session` blocks, the conversations
//! the plan makes of them (exact prompt lengths, `max_context`, fanout, prompts that extend the
//! previous turn), the statistics of turns and think times, diagnostics, and the plan listing.
//! Runs against the simulator are in `sessions_run.rs`, trace replay in `sessions_replay.rs`.

mod common;

use common::sessions::*;
use std::collections::BTreeMap;

use llmw::schedule::PlannedRequest;

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
            let (prompt, tokens) = llmw::prompt::conversation(&s, conv, i, None);
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
        llmw::prompt::conversation(&s, c, c.len() - 1, None),
        llmw::prompt::conversation(&again, d, d.len() - 1, None)
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
