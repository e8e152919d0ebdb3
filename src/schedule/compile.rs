//! [`Workload`] → [`Schedule`].

use super::error::CompileError;
use super::rate::RateFn;
use super::{arrivals, closed, content, files, hash};
use super::{ClassPlan, LoopKind, PhasePlan, Schedule, SearchPlan, StepPlan};
use crate::resolve::Resolved;
use crate::rng::{cumulative, key, purpose, Rng};
use crate::workload::{Arrival, Level, Load, Phase};

use crate::limits::{MAX_PLANNED, MAX_STEPS};

/// Compiles a resolved workload into its schedule: a pure function of the workload and the
/// contents of its files.
pub fn compile(resolved: &Resolved) -> Result<Schedule, CompileError> {
    let workload = resolved.workload();
    let mut classes: Vec<String> = Vec::new();
    let mut phases = Vec::new();
    let mut requests = Vec::new();
    let mut blocks: Vec<Vec<u64>> = Vec::new();
    let mut recorded: Vec<super::Recorded> = Vec::new();
    let mut prompts: Vec<serde_json::Value> = Vec::new();
    let mut block_tokens = super::replay::DEFAULT_BLOCK;
    let mut start = Some(0u64);
    for (index, (phase, phase_files)) in resolved.phases().enumerate() {
        let index = index as u32;
        let mut class_plans: Vec<ClassPlan> = Vec::new();
        for (c, class_files) in phase.classes.iter().zip(&phase_files.classes) {
            let id = match classes.iter().position(|n| *n == c.name) {
                Some(i) => i,
                None => {
                    classes.push(c.name.clone());
                    classes.len() - 1
                }
            };
            let shape = c.shape.clone();
            let samples = class_files
                .samples
                .as_deref()
                .map(files::samples)
                .unwrap_or_default();
            let dataset = class_files
                .prompts
                .as_deref()
                .map(|list| files::dataset(list, &mut prompts))
                .unwrap_or_default();
            let prefix_cumulative = shape.prefix.as_ref().and_then(|p| {
                p.skew.map(|s| {
                    let w: Vec<f64> = (1..=p.groups).map(|k| libm::pow(k as f64, -s)).collect();
                    cumulative(&w)
                })
            });
            let session = c.session.clone();
            class_plans.push(ClassPlan {
                id: id as u32,
                name: c.name.clone(),
                weight: c.weight,
                shape,
                prefix_cumulative,
                samples,
                dataset,
                session,
                form: {
                    // An embeddings target makes every class that names no API one of
                    // embeddings (its requests generate nothing), in the plan itself.
                    let mut form = c.form.clone();
                    if form.api.is_none() && workload.target.api == crate::workload::Api::Embeddings
                    {
                        form.api = Some(crate::workload::Api::Embeddings);
                    }
                    form
                },
            });
        }
        let class_cumulative =
            cumulative(&class_plans.iter().map(|c| c.weight).collect::<Vec<_>>());
        let mut plan = PhasePlan {
            index,
            name: phase.name.clone(),
            kind: LoopKind::Open,
            load: phase.load.describe(),
            measure: phase.measure,
            start_ns: start,
            duration_ns: phase.duration_ns,
            max_requests: phase.max_requests,
            pause_ns: phase.pause_ns,
            steps: Vec::new(),
            max_in_flight: phase.max_in_flight,
            think: phase.think.clone(),
            classes: class_plans,
            class_cumulative,
            requests: requests.len()..requests.len(),
            users: Vec::new(),
            search: None,
            probe_key: None,
        };
        match &phase.load {
            Load::Open(Arrival::Process {
                process,
                rate: Level::Search(level),
            }) => {
                plan.search = Some(SearchPlan {
                    level: *level,
                    verify: phase.verify,
                    process: Some(*process),
                });
                plan.duration_ns = None;
            }
            Load::Closed(Level::Search(level)) => {
                plan.kind = LoopKind::Closed;
                plan.search = Some(SearchPlan {
                    level: *level,
                    verify: phase.verify,
                    process: None,
                });
                plan.duration_ns = None;
            }
            Load::Open(Arrival::Process { process, rate }) => {
                check_steps(phase, rate)?;
                let f =
                    RateFn::for_process(*process, rate, phase.duration_ns.map(|d| d as f64 / 1e9));
                let mut rng = Rng::new(key(&[workload.seed, purpose::ARRIVALS, index as u64]));
                let room = MAX_PLANNED.saturating_sub(requests.len() as u64);
                let offsets = arrivals::offsets(
                    *process,
                    &f,
                    phase.duration_ns,
                    phase.max_requests,
                    room,
                    &mut rng,
                )
                .map_err(|limit| CompileError::TooLarge {
                    phase: phase.name.clone(),
                    limit: MAX_PLANNED.min(limit + requests.len() as u64),
                })?;
                plan.steps = open_steps(rate, &f, phase.duration_ns, &offsets);
                let hold = match rate {
                    Level::Steps { hold_ns, .. } => Some(*hold_ns),
                    _ => None,
                };
                let base = start.unwrap_or(0);
                let sessions = plan.classes.iter().any(|c| c.session.is_some());
                let mut step = 0u32;
                let mut position = 0u64;
                for offset in &offsets {
                    let s = hold.map(|h| (offset / h) as u32).unwrap_or(0);
                    if s != step {
                        step = s;
                        position = 0;
                    }
                    let before = requests.len();
                    content::unit(
                        workload.seed,
                        &plan,
                        step,
                        position,
                        Some(base + offset),
                        &mut requests,
                    );
                    position += (requests.len() - before) as u64;
                    if requests.len() as u64 > MAX_PLANNED {
                        return Err(CompileError::TooLarge {
                            phase: phase.name.clone(),
                            limit: MAX_PLANNED,
                        });
                    }
                    // `requests = N` counts requests: a conversation past the N-th is cut.
                    if let Some(max) = phase.max_requests {
                        let planned = (requests.len() - plan.requests.start) as u64;
                        if planned >= max {
                            requests.truncate(plan.requests.start + max as usize);
                            break;
                        }
                    }
                }
                plan.requests = plan.requests.start..requests.len();
                if sessions {
                    // A conversation's later turns wait for answers: a phase no duration ends
                    // lasts until its conversations have ended (with a duration and a
                    // `requests` limit, whichever comes first, decided at run time).
                    if phase.duration_ns.is_none() {
                        plan.duration_ns = None;
                    }
                } else if phase
                    .max_requests
                    .is_some_and(|m| offsets.len() as u64 >= m)
                    || phase.duration_ns.is_none()
                {
                    plan.duration_ns = offsets.last().map(|o| o + 1).or(Some(0));
                }
            }
            Load::Open(Arrival::Trace(tr)) => {
                if let Some(b) = tr.block {
                    block_tokens = b.clamp(1, u32::MAX as u64) as u32;
                }
                let replayed = super::replay::requests(
                    workload.seed,
                    &plan,
                    phase,
                    tr,
                    phase_files
                        .arrivals
                        .as_deref()
                        .ok_or_else(|| CompileError::Trace {
                            phase: phase.name.clone(),
                            message: "llmw bug: a trace phase without its rows".into(),
                        })?,
                    start.unwrap_or(0),
                    super::replay::Tables {
                        blocks: &mut blocks,
                        classes: &mut classes,
                        recorded: &mut recorded,
                        target_api: workload.target.api,
                    },
                )
                .map_err(|message| CompileError::Trace {
                    phase: phase.name.clone(),
                    message,
                })?;
                if requests.len() + replayed.requests.len() > MAX_PLANNED as usize {
                    return Err(CompileError::TooLarge {
                        phase: phase.name.clone(),
                        limit: MAX_PLANNED,
                    });
                }
                requests.extend(replayed.requests);
                plan.requests = plan.requests.start..requests.len();
                // Conversations decide how long a phase without a duration lasts.
                plan.duration_ns = (!replayed.sessions || phase.duration_ns.is_some())
                    .then_some(replayed.duration_ns);
                let rate = if replayed.duration_ns > 0 {
                    plan.requests.len() as f64 / (replayed.duration_ns as f64 / 1e9)
                } else {
                    0.0
                };
                plan.steps = vec![StepPlan {
                    index: 0,
                    start_ns: 0,
                    end_ns: Some(replayed.duration_ns),
                    level: rate,
                }];
            }
            Load::Closed(users) => {
                check_steps(phase, users)?;
                plan.kind = LoopKind::Closed;
                plan.users = closed::timeline(users, phase.duration_ns);
                plan.steps = closed_steps(users, phase.duration_ns);
            }
        }
        start = match (start, plan.duration_ns) {
            (Some(s), Some(d)) => Some(s + d + phase.pause_ns),
            _ => None,
        };
        phases.push(plan);
    }
    let mut schedule = Schedule {
        workload: workload.name.clone(),
        description: workload.description.clone(),
        expect_plan: workload.expect_plan.clone(),
        seed: workload.seed,
        params: workload.params.clone(),
        slo: workload.slo.clone(),
        target: workload.target.clone(),
        abort: workload.abort.clone(),
        backoff: workload.backoff.clone(),
        hash: String::new(),
        classes,
        phases,
        requests,
        blocks,
        block_tokens,
        prompts,
        recorded,
        shard: None,
        shard_users: Vec::new(),
    };
    schedule.hash = hash::plan_hash(&schedule);
    Ok(schedule)
}

