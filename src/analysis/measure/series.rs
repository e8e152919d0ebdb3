//! What the numbers alone do not show: chunk gaps, TTFT against prompt length, ITL against
//! output position, the steady-state window, and one-second time series of the run.

use serde::Serialize;

use super::scan::{Frame, Positions};
use crate::analysis::load::{Run, Status};
use crate::analysis::window::Window;
use crate::stats::Stats;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Least-squares fit of TTFT (ms) on prompt length (tokens) over the group's ok requests.
    pub ttft_vs_prompt: Option<Fit>,
    /// Mean gap between chunks by output position (powers of two), to see ITL rise with length.
    pub itl_by_position: Vec<PositionBucket>,
    /// Mean gap of the last position bucket over an early one (positions 4–7, else the first):
    /// above 1.2 hints at KV-cache or memory-bandwidth pressure. Positions 1–3 are not the
    /// reference because a new stream's first gaps often include other requests' prefill.
    pub itl_trend: Option<f64>,
    /// TTFT (ms) against the fraction of ok requests at or below it: at most ~300 points of the
    /// empirical CDF, its last point the maximum.
    pub ttft_cdf: Vec<[f64; 2]>,
    /// The same for each request's ITL (ms), over requests with at least 2 output tokens.
    pub itl_cdf: Vec<[f64; 2]>,
    /// (prompt tokens, TTFT ms) of the group's first 1500 ok requests by send time, for a
    /// scatter plot.
    pub ttft_by_prompt: Vec<[f64; 2]>,
}

/// At most ~300 points of the empirical CDF of `v`, and its maximum at 1.
fn cdf(mut v: Vec<f64>) -> Vec<[f64; 2]> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let step = (n / 300).max(1);
    let mut pts: Vec<[f64; 2]> = (0..n)
        .step_by(step)
        .map(|i| [v[i], (i + 1) as f64 / n as f64])
        .collect();
    if let Some(last) = v.last() {
        pts.push([*last, 1.0]);
    }
    pts
}

/// Points of the TTFT-against-prompt scatter kept per group.
const SCATTER: usize = 1500;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    pub slope_ms_per_token: f64,
    pub intercept_ms: f64,
    pub r2: f64,
    /// 1000 / slope: the prefill rate the slope implies (null when the slope is not positive).
    pub prefill_tokens_per_s: Option<f64>,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionBucket {
    pub from: u32,
    pub to: u32,
    pub mean_ms: f64,
    pub count: usize,
}

fn fit(xs: &[f64], ys: &[f64]) -> Option<Fit> {
    let n = xs.len() as f64;
    if xs.len() < 3 {
        return None;
    }
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let syy: f64 = ys.iter().map(|y| (y - my) * (y - my)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some(Fit {
        slope_ms_per_token: slope,
        intercept_ms: my - slope * mx,
        r2: if syy > 0.0 {
            sxy * sxy / (sxx * syy)
        } else {
            1.0
        },
        prefill_tokens_per_s: (slope > 0.0).then(|| 1000.0 / slope),
        count: xs.len(),
    })
}

/// The diagnostics of each group; `positions` are its chunk gaps by output position (from the
/// passes over the chunks; none for the pooled group).
pub(crate) fn diagnostics(
    run: &Run,
    of_row: &[Option<usize>],
    groups: usize,
    positions: Option<&[Positions]>,
) -> Vec<Diagnostics> {
    let r = &run.requests;
    let streamed = run.meta.streamed();
    let mut xs = vec![Vec::new(); groups];
    let mut ys = vec![Vec::new(); groups];
    let mut itl = vec![Vec::new(); groups];
    // The scatter's requests by send time (then id), whatever the order of the rows (a merged
    // run's come shard by shard).
    let mut order: Vec<Vec<(i64, i64, usize)>> = vec![Vec::new(); groups];
    for (i, group) in of_row.iter().enumerate() {
        if let (Some(g), Some(first), Status::Ok) = (*group, r.first_token_ns[i], r.status[i]) {
            order[g].push((r.sent_ns[i], r.request_id[i], xs[g].len()));
            xs[g].push(r.input_tokens[i] as f64);
            ys[g].push((first - r.sent_ns[i]) as f64 / 1e6);
            let out = r.output_tokens[i].unwrap_or(0);
            if let (Some(last), true) = (r.last_token_ns[i], out >= 2 && streamed) {
                itl[g].push((last - first) as f64 / 1e6 / (out - 1) as f64);
            }
        }
    }
    let none = [(0.0f64, 0usize); 24];
    (0..groups)
        .map(|g| {
            let buckets: Vec<PositionBucket> = positions
                .map_or(&none, |p| &p[g])
                .iter()
                .enumerate()
                .filter(|(_, (_, n))| *n > 0)
                .map(|(b, (sum, n))| PositionBucket {
                    from: 1 << b,
                    to: (1 << (b + 1)) - 1,
                    mean_ms: sum / *n as f64,
                    count: *n,
                })
                .collect();
            let early = buckets.iter().find(|b| b.from == 4).or(buckets.first());
            let trend = match (early, buckets.last()) {
                (Some(a), Some(z)) if z.from > a.from && a.mean_ms > 0.0 => {
                    Some(z.mean_ms / a.mean_ms)
                }
                _ => None,
            };
            Diagnostics {
                ttft_vs_prompt: fit(&xs[g], &ys[g]),
                itl_by_position: buckets,
                itl_trend: trend,
                ttft_by_prompt: {
                    order[g].sort_unstable();
                    order[g]
                        .iter()
                        .take(SCATTER)
                        .map(|(_, _, k)| [xs[g][*k], ys[g][*k]])
                        .collect()
                },
                // Last, so the group's TTFTs are sorted in place rather than copied.
                ttft_cdf: cdf(std::mem::take(&mut ys[g])),
                itl_cdf: cdf(std::mem::take(&mut itl[g])),
            }
        })
        .collect()
}

/// The steady-state window of group `g`: from the moment its in-flight count first reaches
/// 90 % of its median level to the moment it last is at that level (the ramp-up of a step and
/// its drain are outside it). `None` with fewer than 2 requests.
pub(crate) fn steady_window(run: &Run, of_row: &[Option<usize>], g: usize) -> Option<Window> {
    let r = &run.requests;
    let mut events: Vec<(i64, i32)> = Vec::new();
    for (i, group) in of_row.iter().enumerate() {
        if *group == Some(g) && r.status[i] != Status::Dropped {
            events.push((r.sent_ns[i], 1));
            events.push((r.done_ns[i], -1));
        }
    }
    if events.len() < 4 {
        return None;
    }
    events.sort_unstable();
    let mut level = 0i32;
    let levels: Vec<(i64, i32)> = events
        .iter()
        .map(|(t, d)| {
            level += d;
            (*t, level)
        })
        .collect();
    let mut sorted: Vec<i32> = levels.iter().map(|(_, l)| *l).collect();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2] as f64;
    let threshold = (0.9 * median).max(1.0);
    let start = levels.iter().find(|(_, l)| *l as f64 >= threshold)?.0;
    let end = levels.iter().rev().find(|(_, l)| *l as f64 >= threshold)?.0;
    (end > start).then(|| Window {
        start_s: start as f64 / 1e9,
        end_s: end as f64 / 1e9,
    })
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub t: f64,
    /// Mean number of requests in flight during the second.
    pub in_flight: f64,
    /// Output tokens received during the second.
    pub tps: f64,
    /// Median TTFT of the requests whose first token arrived during the second.
    pub ttft_p50_ms: Option<f64>,
    pub completed: usize,
    /// The client's self-watch: CPU in cores (mean over its seconds here) and the largest
    /// per-second p99 of its event loop's lateness, ms (null without a self-watch).
    pub client_cpu_cores: Option<f64>,
    pub client_lag_p99_ms: Option<f64>,
}

