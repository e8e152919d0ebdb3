//! `--format json`: the whole plan as one JSON document (phases, steps, classes, requests).

use std::io::{self, Write};

use serde_json::{json, Value};

use super::records::json_row;
use super::rows::{for_each_row, ClosedPreview};
use crate::fmt::secs;
use crate::schedule::{LoopKind, Schedule};

fn seconds(ns: Option<u64>) -> Value {
    match ns {
        Some(ns) => secs(ns)
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or(Value::Null),
        None => Value::Null,
    }
}

pub fn write(out: &mut impl Write, s: &Schedule, preview: ClosedPreview) -> io::Result<()> {
    let phases: Vec<Value> = s
        .phases
        .iter()
        .map(|p| {
            let closed = p.kind == LoopKind::Closed;
            json!({
                "name": p.name,
                "loop": if closed { "closed" } else { "open" },
                "measure": p.measure,
                "start": seconds(p.start_ns),
                "duration": seconds(p.duration_ns),
                "pause": seconds(Some(p.pause_ns)),
                "max_requests": p.max_requests,
                "max_in_flight": p.max_in_flight,
                "planned_requests": if closed { Value::Null } else { json!(p.requests.len()) },
                "steps": p.steps.iter().map(|st| json!({
                    "step": st.index,
                    "start": seconds(Some(st.start_ns)),
                    "end": seconds(st.end_ns),
                    "load": if closed { json!({"concurrency": st.level}) } else { json!({"rate": st.level}) },
                })).collect::<Vec<_>>(),
                "users": p.users.iter().map(|u| json!({"at": seconds(Some(u.at_ns)), "users": u.users, "step": u.step})).collect::<Vec<_>>(),
                "classes": p.classes.iter().map(|c| json!({"name": c.name, "weight": c.weight})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let head = json!({
        "workload": s.workload,
        "seed": s.seed,
        "hash": s.hash,
        "shard": s.shard,
        "classes": s.classes,
        "phases": phases,
    });
    // Stream the requests array rather than building it in memory.
    let head = serde_json::to_string_pretty(&head).map_err(io::Error::other)?;
    let head = head.trim_end().trim_end_matches('}').trim_end();
    write!(out, "{head},\n  \"requests\": [")?;
    let mut first = true;
    let mut result = Ok(());
    for_each_row(s, preview, |r, _, _| {
        if result.is_ok() {
            let sep = if first { "\n    " } else { ",\n    " };
            first = false;
            result = write!(out, "{sep}{}", json_row(r, s));
        }
    });
    result?;
    writeln!(out, "{}]\n}}", if first { "" } else { "\n  " })
}
