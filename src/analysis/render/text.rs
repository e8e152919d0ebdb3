//! `--format text`: aligned tables for a terminal.

use std::fmt::Write;

use super::cells::{load, ms, num, pct, table};
use super::tables::{
    connections_table, details_table, failures_table, intervals_table, search_table, search_unit,
    server_table, sessions_table, turns_table, verify_table,
};
use crate::analysis::measure::groups::{Group, Load};
use crate::analysis::measure::search::{Point, SearchReport};
use crate::analysis::measure::{Analysis, Comparison};
use crate::metric::{Stat, Unit};
use crate::stats::Stats;

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

fn details(a: &Analysis, out: &mut String) {
    for by in super::slices::BY {
        if let Some((header, rows)) = super::slices::slices_table(&a.slices, by) {
            let _ = writeln!(out, "by {by} (every measured phase and step):");
            out.push_str(&table(&header, &rows, 2));
            out.push('\n');
        }
    }
    if let Some((header, rows)) = details_table(&a.groups) {
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
    if let Some((header, rows)) = intervals_table(&a.groups) {
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
    if let Some((header, rows)) = super::tables::embeddings_table(&a.groups) {
        out.push_str("embeddings (no TTFT or output; latency is send to answer):\n");
        out.push_str(&table(&header, &rows, 2));
        out.push('\n');
    }
    if let Some((header, rows)) = failures_table(&a.groups) {
        out.push_str("failed requests by kind (docs/runs.md says what each means):\n");
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

/// A searched phase: its probes in the order run, what they found, the verification holds.
fn search(s: &SearchReport, out: &mut String) {
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
    let found = |what: &str, p: &Option<Point>, none: &str| match p {
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
