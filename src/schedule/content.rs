//! What each request asks for: its class, prompt and output lengths, prefix group and (closed
//! loop) think time — a pure function of (seed, phase, step, position in the step).

use super::sample;
use super::{ClassPlan, PhasePlan, PlannedRequest};
use crate::rng::{key, purpose, Rng};

/// Request ids are `phase·10¹² + step·10⁹ + position`: unique in the plan, stable, and readable
/// (id 1_002_000_000_017 is phase 1, step 2, request 17 of that step).
pub const PHASE_STRIDE: u64 = 1_000_000_000_000;
pub const STEP_STRIDE: u64 = 1_000_000_000;

pub fn request_id(phase: u32, step: u32, position: u64) -> u64 {
    phase as u64 * PHASE_STRIDE + step as u64 * STEP_STRIDE + position
}

/// The request at `position` of `step` in `phase`; `at_ns` is its planned send offset from the
/// run's start (open loop) or `None` (closed loop).
pub fn request(
    seed: u64,
    phase: &PhasePlan,
    step: u32,
    position: u64,
    at_ns: Option<u64>,
) -> PlannedRequest {
    let mut rng = Rng::new(key(&[
        seed,
        purpose::CONTENT,
        phase.index as u64,
        step as u64,
        position,
    ]));
    let class_index = if phase.classes.len() == 1 {
        0
    } else {
        rng.pick(&phase.class_cumulative)
    };
    let class: &ClassPlan = &phase.classes[class_index];
    let shape = &class.shape;
    let (mut input, output) = if class.samples.is_empty() {
        (
            sample::length(&shape.input, &mut rng),
            sample::length(&shape.output, &mut rng),
        )
    } else {
        class.samples[rng.below(class.samples.len() as u64) as usize]
    };
    // A real prompt from the class's dataset: its own length unless `input` was given.
    let mut prompt = None;
    if !class.dataset.is_empty() {
        let (index, tokens) = class.dataset[rng.below(class.dataset.len() as u64) as usize];
        prompt = Some(index);
        // An empty value list is the checker's mark for "no `input` given: from the data".
        if matches!(&shape.input, crate::workload::Dist::Values(v) if v.is_empty()) {
            input = tokens;
        }
    }
    let (prefix_group, prefix_tokens) = match (&shape.prefix, &class.prefix_cumulative) {
        (Some(p), Some(cum)) => (Some(rng.pick(cum) as u32), p.tokens),
        (Some(p), None) => (Some(rng.below(p.groups as u64) as u32), p.tokens),
        _ => (None, 0),
    };
    let think_ns = phase
        .think
        .as_ref()
        .map(|d| sample::duration_ns(d, &mut rng));
    PlannedRequest {
        id: request_id(phase.index, step, position),
        phase: phase.index,
        step,
        class: class.id,
        at_ns,
        input_tokens: input.saturating_add(prefix_tokens).min(sample::MAX_LENGTH),
        output_tokens: output,
        prefix_group,
        prefix_tokens,
        think_ns,
        blocks: None,
        prompt,
    }
}
