//! Sessions replayed from traces: BurstGPT v3's and a generic CSV's conversations in order, a
//! replayed turn waiting for its recorded time and the previous answer, and a run's
//! conversations and branches replayed.

mod common;

use common::runs::run_with;
use common::sessions::*;
use std::collections::BTreeMap;

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
