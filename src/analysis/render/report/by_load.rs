//! The charts against load: percentiles and throughput by step (with the saturation point and
//! operating range), one line per run, and the latency–throughput curve.

use crate::analysis::measure::groups::{Group, Load, Read};
use crate::analysis::measure::Analysis;
use crate::analysis::render::cells;
use crate::analysis::render::svg::{Chart, Series};

fn load_unit(groups: &[Group]) -> &'static str {
    match groups.first().map(|g| g.load) {
        Some(Load::Rate(_)) => "load (requests/s)",
        _ => "load (concurrent users)",
    }
}

/// One chart of the metrics `picks` against load, one line per run and metric.
fn by_load(title: &str, y: &str, runs: &[&Analysis], picks: &[(&str, Read)], mark: bool) -> String {
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

/// The "Against load" section of the page, over every run.
pub(super) fn against_load(out: &mut String, analyses: &[&Analysis]) {
    out.push_str("<h2>Against load</h2><div class=grid2>");
    out.push_str(&by_load(
        "TTFT percentiles by step",
        "TTFT (ms)",
        analyses,
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
        analyses,
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
        analyses,
        &[("tokens/s", |g| g.tps)],
        true,
    ));
    out.push_str(&by_load(
        "Per-user throughput against load",
        "tokens/s per request (p50)",
        analyses,
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
}
