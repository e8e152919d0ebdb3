//! The session view of each group: conversations started and completed, turns per
//! conversation, how long completed ones took, and TTFT, ITL and the prefix-cache share by
//! turn index (how they change as the context grows and the cache warms). Computed over the
//! group's measured requests, like every other metric (docs/metrics.md, "Sessions").

use std::collections::BTreeMap;

use serde::Serialize;

use super::latency::request_latencies;
use crate::analysis::load::{Run, Status};
use crate::stats::Stats;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sessions {
    /// Conversations whose first turn is among the group's measured requests.
    pub started: usize,
    /// Started conversations whose every planned turn (every branch) was answered.
    pub completed: usize,
    /// Turns that reached the server per started conversation (a fanout turn counts once).
    pub turns: Stats,
    /// Completed conversations: first request sent to last answer, in seconds.
    pub duration_s: Stats,
    /// One entry per turn index present, in order.
    pub by_turn: Vec<TurnStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnStats {
    pub turn: u32,
    /// Requests at this turn (every branch), and those answered.
    pub requests: usize,
    pub ok: usize,
    pub ttft_ms: Stats,
    pub itl_ms: Stats,
    /// Mean of the prompt tokens the server reported for answered requests (null without).
    pub prompt_tokens_mean: Option<f64>,
    /// Cached prompt tokens over prompt tokens, for answered requests that reported both.
    pub cache_hit_share: Option<f64>,
}

/// One conversation as the group saw it.
struct Conversation {
    first_sent: i64,
    last_done: i64,
    planned: i32,
    /// Turn indices with a request that reached the server.
    sent_turns: std::collections::BTreeSet<i32>,
    has_first: bool,
    all_ok: bool,
}

#[derive(Default)]
struct Turn {
    requests: usize,
    ok: usize,
    ttft: Vec<f64>,
    itl: Vec<f64>,
    prompt: Vec<f64>,
    cached: (i64, i64),
}

/// The session view of each of `groups` groups (`None` for a group without conversations).
pub(crate) fn per_group(
    run: &Run,
    of_row: &[Option<usize>],
    groups: usize,
) -> Vec<Option<Sessions>> {
    let r = &run.requests;
    let streamed = run.meta.streamed();
    let mut conversations: Vec<BTreeMap<i64, Conversation>> =
        (0..groups).map(|_| BTreeMap::new()).collect();
    let mut turns: Vec<BTreeMap<i32, Turn>> = (0..groups).map(|_| BTreeMap::new()).collect();
    for (i, group) in of_row.iter().enumerate().take(r.len()) {
        let (Some(g), Some(id), Some(turn)) = (*group, r.session[i], r.turn[i]) else {
            continue;
        };
        let status = r.status[i];
        let reached = !matches!(status, Status::Dropped | Status::Cancelled);
        let c = conversations[g].entry(id).or_insert(Conversation {
            first_sent: i64::MAX,
            last_done: i64::MIN,
            planned: r.session_turns[i].unwrap_or(0),
            sent_turns: std::collections::BTreeSet::new(),
            has_first: false,
            all_ok: true,
        });
        c.has_first |= turn == 0;
        c.all_ok &= status == Status::Ok;
        if reached {
            c.sent_turns.insert(turn);
            c.first_sent = c.first_sent.min(r.sent_ns[i]);
            c.last_done = c.last_done.max(r.done_ns[i]);
        }
        let t = turns[g].entry(turn).or_default();
        t.requests += 1;
        if status != Status::Ok {
            continue;
        }
        t.ok += 1;
        let (ttft, itl) = request_latencies(run, i, streamed);
        t.ttft.extend(ttft);
        t.itl.extend(itl);
        if let Some(p) = r.prompt_tokens[i] {
            t.prompt.push(p as f64);
            if let Some(c) = r.cached_tokens[i] {
                t.cached.0 += c.max(0) as i64;
                t.cached.1 += p.max(0) as i64;
            }
        }
    }
    conversations
        .into_iter()
        .zip(turns)
        .map(|(convs, turns)| {
            if convs.is_empty() {
                return None;
            }
            let started: Vec<&Conversation> = convs.values().filter(|c| c.has_first).collect();
            let complete = |c: &&&Conversation| {
                c.all_ok
                    && c.planned > 0
                    && c.sent_turns.len() == c.planned as usize
                    && c.sent_turns.last() == Some(&(c.planned - 1))
            };
            let mut per = started
                .iter()
                .map(|c| c.sent_turns.len() as f64)
                .collect::<Vec<_>>();
            let mut durations = started
                .iter()
                .filter(complete)
                .map(|c| (c.last_done - c.first_sent) as f64 / 1e9)
                .collect::<Vec<_>>();
            Some(Sessions {
                started: started.len(),
                completed: durations.len(),
                turns: Stats::of(&mut per),
                duration_s: Stats::of(&mut durations),
                by_turn: turns
                    .into_iter()
                    .map(|(turn, mut t)| TurnStats {
                        turn: turn.max(0) as u32,
                        requests: t.requests,
                        ok: t.ok,
                        ttft_ms: Stats::of(&mut t.ttft),
                        itl_ms: Stats::of(&mut t.itl),
                        prompt_tokens_mean: (!t.prompt.is_empty())
                            .then(|| t.prompt.iter().sum::<f64>() / t.prompt.len() as f64),
                        cache_hit_share: (t.cached.1 > 0)
                            .then(|| t.cached.0 as f64 / t.cached.1 as f64),
                    })
                    .collect(),
            })
        })
        .collect()
}
