//! The server's own view of each metric group, from the Prometheus samples llmw scraped during
//! the run (`server_metrics.parquet`): how many requests it was running and queueing, how full
//! its KV cache was, its own TTFT and inter-token latency where it exposes histograms, and its
//! generation rate. Names of vLLM (`vllm:*`), SGLang (`sglang:*`), TGI (`tgi_*`) and llama.cpp
//! (`llamacpp:*`) are known; for a renamed metric, any name ending in a known name counts.

use serde::Serialize;

use crate::analysis::load::ServerMetrics;
use crate::analysis::window::Window;

/// Server-side figures over one group's window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerSide {
    /// Scrapes that fell inside the window.
    pub scrapes: usize,
    /// Mean requests running (in the batch).
    pub running: Option<f64>,
    /// Mean requests waiting (queued, deferred).
    pub waiting: Option<f64>,
    /// Mean and peak KV-cache usage, 0–1.
    pub kv_cache_usage: Option<f64>,
    pub kv_cache_usage_max: Option<f64>,
    /// The server's mean TTFT and inter-token latency over the window (from its histograms).
    pub ttft_mean_ms: Option<f64>,
    pub itl_mean_ms: Option<f64>,
    /// Generated tokens per second by the server's own counter.
    pub generation_tps: Option<f64>,
}

const RUNNING: [&str; 4] = [
    "vllm:num_requests_running",
    "sglang:num_running_reqs",
    "tgi_batch_current_size",
    "llamacpp:requests_processing",
];
const WAITING: [&str; 4] = [
    "vllm:num_requests_waiting",
    "sglang:num_queue_reqs",
    "tgi_queue_size",
    "llamacpp:requests_deferred",
];
const KV_USAGE: [&str; 4] = [
    "vllm:kv_cache_usage_perc",
    "vllm:gpu_cache_usage_perc",
    "sglang:token_usage",
    "llamacpp:kv_cache_usage_ratio",
];
const TTFT: [&str; 2] = [
    "vllm:time_to_first_token_seconds",
    "sglang:time_to_first_token_seconds",
];
const ITL: [&str; 5] = [
    "vllm:inter_token_latency_seconds",
    "vllm:time_per_output_token_seconds",
    "sglang:inter_token_latency_seconds",
    "sglang:time_per_output_token_seconds",
    "tgi_request_mean_time_per_token_duration",
];
const GENERATED: [&str; 4] = [
    "vllm:generation_tokens_total",
    "sglang:generation_tokens_total",
    "llamacpp:tokens_predicted_total",
    "tgi_request_generated_tokens_sum",
];

/// One metric, its label sets combined per scrape: (at_ns, value) in time order.
type Series = Vec<(i64, f64)>;

/// The metric `known` names (exactly, or as the end of a renamed one), combined per scrape by
/// `combine` over its label sets.
fn series(m: &ServerMetrics, known: &[&str], combine: fn(f64, f64) -> f64) -> Option<Series> {
    let bare = |k: &str| k.rsplit(':').next().unwrap_or(k).to_string();
    let name = known
        .iter()
        .find(|k| m.name.iter().any(|n| n == *k))
        .map(|k| k.to_string())
        .or_else(|| {
            known.iter().find_map(|k| {
                let tail = bare(k);
                m.name.iter().find(|n| n.ends_with(&tail)).cloned()
            })
        })?;
    let mut out: Series = Vec::new();
    for i in 0..m.name.len() {
        if m.name[i] != name || !m.value[i].is_finite() {
            continue;
        }
        match out.last_mut() {
            Some((at, v)) if *at == m.at_ns[i] => *v = combine(*v, m.value[i]),
            _ => out.push((m.at_ns[i], m.value[i])),
        }
    }
    (!out.is_empty()).then_some(out)
}

fn inside(s: &Series, w: (i64, i64)) -> impl Iterator<Item = f64> + '_ {
    s.iter()
        .filter(move |(at, _)| *at >= w.0 && *at <= w.1)
        .map(|(_, v)| *v)
}

