//! The shards of one plan (`llmw run --shard I/N`) analysed as one run: [`fleets`] sorts the
//! directories given into runs — the shards of one plan (same plan hash and shard count) merged
//! into one, every other directory alone — and refuses a duplicated shard, or a missing one
//! unless a partial set is asked for. A merged run's rows are the union of its shards' rows on
//! one time axis (each shard's times shifted by the difference of their wall-clock time 0, none
//! with one `--start-at`), so every metric is computed over the union: exact percentiles, TPS
//! over the union's span, one SLO verdict.

use std::path::{Path, PathBuf};

use super::chunks::ChunkFiles;
use super::read::load;
pub use super::run::{alone, Shards};
use super::run::{Requests, Run, ServerMetrics};
use crate::analysis::error::AnalysisError;
use crate::rundir::manifest::{Counts, Ending, Manifest};

/// `dirs` with each directory that is not a run but holds runs (a fleet's directory of shard
/// directories, as the Kubernetes example writes them) replaced by those runs, in name order.
pub fn expand(dirs: &[impl AsRef<Path>]) -> Vec<PathBuf> {
    let is_run = |d: &Path| d.join(crate::rundir::manifest::FILE).exists();
    let mut out = Vec::new();
    for dir in dirs {
        let dir = dir.as_ref();
        let mut inner: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) if !is_run(dir) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_run(p))
                .collect(),
            _ => Vec::new(),
        };
        if inner.is_empty() {
            // A run, or not one at all: loading it says what is wrong.
            out.push(dir.to_path_buf());
        } else {
            inner.sort();
            out.extend(inner);
        }
    }
    out
}

/// The runs in `dirs` (see [`expand`]): the shards of one plan merged into one run (in the
/// order of their first directory), every other directory alone. A duplicated shard is an
/// error naming both directories; a missing one is an error naming it unless `partial`.
pub fn fleets(dirs: &[impl AsRef<Path>], partial: bool) -> Result<Vec<Run>, AnalysisError> {
    enum Slot {
        Alone(Box<Run>),
        Fleet(Vec<Run>),
    }
    let mut slots: Vec<Slot> = Vec::new();
    for dir in expand(dirs) {
        let run = load(&dir)?;
        let Some(shard) = run.meta.shard else {
            slots.push(Slot::Alone(Box::new(run)));
            continue;
        };
        let same = slots.iter_mut().find_map(|s| match s {
            Slot::Fleet(runs) if fleet(&runs[0].meta) == fleet(&run.meta) => Some(runs),
            _ => None,
        });
        match same {
            Some(runs) => {
                if let Some(twin) = runs
                    .iter()
                    .find(|r| r.meta.shard.map(|x| x.index) == Some(shard.index))
                {
                    return Err(AnalysisError::Shards(format!(
                        "shard {}/{} is given twice: {} and {}",
                        shard.index,
                        shard.count,
                        twin.dir.display(),
                        run.dir.display()
                    )));
                }
                runs.push(run);
            }
            None => slots.push(Slot::Fleet(vec![run])),
        }
    }
    slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Alone(run) => Ok(*run),
            Slot::Fleet(runs) => merge(runs, partial),
        })
        .collect()
}

/// What the shards of one execution share: the plan, the shard count and the `--start-at`
/// instant (so two fleets of one plan started at different times are two runs to compare).
fn fleet(m: &Manifest) -> (&str, Option<u32>, Option<&str>) {
    (
        &m.plan_hash,
        m.shard.map(|s| s.count),
        m.start_at.as_ref().map(|s| s.requested.as_str()),
    )
}

/// Index of a shard run.
fn index(r: &Run) -> u32 {
    r.meta.shard.map_or(0, |s| s.index)
}

