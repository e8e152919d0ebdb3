//! Was the client busy? The run's self-watch (`run.json`'s `client`: per second, the llmw
//! process's CPU in cores and its event loop's lateness) lined up with each group, and a flag
//! naming what to do when the client may have distorted the latencies.

use serde::Serialize;

use super::groups::Window;
use crate::rundir::manifest::ClientWatch;

/// A second whose event-loop lateness p99 is above this (ms) delayed responses' reading.
pub const LAG_P99_MS: f64 = 5.0;
/// A second using at least this share of the client's cores counts as saturated...
pub const CPU_BUSY: f64 = 0.9;
/// ...and a group with at least this share of such seconds is flagged.
pub const CPU_BUSY_SECONDS: f64 = 0.25;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientLoad {
    /// Seconds of the self-watch inside the group's window.
    pub seconds: usize,
    /// The most CPU the llmw process used in one of them, in cores, and as a share of its cores.
    pub cpu_cores_max: Option<f64>,
    pub cpu_share_max: Option<f64>,
    /// The largest per-second p99 of the event loop's lateness, and the largest lateness, ms.
    pub lag_p99_ms_max: f64,
    pub lag_max_ms: f64,
    /// Why the client may have distorted this group's latencies, and what to do; null when it
    /// was not busy.
    pub busy: Option<String>,
}

/// The client's load during `window`, or `None` without a self-watch (runs from before it).
pub fn during(watch: Option<&ClientWatch>, window: Window) -> Option<ClientLoad> {
    let w = watch?;
    // A sample covers the second before its time.
    let inside: Vec<_> = w
        .samples
        .iter()
        .filter(|s| s.t_s > window.start_s && s.t_s - 1.0 < window.end_s)
        .collect();
    if inside.is_empty() {
        return None;
    }
    let cores = f64::from(w.cores.max(1));
    let cpu_cores_max = inside.iter().filter_map(|s| s.cpu_cores).reduce(f64::max);
    let lag_p99_ms_max = inside.iter().map(|s| s.lag_p99_ms).fold(0.0, f64::max);
    let lag_max_ms = inside.iter().map(|s| s.lag_max_ms).fold(0.0, f64::max);
    let late = inside.iter().filter(|s| s.lag_p99_ms > LAG_P99_MS).count();
    let saturated = inside
        .iter()
        .filter(|s| s.cpu_cores.is_some_and(|c| c >= CPU_BUSY * cores))
        .count();
    let mut why = Vec::new();
    if late > 0 {
        // Late with little CPU of its own: something else held the cores (often the server,
        // on the same machine).
        let own = match cpu_cores_max {
            Some(c) if c < 0.5 * cores => format!(
                " while llmw itself used at most {c:.2} of its {} cores, so other processes held them",
                w.cores
            ),
            _ => String::new(),
        };
        why.push(format!(
            "its event loop was late by over {LAG_P99_MS} ms (p99) in {late} of {} s, by up to {lag_max_ms:.0} ms{own}",
            inside.len()
        ));
    }
    if saturated as f64 >= CPU_BUSY_SECONDS * inside.len() as f64 && saturated > 0 {
        why.push(format!(
            "it used {:.0} % or more of its {} cores in {saturated} of {} s",
            CPU_BUSY * 100.0,
            w.cores,
            inside.len()
        ));
    }
    Some(ClientLoad {
        seconds: inside.len(),
        cpu_cores_max,
        cpu_share_max: cpu_cores_max.map(|c| c / cores),
        lag_p99_ms_max,
        lag_max_ms,
        busy: (!why.is_empty()).then(|| {
            format!(
                "the client was busy: {}; its latencies include the client's own delays (give llmw its own cores, or spread the load with --shard)",
                why.join(", and ")
            )
        }),
    })
}
