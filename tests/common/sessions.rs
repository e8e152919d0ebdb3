//! Helpers of the session tests (`tests/sessions*.rs`): a plan's conversations and their turns,
//! a chat workload, and runs against the in-process simulator with a costly prefill.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::runs::Req;
use llmw::schedule::{PlannedRequest, Schedule};
use llmw::sim::{Profile, ProfileName, SimConfig};

/// Every conversation of an open-loop plan: its requests in plan order.
pub fn sessions(s: &Schedule) -> Vec<Vec<PlannedRequest>> {
    llmw::schedule::units(&s.requests)
        .filter(|u| u[0].session.is_some())
        .map(<[PlannedRequest]>::to_vec)
        .collect()
}

pub fn turn(r: &PlannedRequest) -> u32 {
    r.session.expect("a session request").turn
}

pub fn new_tokens(r: &PlannedRequest) -> u32 {
    r.session.expect("a session request").new_tokens
}

/// Branch 0 of each turn, in turn order.
pub fn main_line(conv: &[PlannedRequest]) -> Vec<PlannedRequest> {
    conv.iter()
        .filter(|r| r.session.is_some_and(|t| t.branch == 0))
        .copied()
        .collect()
}

pub fn chat(extra: &str, phase: &str) -> String {
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

/// A profile where a step costs `step_ms` plus `prefill_us` per prompt token not in the cache.
pub fn costly_prefill(step_ms: f64, prefill_us: f64) -> Profile {
    Profile {
        step_base_us: step_ms * 1000.0,
        per_seq_us: 0.0,
        per_prefill_token_us: prefill_us,
        per_kv_token_ns: 0.0,
        ..Profile::named(ProfileName::Default)
    }
}

pub fn sim(profile: Profile) -> SimConfig {
    SimConfig {
        model: "m".into(),
        profile,
        ..SimConfig::default()
    }
}

/// Rows by session, each session's rows by (turn, branch).
pub fn by_session(rows: &[Req]) -> BTreeMap<i64, Vec<Req>> {
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

/// Plans a shipped example with `--set` overrides.
pub fn example(name: &str, sets: &[&str]) -> Schedule {
    let overrides = llmw::Overrides {
        sets: sets.iter().map(|s| s.to_string()).collect(),
        seed: None,
    };
    let path = PathBuf::from(format!("workloads/{name}.llmw"));
    let (_, resolved) = llmw::load_file(&path, &overrides);
    llmw::compile(&resolved.unwrap_or_else(|d| panic!("{name}: {d:?}"))).expect("compiles")
}
