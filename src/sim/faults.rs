//! Fault injection: shares of requests answered with an error status, cut mid-stream, stalled
//! mid-stream, or sent a malformed SSE line. Each request's fate is a deterministic function of
//! its arrival number, so a test sees the same faults every run.

use crate::rng::{key, Rng};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Answer at once with this HTTP status.
    Status(u16),
    /// Answer at once `429 Too Many Requests` with `Retry-After` of this many seconds (a
    /// rate-limiting gateway).
    Throttle(u32),
    /// Abort the connection halfway through the stream.
    Cut,
    /// Stop sending halfway through and hold the connection open.
    Stall,
    /// Send a `data:` line that is not valid JSON halfway through.
    Malformed,
}

/// Shares (0–1) of requests given each fault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Share of requests answered 429 (half of them) or 500 (the other half).
    pub error_rate: f64,
    /// Share of requests answered 429 with `Retry-After: retry_after_s`.
    pub throttle_rate: f64,
    pub retry_after_s: u32,
    /// Share of streams cut (connection aborted) halfway.
    pub cut_rate: f64,
    /// Share of streams that stall halfway and never finish.
    pub stall_rate: f64,
    /// Share of streams that get a malformed SSE data line halfway.
    pub malformed_rate: f64,
}

impl Faults {
    pub fn pick(&self, n: u64) -> Fault {
        let mut rng = Rng::new(key(&[n, 0xFA17]));
        let u = rng.f64();
        let mut edge = self.error_rate;
        if u < edge {
            return Fault::Status(if rng.below(2) == 0 { 429 } else { 500 });
        }
        edge += self.throttle_rate;
        if u < edge {
            return Fault::Throttle(self.retry_after_s);
        }
        edge += self.cut_rate;
        if u < edge {
            return Fault::Cut;
        }
        edge += self.stall_rate;
        if u < edge {
            return Fault::Stall;
        }
        edge += self.malformed_rate;
        if u < edge {
            return Fault::Malformed;
        }
        Fault::None
    }
}
