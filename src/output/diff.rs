//! `llmw diff`: what an edit changes in the plan. Each phase's figures a reviewer compares — its
//! load, length, requests, the arrival rate over time (open loop), input and output length
//! percentiles, and the shares of classes, models and APIs — are taken from both plans, and
//! only the figures that differ are reported, phase by phase (phases matched by name).

use std::collections::BTreeMap;

use crate::fmt::{duration, trim};
use crate::schedule::{LoopKind, PhasePlan, PlannedRequest, Schedule};

/// Closed-loop figures are taken over this many requests of each step's sequence.
const CLOSED_SAMPLE: u64 = 1000;
/// The arrival rate over time is counted in this many equal bins of the phase.
pub const RATE_BINS: usize = 16;

/// One difference between two plans: where (a phase's name, or `None` for the plan), what,
/// and both values as people read them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub phase: Option<String>,
    pub what: String,
    pub old: String,
    pub new: String,
}

/// The figures of one phase that a diff compares.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    kind: &'static str,
    load: String,
    duration: String,
    requests: String,
    /// Open loop: requests in each of [`RATE_BINS`] equal parts of the phase, and the phase's
    /// length they divide.
    rate: Option<(Vec<u64>, u64)>,
    input: String,
    output: String,
    classes: String,
    models: String,
    apis: String,
    images: String,
    tools: String,
}

/// Every difference between `old` and `new`, the plan's own first (seed, phases added or
/// removed), then phase by phase in `new`'s order. Empty when the plans are the same.
pub fn changes(old: &Schedule, new: &Schedule) -> Vec<Change> {
    let mut out = Vec::new();
    let plan = |what: &str, a: String, b: String, out: &mut Vec<Change>| {
        if a != b {
            out.push(Change {
                phase: None,
                what: what.into(),
                old: a,
                new: b,
            });
        }
    };
    plan("seed", old.seed.to_string(), new.seed.to_string(), &mut out);
    let names = |s: &Schedule| -> Vec<String> { s.phases.iter().map(|p| p.name.clone()).collect() };
    plan(
        "phases",
        names(old).join(", "),
        names(new).join(", "),
        &mut out,
    );
    for p in &new.phases {
        let Some(q) = old.phases.iter().find(|q| q.name == p.name) else {
            continue;
        };
        let (a, b) = (figures(old, q), figures(new, p));
        let mut field = |what: &str, x: &String, y: &String| {
            if x != y {
                out.push(Change {
                    phase: Some(p.name.clone()),
                    what: what.into(),
                    old: x.clone(),
                    new: y.clone(),
                });
            }
        };
        field("loop", &a.kind.to_string(), &b.kind.to_string());
        field("load", &a.load, &b.load);
        field("duration", &a.duration, &b.duration);
        field("requests", &a.requests, &b.requests);
        if a.rate != b.rate {
            let top = [&a.rate, &b.rate]
                .iter()
                .filter_map(|r| r.as_ref())
                .map(|(bins, len)| peak(bins, *len))
                .fold(0.0, f64::max);
            field("rate over time", &rate(&a.rate, top), &rate(&b.rate, top));
        }
        field("input tokens", &a.input, &b.input);
        field("output tokens", &a.output, &b.output);
        field("classes", &a.classes, &b.classes);
        field("models", &a.models, &b.models);
        field("apis", &a.apis, &b.apis);
        field("images", &a.images, &b.images);
        field("tools", &a.tools, &b.tools);
        classes(p, q, &mut out);
    }
    out
}

/// The fields of each class (by name) whose definition differs between phase `q` (old) and
/// `p` (new): what the figures may not show, such as a session's tool calls.
fn classes(p: &PhasePlan, q: &PhasePlan, out: &mut Vec<Change>) {
    for c in &p.classes {
        let Some(d) = q.classes.iter().find(|d| d.name == c.name) else {
            continue;
        };
        let fields = |c: &crate::schedule::ClassPlan| {
            let mut map = BTreeMap::new();
            let v = serde_json::json!({"shape": c.shape, "form": c.form, "session": c.session});
            flatten(&v, String::new(), &mut map);
            map
        };
        let (old, new) = (fields(d), fields(c));
        for key in old
            .keys()
            .chain(new.keys().filter(|k| !old.contains_key(*k)))
        {
            let (x, y) = (old.get(key), new.get(key));
            if x != y {
                let none = || "-".to_string();
                out.push(Change {
                    phase: Some(p.name.clone()),
                    what: format!("class \"{}\" {key}", c.name),
                    old: x.cloned().unwrap_or_else(none),
                    new: y.cloned().unwrap_or_else(none),
                });
            }
        }
    }
}

/// A distribution or other enum value as serde writes it (`{"Uniform": {"lo": 50.0, "hi":
/// 400.0}}`) in the language's way of writing a call: `uniform(hi: 400, lo: 50)`.
fn variant(v: &serde_json::Value) -> Option<String> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    let (name, inner) = m.iter().next()?;
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let args: Vec<String> = match inner {
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(k, x)| format!("{k}: {}", variant(x).unwrap_or_else(|| number(x))))
            .collect(),
        other => vec![number(other)],
    };
    Some(format!(
        "{}({})",
        name.to_ascii_lowercase(),
        args.join(", ")
    ))
}

/// A JSON value as written in a workload: whole floats without their `.0`.
fn number(v: &serde_json::Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => v.to_string(),
    }
}

