//! Which requests make each group: the groups a run's `run.json` describes (each step of each
//! measured phase, in order) and each request row's group, its window, and what warm-up and
//! cool-down left out. Computes no metric: that is `compute.rs`.

use std::collections::HashMap;

use super::groups::{Excluded, Load};
use crate::analysis::load::Run;
use crate::analysis::options::Options;
use crate::analysis::window::Window;
use crate::rundir::manifest::{Loop, Manifest};

/// One step of one measured phase, as `run.json` describes it.
pub(crate) struct GroupDef {
    pub phase: String,
    pub step: u32,
    pub load: Load,
    pub window_ns: (i64, Option<i64>),
    /// A search's probe: its own warm-up (the analysis' `--warmup` applies when longer).
    pub warmup_ns: i64,
}

/// The groups of a run, in phase and step order, from `run.json`.
pub(crate) fn definitions(meta: &Manifest) -> Vec<GroupDef> {
    let mut out = Vec::new();
    for phase in meta.phases.iter().filter(|p| p.measure) {
        // A phase that never began has no window: its steps hold no requests.
        let start = phase.start_ns.unwrap_or(0) as i64;
        let end = phase.end_ns.map(|e| e as i64);
        for step in &phase.steps {
            out.push(GroupDef {
                phase: phase.name.clone(),
                step: step.step,
                load: match phase.kind {
                    Loop::Closed => Load::Concurrency(step.level),
                    Loop::Open => Load::Rate(step.level),
                },
                window_ns: (
                    start + step.start_ns as i64,
                    step.end_ns.map(|e| start + e as i64).or(end),
                ),
                warmup_ns: step.warmup_ns.unwrap_or(0) as i64,
            });
        }
    }
    out
}

/// Which group each request row belongs to, and whether warm-up/cool-down excluded it.
pub(crate) struct Membership {
    /// Group index of each request row that counts (`None`: unmeasured phase or excluded).
    pub of_row: Vec<Option<usize>>,
    pub excluded: Vec<Excluded>,
    pub measured: Vec<Window>,
    pub windows: Vec<Window>,
}

pub(crate) fn membership(run: &Run, defs: &[GroupDef], opts: &Options) -> Membership {
    let r = &run.requests;
    let index: HashMap<(&str, u32), usize> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.phase.as_str(), d.step), i))
        .collect();
    // A group's window: from run.json, its end defaulting to the last response of the group.
    let mut last_done = vec![i64::MIN; defs.len()];
    let mut first_sent = vec![i64::MAX; defs.len()];
    let group_of: Vec<Option<usize>> = (0..r.len())
        .map(|i| index.get(&(r.phase[i].as_str(), r.step[i] as u32)).copied())
        .collect();
    for (i, g) in group_of.iter().enumerate() {
        if let Some(g) = *g {
            last_done[g] = last_done[g].max(r.done_ns[i]);
            first_sent[g] = first_sent[g].min(r.sent_ns[i]);
        }
    }
    let windows: Vec<(i64, i64)> = defs
        .iter()
        .enumerate()
        .map(|(g, d)| {
            let start = d.window_ns.0.min(first_sent[g]);
            let end = d
                .window_ns
                .1
                .unwrap_or(last_done[g])
                .max(last_done[g])
                .max(start);
            (start, end)
        })
        .collect();
    let mut excluded = vec![Excluded::default(); defs.len()];
    let of_row = group_of
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let g = (*g)?;
            let (start, end) = windows[g];
            if r.sent_ns[i] < start + opts.warmup_ns.max(defs[g].warmup_ns) {
                excluded[g].warmup += 1;
                return None;
            }
            if opts.cooldown_ns > 0 && r.done_ns[i] > end - opts.cooldown_ns {
                excluded[g].cooldown += 1;
                return None;
            }
            Some(g)
        })
        .collect();
    let s = |ns: i64| ns as f64 / 1e9;
    Membership {
        of_row,
        excluded,
        measured: windows
            .iter()
            .zip(defs)
            .map(|((a, b), d)| Window {
                start_s: s(a + opts.warmup_ns.max(d.warmup_ns)),
                end_s: s(b - opts.cooldown_ns),
            })
            .collect(),
        windows: windows
            .iter()
            .map(|(a, b)| Window {
                start_s: s(*a),
                end_s: s(*b),
            })
            .collect(),
    }
}
