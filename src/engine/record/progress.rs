//! The live progress line on stderr (phase and step, elapsed/total, sent, in flight, ok/error,
//! running TTFT p50/p99, output tokens/s), redrawn four times a second when stderr is a terminal.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::record::stats::Live;
use crate::engine::wire::clock::Clock;
use crate::fmt::duration;

/// What the orchestrator is doing now, for the display.
#[derive(Default, Clone)]
pub struct Where {
    pub phase: String,
    pub step: u32,
    pub steps: usize,
}

pub fn spawn(
    live: Arc<Live>,
    at: Arc<Mutex<Where>>,
    clock: Clock,
    total_ns: Option<u64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_tokens = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut rate = 0.0;
        loop {
            tick.tick().await;
            let tokens = live.output_tokens.load(Ordering::Relaxed);
            rate = 0.8 * rate + 0.2 * (tokens - last_tokens) as f64 * 4.0;
            last_tokens = tokens;
            let w = at.lock().map(|w| w.clone()).unwrap_or_default();
            let step = if w.steps > 1 {
                format!(" step {}/{}", w.step + 1, w.steps)
            } else {
                String::new()
            };
            let elapsed = duration(clock.now() / 1_000_000_000 * 1_000_000_000);
            let total = total_ns
                .map(|t| format!("/{}", duration(t / 1_000_000_000 * 1_000_000_000)))
                .unwrap_or_default();
            let ttft = live
                .recent_ttft_ms()
                .map(|(p50, p99)| format!("TTFT p50 {p50:.0}ms p99 {p99:.0}ms"))
                .unwrap_or_else(|| "TTFT -".into());
            let line = format!(
                "{}{step} | {elapsed}{total} | sent {} | in flight {} | ok {} err {} drop {} | {ttft} | {:.0} tok/s",
                w.phase,
                live.sent.load(Ordering::Relaxed),
                live.in_flight.load(Ordering::Relaxed),
                live.ok.load(Ordering::Relaxed),
                live.failed.load(Ordering::Relaxed),
                live.dropped.load(Ordering::Relaxed),
                rate,
            );
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        }
    })
}

/// Clears the progress line.
pub fn clear() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}
