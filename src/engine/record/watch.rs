//! The client watches itself: every second, how much CPU the llmw process used (from
//! `/proc/self/stat`, in cores) and how late its event loop is. Every 10 ms a task yields and
//! measures how long it waits to run again: the time a response that has arrived waits before
//! llmw reads it (a timer's own lateness would add tokio's 1 ms granularity to every sample).
//! Busy cores or a late event loop delay the reading of responses, so latencies then include the
//! client's own delays; the analysis names the steps where that happened (`analysis/measure/client.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::wire::clock::Clock;
use crate::rundir::manifest::{ClientSample, ClientWatch};

/// How often the watcher measures.
const TICK: Duration = Duration::from_millis(10);

/// The samples so far, shared with the task that takes them.
#[derive(Clone, Default)]
pub struct Watch {
    samples: Arc<Mutex<Vec<ClientSample>>>,
}

impl Watch {
    /// What the run's manifest says of the client.
    pub fn to_manifest(&self) -> ClientWatch {
        ClientWatch {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            cpu_source: cpu_seconds().map(|_| "/proc/self/stat".to_string()),
            samples: self.samples.lock().map(|s| s.clone()).unwrap_or_default(),
        }
    }
}

/// CPU time (user + system) of this process, in seconds: `/proc/self/stat`'s `utime` and
/// `stime`, in the kernel's USER_HZ (100 on every Linux). `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After `)`: state is field 3; utime and stime are fields 14 and 15.
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Samples once a second until the task is aborted.
pub fn spawn(clock: Clock) -> (Watch, tokio::task::JoinHandle<()>) {
    let watch = Watch::default();
    let samples = watch.samples.clone();
    let task = tokio::spawn(async move {
        let mut lags: Vec<f64> = Vec::with_capacity(128);
        let mut second = Instant::now();
        let mut cpu = cpu_seconds();
        loop {
            tokio::time::sleep(TICK).await;
            let asked = Instant::now();
            tokio::task::yield_now().await;
            lags.push(asked.elapsed().as_secs_f64() * 1e3);
            let elapsed = second.elapsed();
            if elapsed < Duration::from_secs(1) {
                continue;
            }
            let now_cpu = cpu_seconds();
            let used = match (cpu, now_cpu) {
                (Some(a), Some(b)) => Some((b - a) / elapsed.as_secs_f64()),
                _ => None,
            };
            lags.sort_by(f64::total_cmp);
            let p99 = lags[((lags.len() - 1) as f64 * 0.99) as usize];
            let sample = ClientSample {
                t_s: clock.now() as f64 / 1e9,
                cpu_cores: used,
                lag_p99_ms: p99,
                lag_max_ms: lags.last().copied().unwrap_or(0.0),
                machine: None,
            };
            if let Ok(mut s) = samples.lock() {
                s.push(sample);
            }
            lags.clear();
            second = Instant::now();
            cpu = now_cpu;
        }
    });
    (watch, task)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_cpu_time_reads() {
        let a = super::cpu_seconds().expect("/proc/self/stat");
        // Burn a little CPU: the counter never goes back.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(super::cpu_seconds().expect("again") >= a);
    }
}
