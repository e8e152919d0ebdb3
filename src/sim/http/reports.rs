//! The answers that report on the server rather than complete: `GET /llmw/timings` (the
//! timings kept) and `GET /metrics` (Prometheus text under vLLM's metric names).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::respond::{error, full, Body};
use super::state::State;

pub(super) fn timings(state: &State) -> Response<Body> {
    let Some(t) = &state.timings else {
        return error(
            StatusCode::NOT_FOUND,
            "start the simulator with --record-timings",
        );
    };
    let rows: Vec<Value> = t
        .lock()
        .map(|v| v.iter().map(|x| json!({"request_id": x.plan_id, "request_uuid": x.request_id, "ttft_ns": x.ttft_ns, "decode_ns": x.decode_ns, "tokens": x.tokens, "received_unix_ns": x.received_unix_ns, "arrived_unix_ns": x.arrived_unix_ns, "first_token_unix_ns": x.first_token_unix_ns})).collect())
        .unwrap_or_default();
    full(StatusCode::OK, Value::Array(rows))
}

/// Prometheus text exposition under vLLM's metric names, so a run against the simulator
/// exercises the same scrape and analysis as one against vLLM.
pub(super) fn metrics(state: &State) -> Response<Body> {
    let g = &state.gauges;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let label = format!(
        "{{model_name=\"{}\"}}",
        state.model.replace(['"', '\\'], "_")
    );
    let kv = load(&g.kv_used) as f64 / state.profile.kv_capacity.max(1) as f64;
    let rows: [(&str, &str, String); 7] = [
        (
            "vllm:num_requests_running",
            "gauge",
            load(&g.running).to_string(),
        ),
        (
            "vllm:num_requests_waiting",
            "gauge",
            load(&g.waiting).to_string(),
        ),
        ("vllm:kv_cache_usage_perc", "gauge", kv.to_string()),
        (
            "vllm:prompt_tokens_total",
            "counter",
            load(&g.prompt_tokens).to_string(),
        ),
        (
            "vllm:prefix_cache_hits_total",
            "counter",
            load(&g.cached_tokens).to_string(),
        ),
        (
            "vllm:generation_tokens_total",
            "counter",
            load(&g.generated_tokens).to_string(),
        ),
        (
            "vllm:request_success_total",
            "counter",
            load(&g.finished).to_string(),
        ),
    ];
    let mut text = String::new();
    for (name, kind, value) in rows {
        text.push_str(&format!("# TYPE {name} {kind}\n{name}{label} {value}\n"));
    }
    let mut r = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}