/// Every leaf of `v` by its dotted path (an array is one leaf), as compact JSON; nulls left
/// out, so a field unset and a field absent read the same.
fn flatten(v: &serde_json::Value, at: String, out: &mut BTreeMap<String, String>) {
    if let Some(call) = variant(v) {
        out.insert(at, call);
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                flatten(x, key, out);
            }
        }
        serde_json::Value::Null => {}
        leaf => {
            out.insert(at, number(leaf));
        }
    }
}

/// Target fields outside the plan hash that differ (API, model, spread), for the reader: one
/// plan can be sent to other servers.
pub fn target_changes(old: &Schedule, new: &Schedule) -> Vec<Change> {
    let (a, b) = (&old.target, &new.target);
    [
        (
            "target api",
            a.api.as_str().to_string(),
            b.api.as_str().to_string(),
        ),
        (
            "target model",
            a.model.clone().unwrap_or_default(),
            b.model.clone().unwrap_or_default(),
        ),
        (
            "target spread",
            format!("{:?}", a.spread),
            format!("{:?}", b.spread),
        ),
    ]
    .into_iter()
    .filter(|(_, x, y)| x != y)
    .map(|(what, x, y)| Change {
        phase: None,
        what: what.into(),
        old: x,
        new: y,
    })
    .collect()
}

fn figures(s: &Schedule, p: &PhasePlan) -> Figures {
    let closed: Vec<PlannedRequest>;
    let (requests, sample): (String, &[PlannedRequest]) = match p.kind {
        LoopKind::Open => (p.requests.len().to_string(), s.phase_requests(p)),
        LoopKind::Closed => {
            closed = p
                .steps
                .iter()
                .flat_map(|st| s.closed_sequence(p.index, st.index, CLOSED_SAMPLE))
                .collect();
            let n = p
                .max_requests
                .map_or("on demand".into(), |m| format!("≤ {m}"));
            (n, &closed)
        }
    };
    let rate = match (p.kind, p.duration_ns) {
        (LoopKind::Open, Some(len)) if len > 0 => {
            let start = p.start_ns.unwrap_or(0);
            let mut bins = vec![0u64; RATE_BINS];
            for r in s.phase_requests(p) {
                let at = r.at_ns.unwrap_or(start).saturating_sub(start);
                let k = (at as u128 * RATE_BINS as u128 / len as u128) as usize;
                bins[k.min(RATE_BINS - 1)] += 1;
            }
            Some((bins, len))
        }
        _ => None,
    };
    let model = |r: &PlannedRequest| {
        s.model_of(r)
            .map(str::to_string)
            .or_else(|| s.target.model.clone())
            .unwrap_or_else(|| "(the server's)".into())
    };
    Figures {
        kind: match p.kind {
            LoopKind::Open => "open",
            LoopKind::Closed => "closed",
        },
        load: p.load.clone(),
        duration: p.duration_ns.map_or("until done".into(), duration),
        requests,
        rate,
        input: percentiles(sample.iter().map(|r| r.input_tokens).collect()),
        output: percentiles(sample.iter().map(|r| r.output_tokens).collect()),
        classes: shares(sample, |r| s.classes[r.class as usize].clone()),
        models: shares(sample, model),
        apis: shares(sample, |r| s.api_of(r).as_str().to_string()),
        images: percentiles(sample.iter().map(|r| s.images_of(r).len() as u32).collect()),
        tools: shares(sample, |r| crate::prompt::tools(s, r).len().to_string()),
    }
}

/// `p50 120  p90 300  p99 800` (nearest rank), or `-` for no requests.
fn percentiles(mut v: Vec<u32>) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_unstable();
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!("p50 {}  p90 {}  p99 {}", at(0.5), at(0.9), at(0.99))
}

/// `chat 75.0 %, rag 25.0 %`: each value's share of `sample`, largest first.
fn shares(sample: &[PlannedRequest], key: impl Fn(&PlannedRequest) -> String) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in sample {
        *counts.entry(key(r)).or_default() += 1;
    }
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let n = sample.len().max(1) as f64;
    list.iter()
        .map(|(k, c)| format!("{k} {} %", trim(*c as f64 * 100.0 / n, 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The highest bin's rate, requests per second.
fn peak(bins: &[u64], len: u64) -> f64 {
    let bin_s = len as f64 / 1e9 / bins.len() as f64;
    bins.iter().map(|&b| b as f64 / bin_s).fold(0.0, f64::max)
}

/// A sparkline of the bins' rates on the scale `top` (the higher of both plans' peaks, so the
/// two lines compare), then the mean rate.
fn rate(r: &Option<(Vec<u64>, u64)>, top: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let Some((bins, len)) = r else {
        return "-".into();
    };
    let bin_s = *len as f64 / 1e9 / bins.len() as f64;
    let line: String = bins
        .iter()
        .map(|&b| {
            let x = if top > 0.0 {
                b as f64 / bin_s / top
            } else {
                0.0
            };
            BARS[((x * 7.0).round() as usize).min(7)]
        })
        .collect();
    let mean = bins.iter().sum::<u64>() as f64 / (*len as f64 / 1e9);
    format!(
        "{line}  mean {}/s, peak {}/s",
        trim(mean, 2),
        trim(peak(bins, *len), 2)
    )
}
