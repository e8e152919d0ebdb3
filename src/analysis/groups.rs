//! Metric groups — each step of each measured phase — and their metrics, following the
//! definitions in docs/metrics.md.

use std::collections::{BTreeMap, HashMap};

use crate::metric::{CmpOp, Metric};
use crate::rundir::manifest::{self, Loop, Manifest};
use serde::Serialize;

use super::latency::request_latencies;
use super::load::{ErrorKind, Run, Status};
use super::Options;
use crate::stats::Stats;

const NS_PER_MS: f64 = 1e6;

/// Reads one metric of a group (for tables, comparisons and charts).
pub type Read = fn(&Group) -> Option<f64>;

/// The load a group ran at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Load {
    Concurrency(f64),
    Rate(f64),
}

impl Load {
    pub fn value(self) -> f64 {
        match self {
            Load::Concurrency(v) | Load::Rate(v) => v,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub ok: usize,
    pub error: usize,
    pub timeout: usize,
    pub dropped: usize,
    pub cancelled: usize,
    /// The requests that did not end `ok`, by what went wrong (the `error_kind` names;
    /// `unclassified` for an `error` row of a run written before the column).
    pub by_kind: BTreeMap<&'static str, usize>,
}

pub use super::window::Window;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub phase: String,
    pub step: u32,
    pub load: Load,
    pub requests: Counts,
    pub ttft_ms: Stats,
    pub ttft_sched_ms: Stats,
    pub itl_ms: Stats,
    pub itl_llmperf_ms: Stats,
    pub chunk_gap_ms: Stats,
    pub e2e_ms: Stats,
    pub tps_user: Stats,
    pub send_lag_ms: Stats,
    /// Output tokens per second over the group's span (null with no completed request).
    pub tps: Option<f64>,
    /// Its 95 % confidence interval, by batch means over 10 windows of the span (null with
    /// fewer than 20 completed requests).
    pub tps_ci95: Option<[f64; 2]>,
    /// The span tps and rps are computed over: last response − first request, in seconds.
    pub span_s: Option<f64>,
    pub rps: Option<f64>,
    pub error_rate: Option<f64>,
    pub timeout_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    /// Requests per second that met every per-request objective of the workload's `slo`.
    pub goodput: Option<f64>,
    /// The group's window in the run, and the part that was measured after warm-up/cool-down.
    pub window: Window,
    pub measured: Window,
    pub excluded: Excluded,
    /// From the moment the in-flight level first reaches 90 % of its median to the last (null
    /// with too few requests, or with `no_steady_state`).
    pub steady_state: Option<Window>,
    /// Why the group never settled, when its throughput still drifts: the trend of its ten
    /// batch-window rates is significant and over 10 % (`docs/metrics.md`).
    pub no_steady_state: Option<String>,
    /// How busy the client was during the group (its self-watch), and whether that may have
    /// distorted the latencies; null for runs from before the self-watch.
    pub client: Option<super::client::ClientLoad>,
    pub diagnostics: super::series::Diagnostics,
    /// Time to the first answer token (reasoning models think first), over requests that got one.
    pub ttfo_ms: Stats,
    /// Output tokens of completed requests, split into reasoning and answer.
    pub tokens: Tokens,
    /// Prompt tokens of completed requests and the share the server served from its prefix cache.
    pub prompt: Prompt,
    /// How requests reached the server (docs/servers.md), and what opening connections took.
    pub connections: Connections,
    /// Time closed-loop users spent backing off after failures.
    pub backoff: Backoff,
    /// The server's own metrics over the group's window, when they were scraped.
    pub server: Option<super::server::ServerSide>,
    /// Conversations: started, completed, turns, duration, and latency and cache by turn
    /// (null for a group without sessions).
    pub sessions: Option<super::sessions::Sessions>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tokens {
    pub output: i64,
    pub reasoning: i64,
    pub answer: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prompt {
    /// Sums over completed requests that reported both `prompt_tokens` and `cached_tokens`.
    pub prompt_tokens: i64,
    pub cached_tokens: i64,
    /// `cached_tokens / prompt_tokens` (null when the server reported no cached counts).
    pub cache_hit_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connections {
    /// Requests sent on a pooled connection, and those sent again on a fresh one because the
    /// server had closed the pooled one unread.
    pub reused: usize,
    pub resent: usize,
    /// Requests that opened a connection of their own, and their share of the group's sent
    /// requests (null when none was sent, or for runs from before connection set-up was timed).
    pub opened: usize,
    pub opened_share: Option<f64>,
    /// Connection set-up of those requests (ms): the name look-up and TCP connect plus the TLS
    /// handshake; and the handshake alone (https only). Not part of TTFT or e2e latency.
    pub setup_ms: Stats,
    pub tls_ms: Stats,
}

impl Default for Connections {
    fn default() -> Connections {
        Connections {
            reused: 0,
            resent: 0,
            opened: 0,
            opened_share: None,
            setup_ms: Stats::empty(),
            tls_ms: Stats::empty(),
        }
    }
}

/// Pauses closed-loop users took after failed requests (`on_error { backoff }`, `Retry-After`):
/// while a user pauses it sends nothing, so the load was lower than the workload wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Backoff {
    /// Failed requests after which a user paused.
    pub pauses: usize,
    /// The pauses added up over users (user-seconds), and the longest (s).
    pub total_s: f64,
    pub max_s: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Excluded {
    pub warmup: usize,
    pub cooldown: usize,
}

/// One step of one measured phase, as `run.json` describes it.
pub(crate) struct GroupDef {
    pub phase: String,
    pub step: u32,
    pub load: Load,
    pub window_ns: (i64, Option<i64>),
    /// A search's probe: its own warm-up (the analysis' `--warmup` applies when longer).
    pub warmup_ns: i64,
}

/// The groups of a run, in phase and step order, from `run.json`.
pub(crate) fn definitions(meta: &Manifest) -> Vec<GroupDef> {
    let mut out = Vec::new();
    for phase in meta.phases.iter().filter(|p| p.measure) {
        // A phase that never began has no window: its steps hold no requests.
        let start = phase.start_ns.unwrap_or(0) as i64;
        let end = phase.end_ns.map(|e| e as i64);
        for step in &phase.steps {
            out.push(GroupDef {
                phase: phase.name.clone(),
                step: step.step,
                load: match phase.kind {
                    Loop::Closed => Load::Concurrency(step.level),
                    Loop::Open => Load::Rate(step.level),
                },
                window_ns: (
                    start + step.start_ns as i64,
                    step.end_ns.map(|e| start + e as i64).or(end),
                ),
                warmup_ns: step.warmup_ns.unwrap_or(0) as i64,
            });
        }
    }
    out
}

/// Which group each request row belongs to, and whether warm-up/cool-down excluded it.
pub(crate) struct Membership {
    /// Group index of each request row that counts (`None`: unmeasured phase or excluded).
    pub of_row: Vec<Option<usize>>,
    pub excluded: Vec<Excluded>,
    pub measured: Vec<Window>,
    pub windows: Vec<Window>,
}

pub(crate) fn membership(run: &Run, defs: &[GroupDef], opts: &Options) -> Membership {
    let r = &run.requests;
    let index: HashMap<(&str, u32), usize> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.phase.as_str(), d.step), i))
        .collect();
    // A group's window: from run.json, its end defaulting to the last response of the group.
    let mut last_done = vec![i64::MIN; defs.len()];
    let mut first_sent = vec![i64::MAX; defs.len()];
    let group_of: Vec<Option<usize>> = (0..r.len())
        .map(|i| index.get(&(r.phase[i].as_str(), r.step[i] as u32)).copied())
        .collect();
    for (i, g) in group_of.iter().enumerate() {
        if let Some(g) = *g {
            last_done[g] = last_done[g].max(r.done_ns[i]);
            first_sent[g] = first_sent[g].min(r.sent_ns[i]);
        }
    }
    let windows: Vec<(i64, i64)> = defs
        .iter()
        .enumerate()
        .map(|(g, d)| {
            let start = d.window_ns.0.min(first_sent[g]);
            let end = d
                .window_ns
                .1
                .unwrap_or(last_done[g])
                .max(last_done[g])
                .max(start);
            (start, end)
        })
        .collect();
    let mut excluded = vec![Excluded::default(); defs.len()];
    let of_row = group_of
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let g = (*g)?;
            let (start, end) = windows[g];
            if r.sent_ns[i] < start + opts.warmup_ns.max(defs[g].warmup_ns) {
                excluded[g].warmup += 1;
                return None;
            }
            if opts.cooldown_ns > 0 && r.done_ns[i] > end - opts.cooldown_ns {
                excluded[g].cooldown += 1;
                return None;
            }
            Some(g)
        })
        .collect();
    let s = |ns: i64| ns as f64 / 1e9;
    Membership {
        of_row,
        excluded,
        measured: windows
            .iter()
            .zip(defs)
            .map(|((a, b), d)| Window {
                start_s: s(a + opts.warmup_ns.max(d.warmup_ns)),
                end_s: s(b - opts.cooldown_ns),
            })
            .collect(),
        windows: windows
            .iter()
            .map(|(a, b)| Window {
                start_s: s(*a),
                end_s: s(*b),
            })
            .collect(),
    }
}

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
}