fn mean(s: &Series, w: (i64, i64)) -> Option<f64> {
    let v: Vec<f64> = inside(s, w).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// A counter's growth over the window: the last value in it minus the last one before it (or
/// the first in it), with the time between the two.
fn growth(s: &Series, w: (i64, i64)) -> Option<(f64, f64)> {
    let end = s.iter().rev().find(|(at, _)| *at <= w.1)?;
    let start = s
        .iter()
        .rev()
        .find(|(at, _)| *at <= w.0)
        .or_else(|| s.iter().find(|(at, _)| *at >= w.0))?;
    let seconds = (end.0 - start.0) as f64 / 1e9;
    (end.0 > start.0 && end.0 >= w.0).then_some((end.1 - start.1, seconds))
}

/// The mean of a histogram over the window, from its `_sum` and `_count`.
fn histogram_mean(m: &ServerMetrics, known: &[&str], w: (i64, i64)) -> Option<f64> {
    let with =
        |suffix: &str| -> Vec<String> { known.iter().map(|k| format!("{k}{suffix}")).collect() };
    let sums = with("_sum");
    let counts = with("_count");
    let sum = series(
        m,
        &sums.iter().map(String::as_str).collect::<Vec<_>>(),
        |a, b| a + b,
    )?;
    let count = series(
        m,
        &counts.iter().map(String::as_str).collect::<Vec<_>>(),
        |a, b| a + b,
    )?;
    let (ds, _) = growth(&sum, w)?;
    let (dc, _) = growth(&count, w)?;
    (dc > 0.0).then(|| ds / dc)
}

/// The server side of each window (seconds from the run's start); `None` without samples.
pub fn per_window(m: &ServerMetrics, windows: &[Window]) -> Vec<Option<ServerSide>> {
    if m.at_ns.is_empty() {
        return windows.iter().map(|_| None).collect();
    }
    let add = |a: f64, b: f64| a + b;
    let running = series(m, &RUNNING, add);
    let waiting = series(m, &WAITING, add);
    let kv = series(m, &KV_USAGE, f64::max);
    let generated = series(m, &GENERATED, add);
    let mut scrapes: Vec<i64> = m.at_ns.clone();
    scrapes.dedup();
    windows
        .iter()
        .map(|win| {
            let w = ((win.start_s * 1e9) as i64, (win.end_s * 1e9) as i64);
            let n = scrapes
                .iter()
                .filter(|at| **at >= w.0 && **at <= w.1)
                .count();
            if n == 0 {
                return None;
            }
            let kv_max = kv.as_ref().and_then(|s| inside(s, w).reduce(f64::max));
            Some(ServerSide {
                scrapes: n,
                running: running.as_ref().and_then(|s| mean(s, w)),
                waiting: waiting.as_ref().and_then(|s| mean(s, w)),
                kv_cache_usage: kv.as_ref().and_then(|s| mean(s, w)),
                kv_cache_usage_max: kv_max,
                ttft_mean_ms: histogram_mean(m, &TTFT, w).map(|s| s * 1e3),
                itl_mean_ms: histogram_mean(m, &ITL, w).map(|s| s * 1e3),
                generation_tps: generated
                    .as_ref()
                    .and_then(|s| growth(s, w))
                    .filter(|(_, t)| *t > 0.0)
                    .map(|(d, t)| d / t),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(rows: &[(i64, &str, &str, f64)]) -> ServerMetrics {
        ServerMetrics {
            at_ns: rows.iter().map(|r| r.0).collect(),
            name: rows.iter().map(|r| r.1.to_string()).collect(),
            labels: rows.iter().map(|r| r.2.to_string()).collect(),
            value: rows.iter().map(|r| r.3).collect(),
        }
    }

    const S: i64 = 1_000_000_000;

    #[test]
    fn gauges_counters_and_histograms_over_a_window() {
        let m = metrics(&[
            (0, "vllm:num_requests_running", "a", 1.0),
            (0, "vllm:num_requests_running", "b", 1.0),
            (0, "vllm:time_to_first_token_seconds_sum", "", 0.0),
            (0, "vllm:time_to_first_token_seconds_count", "", 0.0),
            (0, "vllm:generation_tokens_total", "", 100.0),
            (S, "vllm:num_requests_running", "a", 4.0),
            (S, "vllm:num_requests_running", "b", 0.0),
            (S, "vllm:time_to_first_token_seconds_sum", "", 0.5),
            (S, "vllm:time_to_first_token_seconds_count", "", 5.0),
            (S, "vllm:generation_tokens_total", "", 300.0),
            (2 * S, "vllm:num_requests_running", "a", 6.0),
            (2 * S, "vllm:time_to_first_token_seconds_sum", "", 2.5),
            (2 * S, "vllm:time_to_first_token_seconds_count", "", 10.0),
            (2 * S, "vllm:generation_tokens_total", "", 700.0),
        ]);
        let w = Window {
            start_s: 0.5,
            end_s: 2.0,
        };
        let s = per_window(&m, &[w])[0].clone().expect("samples");
        assert_eq!(s.scrapes, 2);
        assert_eq!(s.running, Some(5.0), "mean of 4 and 6 (labels summed)");
        // From the scrape at 0 s (the last before the window) to the one at 2 s.
        assert_eq!(s.ttft_mean_ms, Some(250.0));
        assert_eq!(s.generation_tps, Some(300.0));
        assert_eq!(s.waiting, None);
        let none = per_window(
            &m,
            &[Window {
                start_s: 5.0,
                end_s: 6.0,
            }],
        );
        assert_eq!(none[0], None);
    }

    #[test]
    fn renamed_metrics_are_found_by_their_tail() {
        let m = metrics(&[
            (0, "myfork:num_requests_waiting", "", 3.0),
            (0, "llamacpp:requests_processing", "", 2.0),
        ]);
        let s = per_window(
            &m,
            &[Window {
                start_s: 0.0,
                end_s: 1.0,
            }],
        )[0]
        .clone()
        .expect("one");
        assert_eq!(s.waiting, Some(3.0));
        assert_eq!(s.running, Some(2.0));
    }
}
