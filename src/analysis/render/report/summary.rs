//! The summary of one run: its tables (the main one and each detail table the run has), the
//! saturation point with the operating range, and the SLO verdicts.

use std::fmt::Write;

use super::html::{esc, html_table};
use crate::analysis::measure::Analysis;
use crate::analysis::render::{cells, tables, text};

fn summary_table(a: &Analysis) -> String {
    let mut h = html_table(&text::HEADER, &text::analysis_rows(&a.groups));
    if let Some((header, rows)) = tables::details_table(&a.groups) {
        h.push_str(&html_table(&header, &rows));
    }
    if let Some((header, rows)) = tables::intervals_table(&a.groups) {
        h.push_str("<p>95 % confidence intervals (percentiles: order statistics; throughput: batch means over 10 windows):</p>");
        h.push_str(&html_table(&header, &rows));
    }
    for by in crate::analysis::render::slices::BY {
        if let Some((header, rows)) = crate::analysis::render::slices::slices_table(&a.slices, by) {
            h.push_str(&format!(
                "<p>By {by} (every measured phase and step; the API each was sent to):</p>"
            ));
            h.push_str(&html_table(&header, &rows));
        }
    }
    if let Some((header, rows)) = tables::embeddings_table(&a.groups) {
        h.push_str("<p>Embeddings requests (no TTFT or output; latency is send to answer):</p>");
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

/// The run's summary section: its tables, its saturation point and its objectives.
pub(super) fn summary(out: &mut String, a: &Analysis) {
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
