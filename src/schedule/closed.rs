//! Closed-loop concurrency timelines: how many virtual users run when.

use super::UsersAt;
use crate::workload::Level;

/// Resolution at which smooth user curves (exponential ramps, sines) are sampled.
const SAMPLE_NS: u64 = 1_000_000_000;

pub fn timeline(level: &Level, duration_ns: Option<u64>) -> Vec<UsersAt> {
    let at = |at_ns: u64, users: f64, step: u32| UsersAt {
        at_ns,
        users: users.round().max(1.0) as u32,
        step,
    };
    match level {
        Level::Fixed(n) => vec![at(0, *n, 0)],
        Level::Steps { values, hold_ns } => values
            .iter()
            .enumerate()
            .map(|(i, v)| at(i as u64 * hold_ns, *v, i as u32))
            .collect(),
        Level::Ramp {
            from,
            to,
            exponential: false,
        } => {
            // Every whole user count between the ends, each held for an equal share.
            let d = duration_ns.unwrap_or(0);
            let levels = (to - from).abs() as u64 + 1;
            let dir = if to >= from { 1.0 } else { -1.0 };
            (0..levels)
                .map(|i| {
                    at(
                        (d as u128 * i as u128 / levels as u128) as u64,
                        from + dir * i as f64,
                        0,
                    )
                })
                .collect()
        }
        _ => {
            let d = duration_ns.unwrap_or(0);
            let step = SAMPLE_NS.max(d / 1000);
            let rate = super::rate::RateFn::new(level, Some(d as f64 / 1e9));
            let mut out: Vec<UsersAt> = Vec::new();
            let mut t = 0;
            while t < d.max(1) {
                let point = at(t, rate.rate(t as f64 / 1e9), 0);
                if out.last().map(|l| l.users) != Some(point.users) {
                    out.push(point);
                }
                t += step;
            }
            out
        }
    }
}