/// A throughput trend below this share of the mean counts as steady.
const DRIFT: f64 = 0.10;

/// Whether the server's output throughput (every token received, whichever group sent it) still
/// drifts in the second half of the group's window: a step's ramp-up belongs to its first half;
/// "no steady state" is a trend to the end (`stats::trend` over the time series' buckets).
fn drift(scan: &super::chunks::Scan, window: Window) -> Option<String> {
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

/// What an `error` row of a run written before the `error_kind` column is counted under.
pub const UNCLASSIFIED: &str = "unclassified";

/// Every kind a failed request is counted under, in the order docs/runs.md lists them.
pub fn failure_kinds() -> impl Iterator<Item = &'static str> {
    ErrorKind::ALL
        .into_iter()
        .map(ErrorKind::as_str)
        .chain([UNCLASSIFIED])
}

/// The kind a failed row is counted under: its `error_kind`, or for a run written before that
/// column, the one its status implies.
fn failure_kind(status: Status, kind: Option<ErrorKind>) -> Option<&'static str> {
    match (status, kind) {
        (Status::Ok, _) => None,
        (_, Some(k)) => Some(k.as_str()),
        (Status::Timeout, None) => Some(ErrorKind::Timeout.as_str()),
        (Status::Dropped, None) => Some(ErrorKind::Dropped.as_str()),
        (Status::Cancelled, None) => Some(ErrorKind::Cancelled.as_str()),
        (Status::Error, None) => Some(UNCLASSIFIED),
    }
}

pub(crate) fn compute(
    run: &Run,
    defs: &[GroupDef],
    m: &Membership,
    objectives: &[PerRequest],
    scan: Option<&super::chunks::Scan>,
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
    let server = super::server::per_window(&run.server, &m.windows);
    let positions = scan.map(|s| s.positions.as_slice());
    let diagnostics = super::series::diagnostics(run, &m.of_row, defs.len(), positions);
    let sessions = super::sessions::per_group(run, &m.of_row, defs.len());
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
                        .then(|| super::series::steady_window(run, &m.of_row, g))
                        .flatten(),
                    no_steady_state: drift,
                    client: super::client::during(run.meta.client.as_ref(), m.windows[g]),
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
                }
            },
        )
        .collect()
}
