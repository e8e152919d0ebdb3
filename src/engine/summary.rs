//! The short table `llmw run` prints when it ends: per phase and step, requests, errors, TTFT
//! p50/p99, ITL p50 and output tokens/s. (`llmw analyze` computes the full metrics from the
//! Parquet files.)

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::stats::{percentile, Group};
use crate::fmt::trim;
use crate::schedule::{LoopKind, Schedule};

pub fn write(
    out: &mut impl Write,
    schedule: &Schedule,
    groups: &BTreeMap<(u32, u32), Group>,
) -> io::Result<()> {
    let header = [
        "phase",
        "step",
        "load",
        "requests",
        "errors",
        "dropped",
        "TTFT p50",
        "TTFT p99",
        "ITL p50",
        "output tok/s",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let ms = |v: Option<f64>| {
        v.map(|x| format!("{} ms", trim(x / 1e6, 1)))
            .unwrap_or_else(|| "-".into())
    };
    for ((phase, step), g) in groups {
        let Some(plan) = schedule.phases.get(*phase as usize) else {
            continue;
        };
        let level = plan
            .steps
            .get(*step as usize)
            .map(|s| s.level)
            .unwrap_or(0.0);
        let load = match plan.kind {
            LoopKind::Open => format!("{}/s", trim(level, 2)),
            LoopKind::Closed => format!("{} users", trim(level, 1)),
        };
        let mut ttft: Vec<f64> = g.ttft_ns.iter().map(|t| *t as f64).collect();
        ttft.sort_by(f64::total_cmp);
        let mut itl = g.itl_ns.clone();
        itl.sort_by(f64::total_cmp);
        let tps = match (g.first_sent, g.last_done) {
            (Some(a), Some(b)) if b > a => {
                format!("{:.0}", g.output_tokens as f64 / ((b - a) as f64 / 1e9))
            }
            _ => "-".into(),
        };
        let name = if plan.measure {
            plan.name.clone()
        } else {
            format!("{} (not measured)", plan.name)
        };
        rows.push(vec![
            name,
            step.to_string(),
            load,
            g.requests.to_string(),
            g.errors.to_string(),
            g.dropped.to_string(),
            ms(percentile(&ttft, 0.5)),
            ms(percentile(&ttft, 0.99)),
            ms(percentile(&itl, 0.5)),
            tps,
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i < 3 {
                l.push_str(&format!("{c}{pad}  "));
            } else {
                l.push_str(&format!("{pad}{c}  "));
            }
        }
        l.trim_end().to_string()
    };
    writeln!(
        out,
        "{}",
        line(header.iter().map(|h| h.to_string()).collect())
    )?;
    for r in rows {
        writeln!(out, "{}", line(r))?;
    }
    Ok(())
}
