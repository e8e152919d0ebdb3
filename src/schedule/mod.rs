//! The schedule: the deterministic plan of every request, and the only contract between the
//! language (and the trace importers) and the engine.
//!
//! [`compile`] turns a checked [`Workload`](crate::workload::Workload) into a [`Schedule`]:
//! open-loop phases get exact send offsets; closed-loop phases get their concurrency timeline
//! and a request sequence per step that [`Schedule::closed_request`] produces on demand (its
//! length is decided at run time by how fast the server answers). Everything is a pure
//! function of the workload and the seed.

mod arrivals;
mod closed;
mod compile;
pub mod content;
mod error;
mod files;
mod form;
mod hash;
pub mod pin;
mod probe;
mod rate;
mod replay;
pub mod sample;
mod shard;

pub use compile::compile;
pub use error::CompileError;
pub use probe::Probe;
pub use shard::{Cursor, Shard, MAX_SHARDS};

use std::ops::Range;

/// What the engine needs of the workload beyond the plan comes with the schedule, so the engine
/// never sees a `Workload`.
pub use crate::workload::{
    AbortRule, Api, Backoff, Form, History, Objective, ParamValue, PromptTokens, Spread, Target,
    ToolChoice, DEFAULT_TOOL_TOKENS,
};
use crate::workload::{Dist, Process, SearchLevel, Session, Shape};

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub workload: String,
    pub description: Option<String>,
    /// The workload's `expect_plan` (not part of the hash): [`Schedule::pin`].
    pub expect_plan: Option<String>,
    pub seed: u64,
    /// The params after overrides, for the run's record (their effect is in the plan already).
    pub params: Vec<ParamValue>,
    /// The objectives the analysis checks (not part of the hash, like `target` and `abort`).
    pub slo: Vec<Objective>,
    /// How requests are sent (not part of the plan hash: one plan can target two servers).
    pub target: Target,
    /// When the run stops itself because its requests keep failing (not part of the hash).
    pub abort: Option<AbortRule>,
    /// How closed-loop users pace themselves after failures (not part of the hash).
    pub backoff: Option<Backoff>,
    /// SHA-256 of the plan's content (phases, classes, every planned request), hex.
    pub hash: String,
    /// Class names by class id.
    pub classes: Vec<String>,
    pub phases: Vec<PhasePlan>,
    /// Open-loop requests of every phase, in send order within each phase.
    pub requests: Vec<PlannedRequest>,
    /// Prefix-block id lists of replayed requests (Mooncake `hash_ids`), and the block size in
    /// tokens: requests that share leading ids get byte-identical prompt prefixes.
    pub blocks: Vec<Vec<u64>>,
    pub block_tokens: u32,
    /// Real prompts of `dataset(...)` classes: a string, or a `messages` array.
    pub prompts: Vec<serde_json::Value>,
    /// What replayed trace rows say they were sent as (their model, API, images), each
    /// distinct combination once: [`PlannedRequest::recorded`] indexes it.
    pub recorded: Vec<Recorded>,
    /// Set when this is one part of the plan ([`Schedule::shard`]); `hash` stays the whole
    /// plan's.
    pub shard: Option<Shard>,
    /// With `shard`: per phase and step, the whole plan's peak users of a closed-loop step, by
    /// which its units are dealt (empty otherwise).
    pub shard_users: Vec<Vec<u32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LoopKind {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PhasePlan {
    pub index: u32,
    pub name: String,
    pub kind: LoopKind,
    /// The load as a person reads it: `poisson 8/s`, `steps 1, 2, 4 users`.
    pub load: String,
    pub measure: bool,
    /// Planned start from the run's start; `None` after a phase whose length is decided at run
    /// time (closed loop ended by `requests` alone).
    pub start_ns: Option<u64>,
    /// Planned length; `None` when decided at run time.
    pub duration_ns: Option<u64>,
    pub max_requests: Option<u64>,
    pub pause_ns: u64,
    pub steps: Vec<StepPlan>,
    /// Open loop: outstanding requests above which an arrival is dropped.
    pub max_in_flight: Option<u64>,
    /// Closed loop: think-time distribution (seconds), sampled per request into `think_ns`.
    pub think: Option<Dist>,
    pub classes: Vec<ClassPlan>,
    /// Running sums of class weights, for picking a class.
    pub class_cumulative: Vec<f64>,
    /// Open loop: this phase's requests in [`Schedule::requests`].
    pub requests: Range<usize>,
    /// Closed loop: the number of virtual users over time (phase-relative), in order.
    pub users: Vec<UsersAt>,
    /// A searched load (`search(...)`): the phase has no steps, users or requests of its own;
    /// the engine runs it probe by probe ([`Schedule::probe`]). (Left out of the hash encoding
    /// when `None`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchPlan>,
    /// A probe's plan: its requests are drawn from this key (its level) instead of the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_key: Option<u64>,
}

/// What a searched phase searches, and how.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SearchPlan {
    pub level: SearchLevel,
    /// Hold 50, 60 and 70 % of the saturation throughput after the search.
    pub verify: bool,
    /// Open loop: the arrival process the probes' rates drive.
    pub process: Option<Process>,
}

/// A metric group of a phase: one value of `steps(...)`, or the whole phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepPlan {
    pub index: u32,
    /// Offset from the phase's start.
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// Users (closed loop) or requests per second (open loop; the mean over the step).
    pub level: f64,
}