/// At most this many one-second buckets (a longer run is summarised in coarser ones).
const MAX_BUCKETS: i64 = 20_000;

/// The time series' buckets: one second each, or coarser for a run of more than
/// [`MAX_BUCKETS`] seconds; `None` for a run without requests.
pub(crate) fn frame(run: &Run) -> Option<Frame> {
    let end = run.requests.done_ns.iter().copied().max().unwrap_or(0);
    if run.requests.is_empty() || end <= 0 {
        return None;
    }
    let width_ns = (1_000_000_000i64).max((end / MAX_BUCKETS) + 1);
    Some(Frame {
        width_ns,
        buckets: (end / width_ns + 1) as usize,
    })
}

/// The time series over `frame`; `tokens` are the output tokens received in each bucket (the
/// passes over the chunks count them, a chunk after the last response in the last bucket).
pub(crate) fn timeseries(run: &Run, frame: Option<Frame>, tokens: &[f64]) -> Vec<Bucket> {
    let r = &run.requests;
    let Some(Frame {
        width_ns: width,
        buckets: n,
    }) = frame
    else {
        return Vec::new();
    };
    let mut busy = vec![0f64; n];
    let mut ttft: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut completed = vec![0usize; n];
    for i in 0..r.len() {
        if r.status[i] == Status::Dropped {
            continue;
        }
        let (a, b) = (r.sent_ns[i].max(0), r.done_ns[i].max(0));
        let mut t = a;
        while t < b {
            let k = (t / width) as usize;
            let edge = ((k as i64 + 1) * width).min(b);
            busy[k] += (edge - t) as f64;
            t = edge;
        }
        if r.status[i] == Status::Ok {
            completed[(b / width) as usize] += 1;
            if let Some(f) = r.first_token_ns[i] {
                let k = ((f.max(0) / width) as usize).min(n - 1);
                ttft[k].push((f - r.sent_ns[i]) as f64 / 1e6);
            }
        }
    }
    let secs = width as f64 / 1e9;
    let mut cpu = vec![(0.0f64, 0usize); n];
    let mut lag: Vec<Option<f64>> = vec![None; n];
    for c in run.meta.client.iter().flat_map(|w| &w.samples) {
        // A sample covers the second before its time.
        let k = ((c.t_s - 0.5).max(0.0) / secs) as usize;
        if k >= n {
            continue; // after the last response (the drain, the scrape's end)
        }
        if let Some(v) = c.cpu_cores {
            cpu[k].0 += v;
            cpu[k].1 += 1;
        }
        lag[k] = Some(lag[k].map_or(c.lag_p99_ms, |l| l.max(c.lag_p99_ms)));
    }
    (0..n)
        .map(|k| Bucket {
            client_cpu_cores: (cpu[k].1 > 0).then(|| cpu[k].0 / cpu[k].1 as f64),
            client_lag_p99_ms: lag[k],
            t: k as f64 * secs,
            in_flight: busy[k] / width as f64,
            tps: tokens.get(k).copied().unwrap_or(0.0) / secs,
            ttft_p50_ms: Stats::of(&mut ttft[k]).p50,
            completed: completed[k],
        })
        .collect()
}
