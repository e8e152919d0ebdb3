//! What each request asks for: its class, prompt and output lengths, prefix group and (closed
//! loop) think time — a pure function of (seed, phase, step, position in the step), or for a
//! search's probe of (seed, phase, level, position). A `session`
//! class's unit is a whole conversation: every turn's lengths, fanout and think time are drawn
//! at its position, and its requests take the positions after it.

use super::sample;
use super::{ClassPlan, PhasePlan, PlannedRequest, SessionTurn};
use crate::rng::{key, purpose, Rng};
use crate::workload::Session;

/// Request ids are `phase·10¹² + step·10⁹ + position`: unique in the plan, stable, and readable
/// (id 1_002_000_000_017 is phase 1, step 2, request 17 of that step).
pub const PHASE_STRIDE: u64 = 1_000_000_000_000;
pub const STEP_STRIDE: u64 = 1_000_000_000;

pub fn request_id(phase: u32, step: u32, position: u64) -> u64 {
    phase as u64 * PHASE_STRIDE + step as u64 * STEP_STRIDE + position
}

fn rng_at(seed: u64, phase: &PhasePlan, step: u32, position: u64) -> Rng {
    // A probe's requests depend on its level, not on when the search chose it.
    let (purpose, step) = match phase.probe_key {
        Some(k) => (purpose::PROBE_CONTENT, k),
        None => (purpose::CONTENT, step as u64),
    };
    Rng::new(key(&[seed, purpose, phase.index as u64, step, position]))
}

fn pick_class<'p>(phase: &'p PhasePlan, rng: &mut Rng) -> &'p ClassPlan {
    let index = if phase.classes.len() == 1 {
        0
    } else {
        rng.pick(&phase.class_cumulative)
    };
    &phase.classes[index]
}

/// The request at `position` of `step` in `phase`; `at_ns` is its planned send offset from the
/// run's start (open loop) or `None` (closed loop). For a session class, the conversation's
/// first request.
pub fn request(
    seed: u64,
    phase: &PhasePlan,
    step: u32,
    position: u64,
    at_ns: Option<u64>,
) -> PlannedRequest {
    let mut rng = rng_at(seed, phase, step, position);
    let class = pick_class(phase, &mut rng);
    match &class.session {
        None => single(phase, class, step, position, at_ns, &mut rng),
        Some(_) => {
            let mut out = Vec::new();
            unit(seed, phase, step, position, at_ns, &mut out);
            out[0]
        }
    }
}

/// Appends the unit at `position` of `step` in `phase` to `out`: one request, or every request
/// of a conversation in turn order (branches in order within a turn), at positions
/// `position..position + n`.
pub fn unit(
    seed: u64,
    phase: &PhasePlan,
    step: u32,
    position: u64,
    at_ns: Option<u64>,
    out: &mut Vec<PlannedRequest>,
) {
    let mut rng = rng_at(seed, phase, step, position);
    let class = pick_class(phase, &mut rng);
    match &class.session {
        None => out.push(single(phase, class, step, position, at_ns, &mut rng)),
        Some(session) => {
            let head = Head {
                phase,
                class,
                step,
                position,
                at_ns,
            };
            conversation(&head, session, &mut rng, out);
        }
    }
}

fn single(
    phase: &PhasePlan,
    class: &ClassPlan,
    step: u32,
    position: u64,
    at_ns: Option<u64>,
    rng: &mut Rng,
) -> PlannedRequest {
    let shape = &class.shape;
    let (mut input, output) = if class.samples.is_empty() {
        (
            sample::length(&shape.input, rng),
            sample::length(&shape.output, rng),
        )
    } else {
        class.samples[rng.below(class.samples.len() as u64) as usize]
    };
    // A real prompt from the class's dataset: its own length unless `input` was given.
    let mut prompt = None;
    if !class.dataset.is_empty() {
        let (index, tokens) = class.dataset[rng.below(class.dataset.len() as u64) as usize];
        prompt = Some(index);
        if shape.input == crate::workload::Dist::FromDataset {
            input = tokens;
        }
    }
    let (prefix_group, prefix_tokens) = prefix(class, rng);
    let think_ns = phase.think.as_ref().map(|d| sample::duration_ns(d, rng));
    // An embeddings request generates nothing; its batch of inputs, each `input` tokens long,
    // is drawn last, so that other classes draw as they always did.
    let embeds = class.form.api == Some(crate::workload::Api::Embeddings);
    let output = if embeds { 0 } else { output };
    let inputs = class.form.inputs.as_ref().map(|d| {
        let n = sample::length(d, rng).min(crate::limits::MAX_INPUTS);
        input = input.saturating_mul(n);
        n
    });
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
        recorded: None,
        prompt,
        session: None,
        inputs,
    }
}

