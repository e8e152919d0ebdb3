//! Was the client busy? The run's self-watch (`run.json`'s `client`: per second, the llmw
//! process's CPU in cores and its event loop's lateness) lined up with each group, and a flag
//! naming what to do when the client may have distorted the latencies. In a merged run of
//! shards each machine is judged on its own seconds and cores.

use serde::Serialize;

use crate::analysis::window::Window;
use crate::rundir::manifest::{ClientSample, ClientWatch};

/// A second whose event-loop lateness p99 is above this (ms) delayed responses' reading.
pub const LAG_P99_MS: f64 = 5.0;
/// A second using at least this share of the client's cores counts as saturated...
pub const CPU_BUSY: f64 = 0.9;
/// ...and a group with at least this share of such seconds is flagged.
pub const CPU_BUSY_SECONDS: f64 = 0.25;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientLoad {
    /// Seconds of the self-watch inside the group's window (of every machine, for shards).
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
    let inside: Vec<&ClientSample> = w
        .samples
        .iter()
        .filter(|s| s.t_s > window.start_s && s.t_s - 1.0 < window.end_s)
        .collect();
    if inside.is_empty() {
        return None;
    }
    let cores_of = |s: &ClientSample| f64::from(s.machine.map_or(w.cores, |m| m.1).max(1));
    let cpu_cores_max = inside.iter().filter_map(|s| s.cpu_cores).reduce(f64::max);
    let cpu_share_max = inside
        .iter()
        .filter_map(|s| Some(s.cpu_cores? / cores_of(s)))
        .reduce(f64::max);
    let mut machines: Vec<Option<u32>> = inside.iter().map(|s| s.machine.map(|m| m.0)).collect();
    machines.sort_unstable();
    machines.dedup();
    let why: Vec<String> = machines
        .iter()
        .filter_map(|m| {
            let own: Vec<&ClientSample> = inside
                .iter()
                .copied()
                .filter(|s| s.machine.map(|x| x.0) == *m)
                .collect();
            busy(&own, cores_of(own[0])).map(|why| match m {
                Some(i) => format!("shard {i}: {why}"),
                None => why,
            })
        })
        .collect();
    Some(ClientLoad {
        seconds: inside.len(),
        cpu_cores_max,
        cpu_share_max,
        lag_p99_ms_max: inside.iter().map(|s| s.lag_p99_ms).fold(0.0, f64::max),
        lag_max_ms: inside.iter().map(|s| s.lag_max_ms).fold(0.0, f64::max),
        busy: (!why.is_empty()).then(|| {
            format!(
                "the client was busy: {}; its latencies include the client's own delays (give llmw its own cores, or spread the load with --shard)",
                why.join("; ")
            )
        }),
    })
}

/// Why one machine's seconds say its client was busy, if they do.
fn busy(seconds: &[&ClientSample], cores: f64) -> Option<String> {
    let late: Vec<&&ClientSample> = seconds
        .iter()
        .filter(|s| s.lag_p99_ms > LAG_P99_MS)
        .collect();
    let saturated = seconds
        .iter()
        .filter(|s| s.cpu_cores.is_some_and(|c| c >= CPU_BUSY * cores))
        .count();
    let mut why = Vec::new();
    if !late.is_empty() {
        let worst = late.iter().map(|s| s.lag_max_ms).fold(0.0, f64::max);
        // Late with little CPU of its own in those seconds: something else held the cores
        // (often the server, on the same machine).
        let own = match late.iter().filter_map(|s| s.cpu_cores).reduce(f64::max) {
            Some(c) if c < 0.5 * cores => format!(
                " while llmw itself used at most {c:.2} of its {cores} cores, so other processes held them"
            ),
            _ => String::new(),
        };
        why.push(format!(
            "its event loop was late by over {LAG_P99_MS} ms (p99) in {} of {} s, by up to {worst:.0} ms{own}",
            late.len(),
            seconds.len()
        ));
    }
    if saturated > 0 && saturated as f64 >= CPU_BUSY_SECONDS * seconds.len() as f64 {
        why.push(format!(
            "it used {:.0} % or more of its {cores} cores in {saturated} of {} s",
            CPU_BUSY * 100.0,
            seconds.len()
        ));
    }
    (!why.is_empty()).then(|| why.join(", and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t: f64, cpu: f64, lag: f64, machine: Option<(u32, u32)>) -> ClientSample {
        ClientSample {
            t_s: t,
            cpu_cores: Some(cpu),
            lag_p99_ms: lag,
            lag_max_ms: lag,
            machine,
        }
    }

    #[test]
    fn each_machine_is_judged_on_its_own_seconds_and_cores() {
        let window = Window {
            start_s: 0.0,
            end_s: 10.0,
        };
        // Shard 0 (4 cores) saturated every second; shards 1–5 (64 cores) idle at 4 cores.
        let mut samples = Vec::new();
        for t in 1..=10 {
            samples.push(second(f64::from(t), 3.9, 0.5, Some((0, 4))));
            for m in 1..=5 {
                samples.push(second(f64::from(t), 4.0, 0.5, Some((m, 64))));
            }
        }
        let watch = ClientWatch {
            cores: 4,
            cpu_source: None,
            samples,
        };
        let load = during(Some(&watch), window).expect("watched");
        let why = load.busy.expect("shard 0 is busy");
        assert!(
            why.contains("shard 0: it used 90 %") && !why.contains("shard 1"),
            "{why}"
        );
        assert_eq!(load.seconds, 60);
        // Alone, the idle machines are not busy.
        let idle = ClientWatch {
            samples: watch
                .samples
                .iter()
                .filter(|s| s.machine.is_some_and(|m| m.0 > 0))
                .cloned()
                .collect(),
            ..watch.clone()
        };
        assert_eq!(during(Some(&idle), window).expect("watched").busy, None);
        // A late event loop while llmw used little CPU: other processes held the cores.
        let one = ClientWatch {
            cores: 2,
            cpu_source: None,
            samples: vec![second(1.0, 0.05, 7.0, None), second(2.0, 0.05, 0.5, None)],
        };
        let why = during(Some(&one), window)
            .and_then(|l| l.busy)
            .expect("late");
        assert!(why.contains("other processes held them"), "{why}");
    }
}
