//! Trace phases: the trace's rows, transformed, become open-loop requests with the trace's
//! send times and lengths (the phase's own `requests` block overrides lengths it sets). Rows of
//! one conversation (a session column) become a session: its turns in order, each at its
//! recorded time but never before the previous turn's answer, each prompt carrying the
//! conversation so far (a turn's recorded prompt length includes it).

use super::content::{self, request_id};
use super::{PhasePlan, PlannedRequest, SessionTurn};
use crate::trace::{self, Transform};
use crate::workload::{Api, Phase, TraceRef};

/// Mooncake's block size when the trace call gives none.
pub const DEFAULT_BLOCK: u32 = 512;

pub struct Replayed {
    pub requests: Vec<PlannedRequest>,
    /// The phase's length: just past the last send.
    pub duration_ns: u64,
    /// Some rows were conversations: the phase lasts until they have ended.
    pub sessions: bool,
}

/// The plan's tables a trace phase adds to: prefix-block lists, class names, what rows say
/// they were sent as.
pub struct Tables<'a> {
    pub blocks: &'a mut Vec<Vec<u64>>,
    pub classes: &'a mut Vec<String>,
    pub recorded: &'a mut Vec<super::Recorded>,
    /// The target's API: a row's when neither it nor its class names one.
    pub target_api: Api,
}

pub fn requests(
    seed: u64,
    plan: &PhasePlan,
    phase: &Phase,
    tr: &TraceRef,
    read: &trace::Trace,
    base_ns: u64,
    tables: Tables,
) -> Result<Replayed, String> {
    let Tables {
        blocks,
        classes: class_names,
        recorded,
        target_api,
    } = tables;
    // The resolve stage loaded the rows and refused failed rows without a `failed:` choice.
    let t = Transform {
        speed: tr.speed,
        window_ns: tr.window_ns,
        limit: tr.limit.or(phase.max_requests),
        max_gap_ns: tr.max_gap_ns,
        scale: tr.scale,
        replay_failed: tr.replay_failed.unwrap_or(false),
        seed,
    };
    let prepared = trace::transform(read, &t);
    let end = phase.duration_ns;
    let rows: Vec<(u64, trace::Row)> = prepared
        .rows
        .into_iter()
        .filter(|(offset, _)| end.is_none_or(|e| *offset < e))
        .collect();
    let units = conversations(rows, tr.sessions);
    let sessions = units
        .iter()
        .any(|u| u.len() > 1 || u[0].1.session.is_some());
    let mut out = Vec::with_capacity(units.iter().map(Vec::len).sum());
    for unit in units {
        let head_position = out.len() as u64;
        let in_session = unit.len() > 1 || unit[0].1.session.is_some();
        // Branch 0's user text + reply per earlier turn, for the history a turn carries.
        let mut history: Vec<u32> = Vec::new();
        let mut system = None;
        // Rows that say the same turn (an llmw run's fanout branches) are one turn.
        let turn_of: Vec<u32> = turn_numbers(&unit);
        let turns = turn_of.last().map_or(0, |t| t + 1);
        let mut branch = 0u32;
        for (k, (offset, row)) in unit.into_iter().enumerate() {
            let turn = turn_of[k];
            branch = if k > 0 && turn_of[k - 1] == turn {
                branch + 1
            } else {
                0
            };
            let position = out.len() as u64;
            // Class, prefix and any lengths the phase sets come from the phase's shapes.
            let mut r = content::request(seed, plan, 0, position, Some(base_ns + offset));
            r.id = request_id(plan.index, 0, position);
            // An earlier run's class keeps its name (added to the plan's class table if new).
            if let Some(name) = &row.class {
                r.class = match class_names.iter().position(|n| n == name) {
                    Some(i) => i as u32,
                    None => {
                        class_names.push(name.clone());
                        (class_names.len() - 1) as u32
                    }
                };
            }
            r.recorded = recorded_of(&row, read, tr, recorded);
            if let Some(i) = r.recorded {
                let class = plan.classes.iter().find(|c| c.id == r.class);
                carries(&recorded[i as usize], class, target_api, row.line)?;
            }
            if in_session {
                // One system prompt for the whole conversation: its first turn's.
                let (group, tokens) = *system.get_or_insert((r.prefix_group, r.prefix_tokens));
                r.prefix_group = group;
                r.prefix_tokens = tokens;
            }
            if !phase.own_lengths.0 {
                r.input_tokens = row.input.saturating_add(r.prefix_tokens);
            }
            if !phase.own_lengths.1 {
                r.output_tokens = row.output;
            }
            if !row.blocks.is_empty() && !in_session {
                r.blocks = Some(blocks.len() as u32);
                blocks.push(row.blocks);
                r.prefix_group = None;
                r.prefix_tokens = 0;
                r.input_tokens = row.input;
            }
            if in_session {
                // The context is the turns before this one (a branch shares its turn's).
                let before = &history[..(turn as usize).min(history.len())];
                let (first_turn, new_tokens) = fit(before, r.prefix_tokens, r.input_tokens);
                r.session = Some(SessionTurn {
                    id: request_id(plan.index, 0, head_position),
                    turn,
                    branch,
                    turns,
                    new_tokens,
                    first_turn,
                });
                if branch == 0 {
                    history.push(new_tokens.saturating_add(r.output_tokens));
                }
            }
            out.push(r);
        }
    }
    let duration_ns = end.unwrap_or_else(|| {
        out.iter()
            .filter_map(|r| r.at_ns)
            .max()
            .map(|a| a - base_ns + 1)
            .unwrap_or(0)
    });
    Ok(Replayed {
        requests: out,
        duration_ns,
        sessions,
    })
}

