//! The measured requests pooled across phases and steps, whole or sliced: the pool the SLO is
//! judged over, and the run by class, by model and by target, each slice one group over its
//! requests, so that classes sent to different APIs (chat beside the Responses and Messages
//! APIs), naming different models (a base model and its LoRA adapters) or sent to different
//! replicas of a fleet read side by side.

use serde::Serialize;

use super::compute::{self, PerRequest};
use super::groups::{Excluded, Group, Load};
use super::windows::{GroupDef, Membership};
use crate::analysis::load::{Labels, Run};
use crate::analysis::window::Window;

/// One slice of the run's measured requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    /// What the run is sliced by: `class`, `model` or `target`.
    pub by: &'static str,
    pub name: String,
    /// The API the slice's requests went to, when they all went to one (null for a run from
    /// before the `api` column, and for a model slice mixing APIs).
    pub api: Option<String>,
    pub group: Group,
}

/// The measured rows (`base`) pooled into `names.len()` groups, row `i` into `key(i)`.
fn pool(
    run: &Run,
    base: &Membership,
    objectives: &[PerRequest],
    names: &[String],
    key: impl Fn(usize) -> usize,
) -> Vec<Group> {
    let defs: Vec<GroupDef> = names
        .iter()
        .map(|n| GroupDef {
            phase: n.clone(),
            step: 0,
            load: Load::Rate(0.0),
            window_ns: (0, None),
            warmup_ns: 0,
        })
        .collect();
    let zero = Window {
        start_s: 0.0,
        end_s: 0.0,
    };
    let m = Membership {
        of_row: (0..base.of_row.len())
            .map(|i| base.of_row[i].map(|_| key(i)))
            .collect(),
        excluded: vec![Excluded::default(); names.len()],
        measured: vec![zero; names.len()],
        windows: vec![zero; names.len()],
    };
    compute::compute(run, &defs, &m, objectives, None)
}

/// Every measured request as one group (named `all`).
pub(crate) fn pooled(run: &Run, base: &Membership, objectives: &[PerRequest]) -> Option<Group> {
    pool(run, base, objectives, &["all".to_string()], |_| 0).pop()
}

/// The run by class, by model and by target, where it has more than one of any.
pub(crate) fn slices(run: &Run, base: &Membership, objectives: &[PerRequest]) -> Vec<Slice> {
    let r = &run.requests;
    let mut out = Vec::new();
    for (by, labels) in [
        ("class", &r.class),
        ("model", &r.model),
        ("target", &r.target),
    ] {
        let present = present(labels, base);
        if present.len() < 2 {
            continue;
        }
        let names: Vec<String> = present.iter().map(|&k| labels.names[k].clone()).collect();
        let slot = |i: usize| {
            let k = labels.of_row[i] as usize;
            present.iter().position(|&p| p == k).unwrap_or(0)
        };
        let groups = pool(run, base, objectives, &names, slot);
        for ((name, group), k) in names.into_iter().zip(groups).zip(&present) {
            out.push(Slice {
                by,
                api: one_api(r, labels, *k as u32, base),
                name,
                group,
            });
        }
    }
    out
}

/// The label values of the measured rows, by name.
fn present(labels: &Labels, base: &Membership) -> Vec<usize> {
    let mut seen = Vec::new();
    for (i, g) in base.of_row.iter().enumerate() {
        let k = labels.of_row.get(i).copied().unwrap_or(0) as usize;
        if g.is_some() && !seen.contains(&k) && k < labels.names.len() {
            seen.push(k);
        }
    }
    seen.sort_by(|a, b| labels.names[*a].cmp(&labels.names[*b]));
    seen
}

/// The API every measured row with label `k` went to, if one.
fn one_api(
    r: &crate::analysis::load::Requests,
    labels: &Labels,
    k: u32,
    base: &Membership,
) -> Option<String> {
    let mut api: Option<&str> = None;
    for (i, g) in base.of_row.iter().enumerate() {
        if g.is_none() || labels.of_row.get(i) != Some(&k) {
            continue;
        }
        match (api, r.api.of(i)) {
            (_, "") => return None,
            (None, a) => api = Some(a),
            (Some(b), a) if a != b => return None,
            _ => {}
        }
    }
    api.map(str::to_string)
}