fn prefix(class: &ClassPlan, rng: &mut Rng) -> (Option<u32>, u32) {
    match (&class.shape.prefix, &class.prefix_cumulative) {
        (Some(p), Some(cum)) => (Some(rng.pick(cum) as u32), p.tokens),
        (Some(p), None) => (Some(rng.below(p.groups as u64) as u32), p.tokens),
        _ => (None, 0),
    }
}

/// Where a conversation starts in the plan.
struct Head<'a> {
    phase: &'a PhasePlan,
    class: &'a ClassPlan,
    step: u32,
    position: u64,
    at_ns: Option<u64>,
}

/// A whole number of `dist` within `1..=max`.
fn count(dist: &crate::workload::Dist, rng: &mut Rng, max: u32) -> u32 {
    sample::length(dist, rng).min(max)
}

fn conversation(head: &Head, session: &Session, rng: &mut Rng, out: &mut Vec<PlannedRequest>) {
    let shape = &head.class.shape;
    let (prefix_group, system) = prefix(head.class, rng);
    let turns = count(&session.turns, rng, crate::limits::MAX_TURNS);
    let id = request_id(head.phase.index, head.step, head.position);
    // Branch 0's user text + reply, per turn so far: what later turns carry as history.
    let mut history: Vec<u32> = Vec::with_capacity(turns as usize);
    let mut position = head.position;
    for turn in 0..turns {
        let fanout = session
            .fanout
            .as_ref()
            .map_or(1, |d| count(d, rng, crate::limits::MAX_FANOUT));
        // Before the first turn the phase's think (a closed-loop user between sessions), before
        // the others the session's (the user reading, or the tool running).
        let think = if turn == 0 {
            head.phase.think.as_ref()
        } else {
            session.think.as_ref()
        };
        let think_ns = think.map(|d| sample::duration_ns(d, rng));
        let mut carried_on = 0u32;
        for branch in 0..fanout {
            // An agent loop's later turns send a tool's result, not the user's text.
            let new = match (&session.tool_result, turn) {
                (Some(result), 1..) => sample::length(result, rng),
                _ => sample::length(&shape.input, rng),
            };
            let output = sample::length(&shape.output, rng);
            let first_turn = kept_from(&history, system, new, session.max_context);
            let carried: u64 = history[first_turn as usize..]
                .iter()
                .map(|&h| h as u64)
                .sum();
            let input = (system as u64 + carried + new as u64).min(sample::MAX_LENGTH as u64);
            out.push(PlannedRequest {
                id: request_id(head.phase.index, head.step, position),
                phase: head.phase.index,
                step: head.step,
                class: head.class.id,
                at_ns: if turn == 0 { head.at_ns } else { None },
                input_tokens: input as u32,
                output_tokens: output,
                prefix_group,
                prefix_tokens: system,
                think_ns,
                blocks: None,
                recorded: None,
                prompt: None,
                inputs: None,
                session: Some(SessionTurn {
                    id,
                    turn,
                    branch,
                    turns,
                    new_tokens: new,
                    first_turn,
                }),
            });
            position += 1;
            if branch == 0 {
                carried_on = new.saturating_add(output);
            }
        }
        // Branch 0's user text and reply go on in the conversation.
        history.push(carried_on);
    }
}

/// The first earlier turn a context of `system` + history + `new` tokens keeps under `max`
/// (and under the longest length, 2²⁰ tokens): the oldest turns go first, and the newest text
/// always stays.
pub fn kept_from(history: &[u32], system: u32, new: u32, max: Option<u32>) -> u32 {
    let turn = history.len();
    let mut first = 0usize;
    // No prompt is longer than a length may be, `max_context` or not.
    let max = max.unwrap_or(sample::MAX_LENGTH).min(sample::MAX_LENGTH);
    let mut total: u64 =
        system as u64 + new as u64 + history.iter().map(|&h| h as u64).sum::<u64>();
    while total > max as u64 && first < turn {
        total -= history[first] as u64;
        first += 1;
    }
    first as u32
}
