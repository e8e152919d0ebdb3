//! A search's probe as a plan of its own: a one-step phase at the probe's level, held for the
//! search's hold, whose requests' classes, lengths, prefixes and think times (and, open loop,
//! arrival times) are a pure function of the seed, the phase and the level — the same in any
//! run, in any order of probes. Request ids number the probe's step (ids stay unique when two
//! probes share a level), and prompt words follow the id.

use super::{arrivals, content, LoopKind, PhasePlan, PlannedRequest, Schedule, StepPlan, UsersAt};
use crate::rng::{key, purpose, Rng};
use crate::workload::Process;

/// A probe's plan: its phase (one step, `step`) and, open loop, its requests with send offsets
/// from the probe's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub plan: PhasePlan,
    pub requests: Vec<PlannedRequest>,
}

impl Schedule {
    /// The probe of searched phase `phase` at `level` (users or requests per second), as metric
    /// step `step` (its request ids carry it). `None` for a phase that is not searched.
    pub fn probe(&self, phase: u32, step: u32, level: f64) -> Option<Probe> {
        let base = self.phases.get(phase as usize)?;
        let search = base.search?;
        let hold = search.level.hold_ns;
        let mut plan = PhasePlan {
            start_ns: Some(0),
            duration_ns: Some(hold),
            steps: vec![StepPlan {
                index: step,
                start_ns: 0,
                end_ns: Some(hold),
                level,
            }],
            search: None,
            probe_key: Some(level.to_bits()),
            requests: 0..0,
            ..base.clone()
        };
        let mut requests = Vec::new();
        match plan.kind {
            LoopKind::Closed => {
                let users = level.round().max(1.0) as u32;
                plan.users = vec![UsersAt {
                    at_ns: 0,
                    users,
                    step,
                }];
            }
            LoopKind::Open => {
                let process = search.process.unwrap_or(Process::Poisson);
                let rate = super::rate::RateFn::Fixed(level);
                let mut rng = Rng::new(key(&[
                    self.seed,
                    purpose::PROBE_ARRIVALS,
                    phase as u64,
                    level.to_bits(),
                ]));
                // A probe's arrivals fit the plan's limit: the checker bounds the range's top
                // times the hold by it.
                let limit = crate::limits::MAX_PLANNED;
                let offsets = arrivals::offsets(process, &rate, Some(hold), None, limit, &mut rng)
                    .unwrap_or_default();
                let mut position = 0u64;
                for offset in offsets {
                    let before = requests.len();
                    content::unit(
                        self.seed,
                        &plan,
                        step,
                        position,
                        Some(offset),
                        &mut requests,
                    );
                    position += (requests.len() - before) as u64;
                }
            }
        }
        Some(Probe { plan, requests })
    }
}