/// One run of the shards `runs` (one plan, distinct indices).
fn merge(mut runs: Vec<Run>, partial: bool) -> Result<Run, AnalysisError> {
    runs.sort_by_key(index);
    let count = runs[0].meta.shard.map_or(1, |s| s.count);
    let present: Vec<u32> = runs.iter().map(index).collect();
    let missing: Vec<u32> = (0..count).filter(|i| !present.contains(i)).collect();
    if !missing.is_empty() && !partial {
        let list: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
        return Err(AnalysisError::Shards(format!(
            "shard{} {} of plan {:.12}… {} missing (given: {}); pass --partial to analyse the shards given, marked partial",
            if missing.len() > 1 { "s" } else { "" },
            list.join(", "),
            runs[0].meta.plan_hash,
            if missing.len() > 1 { "are" } else { "is" },
            runs.iter().map(|r| r.dir.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let earliest = runs
        .iter()
        .filter_map(|r| r.meta.started_unix_ns)
        .min()
        .unwrap_or(0);
    let offsets: Vec<i64> = runs
        .iter()
        .map(|r| r.meta.started_unix_ns.map_or(0, |t| t - earliest))
        .collect();
    let shards = Shards {
        count,
        present,
        missing,
        dirs: runs.iter().map(|r| r.dir.display().to_string()).collect(),
        offsets_ms: offsets.iter().map(|o| *o as f64 / 1e6).collect(),
    };
    let meta = merged_manifest(&runs, &offsets);
    let mut requests = Requests {
        timed_setup: true,
        ..Requests::default()
    };
    let mut chunks = ChunkFiles::default();
    // One server, scraped by every shard: the lowest shard's scrape stands for it.
    let mut server = ServerMetrics::default();
    for (k, (run, offset)) in runs.into_iter().zip(&offsets).enumerate() {
        append(&mut requests, run.requests, *offset);
        chunks.rows += run.chunks.rows;
        for mut part in run.chunks.parts {
            part.offset_ns += offset;
            chunks.parts.push(part);
        }
        if k == 0 {
            server = run.server;
            server.at_ns.iter_mut().for_each(|t| *t += offset);
        }
    }
    let rows_of = requests
        .request_id
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    Ok(Run {
        dir: PathBuf::from(shards.dirs.join(" + ")),
        meta,
        requests,
        chunks,
        rows_of,
        server,
        shards: Some(shards),
    })
}

/// `to` followed by `from`'s rows with their times shifted by `offset` ns.
fn append(to: &mut Requests, from: Requests, offset: i64) {
    let shift = |v: Vec<i64>| v.into_iter().map(move |t| t + offset);
    let shift_opt = |v: Vec<Option<i64>>| v.into_iter().map(move |t| t.map(|t| t + offset));
    to.request_id.extend(from.request_id);
    to.phase.extend(from.phase);
    to.step.extend(from.step);
    to.scheduled_ns.extend(shift_opt(from.scheduled_ns));
    to.sent_ns.extend(shift(from.sent_ns));
    to.first_token_ns.extend(shift_opt(from.first_token_ns));
    to.last_token_ns.extend(shift_opt(from.last_token_ns));
    to.done_ns.extend(shift(from.done_ns));
    to.input_tokens.extend(from.input_tokens);
    to.output_tokens.extend(from.output_tokens);
    to.status.extend(from.status);
    to.error_kind.extend(from.error_kind);
    to.inputs.extend(from.inputs);
    to.class.extend(&from.class);
    to.api.extend(&from.api);
    to.model.extend(&from.model);
    to.target.extend(&from.target);
    to.prompt_tokens.extend(from.prompt_tokens);
    to.cached_tokens.extend(from.cached_tokens);
    to.first_content_ns.extend(shift_opt(from.first_content_ns));
    to.reasoning_tokens.extend(from.reasoning_tokens);
    to.conn_reused.extend(from.conn_reused);
    to.resent.extend(from.resent);
    to.session.extend(from.session);
    to.turn.extend(from.turn);
    to.branch.extend(from.branch);
    to.session_turns.extend(from.session_turns);
    to.connect_ns.extend(from.connect_ns);
    to.tls_ns.extend(from.tls_ns);
    to.backoff_ns.extend(from.backoff_ns);
    to.timed_setup &= from.timed_setup;
}

/// The lowest shard's manifest, with what the shards found together: phases from the earliest
/// start to the latest end, every row counted, the worst ending, every error.
fn merged_manifest(runs: &[Run], offsets: &[i64]) -> Manifest {
    let mut meta = runs[0].meta.clone();
    meta.shard = None;
    // Time 0 of the merged run is the earliest shard's.
    if let Some((first, _)) = runs
        .iter()
        .zip(offsets)
        .filter(|(r, _)| r.meta.started_unix_ns.is_some())
        .min_by_key(|(_, o)| **o)
    {
        meta.started_at = first.meta.started_at.clone();
        meta.started_unix_ns = first.meta.started_unix_ns;
    }
    for (p, phase) in meta.phases.iter_mut().enumerate() {
        let at = |f: fn(&crate::rundir::manifest::Phase) -> Option<u64>| {
            runs.iter().zip(offsets).filter_map(move |(r, o)| {
                r.meta
                    .phases
                    .get(p)
                    .and_then(f)
                    .map(|t| (t as i64 + o).max(0) as u64)
            })
        };
        phase.start_ns = at(|x| x.start_ns).min();
        phase.end_ns = if runs
            .iter()
            .all(|r| r.meta.phases.get(p).is_some_and(|x| x.end_ns.is_some()))
        {
            at(|x| x.end_ns).max()
        } else {
            None
        };
    }
    let rank = |e: Ending| match e {
        Ending::Completed => 0,
        Ending::Running => 1,
        Ending::Interrupted => 2,
        Ending::Failed => 3,
    };
    meta.status = runs
        .iter()
        .map(|r| r.meta.status)
        .max_by_key(|e| rank(*e))
        .unwrap_or(Ending::Completed);
    let errors: Vec<String> = runs
        .iter()
        .filter_map(|r| {
            r.meta
                .error
                .as_ref()
                .map(|e| format!("shard {}: {e}", index(r)))
        })
        .collect();
    meta.error = (!errors.is_empty()).then(|| errors.join("; "));
    // Every machine's self-watch, on the merged time axis: a busy shard is a busy client.
    let watches: Vec<_> = runs
        .iter()
        .zip(offsets)
        .filter_map(|(r, o)| r.meta.client.as_ref().map(|c| (c, *o)))
        .collect();
    meta.client = (!watches.is_empty()).then(|| {
        let mut samples: Vec<_> = watches
            .iter()
            .flat_map(|(c, o)| {
                c.samples
                    .iter()
                    .map(move |s| crate::rundir::manifest::ClientSample {
                        t_s: s.t_s + *o as f64 / 1e9,
                        ..s.clone()
                    })
            })
            .collect();
        samples.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        crate::rundir::manifest::ClientWatch {
            cores: watches.iter().map(|(c, _)| c.cores).min().unwrap_or(1),
            cpu_source: watches[0].0.cpu_source.clone(),
            samples,
        }
    });
    meta.counts = runs.iter().try_fold(
        Counts {
            requests: 0,
            chunks: 0,
            server_metrics: 0,
            updated_at: None,
        },
        |mut sum, r| {
            let c = r.meta.counts.as_ref()?;
            sum.requests += c.requests;
            sum.chunks += c.chunks;
            sum.server_metrics += c.server_metrics;
            Some(sum)
        },
    );
    meta
}
