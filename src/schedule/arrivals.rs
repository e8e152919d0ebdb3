//! Open-loop send offsets: a unit-rate process (evenly spaced, Poisson or gamma gaps) in
//! operational time, mapped to real time through the rate's Λ⁻¹.

use super::rate::RateFn;
use crate::rng::Rng;
use crate::workload::Process;

/// Send offsets (`rate` already gated by [`RateFn::for_process`] for on/off) in nanoseconds from the phase's start, in order: every arrival before
/// `duration_ns` (when given), at most `max` of them.
pub fn offsets(
    process: Process,
    rate: &RateFn,
    duration_ns: Option<u64>,
    max: Option<u64>,
    limit: u64,
    rng: &mut Rng,
) -> Result<Vec<u64>, u64> {
    let end = duration_ns.map(|d| d as f64 / 1e9);
    let gap = |rng: &mut Rng| -> f64 {
        match process {
            Process::Constant => 1.0,
            Process::Poisson | Process::OnOff { .. } => rng.exp1(),
            Process::Gamma { cv } => {
                let shape = 1.0 / (cv * cv);
                rng.gamma(shape) / shape
            }
        }
    };
    let mut out = Vec::new();
    let mut s = match process {
        Process::Constant => 0.0,
        _ => gap(rng),
    };
    loop {
        if max.is_some_and(|m| out.len() as u64 >= m) {
            break;
        }
        let Some(t) = rate.inverse(s) else { break };
        if end.is_some_and(|e| t >= e) || !t.is_finite() {
            break;
        }
        if out.len() as u64 >= limit {
            return Err(limit);
        }
        out.push(libm::round(t * 1e9) as u64);
        s += gap(rng);
    }
    Ok(out)
}
