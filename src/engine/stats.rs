//! Live counters for the progress display, and per-group accumulators for the end-of-run
//! summary. (The full analysis reads the Parquet files; this is only what the run prints.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::rundir::record::{RequestRow, Status};

/// How many recent TTFTs the live p50/p99 are computed over.
const RECENT: usize = 512;

#[derive(Default)]
pub struct Live {
    pub sent: AtomicU64,
    pub in_flight: AtomicU64,
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub output_tokens: AtomicU64,
    recent_ttft: Mutex<Vec<u64>>,
    groups: Mutex<BTreeMap<(u32, u32), Group>>,
}

/// Accumulated over one (phase, step).
#[derive(Debug, Default, Clone)]
pub struct Group {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub dropped: u64,
    pub ttft_ns: Vec<u64>,
    pub itl_ns: Vec<f64>,
    pub output_tokens: u64,
    pub first_sent: Option<u64>,
    pub last_done: Option<u64>,
}

impl Live {
    pub fn record(&self, row: &RequestRow) {
        match row.status {
            Status::Ok => self.ok.fetch_add(1, Ordering::Relaxed),
            Status::Dropped => self.dropped.fetch_add(1, Ordering::Relaxed),
            _ => self.failed.fetch_add(1, Ordering::Relaxed),
        };
        let ttft = row.first_token_ns.map(|f| f.saturating_sub(row.sent_ns));
        if let (Status::Ok, Some(t)) = (row.status, ttft) {
            if let Ok(mut recent) = self.recent_ttft.lock() {
                if recent.len() >= RECENT {
                    recent.remove(0);
                }
                recent.push(t);
            }
        }
        self.output_tokens
            .fetch_add(row.output_tokens.unwrap_or(0) as u64, Ordering::Relaxed);
        let Ok(mut groups) = self.groups.lock() else {
            return;
        };
        let g = groups.entry((row.phase, row.step)).or_default();
        g.requests += 1;
        match row.status {
            Status::Ok => g.ok += 1,
            Status::Error | Status::Timeout => g.errors += 1,
            Status::Dropped => g.dropped += 1,
            Status::Cancelled => {}
        }
        if row.status == Status::Dropped {
            return;
        }
        g.first_sent = Some(g.first_sent.map_or(row.sent_ns, |f| f.min(row.sent_ns)));
        g.last_done = Some(g.last_done.map_or(row.done_ns, |l| l.max(row.done_ns)));
        if row.status == Status::Ok {
            g.output_tokens += row.output_tokens.unwrap_or(0) as u64;
            if let Some(t) = ttft {
                g.ttft_ns.push(t);
            }
            if let (Some(f), Some(l), Some(n)) =
                (row.first_token_ns, row.last_token_ns, row.output_tokens)
            {
                if n >= 2 {
                    g.itl_ns.push((l - f) as f64 / (n - 1) as f64);
                }
            }
        }
    }

    /// p50 and p99 of recent TTFTs, in ms.
    pub fn recent_ttft_ms(&self) -> Option<(f64, f64)> {
        let mut v = self.recent_ttft.lock().ok()?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let pick = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1e6;
        Some((pick(0.5), pick(0.99)))
    }

    pub fn groups(&self) -> BTreeMap<(u32, u32), Group> {
        self.groups.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

/// Exact percentile with linear interpolation between closest ranks.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = (sorted.len() - 1) as f64 * q;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}