fn check_steps(phase: &Phase, level: &Level) -> Result<(), CompileError> {
    match level {
        Level::Steps { values, .. } if values.len() > MAX_STEPS => {
            Err(CompileError::TooManySteps {
                phase: phase.name.clone(),
                count: values.len(),
            })
        }
        _ => Ok(()),
    }
}

fn open_steps(
    rate: &Level,
    f: &RateFn,
    duration_ns: Option<u64>,
    offsets: &[u64],
) -> Vec<StepPlan> {
    match rate {
        Level::Steps { values, hold_ns } => step_plans(values, *hold_ns),
        _ => {
            let end = duration_ns.or_else(|| offsets.last().map(|o| o + 1));
            let level = match (rate, end) {
                (_, Some(e)) if e > 0 => f.cumulative(e as f64 / 1e9) / (e as f64 / 1e9),
                _ => rate.peak(),
            };
            vec![StepPlan {
                index: 0,
                start_ns: 0,
                end_ns: end,
                level,
            }]
        }
    }
}

fn closed_steps(users: &Level, duration_ns: Option<u64>) -> Vec<StepPlan> {
    match users {
        Level::Steps { values, hold_ns } => step_plans(values, *hold_ns),
        Level::Fixed(n) => vec![StepPlan {
            index: 0,
            start_ns: 0,
            end_ns: duration_ns,
            level: *n,
        }],
        _ => {
            // The time-weighted mean number of users.
            let timeline = closed::timeline(users, duration_ns);
            let end = duration_ns.unwrap_or(0);
            let mut total = 0.0;
            for (i, u) in timeline.iter().enumerate() {
                let until = timeline.get(i + 1).map(|n| n.at_ns).unwrap_or(end);
                total += u.users as f64 * until.saturating_sub(u.at_ns) as f64;
            }
            let level = if end > 0 {
                total / end as f64
            } else {
                users.peak()
            };
            vec![StepPlan {
                index: 0,
                start_ns: 0,
                end_ns: duration_ns,
                level,
            }]
        }
    }
}

/// One step plan per value of `steps(...)`, each `hold_ns` long.
fn step_plans(values: &[f64], hold_ns: u64) -> Vec<StepPlan> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| StepPlan {
            index: i as u32,
            start_ns: i as u64 * hold_ns,
            end_ns: Some((i as u64 + 1) * hold_ns),
            level: *v,
        })
        .collect()
}