/// Whether a row's API (its own, else its class's, else the target's) can carry the images and
/// tools it sends (its own images, its class's images and tools): what the checker refuses for
/// a class, refused for the row, naming its line.
fn carries(
    said: &super::Recorded,
    class: Option<&super::ClassPlan>,
    target_api: Api,
    line: u64,
) -> Result<(), String> {
    let form = class.map(|c| &c.form);
    let api = said
        .api
        .or_else(|| form.and_then(|f| f.api))
        .unwrap_or(target_api);
    if !matches!(api, Api::Completions | Api::Embeddings) {
        return Ok(());
    }
    let what = match (said.images, form) {
        (Some(n @ 1..), _) => format!("{n} images"),
        (None, Some(f)) if f.images.is_some() => "its class's images".to_string(),
        (_, Some(f)) if f.tools.is_some() => "its class's tools".to_string(),
        _ => return Ok(()),
    };
    Err(format!(
        "trace line {line}: {what} on api {}, which carries none (images and tools go with chat, responses or messages)",
        api.as_str()
    ))
}

/// What `row` says it was sent as, in `recorded` (added if new): its model as `tr.models`
/// maps it (the trace's names are sent only through the map), its API and images. `None` for a
/// row that says none of them.
fn recorded_of(
    row: &trace::Row,
    read: &trace::Trace,
    tr: &TraceRef,
    recorded: &mut Vec<super::Recorded>,
) -> Option<u32> {
    let model = row
        .model
        .and_then(|m| read.models.get(m as usize))
        .and_then(|name| tr.models.iter().find(|(from, _)| from == name))
        .map(|(_, to)| to.clone());
    let api = row.api.and_then(|a| Api::ALL.get(a as usize).copied());
    let said = super::Recorded {
        model,
        api,
        images: row.images,
    };
    if said == super::Recorded::default() {
        return None;
    }
    let at = recorded.iter().position(|r| *r == said).unwrap_or_else(|| {
        recorded.push(said);
        recorded.len() - 1
    });
    Some(at as u32)
}

/// The rows as units in order of their first send: each row alone, or (with `sessions`) each
/// conversation's rows together, in turn order (the trace's `turn` where it has one, else
/// time).
fn conversations(rows: Vec<(u64, trace::Row)>, sessions: bool) -> Vec<Vec<(u64, trace::Row)>> {
    let mut units: Vec<Vec<(u64, trace::Row)>> = Vec::new();
    // Session number → its unit's index (the trace numbered sessions 0, 1, … on reading).
    let mut by_session: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    for (offset, row) in rows {
        match row.session.filter(|_| sessions) {
            Some(id) => match by_session.get(&id) {
                Some(&u) => units[u].push((offset, row)),
                None => {
                    by_session.insert(id, units.len());
                    units.push(vec![(offset, row)]);
                }
            },
            None => {
                let mut row = row;
                row.session = None;
                units.push(vec![(offset, row)]);
            }
        }
    }
    for unit in &mut units {
        // Stable: rows of one turn number (or without one) keep their time order.
        unit.sort_by_key(|(offset, row)| (row.turn.unwrap_or(0), row.branch.unwrap_or(0), *offset));
    }
    // A conversation starts at its first turn's time: the dispatcher sends heads in order.
    units.sort_by_key(|u| u[0].0);
    units
}

/// Each row's turn in its conversation (rows in turn order): consecutive, from 0; rows that
/// say the same turn share it.
fn turn_numbers(unit: &[(u64, trace::Row)]) -> Vec<u32> {
    let mut out = Vec::with_capacity(unit.len());
    let mut turn = 0u32;
    for (k, (_, row)) in unit.iter().enumerate() {
        if k > 0 {
            let same = row.turn.is_some() && row.turn == unit[k - 1].1.turn;
            if !same {
                turn += 1;
            }
        }
        out.push(turn);
    }
    out
}

/// How a recorded prompt of `input` tokens (system prompt included) is made of the
/// conversation so far: the first earlier turn it keeps (the oldest are dropped until the rest
/// fits with at least one new token) and the new tokens it adds.
fn fit(history: &[u32], system: u32, input: u32) -> (u32, u32) {
    let mut first = 0usize;
    let mut carried: u64 = history.iter().map(|&h| h as u64).sum();
    while first < history.len() && system as u64 + carried + 1 > input as u64 {
        carried -= history[first] as u64;
        first += 1;
    }
    let new = (input as u64)
        .saturating_sub(system as u64 + carried)
        .max(1);
    (first as u32, new.min(u32::MAX as u64) as u32)
}
