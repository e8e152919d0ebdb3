//! Each run's distributions and diagnostics: CDFs of TTFT and ITL, ITL by output position, TTFT
//! against prompt length, the time series, and with conversations the figures by turn.

use std::fmt::Write;

use super::html::esc;
use crate::analysis::measure::groups::Group;
use crate::analysis::measure::series::Diagnostics;
use crate::analysis::measure::sessions::TurnStats;
use crate::analysis::measure::Analysis;
use crate::analysis::render::cells;
use crate::analysis::render::svg::{Chart, Series};

fn group_name(g: &Group) -> String {
    format!("{} #{} ({})", g.phase, g.step, cells::load(g.load))
}

/// The distributions and diagnostics section of run `a`.
pub(super) fn run_section(out: &mut String, a: &Analysis) {
    let points = |pick: fn(&Diagnostics) -> &Vec<[f64; 2]>| -> Vec<Vec<(f64, f64)>> {
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
fn session_charts(out: &mut String, a: &Analysis, names: &[String]) {
    if !a.groups.iter().any(|g| g.sessions.is_some()) {
        return;
    }
    let by_turn = |pick: fn(&TurnStats) -> Option<f64>| -> Vec<Series> {
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
