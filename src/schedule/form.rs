//! Which API and model each request goes with (its class's, else the target's), and which of
//! several targets it goes to (the target's `spread`). All are pure functions of the plan and
//! the request, so the plan's output, the engine and a check of a run agree without the plan
//! storing them per request. A conversation draws its model once (from its id), and under
//! `spread = session` its replica once, so every turn names the same ones.

use super::{Api, ClassPlan, Form, PlannedRequest, Schedule, Spread};
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

    /// What `r`'s trace row says it was sent as, if it says.
    pub fn recorded_of(&self, r: &PlannedRequest) -> Option<&super::Recorded> {
        self.recorded.get(r.recorded? as usize)
    }

    /// The API `r` is sent to: its trace row's, else its class's, else the target's.
    pub fn api_of(&self, r: &PlannedRequest) -> Api {
        self.recorded_of(r)
            .and_then(|x| x.api)
            .or_else(|| self.class_plan(r).and_then(|c| c.form.api))
            .unwrap_or(self.target.api)
    }

    /// The model `r` names: its trace row's (as `models:` maps it), else its class's when the
    /// class names its own (`None`: the target's).
    pub fn model_of(&self, r: &PlannedRequest) -> Option<&str> {
        if let Some(m) = self.recorded_of(r).and_then(|x| x.model.as_deref()) {
            return Some(m);
        }
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

    /// The images `r` sends with its user text, each its width and height: how many its trace
    /// row says, else drawn from its class's `images`; each size from the class's `image_size`
    /// shares (512x512 without); from the seed and the request's id (a turn of a conversation
    /// draws its own).
    pub fn images_of(&self, r: &PlannedRequest) -> Vec<(u32, u32)> {
        static NONE: Form = Form::PLAIN;
        let form = self.class_plan(r).map_or(&NONE, |c| &c.form);
        let mut rng = Rng::new(key(&[self.seed, purpose::IMAGES, r.id]));
        let n = match (self.recorded_of(r).and_then(|x| x.images), &form.images) {
            (Some(n), _) => n,
            (None, Some(count)) => super::sample::count(count, &mut rng, crate::limits::MAX_IMAGES),
            (None, None) => return Vec::new(),
        };
        (0..n)
            .map(|_| {
                let mut u = rng.f64();
                for (size, share) in &form.image_sizes {
                    if u < *share {
                        return *size;
                    }
                    u -= share;
                }
                form.image_sizes
                    .last()
                    .map_or(crate::workload::DEFAULT_IMAGE_SIZE, |(s, _)| *s)
            })
            .collect()
    }

    /// The key of the `k`-th image of `r` (its pixels: [`crate::image::synth`]).
    pub fn image_key(&self, r: &PlannedRequest, k: usize) -> u64 {
        key(&[self.seed, purpose::IMAGE_CONTENT, r.id, k as u64])
    }

    /// Which of `targets` targets `r` goes to (0 with one).
    pub fn target_of(&self, r: &PlannedRequest, targets: usize) -> usize {
        if targets <= 1 {
            return 0;
        }
        let n = targets as u64;
        let at = match (self.target.spread, r.session) {
            (Spread::Session, Some(t)) => key(&[purpose::TARGET, t.id]) % n,
            (Spread::Session | Spread::RoundRobin, _) => r.id % n,
            // Class ids number the workload's classes in the order it declares them.
            (Spread::Class, _) => u64::from(r.class) % n,
        };
        at as usize
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
                || self.recorded.iter().any(|x| x.api == Some(a))
        };
        Api::ALL.into_iter().filter(|a| used(*a)).collect()
    }
}
