//! Which API and model each request goes with: its class's, else the target's. Both are pure
//! functions of the plan and the request, so the plan's output, the engine and a check of a
//! run agree without the plan storing them per request. A conversation draws its model once
//! (from its id), so every turn names the same one.

use super::{Api, ClassPlan, PlannedRequest, Schedule};
use crate::rng::{key, purpose, Rng};

impl Schedule {
    /// The plan of `r`'s class (`None` only for a request of no phase of this plan).
    pub fn class_plan(&self, r: &PlannedRequest) -> Option<&ClassPlan> {
        self.phases
            .get(r.phase as usize)?
            .classes
            .iter()
            .find(|c| c.id == r.class)
    }

    /// The API `r` is sent to.
    pub fn api_of(&self, r: &PlannedRequest) -> Api {
        self.class_plan(r)
            .and_then(|c| c.form.api)
            .unwrap_or(self.target.api)
    }

    /// The model `r` names, when its class names its own (`None`: the target's).
    pub fn model_of(&self, r: &PlannedRequest) -> Option<&str> {
        let models = &self.class_plan(r)?.form.models;
        if models.len() <= 1 {
            return models.first().map(|(m, _)| m.as_str());
        }
        let unit = r.session.map_or(r.id, |t| t.id);
        let mut u = Rng::new(key(&[self.seed, purpose::MODEL, unit])).f64();
        for (m, share) in models {
            if u < *share {
                return Some(m);
            }
            u -= share;
        }
        models.last().map(|(m, _)| m.as_str())
    }

    /// Every API the plan sends to, in [`Api::ALL`] order.
    pub fn apis(&self) -> Vec<Api> {
        let used = |a: Api| {
            a == self.target.api
                && self
                    .phases
                    .iter()
                    .any(|p| p.classes.iter().any(|c| c.form.api.is_none()))
                || self
                    .phases
                    .iter()
                    .any(|p| p.classes.iter().any(|c| c.form.api == Some(a)))
        };
        Api::ALL.into_iter().filter(|a| used(*a)).collect()
    }
}