/// From `at_ns` (phase-relative) on, `users` virtual users run, in metric step `step`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct UsersAt {
    pub at_ns: u64,
    pub users: u32,
    pub step: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassPlan {
    pub id: u32,
    pub name: String,
    pub weight: f64,
    pub shape: Shape,
    /// Zipf running sums over prefix groups when `skew` is set.
    pub prefix_cumulative: Option<Vec<f64>>,
    /// `sample = trace(...)`: (input, output) pairs drawn jointly, one row at random.
    /// (Left out of the hash encoding when empty, so plans without samples keep their hash.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<(u32, u32)>,
    /// `prompts = dataset(...)`: indices into [`Schedule::prompts`] with their estimated
    /// token counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dataset: Vec<(u32, u32)>,
    /// `session` classes: the turn structure. (Left out of the hash encoding when `None`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// The class's own API and models (left out of the hash encoding when it has none).
    #[serde(skip_serializing_if = "Form::is_plain")]
    pub form: Form,
}

/// One planned request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedRequest {
    pub id: u64,
    pub phase: u32,
    pub step: u32,
    pub class: u32,
    /// Open loop: intended send time, ns from the run's start (planned phase start + offset).
    pub at_ns: Option<u64>,
    /// Prompt length in tokens, prefix included.
    pub input_tokens: u32,
    /// Requested output length (`max_tokens`).
    pub output_tokens: u32,
    pub prefix_group: Option<u32>,
    pub prefix_tokens: u32,
    /// Closed loop: the pause before this request is sent.
    pub think_ns: Option<u64>,
    /// Trace replay (Mooncake): index into [`Schedule::blocks`], the prompt's prefix blocks.
    pub blocks: Option<u32>,
    /// `prompts = dataset(...)`: index into [`Schedule::prompts`], the real prompt to send.
    pub prompt: Option<u32>,
    /// A turn of a conversation (`session` classes and replayed trace sessions).
    pub session: Option<SessionTurn>,
    /// An embeddings request's inputs (`inputs = DIST`), each of `input_tokens / inputs`
    /// tokens; `None`: one input, or not an embeddings request.
    pub inputs: Option<u32>,
    /// A replayed trace row that says what it was sent as: index into [`Schedule::recorded`].
    pub recorded: Option<u32>,
}

/// What a trace row says its request was: the workload model its model maps to (`models:`),
/// its API and its image count. What it does not say comes from its class, as for any request.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Recorded {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<u32>,
}

/// Where a request stands in its conversation. Its prompt is the system prompt (the request's
/// prefix group), then for every kept earlier turn `first_turn..turn` the user text and the
/// reply of that turn's branch 0, then its own `new_tokens` of user text: `input_tokens` is
/// exactly that sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTurn {
    /// The session's id: the request id of its first request.
    pub id: u64,
    /// 0-based.
    pub turn: u32,
    /// 0-based within the turn; `fanout = k` gives branches 0..k.
    pub branch: u32,
    /// The session's planned number of turns.
    pub turns: u32,
    /// Tokens of new user text (or tool output) this turn adds.
    pub new_tokens: u32,
    /// The oldest earlier turn kept in the context (`max_context` dropped the ones before it).
    pub first_turn: u32,
}

impl Schedule {
    /// The request at `position` of `step` in closed-loop phase `phase` (for a session, the
    /// first request of the conversation that starts there).
    pub fn closed_request(&self, phase: u32, step: u32, position: u64) -> PlannedRequest {
        content::request(
            self.seed,
            &self.phases[phase as usize],
            step,
            position,
            None,
        )
    }

    /// The unit starting at `position` of `step` in closed-loop phase `phase`: one request, or
    /// every request of a conversation (turn by turn, branches in order), which take the
    /// positions from `position` on; the next unit starts at `position + len`.
    pub fn closed_unit(&self, phase: u32, step: u32, position: u64) -> Vec<PlannedRequest> {
        let mut out = Vec::new();
        content::unit(
            self.seed,
            &self.phases[phase as usize],
            step,
            position,
            None,
            &mut out,
        );
        out
    }

    /// The first `n` requests of the sequence of `step` in closed-loop phase `phase` (whole
    /// conversations; the last may be cut), as users take them (this part's, when sharded).
    pub fn closed_sequence(&self, phase: u32, step: u32, n: u64) -> Vec<PlannedRequest> {
        let mut out = Vec::new();
        let mut cursor = Cursor::default();
        while (out.len() as u64) < n {
            let unit = self.next_closed_unit(phase, step, &mut cursor);
            if unit.is_empty() {
                break; // a shard with none of the step's users
            }
            out.extend(unit);
        }
        out.truncate(n as usize);
        out
    }

    /// The open-loop requests of one phase.
    pub fn phase_requests(&self, phase: &PhasePlan) -> &[PlannedRequest] {
        &self.requests[phase.requests.clone()]
    }
}

/// The units of a run of requests: each single request alone, each conversation's requests
/// (contiguous in the plan) together.
pub fn units(requests: &[PlannedRequest]) -> impl Iterator<Item = &[PlannedRequest]> {
    requests.chunk_by(|a, b| match (a.session, b.session) {
        (Some(x), Some(y)) => x.id == y.id,
        _ => false,
    })
}
