//! `--format csv`: one row per group (and run), every statistic in its own column;
//! `--format turns-csv`: one row per turn index of each group with conversations.

use crate::analysis::measure::groups::{failure_kinds, Group, Load};
use crate::analysis::measure::Analysis;
use crate::metric::Stat;
use crate::stats::Stats;

const DISTS: [&str; 9] = [
    "ttft_ms",
    "ttft_sched_ms",
    "itl_ms",
    "itl_llmperf_ms",
    "chunk_gap_ms",
    "e2e_ms",
    "tps_user",
    "send_lag_ms",
    "ttfo_ms",
];

fn dists(g: &Group) -> [&Stats; 9] {
    [
        &g.ttft_ms,
        &g.ttft_sched_ms,
        &g.itl_ms,
        &g.itl_llmperf_ms,
        &g.chunk_gap_ms,
        &g.e2e_ms,
        &g.tps_user,
        &g.send_lag_ms,
        &g.ttfo_ms,
    ]
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// An interval's two columns (empty without one).
fn interval(row: &mut Vec<String>, ci: Option<[f64; 2]>) {
    row.push(opt(ci.map(|c| c[0])));
    row.push(opt(ci.map(|c| c[1])));
}

pub fn write(analyses: &[Analysis]) -> String {
    let mut header = vec![
        "run".to_string(),
        "phase".into(),
        "step".into(),
        "load_kind".into(),
        "load".into(),
    ];
    header.extend(["total", "ok", "error", "timeout", "dropped", "cancelled"].map(String::from));
    for d in DISTS {
        header.push(format!("{d}_count"));
        for s in Stat::ALL {
            header.push(format!("{d}_{}", s.as_str()));
        }
        for s in ["p50", "p99"] {
            header.push(format!("{d}_{s}_ci95_lo"));
            header.push(format!("{d}_{s}_ci95_hi"));
        }
    }
    header.extend(
        [
            "tps",
            "tps_ci95_lo",
            "tps_ci95_hi",
            "rps",
            "error_rate",
            "timeout_rate",
            "drop_rate",
            "goodput",
            "reasoning_tokens",
            "answer_tokens",
            "cache_hit_share",
            "conn_reused",
            "resent",
            "conn_opened",
            "conn_opened_share",
            "setup_p50_ms",
            "setup_p99_ms",
            "backoff_pauses",
            "backoff_s",
            "server_running",
            "server_waiting",
            "server_kv_cache_usage",
            "server_ttft_mean_ms",
            "server_itl_mean_ms",
            "server_generation_tps",
            "sessions",
            "sessions_completed",
            "turns_per_session_mean",
            "session_duration_p50_s",
        ]
        .map(String::from),
    );
    // One `errors_<kind>` column for every kind, whether or not the run has one.
    header.extend(failure_kinds().map(|k| format!("errors_{k}")));
    let mut out = header.join(",");
    out.push('\n');
    for a in analyses {
        for g in &a.groups {
            let (kind, load) = match g.load {
                Load::Concurrency(v) => ("concurrency", v),
                Load::Rate(v) => ("rate", v),
            };
            let c = &g.requests;
            let mut row = vec![
                field(&a.run),
                field(&g.phase),
                g.step.to_string(),
                kind.into(),
                load.to_string(),
            ];
            row.extend(
                [c.total, c.ok, c.error, c.timeout, c.dropped, c.cancelled].map(|n| n.to_string()),
            );
            for s in dists(g) {
                row.push(s.count.to_string());
                for stat in Stat::ALL {
                    row.push(opt(s.get(stat)));
                }
                interval(&mut row, s.p50_ci95);
                interval(&mut row, s.p99_ci95);
            }
            row.push(opt(g.tps));
            interval(&mut row, g.tps_ci95);
            row.extend([g.rps, g.error_rate, g.timeout_rate, g.drop_rate, g.goodput].map(opt));
            row.push(g.tokens.reasoning.to_string());
            row.push(g.tokens.answer.to_string());
            row.push(opt(g.prompt.cache_hit_share));
            row.push(g.connections.reused.to_string());
            row.push(g.connections.resent.to_string());
            row.push(g.connections.opened.to_string());
            row.extend(
                [
                    g.connections.opened_share,
                    g.connections.setup_ms.p50,
                    g.connections.setup_ms.p99,
                ]
                .map(opt),
            );
            row.push(g.backoff.pauses.to_string());
            row.push(g.backoff.total_s.to_string());
            let sv = g.server.as_ref();
            row.extend(
                [
                    sv.and_then(|s| s.running),
                    sv.and_then(|s| s.waiting),
                    sv.and_then(|s| s.kv_cache_usage),
                    sv.and_then(|s| s.ttft_mean_ms),
                    sv.and_then(|s| s.itl_mean_ms),
                    sv.and_then(|s| s.generation_tps),
                ]
                .map(opt),
            );
            let ss = g.sessions.as_ref();
            row.push(ss.map(|s| s.started.to_string()).unwrap_or_default());
            row.push(ss.map(|s| s.completed.to_string()).unwrap_or_default());
            row.push(opt(ss.and_then(|s| s.turns.mean)));
            row.push(opt(ss.and_then(|s| s.duration_s.p50)));
            row.extend(failure_kinds().map(|k| c.by_kind.get(k).copied().unwrap_or(0).to_string()));
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

/// One row per (run, group, turn index) of the groups with conversations.
pub fn write_turns(analyses: &[Analysis]) -> String {
    let mut header: Vec<String> = ["run", "phase", "step", "turn", "requests", "ok"]
        .map(String::from)
        .to_vec();
    for d in ["ttft_ms", "itl_ms"] {
        header.push(format!("{d}_count"));
        for s in Stat::ALL {
            header.push(format!("{d}_{}", s.as_str()));
        }
    }
    header.extend(["prompt_tokens_mean", "cache_hit_share"].map(String::from));
    let mut out = header.join(",");
    out.push('\n');
    for a in analyses {
        for g in &a.groups {
            let Some(s) = &g.sessions else { continue };
            for t in &s.by_turn {
                let mut row = vec![
                    field(&a.run),
                    field(&g.phase),
                    g.step.to_string(),
                    t.turn.to_string(),
                    t.requests.to_string(),
                    t.ok.to_string(),
                ];
                for d in [&t.ttft_ms, &t.itl_ms] {
                    row.push(d.count.to_string());
                    for stat in Stat::ALL {
                        row.push(opt(d.get(stat)));
                    }
                }
                row.push(opt(t.prompt_tokens_mean));
                row.push(opt(t.cache_hit_share));
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
    }
    out
}
