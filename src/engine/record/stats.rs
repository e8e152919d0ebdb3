//! Live counters for the progress line. Nothing here is a metric of the run: those come from the
//! analysis of the files, computed once. Memory stays bounded however long the run: counters,
//! and the TTFTs of the last few hundred requests for the live percentiles.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::rundir::record::{RequestRow, Status};
use crate::stats::Stats;

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
    recent_ttft_ms: Mutex<VecDeque<f64>>,
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
            if let Ok(mut recent) = self.recent_ttft_ms.lock() {
                if recent.len() >= RECENT {
                    recent.pop_front();
                }
                recent.push_back(t as f64 / 1e6);
            }
        }
        self.output_tokens
            .fetch_add(row.output_tokens.unwrap_or(0) as u64, Ordering::Relaxed);
    }

    /// p50 and p99 of recent TTFTs, in ms.
    pub fn recent_ttft_ms(&self) -> Option<(f64, f64)> {
        let mut v: Vec<f64> = self.recent_ttft_ms.lock().ok()?.iter().copied().collect();
        let s = Stats::of(&mut v);
        Some((s.p50?, s.p99?))
    }
}
