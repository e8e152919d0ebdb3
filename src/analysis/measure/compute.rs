//! Each group's figures from its rows, following the definitions in docs/metrics.md: one pass
//! over the request rows into per-group samples, then the statistics, rates and goodput, with
//! what the other measures give each group (chunk gaps, diagnostics, the server's and client's
//! view, sessions). Which rows a group holds is decided before (`windows.rs`).

use crate::analysis::load::{Run, Status};
use crate::analysis::window::Window;
use crate::metric::{CmpOp, Metric};
use crate::rundir::manifest;
use crate::stats::Stats;

use super::groups::{
    failure_kind, Backoff, Connections, Counts, Embeddings, Group, Prompt, Tokens,
};
use super::latency::{request_latencies, NS_PER_MS};
use super::scan::Scan;
use super::windows::{GroupDef, Membership};
use super::{client, series, server, sessions};

/// Per-request thresholds a request must meet to count toward goodput: the workload's objectives
/// on per-request metrics (`tpot` measured as `itl`).
pub(crate) fn per_request_objectives(slo: &[manifest::Objective]) -> Vec<PerRequest> {
    slo.iter()
        .filter(|o| o.metric.per_request())
        .map(|o| PerRequest {
            metric: o.metric.canonical(),
            op: o.op,
            threshold: o.threshold,
        })
        .collect()
}

/// One per-request threshold, in seconds or tokens/s.
pub(crate) struct PerRequest {
    pub metric: Metric,
    pub op: CmpOp,
    pub threshold: f64,
}

/// Samples of one group, filled row by row.
#[derive(Default)]
struct Samples {
    counts: Counts,
    ttft: Vec<f64>,
    ttft_sched: Vec<f64>,
    itl: Vec<f64>,
    itl_llmperf: Vec<f64>,
    e2e: Vec<f64>,
    tps_user: Vec<f64>,
    send_lag: Vec<f64>,
    ttfo: Vec<f64>,
    tokens: i64,
    /// Completed requests' (done, output tokens), for the throughput's interval.
    finished: Vec<(f64, f64)>,
    split: Tokens,
    prompt: Prompt,
    connections: Connections,
    setup: Vec<f64>,
    tls: Vec<f64>,
    /// Requests that reached a connection, for the share that opened one.
    attempted: usize,
    backoff: Backoff,
    good: usize,
    span: Option<(i64, i64)>,
    /// Completed embeddings requests: latencies, inputs, input tokens.
    embed_latency: Vec<f64>,
    embed_inputs: i64,
    embed_tokens: i64,
}

/// A throughput trend below this share of the mean counts as steady.
const DRIFT: f64 = 0.10;

/// Whether the server's output throughput (every token received, whichever group sent it) still
/// drifts in the second half of the group's window: a step's ramp-up belongs to its first half;
/// "no steady state" is a trend to the end (`stats::trend` over the time series' buckets).
fn drift(scan: &Scan, window: Window) -> Option<String> {
    let frame = scan.frame?;
    let width = frame.width_ns as f64 / 1e9;
    let mid = (window.start_s + window.end_s) / 2.0;
    let points: Vec<(f64, f64)> = scan
        .tokens
        .iter()
        .enumerate()
        .map(|(k, tk)| ((k as f64 + 0.5) * width, tk / width))
        .filter(|(t, _)| *t >= mid && *t <= window.end_s)
        .collect();
    let (change, t) = crate::stats::trend(&points, DRIFT)?;
    Some(format!(
        "throughput {} {:.0} % over the second half of the group (trend t = {t:.1}): hold the step longer, or exclude a cool-down",
        if change > 0.0 { "rose" } else { "fell" },
        change.abs() * 100.0
    ))
}

