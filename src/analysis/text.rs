//! `--format text`: aligned tables for a terminal.

use std::fmt::Write;

use super::compare::Comparison;
use super::groups::{Group, Load};
use super::Analysis;
use crate::metric::{Stat, Unit};
use crate::stats::Stats;

fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| {
        if x >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    })
    .unwrap_or_else(|| "-".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

pub fn load(l: Load) -> String {
    match l {
        Load::Concurrency(v) => format!("{} users", num(Some(v)).trim_end_matches(".00")),
        Load::Rate(v) => format!("{}/s", num(Some(v)).trim_end_matches(".00")),
    }
}

/// Aligned columns: the first `left` columns left-aligned, the rest right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i < left {
                let _ = write!(l, "{c}{pad}  ");
            } else {
                let _ = write!(l, "{pad}{c}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
    out
}

fn group_row(g: &Group) -> Vec<String> {
    let d = |s: &Stats, stat: Stat| ms(s.get(stat));
    vec![
        g.phase.clone(),
        g.step.to_string(),
        load(g.load),
        format!("{}/{}", g.requests.ok, g.requests.total),
        pct(g.error_rate),
        pct(g.drop_rate),
        d(&g.ttft_ms, Stat::P50),
        d(&g.ttft_ms, Stat::P90),
        d(&g.ttft_ms, Stat::P99),
        d(&g.itl_ms, Stat::P50),
        d(&g.itl_ms, Stat::P99),
        d(&g.e2e_ms, Stat::P50),
        num(g.tps),
        num(g.tps_user.p50),
        num(g.rps),
        num(g.goodput),
    ]
}

pub const HEADER: [&str; 16] = [
    "phase",
    "step",
    "load",
    "ok/total",
    "errors",
    "dropped",
    "TTFT p50",
    "p90",
    "p99",
    "ITL p50",
    "p99",
    "e2e p50",
    "tok/s",
    "tok/s/user",
    "req/s",
    "goodput",
];

/// The summary table's cells, one row per group.
pub fn analysis_rows(groups: &[Group]) -> Vec<Vec<String>> {
    groups.iter().map(group_row).collect()
}

/// What a run of shards is: all of them as one, or a partial set (then said first).
pub fn shards_note(a: &Analysis) -> Option<String> {
    let sh = a.shards.as_ref()?;
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    Some(if sh.partial() {
        format!(
            "PARTIAL: shards {} of {} (missing {}): the numbers are those of part of the load, not the plan's",
            list(&sh.present),
            sh.count,
            list(&sh.missing)
        )
    } else {
        let skew = sh.offsets_ms.iter().copied().fold(0.0, f64::max);
        format!(
            "all {} shards of the plan, analysed as one run (time 0 up to {skew:.3} ms apart)",
            sh.count
        )
    })
}

pub fn analysis(a: &Analysis) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {}  workload {}  plan {:.16}  status {}  (warm-up {}s, cool-down {}s; times in ms)",
        a.run, a.workload, a.plan_hash, a.status, a.warmup_s, a.cooldown_s
    );
    match a.status.as_str() {
        "running" => out.push_str(
            "cut short: run.json still says running, so the process was killed (or the machine stopped); \
             the tables hold every row written up to about a second before that\n",
        ),
        "interrupted" => out.push_str("interrupted: the run was stopped early; its rows up to then are all here\n"),
        "failed" => out.push_str("failed: the run ended on an error (run.json says which); its rows up to then are all here\n"),
        _ => {}
    }
    if let Some(note) = shards_note(a) {
        let _ = writeln!(out, "{note}");
    }
    for g in &a.groups {
        if let Some(why) = g.client.as_ref().and_then(|c| c.busy.as_ref()) {
            let _ = writeln!(out, "CLIENT BUSY in {} step {}: {why}", g.phase, g.step);
        }
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = a.groups.iter().map(group_row).collect();
    out.push_str(&table(&HEADER, &rows, 3));
    out.push('\n');
    details(a, &mut out);
    match &a.saturation {
        Some(s) => {
            let _ = writeln!(
                out,
                "saturation: {} step {} ({}) at {:.0} tok/s — {}",
                s.phase, s.step, load(s.load), s.tps, s.reason
            );
            let unit = match s.load {
                Load::Concurrency(_) => "users",
                Load::Rate(_) => "req/s",
            };
            let _ = writeln!(
                out,
                "operating range (50–70 % of saturation): {:.0}–{:.0} tok/s at {:.1}–{:.1} {unit}",
                s.operating_range.tps[0], s.operating_range.tps[1], s.operating_range.load[0], s.operating_range.load[1]
            );
            if let Some(why) = &s.uncertain {
                let _ = writeln!(out, "  UNCERTAIN: {why}");
            }
        }
        None => out.push_str("saturation: not reached (no step where throughput stopped growing while TTFT jumped or errors appeared)\n"),
    }
    for s in &a.search {
        search(s, &mut out);
    }
    if let Some(slo) = &a.slo {
        out.push_str("\nSLO:\n");
        for o in slo {
            let verdict = if o.pass { "pass" } else { "FAIL" };
            let measured = match o.measured {
                None => "no data".to_string(),
                Some(v) => match o.metric.unit() {
                    Unit::Fraction => format!("{:.2} %", v * 100.0),
                    Unit::Rate => format!("{v:.1}/s"),
                    Unit::Seconds => format!("{:.1} ms", v * 1000.0),
                },
            };
            let doubt = match (o.uncertain, o.ci95) {
                (true, Some([lo, hi])) => format!(
                    "  UNCERTAIN: its 95 % interval {} spans the threshold; measure longer",
                    match o.metric.unit() {
                        Unit::Seconds => format!("{:.1}–{:.1} ms", lo * 1000.0, hi * 1000.0),
                        _ => format!("{lo:.3}–{hi:.3}"),
                    }
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {verdict}  {:<24} measured {measured}{doubt}",
                o.objective
            );
        }
    }
    out.push_str("\ndiagnostics:\n");
    for g in &a.groups {
        let mut parts = Vec::new();
        if let Some(f) = &g.diagnostics.ttft_vs_prompt {
            let rate = f
                .prefill_tokens_per_s
                .map(|r| format!(" → prefill ≈ {r:.0} tokens/s"))
                .unwrap_or_default();
            parts.push(format!(
                "TTFT ≈ {:.1} ms + {:.4} ms/token (r² {:.2}){rate}",
                f.intercept_ms, f.slope_ms_per_token, f.r2
            ));
        }
        if let Some(t) = g.diagnostics.itl_trend {
            let hint = if t > 1.2 {
                " — rising: KV-cache or memory-bandwidth pressure?"
            } else {
                ""
            };
            parts.push(format!("ITL late/early ×{t:.2}{hint}"));
        }
        if let Some(w) = g.steady_state {
            parts.push(format!("steady {:.1}–{:.1} s", w.start_s, w.end_s));
        }
        if let Some(why) = &g.no_steady_state {
            parts.push(format!("NO STEADY STATE: {why}"));
        }
        if !parts.is_empty() {
            let _ = writeln!(out, "  {} step {}: {}", g.phase, g.step, parts.join("; "));
        }
    }
    out
}

/// A table of cells: its header and its rows.
pub type Cells = (Vec<&'static str>, Vec<Vec<String>>);

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
    let row = |t: &crate::analysis::sessions::TurnStats| {
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

fn details(a: &Analysis, out: &mut String) {
    if let Some((header, rows)) = details_table(&a.groups) {
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
    if let Some((header, rows)) = intervals_table(&a.groups) {
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
    if let Some((header, rows)) = connections_table(&a.groups) {
        out.push_str("connections (set-up is not in TTFT; backoffs lower the load written):\n");
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
    if let Some((header, rows)) = sessions_table(&a.groups) {
        out.push_str("sessions:\n");
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
        for g in &a.groups {
            if let Some((header, rows)) = turns_table(g) {
                let _ = writeln!(out, "by turn, {} step {}:", g.phase, g.step);
                out.push_str(&table(&header, &rows, 1));
                out.push('\n');
            }
        }
    }
    if let Some((header, rows)) = server_table(&a.groups) {
        out.push_str("server (its own /metrics):\n");
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
}

pub fn comparison(c: &Comparison) -> String {
    let mut out = String::new();
    for a in &c.runs {
        out.push_str(&analysis(a));
        out.push('\n');
    }
    let _ = writeln!(out, "changes against {}:", c.baseline);
    let rows: Vec<Vec<String>> = c
        .deltas
        .iter()
        .map(|d| {
            vec![
                d.run.clone(),
                d.phase.clone(),
                d.step.to_string(),
                d.metric.clone(),
                num(d.baseline),
                num(d.value),
                d.change_pct
                    .map(|p| format!("{p:+.1}%"))
                    .unwrap_or_else(|| "-".into()),
                match d.beyond_noise {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "run",
            "phase",
            "step",
            "metric",
            "baseline",
            "value",
            "change",
            "beyond noise (95%)",
        ],
        &rows,
        4,
    ));
    out
}

/// A searched phase's probes, in the order run: its table's header and rows.
pub fn search_table(s: &super::search::SearchReport) -> (Vec<&'static str>, Vec<Vec<String>>) {
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
pub fn verify_table(
    s: &super::search::SearchReport,
) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
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
fn search_unit(s: &super::search::SearchReport) -> &'static str {
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

/// A searched phase: its probes in the order run, what they found, the verification holds.
fn search(s: &super::search::SearchReport, out: &mut String) {
    let unit = search_unit(s);
    let how = match &s.levels_from {
        Some(from) => format!("the levels of {from}, replayed"),
        None => format!(
            "{}–{} {unit}, tolerance {:.0} %",
            crate::fmt::trim(s.range[0], 3),
            crate::fmt::trim(s.range[1], 3),
            s.tolerance * 100.0
        ),
    };
    let _ = writeln!(
        out,
        "\nsearch of '{}' ({how}): {} probes{}",
        s.phase,
        s.probes.len(),
        s.ended
            .as_ref()
            .map(|e| format!("; ended: {e}"))
            .unwrap_or_default()
    );
    let (header, rows) = search_table(s);
    out.push_str(&table(&header, &rows, 2));
    let found = |what: &str, p: &Option<super::search::Point>, none: &str| match p {
        Some(p) => {
            let show = |v: Option<f64>| v.map_or("-".into(), |v| crate::fmt::trim(v, 3));
            let [lo, hi] = p.bracket.map(show);
            let narrow = if p.within_tolerance {
                ""
            } else {
                " (wider than the tolerance)"
            };
            format!(
                "{what}: {} {unit}, bracket [{lo}, {hi}]{narrow}, {} tok/s\n",
                show(p.level),
                num(p.tps)
            )
        }
        None => format!("{what}: {none}\n"),
    };
    out.push_str(&found(
        "  saturation point",
        &s.saturation,
        "not found in the range",
    ));
    if s.slo_limit.is_some() {
        out.push_str(&found("  SLO limit", &s.slo_limit, "-"));
    }
    if let Some(why) = &s.verify_skipped {
        let _ = writeln!(out, "  verification skipped: {why}");
    }
    if let Some((header, rows)) = verify_table(s) {
        out.push_str(&table(&header, &rows, 1));
    }
}
