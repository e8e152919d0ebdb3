//! `llmw report`: one self-contained HTML page (inline SVG, no scripts, no network) with the
//! summary tables and the plots — percentiles and throughput against load with the saturation
//! point and operating range, the latency–throughput curve, CDFs, ITL by output position, TTFT
//! against prompt length, and the run's time series.

use std::fmt::Write;

use super::groups::{self, Group, Load};
use super::svg::{Chart, Series};
use super::{cells, tables, text, Analysis};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}table{border-collapse:collapse;font-size:12.5px;margin:8px 0}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}th{background:#f6f6f6}
td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}.grid2{display:grid;grid-template-columns:repeat(2,600px);gap:12px 16px}
svg{background:#fff;border:1px solid #e4e4e4;border-radius:4px}svg .title{font-size:14px;font-weight:600;fill:#222}
svg .tick{font-size:11px;fill:#555}svg .axis{font-size:12px;fill:#333}svg .legend{font-size:11px;fill:#333}
svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#bbb}svg .band{fill:#009E73;fill-opacity:.12}
svg .marker{stroke:#D55E00;stroke-width:1.5;stroke-dasharray:4 3}svg .note{font-size:11px;fill:#444}svg .empty{fill:#999}
.pass{color:#0a7a3a;font-weight:600}.fail{color:#b00020;font-weight:600}.note{color:#555;font-size:12.5px}
"#;

fn group_name(g: &Group) -> String {
    format!("{} #{} ({})", g.phase, g.step, cells::load(g.load))
}

fn load_unit(groups: &[Group]) -> &'static str {
    match groups.first().map(|g| g.load) {
        Some(Load::Rate(_)) => "load (requests/s)",
        _ => "load (concurrent users)",
    }
}

/// Evenly thinned sorted samples as CDF points.
fn by_load(
    title: &str,
    y: &str,
    runs: &[&Analysis],
    picks: &[(&str, groups::Read)],
    mark: bool,
) -> String {
    let mut chart = Chart {
        title: title.into(),
        x_label: runs
            .first()
            .map(|a| load_unit(&a.groups))
            .unwrap_or("load")
            .into(),
        y_label: y.into(),
        ..Chart::default()
    };
    for (r, a) in runs.iter().enumerate() {
        for (i, (name, read)) in picks.iter().enumerate() {
            // In order of load: a search's probes run in the order it chose them.
            let mut points: Vec<(f64, f64)> = a
                .groups
                .iter()
                .filter_map(|g| Some((g.load.value(), read(g)?)))
                .collect();
            points.sort_by(|p, q| p.0.total_cmp(&q.0));
            let who = if runs.len() > 1 {
                format!("run {} {name}", r + 1)
            } else {
                name.to_string()
            };
            chart.series.push(Series {
                name: who,
                points,
                lines: true,
                dashed: i > 0 && r == 0 && picks.len() > 2,
            });
        }
    }
    let loads: Vec<f64> = runs
        .iter()
        .flat_map(|a| a.groups.iter().map(|g| g.load.value()))
        .filter(|v| *v > 0.0)
        .collect();
    let (lo, hi) = loads
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    chart.log_x = hi / lo > 20.0;
    if mark {
        if let Some(s) = runs.first().and_then(|a| a.saturation.as_ref()) {
            chart.marker = Some((
                s.load.value(),
                format!("saturation: {}", cells::load(s.load)),
            ));
            chart.band = Some((
                s.operating_range.load[0],
                s.operating_range.load[1],
                "operating range 50–70 %".into(),
            ));
        }
    }
    chart.render()
}

/// An HTML table of text cells.
fn html_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table><tr>");
    for c in header {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>");
    for cells in rows {
        h.push_str("<tr>");
        for c in cells {
            let _ = write!(h, "<td>{}</td>", esc(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

fn summary_table(a: &Analysis) -> String {
    let mut h = html_table(&text::HEADER, &text::analysis_rows(&a.groups));
    if let Some((header, rows)) = tables::details_table(&a.groups) {
        h.push_str(&html_table(&header, &rows));
    }
    if let Some((header, rows)) = tables::intervals_table(&a.groups) {
        h.push_str("<p>95 % confidence intervals (percentiles: order statistics; throughput: batch means over 10 windows):</p>");
        h.push_str(&html_table(&header, &rows));
    }
    if let Some((header, rows)) = tables::failures_table(&a.groups) {
        h.push_str("<p>Failed requests by kind (the <code>error_kind</code> column; docs/runs.md says what each means):</p>");
        h.push_str(&html_table(&header, &rows));
    }
    if let Some((header, rows)) = tables::connections_table(&a.groups) {
        h.push_str("<p>Connections: requests that opened one and its set-up time (name look-up, TCP connect and TLS handshake; not part of TTFT or e2e), and the pauses closed-loop users took after failures (the load was lower than written while they paused):</p>");
        h.push_str(&html_table(&header, &rows));
    }
    if let Some((header, rows)) = tables::sessions_table(&a.groups) {
        h.push_str("<p>Conversations:</p>");
        h.push_str(&html_table(&header, &rows));
    }
    if let Some((header, rows)) = tables::server_table(&a.groups) {
        h.push_str("<p>The server's own metrics (scraped from its <code>/metrics</code> every second), per step:</p>");
        h.push_str(&html_table(&header, &rows));
    }
    h.push_str("<p class=note>Times in ms; TTFT p50/p90/p99, ITL p50/p99, e2e p50; tok/s is system output throughput, tok/s/user the per-request p50. TTFO is the time to the first answer token; KV is the server's KV-cache usage.</p>");
    h
}

fn run_section(out: &mut String, a: &Analysis) {
    let points = |pick: fn(&super::series::Diagnostics) -> &Vec<[f64; 2]>| -> Vec<Vec<(f64, f64)>> {
        a.groups
            .iter()
            .map(|g| pick(&g.diagnostics).iter().map(|p| (p[0], p[1])).collect())
            .collect()
    };
    let (ttft, itl, scatter) = (
        points(|d| &d.ttft_cdf),
        points(|d| &d.itl_cdf),
        points(|d| &d.ttft_by_prompt),
    );
    let names: Vec<String> = a.groups.iter().map(group_name).collect();
    let series = |data: Vec<Vec<(f64, f64)>>, lines: bool| -> Vec<Series> {
        data.into_iter()
            .zip(&names)
            .take(8)
            .map(|(points, name)| Series {
                name: name.clone(),
                points,
                lines,
                dashed: false,
            })
            .collect()
    };
    let _ = write!(
        out,
        "<h2>Distributions and diagnostics — {}</h2><div class=grid2>",
        esc(&a.run)
    );
    let charts = [
        Chart {
            title: "TTFT, CDF".into(),
            x_label: "TTFT (ms)".into(),
            y_label: "fraction of requests".into(),
            series: series(ttft, true),
            ..Chart::default()
        },
        Chart {
            title: "ITL per request, CDF".into(),
            x_label: "ITL (ms)".into(),
            y_label: "fraction of requests".into(),
            series: series(itl, true),
            ..Chart::default()
        },
        Chart {
            title: "ITL by output position".into(),
            x_label: "output token position (log)".into(),
            y_label: "mean gap between chunks (ms)".into(),
            log_x: true,
            series: series(
                a.groups
                    .iter()
                    .map(|g| {
                        g.diagnostics
                            .itl_by_position
                            .iter()
                            .map(|b| (b.from as f64, b.mean_ms))
                            .collect()
                    })
                    .collect(),
                true,
            ),
            ..Chart::default()
        },
        Chart {
            title: "TTFT against prompt length".into(),
            x_label: "prompt tokens".into(),
            y_label: "TTFT (ms)".into(),
            series: series(scatter, false),
            ..Chart::default()
        },
        Chart {
            title: "Requests in flight".into(),
            x_label: "time since the run's start (s)".into(),
            y_label: "mean in flight".into(),
            series: vec![Series {
                name: "in flight".into(),
                points: a.timeseries.iter().map(|b| (b.t, b.in_flight)).collect(),
                lines: true,
                dashed: false,
            }],
            ..Chart::default()
        },
        Chart {
            title: "Output throughput over time".into(),
            x_label: "time since the run's start (s)".into(),
            y_label: "tokens/s".into(),
            series: vec![Series {
                name: "tokens/s".into(),
                points: a.timeseries.iter().map(|b| (b.t, b.tps)).collect(),
                lines: true,
                dashed: false,
            }],
            ..Chart::default()
        },
        Chart {
            title: "TTFT over time".into(),
            x_label: "time since the run's start (s)".into(),
            y_label: "TTFT p50 (ms)".into(),
            series: vec![Series {
                name: "TTFT p50".into(),
                points: a
                    .timeseries
                    .iter()
                    .filter_map(|b| Some((b.t, b.ttft_p50_ms?)))
                    .collect(),
                lines: true,
                dashed: false,
            }],
            ..Chart::default()
        },
    ];
    for c in charts {
        out.push_str(&c.render());
    }
    out.push_str("</div>");
    session_charts(out, a, &names);
}

/// With conversations: TTFT and the prefix-cache share by turn index, one line per group.
/// A searched phase: its probes on the throughput–load and latency–load planes, by verdict,
/// with the brackets found and the verification holds.
fn search_charts(out: &mut String, s: &super::search::SearchReport) {
    let x_label = if s.of == "concurrency" {
        "load (concurrent users)"
    } else {
        "load (requests/s)"
    };
    let _ = write!(
        out,
        "<h2>Search of {} ({} probes{})</h2><div class=grid2>",
        esc(&s.phase),
        s.probes.len(),
        s.ended
            .as_ref()
            .map(|e| format!("; {}", esc(e)))
            .unwrap_or_default()
    );
    let log_x = s.range[1] / s.range[0].max(f64::MIN_POSITIVE) > 20.0;
    let mut tps = Chart {
        title: "Probes: throughput against load".into(),
        x_label: x_label.into(),
        y_label: "output tokens/s while held".into(),
        log_x,
        ..Chart::default()
    };
    use super::search::Verdict;
    for verdict in [
        Verdict::Below,
        Verdict::Saturated,
        Verdict::Errors,
        Verdict::Overrun,
    ] {
        let points: Vec<(f64, f64)> = s
            .probes
            .iter()
            .filter(|p| p.verdict == verdict)
            .filter_map(|p| Some((p.level, p.tps?)))
            .collect();
        if !points.is_empty() {
            tps.series.push(Series {
                name: format!("probe: {}", verdict.as_str()),
                points,
                lines: false,
                dashed: false,
            });
        }
    }
    if !s.verify.is_empty() {
        tps.series.push(Series {
            name: "verification holds".into(),
            points: s
                .verify
                .iter()
                .filter_map(|v| Some((v.load, v.tps?)))
                .collect(),
            lines: false,
            dashed: false,
        });
    }
    let bracket = |p: &Option<super::search::Point>, what: &str| {
        let p = p.as_ref()?;
        let [Some(lo), Some(hi)] = p.bracket else {
            return None;
        };
        Some((lo, hi, format!("{what} bracket")))
    };
    if let Some(p) = &s.saturation {
        tps.marker = p
            .level
            .map(|l| (l, format!("saturation: {}", crate::fmt::trim(l, 3))));
    }
    tps.band = bracket(&s.saturation, "saturation");
    out.push_str(&tps.render());
    let mut ttft = Chart {
        title: "Probes: TTFT against load".into(),
        x_label: x_label.into(),
        y_label: "TTFT (ms)".into(),
        log_x,
        ..Chart::default()
    };
    for (name, read) in [
        (
            "TTFT p50",
            (|p| p.ttft_ms) as fn(&super::search::ProbeView) -> Option<f64>,
        ),
        ("TTFT p99", |p| p.ttft_p99_ms),
    ] {
        let mut points: Vec<(f64, f64)> = s
            .probes
            .iter()
            .filter_map(|p| Some((p.level, read(p)?)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        ttft.series.push(Series {
            name: name.into(),
            points,
            lines: true,
            dashed: name.ends_with("p99"),
        });
    }
    if let Some(p) = &s.slo_limit {
        ttft.marker =
            p.bracket[0].map(|l| (l, format!("SLO met up to {}", crate::fmt::trim(l, 3))));
    }
    ttft.band = bracket(&s.slo_limit, "SLO limit");
    out.push_str(&ttft.render());
    out.push_str("</div>");
    let (header, rows) = tables::search_table(s);
    out.push_str(&html_table(&header, &rows));
    if let Some((header, rows)) = tables::verify_table(s) {
        out.push_str("<p>Verification holds (shares of the saturation throughput):</p>");
        out.push_str(&html_table(&header, &rows));
    }
}

fn session_charts(out: &mut String, a: &Analysis, names: &[String]) {
    if !a.groups.iter().any(|g| g.sessions.is_some()) {
        return;
    }
    let by_turn = |pick: fn(&super::sessions::TurnStats) -> Option<f64>| -> Vec<Series> {
        a.groups
            .iter()
            .zip(names)
            .filter_map(|(g, name)| {
                let s = g.sessions.as_ref()?;
                Some(Series {
                    name: name.clone(),
                    points: s
                        .by_turn
                        .iter()
                        .filter_map(|t| Some((t.turn as f64, pick(t)?)))
                        .collect(),
                    lines: true,
                    dashed: false,
                })
            })
            .take(8)
            .collect()
    };
    let _ = write!(
        out,
        "<h2>Conversations by turn — {}</h2><div class=grid2>",
        esc(&a.run)
    );
    let charts = [
        Chart {
            title: "TTFT by turn".into(),
            x_label: "turn (0 = the conversation's first request)".into(),
            y_label: "TTFT p50 (ms)".into(),
            series: by_turn(|t| t.ttft_ms.p50),
            ..Chart::default()
        },
        Chart {
            title: "Prompt served from the prefix cache, by turn".into(),
            x_label: "turn".into(),
            y_label: "cached share of prompt tokens".into(),
            series: by_turn(|t| t.cache_hit_share),
            ..Chart::default()
        },
    ];
    for c in charts {
        out.push_str(&c.render());
    }
    out.push_str("</div>");
}

/// The whole page for one or more analysed runs.
/// The report of one or more analysed runs (the first is the reference of comparisons).
pub fn html(runs: &[Analysis]) -> String {
    let analyses: Vec<&Analysis> = runs.iter().collect();
    let mut out = String::new();
    let first = analyses[0];
    let _ = write!(
        out,
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>llmw report: {}</title><style>{STYLE}</style></head><body>",
        esc(&first.workload)
    );
    let _ = write!(out, "<h1>llmw report — {}</h1>", esc(&first.workload));
    for (i, a) in analyses.iter().enumerate() {
        let _ = write!(
            out,
            "<p class=meta>run {}: <b>{}</b> · plan {:.16} · {} · warm-up {} s, cool-down {} s</p>",
            i + 1,
            esc(&a.run),
            esc(&a.plan_hash),
            esc(&a.status),
            a.warmup_s,
            a.cooldown_s
        );
        if let Some(note) = text::shards_note(a) {
            let _ = write!(out, "<p class=meta><b>{}</b></p>", esc(&note));
        }
    }
    for a in &analyses {
        let _ = write!(out, "<h2>Summary — {}</h2>", esc(&a.run));
        out.push_str(&summary_table(a));
        match &a.saturation {
            Some(s) => {
                let _ = write!(
                    out,
                    "<p>Saturation at <b>{} step {} ({})</b>, {:.0} tokens/s: {}. Recommended operating range: <b>{:.0}–{:.0} tokens/s</b> at {:.1}–{:.1} (50–70 % of saturation throughput).</p>",
                    esc(&s.phase), s.step, esc(&cells::load(s.load)), s.tps, esc(&s.reason),
                    s.operating_range.tps[0], s.operating_range.tps[1], s.operating_range.load[0], s.operating_range.load[1]
                );
                if let Some(why) = &s.uncertain {
                    let _ = write!(out, "<p class=fail>Uncertain: {}.</p>", esc(why));
                }
            }
            None => out.push_str("<p class=note>No saturation point in this run: no step where throughput stopped growing while TTFT jumped or errors appeared.</p>"),
        }
        if let Some(slo) = &a.slo {
            out.push_str("<table><tr><th>objective</th><th>measured</th><th>verdict</th></tr>");
            for o in slo {
                let m = o
                    .measured
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_else(|| "no data".into());
                let (class, word) = match (o.pass, o.uncertain) {
                    (true, false) => ("pass", "pass"),
                    (true, true) => (
                        "note",
                        "pass (uncertain: the 95 % interval spans the threshold)",
                    ),
                    (false, false) => ("fail", "FAIL"),
                    (false, true) => (
                        "fail",
                        "FAIL (uncertain: the 95 % interval spans the threshold)",
                    ),
                };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{m}</td><td class={class}>{word}</td></tr>",
                    esc(&o.objective)
                );
            }
            out.push_str("</table>");
        }
    }
    out.push_str("<h2>Against load</h2><div class=grid2>");
    out.push_str(&by_load(
        "TTFT percentiles by step",
        "TTFT (ms)",
        &analyses,
        &[
            ("p50", |g| g.ttft_ms.p50),
            ("p90", |g| g.ttft_ms.p90),
            ("p99", |g| g.ttft_ms.p99),
        ],
        false,
    ));
    out.push_str(&by_load(
        "ITL percentiles by step",
        "ITL (ms)",
        &analyses,
        &[
            ("p50", |g| g.itl_ms.p50),
            ("p90", |g| g.itl_ms.p90),
            ("p99", |g| g.itl_ms.p99),
        ],
        false,
    ));
    out.push_str(&by_load(
        "System throughput against load",
        "output tokens/s",
        &analyses,
        &[("tokens/s", |g| g.tps)],
        true,
    ));
    out.push_str(&by_load(
        "Per-user throughput against load",
        "tokens/s per request (p50)",
        &analyses,
        &[("per user p50", |g| g.tps_user.p50)],
        true,
    ));
    let mut lt = Chart {
        title: "Latency against throughput".into(),
        x_label: "output tokens/s".into(),
        y_label: "TTFT (ms)".into(),
        ..Chart::default()
    };
    for (r, a) in analyses.iter().enumerate() {
        let prefix = if analyses.len() > 1 {
            format!("run {} ", r + 1)
        } else {
            String::new()
        };
        lt.series.push(Series {
            name: format!("{prefix}TTFT p50"),
            points: a
                .groups
                .iter()
                .filter_map(|g| Some((g.tps?, g.ttft_ms.p50?)))
                .collect(),
            lines: true,
            dashed: false,
        });
        lt.series.push(Series {
            name: format!("{prefix}TTFT p99"),
            points: a
                .groups
                .iter()
                .filter_map(|g| Some((g.tps?, g.ttft_ms.p99?)))
                .collect(),
            lines: true,
            dashed: true,
        });
    }
    out.push_str(&lt.render());
    out.push_str("</div>");
    for a in &analyses {
        for s in &a.search {
            search_charts(&mut out, s);
        }
    }
    for a in analyses {
        run_section(&mut out, a);
    }
    out.push_str(
        "<p class=note>Metric definitions: docs/metrics.md. Generated by llmw.</p></body></html>\n",
    );
    out
}
