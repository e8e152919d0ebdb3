//! `--format summary`: a table of phases for people, and the plan hash.

use std::io::{self, Write};

use crate::fmt::{duration, trim};
use crate::schedule::{LoopKind, PhasePlan, PlannedRequest, Schedule};

/// Closed-loop means are taken over this many requests of each step's sequence.
const CLOSED_SAMPLE: u64 = 1000;

pub fn write(out: &mut impl Write, s: &Schedule) -> io::Result<()> {
    writeln!(out, "workload  {}", s.workload)?;
    writeln!(out, "seed      {}", s.seed)?;
    writeln!(out, "plan hash {}", s.hash)?;
    if let Some(shard) = s.shard {
        writeln!(
            out,
            "shard     {shard}: this part's requests and users below (the plan hash is the whole plan's)"
        )?;
    }
    writeln!(out)?;
    let header = [
        "phase",
        "loop",
        "start",
        "duration",
        "requests",
        "load",
        "input mean",
        "output mean",
    ];
    let mut rows: Vec<[String; 8]> = Vec::new();
    for p in &s.phases {
        let closed_sample: Vec<PlannedRequest>;
        let (count, sample): (String, &[PlannedRequest]) = match p.kind {
            LoopKind::Open => (p.requests.len().to_string(), s.phase_requests(p)),
            LoopKind::Closed => {
                let count = match p.max_requests {
                    Some(m) => format!("≤ {m}"),
                    None => "on demand".into(),
                };
                closed_sample = p
                    .steps
                    .iter()
                    .flat_map(|st| s.closed_sequence(p.index, st.index, CLOSED_SAMPLE))
                    .collect();
                (count, &closed_sample)
            }
        };
        let mean = |f: fn(&PlannedRequest) -> u32| {
            if sample.is_empty() {
                "-".to_string()
            } else {
                trim(
                    sample.iter().map(|r| f(r) as f64).sum::<f64>() / sample.len() as f64,
                    1,
                )
            }
        };
        let name = if p.measure {
            p.name.clone()
        } else {
            format!("{} (not measured)", p.name)
        };
        rows.push([
            name,
            match p.kind {
                LoopKind::Open => "open".into(),
                LoopKind::Closed => "closed".into(),
            },
            p.start_ns
                .map(duration)
                .unwrap_or_else(|| "after previous".into()),
            p.duration_ns
                .map(duration)
                .unwrap_or_else(|| "until done".into()),
            count,
            load(p),
            mean(|r| r.input_tokens),
            mean(|r| r.output_tokens),
        ]);
    }
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            // Numbers right-aligned, text left-aligned.
            if (4..8).contains(&i) && i != 5 {
                l.push_str(&" ".repeat(pad));
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(pad));
            }
            l.push_str("  ");
        }
        l.trim_end().to_string()
    };
    writeln!(out, "{}", line(&header.map(String::from)))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(out)?;
    let open: usize = s
        .phases
        .iter()
        .filter(|p| p.kind == LoopKind::Open)
        .map(|p| p.requests.len())
        .sum();
    let closed = s
        .phases
        .iter()
        .filter(|p| p.kind == LoopKind::Closed)
        .count();
    write!(out, "{open} open-loop requests planned")?;
    let (conversations, single) =
        crate::schedule::units(&s.requests).fold((0, 0), |(c, n), u| match u[0].session {
            Some(_) => (c + 1, n),
            None => (c, n + 1),
        });
    if conversations > 0 {
        // Their later turns are sent as answers come, so a conversation is the unit of load.
        write!(
            out,
            " ({conversations} conversations and {single} single requests)"
        )?;
    }
    if closed > 0 {
        write!(
            out,
            "; {closed} closed-loop phase(s) draw requests from their sequences as users free up"
        )?;
    }
    writeln!(out)
}

fn load(p: &PhasePlan) -> String {
    match (p.kind, p.steps.as_slice()) {
        // Time-varying rates: also show the mean the phase averages to.
        (LoopKind::Open, [only])
            if p.load.contains('→') || p.load.contains('±') || p.load.starts_with("onoff") =>
        {
            format!("{} (mean {}/s)", p.load, trim(only.level, 3))
        }
        _ => p.load.clone(),
    }
}
