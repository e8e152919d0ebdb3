//! The run by class, by model and by target (the measured requests of each, pooled over phases
//! and steps) as cells that text and the report both render: one table per slicing, one row
//! per class, model or target, with the API it went to.

use super::cells::{ms, num, pct, Cells};
use crate::analysis::measure::slices::Slice;
use crate::metric::Stat;

/// What a run is sliced by, in the order its tables come.
pub const BY: [&str; 3] = ["class", "model", "target"];

/// The slices of one kind (one of [`BY`]) as a table, if the run has them.
pub fn slices_table(slices: &[Slice], by: &str) -> Option<Cells> {
    let embeds = slices.iter().any(|s| s.group.embeddings.is_some());
    let rows: Vec<Vec<String>> = slices
        .iter()
        .filter(|s| s.by == by)
        .map(|s| {
            let g = &s.group;
            let prompt = match (g.prompt.prompt_tokens, g.requests.ok) {
                (p, n) if p > 0 && n > 0 => format!("{:.0}", p as f64 / n as f64),
                _ => "-".into(),
            };
            let mut row = vec![
                s.name.clone(),
                s.api.clone().unwrap_or_else(|| "-".into()),
                format!("{}/{}", g.requests.ok, g.requests.total),
                pct(g.error_rate),
                ms(g.ttft_ms.get(Stat::P50)),
                ms(g.ttft_ms.get(Stat::P99)),
                ms(g.itl_ms.get(Stat::P50)),
                ms(g.itl_ms.get(Stat::P99)),
                ms(g.e2e_ms.get(Stat::P50)),
                num(g.tps),
                prompt,
                pct(g.prompt.cache_hit_share),
            ];
            if embeds {
                row.push(num(g.embeddings.as_ref().and_then(|e| e.inputs_per_s)));
            }
            row
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let first = BY.into_iter().find(|b| *b == by).unwrap_or("class");
    let mut header = vec![
        first,
        "api",
        "ok/total",
        "errors",
        "TTFT p50",
        "p99",
        "ITL p50",
        "p99",
        "e2e p50",
        "tok/s",
        "prompt tok",
        "prefix cache hit",
    ];
    if embeds {
        header.push("inputs/s");
    }
    Some((header, rows))
}
