//! The detail tables beside the main one — what real servers add, connections, failures by
//! kind, the server's own metrics, sessions and turns, intervals, a search's probes and its
//! verification — as cells that text and the report both render.

use super::cells::{ms, num, pct, Cells};
use crate::analysis::measure::groups::{failure_kinds, Group};
use crate::analysis::measure::search::SearchReport;
use crate::analysis::measure::sessions::TurnStats;

/// What real servers add, when a run has it: answer timing of reasoning models, prefix-cache
/// hits and resent requests, one row per group.
pub fn details_table(g: &[Group]) -> Option<Cells> {
    let reasoning = g.iter().any(|g| g.tokens.reasoning > 0);
    let cache = g
        .iter()
        .any(|g| g.prompt.cache_hit_share.is_some_and(|c| c > 0.0));
    let resent = g.iter().any(|g| g.connections.resent > 0);
    if !(reasoning || cache || resent) {
        return None;
    }
    let rows = g
        .iter()
        .map(|g| {
            vec![
                g.phase.clone(),
                g.step.to_string(),
                ms(g.ttfo_ms.p50),
                ms(g.ttfo_ms.p99),
                g.tokens.reasoning.to_string(),
                g.tokens.answer.to_string(),
                pct(g.prompt.cache_hit_share),
                format!("{}/{}", g.connections.resent, g.requests.total),
            ]
        })
        .collect();
    let header = vec![
        "phase",
        "step",
        "TTFO p50",
        "p99",
        "reasoning tok",
        "answer tok",
        "prefix cache hit",
        "resent",
    ];
    Some((header, rows))
}

/// The requests that failed, by what went wrong, when any did: one column per kind present
/// (in the order docs/runs.md lists them), one row per group.
pub fn failures_table(g: &[Group]) -> Option<Cells> {
    let kinds: Vec<&'static str> = failure_kinds()
        .filter(|k| g.iter().any(|g| g.requests.by_kind.contains_key(k)))
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let rows = g
        .iter()
        .map(|g| {
            let c = &g.requests;
            let mut row = vec![
                g.phase.clone(),
                g.step.to_string(),
                format!("{}/{}", c.by_kind.values().sum::<usize>(), c.total),
            ];
            row.extend(
                kinds
                    .iter()
                    .map(|k| c.by_kind.get(k).copied().unwrap_or(0).to_string()),
            );
            row
        })
        .collect();
    let mut header = vec!["phase", "step", "failed"];
    header.extend(kinds);
    Some((header, rows))
}

/// Embeddings requests, when a group has them: their latency and what they embedded per
/// second (they have no TTFT, ITL or output), one row per group with any.
pub fn embeddings_table(g: &[Group]) -> Option<Cells> {
    let rows: Vec<Vec<String>> = g
        .iter()
        .filter_map(|g| {
            let e = g.embeddings.as_ref()?;
            Some(vec![
                g.phase.clone(),
                g.step.to_string(),
                e.requests.to_string(),
                e.inputs.to_string(),
                ms(e.latency_ms.p50),
                ms(e.latency_ms.p99),
                num(e.inputs_per_s),
                num(e.input_tokens_per_s),
            ])
        })
        .collect();
    let header = vec![
        "phase",
        "step",
        "requests",
        "inputs",
        "latency p50",
        "p99",
        "inputs/s",
        "input tok/s",
    ];
    (!rows.is_empty()).then_some((header, rows))
}

/// How requests reached the server, when any opened a connection or backed off: the share that
/// opened one and its set-up time (not part of TTFT), and closed-loop pauses after failures.
pub fn connections_table(g: &[Group]) -> Option<Cells> {
    let opened = g.iter().any(|g| g.connections.opened > 0);
    let paused = g.iter().any(|g| g.backoff.pauses > 0);
    if !(opened || paused) {
        return None;
    }
    let rows = g
        .iter()
        .map(|g| {
            let c = &g.connections;
            vec![
                g.phase.clone(),
                g.step.to_string(),
                format!("{}/{}", c.opened, g.requests.total),
                pct(c.opened_share),
                ms(c.setup_ms.p50),
                ms(c.setup_ms.p99),
                ms(c.tls_ms.p50),
                g.backoff.pauses.to_string(),
                format!("{:.1}", g.backoff.total_s),
            ]
        })
        .collect();
    let header = vec![
        "phase",
        "step",
        "opened conn",
        "share",
        "set-up p50",
        "p99",
        "TLS p50",
        "backoffs",
        "backoff user-s",
    ];
    Some((header, rows))
}

/// The server's own metrics per group, when they were scraped.
pub fn server_table(g: &[Group]) -> Option<Cells> {
    if !g.iter().any(|g| g.server.is_some()) {
        return None;
    }
    let rows = g
        .iter()
        .map(|g| {
            let s = g.server.as_ref();
            vec![
                g.phase.clone(),
                g.step.to_string(),
                s.map(|s| s.scrapes.to_string())
                    .unwrap_or_else(|| "0".into()),
                num(s.and_then(|s| s.running)),
                num(s.and_then(|s| s.waiting)),
                pct(s.and_then(|s| s.kv_cache_usage)),
                pct(s.and_then(|s| s.kv_cache_usage_max)),
                ms(s.and_then(|s| s.ttft_mean_ms)),
                ms(s.and_then(|s| s.itl_mean_ms)),
                num(s.and_then(|s| s.generation_tps)),
            ]
        })
        .collect();
    let header = vec![
        "phase",
        "step",
        "scrapes",
        "running",
        "waiting",
        "KV mean",
        "KV max",
        "TTFT mean",
        "ITL mean",
        "gen tok/s",
    ];
    Some((header, rows))
}

