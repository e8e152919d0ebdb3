//! The rows of a plan listing, in schedule order: every open-loop request, and for closed-loop
//! steps the first requests of their on-demand sequences.

use crate::schedule::{LoopKind, PhasePlan, PlannedRequest, Schedule};

/// How many requests of each closed-loop step a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedPreview {
    /// `requests` when the phase sets it and has one step; otherwise 10 per virtual user.
    Auto,
    Count(u64),
}

impl ClosedPreview {
    pub fn count(self, phase: &PhasePlan, users: f64) -> u64 {
        match self {
            ClosedPreview::Count(n) => n,
            ClosedPreview::Auto => {
                let per_user = (users.max(1.0) * 10.0) as u64;
                match (phase.max_requests, phase.steps.len()) {
                    (Some(m), 1) => m,
                    (Some(m), _) => m.min(per_user),
                    _ => per_user,
                }
            }
        }
    }
}

/// Calls `f` for every listed row, in order, with the unit it belongs to (itself, or its
/// conversation's requests) and its index there.
pub fn for_each_row(
    s: &Schedule,
    preview: ClosedPreview,
    mut f: impl FnMut(&PlannedRequest, &[PlannedRequest], usize),
) {
    let mut each_unit = |unit: &[PlannedRequest]| {
        for (i, r) in unit.iter().enumerate() {
            f(r, unit, i);
        }
    };
    for phase in &s.phases {
        match phase.kind {
            LoopKind::Open => {
                crate::schedule::units(s.phase_requests(phase)).for_each(&mut each_unit);
            }
            LoopKind::Closed => {
                for step in &phase.steps {
                    let peak = phase
                        .users
                        .iter()
                        .filter(|u| u.step == step.index)
                        .map(|u| u.users as f64)
                        .fold(step.level, f64::max);
                    let listed =
                        s.closed_sequence(phase.index, step.index, preview.count(phase, peak));
                    crate::schedule::units(&listed).for_each(&mut each_unit);
                }
            }
        }
    }
}
