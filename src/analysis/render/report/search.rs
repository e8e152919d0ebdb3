//! A searched phase in the report: its probes on the throughput–load and latency–load planes, by
//! verdict, with the brackets found, and its tables of probes and verification holds.

use std::fmt::Write;

use super::html::{esc, html_table};
use crate::analysis::measure::search::{Point, ProbeView, SearchReport, Verdict};
use crate::analysis::render::svg::{Chart, Series};
use crate::analysis::render::tables;

/// A searched phase: its probes on the throughput–load and latency–load planes, by verdict,
/// with the brackets found and the verification holds.
pub(super) fn search_charts(out: &mut String, s: &SearchReport) {
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
    let bracket = |p: &Option<Point>, what: &str| {
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
        ("TTFT p50", (|p| p.ttft_ms) as fn(&ProbeView) -> Option<f64>),
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