/// Conversations per group: started, completed, turns and duration.
pub fn sessions_table(g: &[Group]) -> Option<Cells> {
    if !g.iter().any(|g| g.sessions.is_some()) {
        return None;
    }
    let rows = g
        .iter()
        .filter_map(|g| {
            let s = g.sessions.as_ref()?;
            Some(vec![
                g.phase.clone(),
                g.step.to_string(),
                s.started.to_string(),
                s.completed.to_string(),
                num(s.turns.mean),
                num(s.turns.max),
                num(s.duration_s.p50),
                num(s.duration_s.p90),
            ])
        })
        .collect();
    let header = vec![
        "phase",
        "step",
        "sessions",
        "completed",
        "turns mean",
        "max",
        "duration p50 (s)",
        "p90",
    ];
    Some((header, rows))
}

/// How many turns the by-turn table shows before it elides the middle.
const TURNS_SHOWN: usize = 12;

/// One group's latency and cache by turn index.
pub fn turns_table(g: &Group) -> Option<Cells> {
    let s = g.sessions.as_ref()?;
    let n = s.by_turn.len();
    let row = |t: &TurnStats| {
        vec![
            t.turn.to_string(),
            format!("{}/{}", t.ok, t.requests),
            ms(t.ttft_ms.p50),
            ms(t.ttft_ms.p90),
            ms(t.itl_ms.p50),
            num(t.prompt_tokens_mean),
            pct(t.cache_hit_share),
        ]
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, t) in s.by_turn.iter().enumerate() {
        if n > TURNS_SHOWN && i == TURNS_SHOWN - 2 {
            rows.push(vec!["…".into(); 7]);
        }
        if n <= TURNS_SHOWN || i < TURNS_SHOWN - 2 || i == n - 1 {
            rows.push(row(t));
        }
    }
    let header = vec![
        "turn",
        "ok/total",
        "TTFT p50",
        "p90",
        "ITL p50",
        "prompt tok",
        "prefix cache hit",
    ];
    Some((header, rows))
}

/// 95 % confidence intervals of the headline statistics per group.
pub fn intervals_table(g: &[Group]) -> Option<Cells> {
    let any = g.iter().any(|g| {
        g.ttft_ms.p50_ci95.is_some() || g.itl_ms.p50_ci95.is_some() || g.tps_ci95.is_some()
    });
    if !any {
        return None;
    }
    let span = |ci: Option<[f64; 2]>, unit: fn(Option<f64>) -> String| match ci {
        Some([a, b]) => format!("{}–{}", unit(Some(a)), unit(Some(b))),
        None => "-".into(),
    };
    let rows = g
        .iter()
        .map(|g| {
            vec![
                g.phase.clone(),
                g.step.to_string(),
                span(g.ttft_ms.p50_ci95, ms),
                span(g.ttft_ms.p99_ci95, ms),
                span(g.itl_ms.p50_ci95, ms),
                span(g.itl_ms.p99_ci95, ms),
                span(g.tps_ci95, num),
            ]
        })
        .collect();
    let header = vec![
        "phase",
        "step",
        "TTFT p50 95% CI",
        "TTFT p99",
        "ITL p50",
        "ITL p99",
        "tok/s",
    ];
    Some((header, rows))
}

/// A searched phase's probes, in the order run: its table's header and rows.
pub fn search_table(s: &SearchReport) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let unit = search_unit(s);
    let rows = s
        .probes
        .iter()
        .map(|p| {
            let mut row = vec![p.step.to_string(), crate::fmt::trim(p.level, 3)];
            if s.of == "rate" {
                row.push(crate::fmt::trim(p.load, 2));
            }
            row.extend([
                num(p.tps),
                num(p.ttft_ms),
                num(p.ttft_p99_ms),
                p.error_rate
                    .map(|e| format!("{:.1}", e * 100.0))
                    .unwrap_or_else(|| "-".into()),
                verdict(p.slo),
                p.verdict.as_str().to_string(),
            ]);
            row
        })
        .collect();
    let mut header = vec!["probe", unit];
    if s.of == "rate" {
        header.push("sent/s");
    }
    header.extend(["tok/s", "TTFT p50", "TTFT p99", "err %", "SLO", "verdict"]);
    (header, rows)
}

/// A search's verification holds: its table's header and rows (`None` without any).
pub fn verify_table(s: &SearchReport) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    if s.verify.is_empty() {
        return None;
    }
    let unit = search_unit(s);
    let rows = s
        .verify
        .iter()
        .map(|v| {
            let missed: Vec<&str> = v
                .slo
                .iter()
                .flatten()
                .filter(|o| !o.pass)
                .map(|o| o.objective.as_str())
                .collect();
            let slo = match &v.slo {
                None => "-".to_string(),
                Some(_) if missed.is_empty() => "pass".into(),
                Some(_) => format!("FAIL {}", missed.join(", ")),
            };
            vec![
                format!("{:.0} %", v.share * 100.0),
                crate::fmt::trim(v.load, 3),
                num(v.tps),
                num(v.ttft_ms.p50),
                num(v.ttft_ms.p99),
                num(v.itl_ms.p50),
                num(v.itl_ms.p99),
                num(v.goodput),
                slo,
            ]
        })
        .collect();
    let header = vec![
        "verify",
        unit,
        "tok/s",
        "TTFT p50",
        "TTFT p99",
        "ITL p50",
        "ITL p99",
        "goodput/s",
        "SLO",
    ];
    Some((header, rows))
}

/// The unit of a search's levels.
pub fn search_unit(s: &SearchReport) -> &'static str {
    if s.of == "concurrency" {
        "users"
    } else {
        "req/s"
    }
}

fn verdict(slo: Option<bool>) -> String {
    match slo {
        Some(true) => "pass".into(),
        Some(false) => "FAIL".into(),
        None => "-".into(),
    }
}
