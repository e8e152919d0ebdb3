//! A search's probe as a plan of its own: a one-step phase at the probe's level, held for the
//! search's hold, whose requests (and, open loop, arrival times) are a pure function of the
//! seed, the phase and the level — so the same level sends the same requests in any run, in
//! any order of probes.

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
                // A probe's arrivals fit the plan's limit: the level is bounded by the search's
                // range, the hold by the checker.
                let limit = crate::limits::MAX_PLANNED;
                let offsets = arrivals::offsets(process, &rate, Some(hold), None, limit, &mut rng)
                    .unwrap_or_default();
                let mut position = 0u64;
                for offset in offsets {
                    let before = requests.len();
                    content::unit(self.seed, &plan, step, position, Some(offset), &mut requests);
                    position += (requests.len() - before) as u64;
                }
            }
        }
        Some(Probe { plan, requests })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(load: &str) -> Schedule {
        let text = format!(
            "workload \"w\" {{ seed = 7\n requests {{ input = uniform(10, 90)\n output = 20 }}\n phase \"p\" {{ {load} }} }}"
        );
        let (_, resolved) = crate::load_text("w.llmw", &text, &Default::default());
        crate::compile(&resolved.unwrap()).unwrap()
    }

    #[test]
    fn a_probe_depends_on_its_level_not_its_order() {
        let s = schedule("arrival = poisson(rate: search(1/s..100/s, hold: 10s))");
        let a = s.probe(0, 2, 16.0).unwrap();
        let b = s.probe(0, 7, 16.0).unwrap();
        let strip = |p: &Probe| -> Vec<(Option<u64>, u32, u32)> {
            p.requests
                .iter()
                .map(|r| (r.at_ns, r.input_tokens, r.output_tokens))
                .collect()
        };
        assert_eq!(strip(&a), strip(&b));
        assert_eq!(a.requests[3].id, content::request_id(0, 2, 3));
        assert_eq!(b.requests[3].step, 7);
        // About 160 arrivals in 10 s at 16/s.
        assert!((110..=210).contains(&a.requests.len()), "{}", a.requests.len());
        assert!(a.requests.iter().all(|r| r.at_ns.unwrap() < 10_000_000_000));
        let c = s.probe(0, 2, 17.0).unwrap();
        assert_ne!(strip(&a)[..5], strip(&c)[..5]);
        assert!(s.phases[0].steps.is_empty() && s.requests.is_empty());
    }

    #[test]
    fn closed_probes_run_their_users() {
        let s = schedule("concurrency = search(1..64, hold: 5s)");
        let p = s.probe(0, 3, 12.0).unwrap();
        assert_eq!(p.plan.users, vec![UsersAt { at_ns: 0, users: 12, step: 3 }]);
        assert_eq!(p.plan.duration_ns, Some(5_000_000_000));
        let one = content::request(s.seed, &p.plan, 3, 0, None);
        let again = content::request(s.seed, &s.probe(0, 9, 12.0).unwrap().plan, 9, 0, None);
        assert_eq!(one.input_tokens, again.input_tokens);
    }
}