pub(crate) fn compute(
    run: &Run,
    defs: &[GroupDef],
    m: &Membership,
    objectives: &[PerRequest],
    scan: Option<&Scan>,
) -> Vec<Group> {
    let r = &run.requests;
    // A whole (non-streamed) response arrives at once: it has a TTFT, no inter-token latency.
    let streamed = run.meta.streamed();
    let timed_setup = r.timed_setup;
    let mut samples: Vec<Samples> = defs.iter().map(|_| Samples::default()).collect();
    for i in 0..r.len() {
        let Some(g) = m.of_row[i] else { continue };
        let s = &mut samples[g];
        s.counts.total += 1;
        match r.status[i] {
            Status::Ok => s.counts.ok += 1,
            Status::Error => s.counts.error += 1,
            Status::Timeout => s.counts.timeout += 1,
            Status::Dropped => s.counts.dropped += 1,
            Status::Cancelled => s.counts.cancelled += 1,
        }
        if let Some(kind) = failure_kind(r.status[i], r.error_kind[i]) {
            *s.counts.by_kind.entry(kind).or_default() += 1;
        }
        // The first byte goes out after the connection's set-up: the dispatcher's lag is what
        // came before that.
        let setup = r.connect_ns[i].unwrap_or(0) + r.tls_ns[i].unwrap_or(0);
        if let Some(sched) = r.scheduled_ns[i] {
            if r.status[i] != Status::Dropped {
                s.send_lag
                    .push((r.sent_ns[i] - setup - sched).max(0) as f64 / NS_PER_MS);
            }
        }
        if let Some(b) = r.backoff_ns[i] {
            s.backoff.pauses += 1;
            s.backoff.total_s += b as f64 / 1e9;
            s.backoff.max_s = s.backoff.max_s.max(b as f64 / 1e9);
        }
        if r.status[i] == Status::Dropped {
            continue;
        }
        s.connections.reused += usize::from(r.conn_reused[i] == Some(true));
        s.connections.resent += usize::from(r.resent[i]);
        s.attempted += usize::from(r.conn_reused[i].is_some());
        if r.connect_ns[i].is_some() {
            s.connections.opened += 1;
            s.setup.push(setup as f64 / NS_PER_MS);
            if let Some(t) = r.tls_ns[i] {
                s.tls.push(t as f64 / NS_PER_MS);
            }
        }
        s.span = Some(match s.span {
            None => (r.sent_ns[i], r.done_ns[i]),
            Some((a, b)) => (a.min(r.sent_ns[i]), b.max(r.done_ns[i])),
        });
        if r.status[i] != Status::Ok {
            continue;
        }
        let e2e = (r.done_ns[i] - r.sent_ns[i]) as f64;
        s.e2e.push(e2e / NS_PER_MS);
        if let Some(n) = r.inputs[i] {
            s.embed_latency.push(e2e / NS_PER_MS);
            s.embed_inputs += n.max(0) as i64;
            s.embed_tokens += r.prompt_tokens[i].unwrap_or(r.input_tokens[i]).max(0) as i64;
        }
        let out = r.output_tokens[i].unwrap_or(0).max(0) as i64;
        s.tokens += out;
        s.finished.push((r.done_ns[i] as f64 / 1e9, out as f64));
        let reasoning = r.reasoning_tokens[i].unwrap_or(0).clamp(0, out as i32) as i64;
        s.split.output += out;
        s.split.reasoning += reasoning;
        s.split.answer += out - reasoning;
        if let (Some(p), Some(c)) = (r.prompt_tokens[i], r.cached_tokens[i]) {
            s.prompt.prompt_tokens += p.max(0) as i64;
            s.prompt.cached_tokens += c.max(0) as i64;
        }
        if let Some(content) = r.first_content_ns[i] {
            s.ttfo.push((content - r.sent_ns[i]) as f64 / NS_PER_MS);
        }
        let mut request_ok = true;
        let mut check = |metric: Metric, value: f64| {
            for o in objectives.iter().filter(|o| o.metric == metric) {
                request_ok &= o.op.holds(value, o.threshold);
            }
        };
        check(Metric::E2e, e2e / 1e9);
        let (ttft, itl) = request_latencies(run, i, streamed);
        if let Some(ttft) = ttft {
            s.ttft.push(ttft);
            check(Metric::Ttft, ttft / 1e3);
        }
        if let (Some(first), Some(sched)) = (r.first_token_ns[i], r.scheduled_ns[i]) {
            s.ttft_sched.push((first - sched) as f64 / NS_PER_MS);
        }
        if let Some(itl) = itl {
            s.itl.push(itl);
            check(Metric::Itl, itl / 1e3);
        }
        if out >= 1 {
            s.itl_llmperf.push(e2e / out as f64 / NS_PER_MS);
            if e2e > 0.0 {
                let tps_user = out as f64 / (e2e / 1e9);
                s.tps_user.push(tps_user);
                check(Metric::TpsUser, tps_user);
            }
        }
        if request_ok {
            s.good += 1;
        }
    }
    // The chunk gaps come from the passes over the chunk table (none for the pooled group).
    let gaps = (0..defs.len()).map(|g| scan.map_or_else(Stats::empty, |s| s.gaps[g].clone()));
    let server = server::per_window(&run.server, &m.windows);
    let positions = scan.map(|s| s.positions.as_slice());
    let diagnostics = series::diagnostics(run, &m.of_row, defs.len(), positions);
    let sessions = sessions::per_group(run, &m.of_row, defs.len());
    defs.iter()
        .zip(samples)
        .zip(gaps)
        .zip(diagnostics)
        .zip(server)
        .zip(sessions)
        .enumerate()
        .map(
            |(g, (((((d, mut s), gaps), diagnostics), server), sessions))| {
                let span_s = s
                    .span
                    .map(|(a, b)| (b - a) as f64 / 1e9)
                    .filter(|x| *x > 0.0);
                let finished = s.counts.ok + s.counts.error + s.counts.timeout;
                let drift = scan.and_then(|sc| drift(sc, m.windows[g]));
                let share = |n: usize, of: usize| (of > 0).then(|| n as f64 / of as f64);
                Group {
                    phase: d.phase.clone(),
                    step: d.step,
                    load: d.load,
                    ttft_ms: Stats::of(&mut s.ttft),
                    ttft_sched_ms: Stats::of(&mut s.ttft_sched),
                    itl_ms: Stats::of(&mut s.itl),
                    itl_llmperf_ms: Stats::of(&mut s.itl_llmperf),
                    chunk_gap_ms: gaps,
                    e2e_ms: Stats::of(&mut s.e2e),
                    tps_user: Stats::of(&mut s.tps_user),
                    send_lag_ms: Stats::of(&mut s.send_lag),
                    tps: span_s
                        .filter(|_| s.counts.ok > 0)
                        .map(|t| s.tokens as f64 / t),
                    tps_ci95: s.span.and_then(|(a, b)| {
                        crate::stats::rate_ci95(&s.finished, a as f64 / 1e9, b as f64 / 1e9)
                    }),
                    span_s,
                    rps: span_s
                        .filter(|_| s.counts.ok > 0)
                        .map(|t| s.counts.ok as f64 / t),
                    error_rate: share(s.counts.error + s.counts.timeout, finished),
                    timeout_rate: share(s.counts.timeout, finished),
                    drop_rate: share(s.counts.dropped, s.counts.total),
                    goodput: (!objectives.is_empty())
                        .then_some(())
                        .and(span_s.map(|t| s.good as f64 / t)),
                    window: m.windows[g],
                    measured: m.measured[g],
                    excluded: m.excluded[g].clone(),
                    steady_state: drift
                        .is_none()
                        .then(|| series::steady_window(run, &m.of_row, g))
                        .flatten(),
                    no_steady_state: drift,
                    client: client::during(run.meta.client.as_ref(), m.windows[g]),
                    diagnostics,
                    requests: s.counts,
                    ttfo_ms: Stats::of(&mut s.ttfo),
                    tokens: s.split,
                    prompt: Prompt {
                        cache_hit_share: (s.prompt.prompt_tokens > 0)
                            .then(|| s.prompt.cached_tokens as f64 / s.prompt.prompt_tokens as f64),
                        ..s.prompt
                    },
                    connections: Connections {
                        opened_share: share(s.connections.opened, s.attempted)
                            .filter(|_| timed_setup),
                        setup_ms: Stats::of(&mut s.setup),
                        tls_ms: Stats::of(&mut s.tls),
                        ..s.connections
                    },
                    backoff: s.backoff,
                    server,
                    sessions,
                    embeddings: (!s.embed_latency.is_empty()).then(|| Embeddings {
                        requests: s.embed_latency.len(),
                        inputs: s.embed_inputs,
                        input_tokens: s.embed_tokens,
                        latency_ms: Stats::of(&mut s.embed_latency),
                        inputs_per_s: span_s.map(|t| s.embed_inputs as f64 / t),
                        input_tokens_per_s: span_s.map(|t| s.embed_tokens as f64 / t),
                    }),
                }
            },
        )
        .collect()
}
