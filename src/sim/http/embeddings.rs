//! The OpenAI embeddings API as the simulator speaks it (`POST /v1/embeddings`): `input` a
//! string or a list of strings, never streamed. Each input's tokens are its words; the answer
//! takes a cost per input token — the profile's prefill cost per token plus one step — outside
//! the completion batcher (an embedding model runs no decode), and holds one deterministic
//! 8-dimensional embedding per input and `usage.prompt_tokens`.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::api::Route;
use super::respond::{error, full, Body};
use super::state::State;

/// The embeddings API's route.
pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    match (method, path) {
        (&Method::POST, "/v1/embeddings") => Some(Route::Embed),
        _ => None,
    }
}

/// Each input's tokens, or a 400's message.
fn inputs(body: &Value) -> Result<Vec<u32>, String> {
    let count = |s: &str| s.split_whitespace().count() as u32;
    match body.get("input") {
        Some(Value::String(s)) => Ok(vec![count(s)]),
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(count)
                    .ok_or("every input must be a string".to_string())
            })
            .collect(),
        _ => Err("missing or invalid 'input'".into()),
    }
}

/// The answer to one embeddings request, after its cost.
pub(super) async fn answer(body: &Value, state: &State) -> hyper::Response<Body> {
    let tokens = match inputs(body) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let total: u32 = tokens.iter().sum();
    let p = &state.profile;
    let cost = p.cost_of(body.get("model").and_then(Value::as_str));
    let cost_us = p.step_base_us + p.per_prefill_token_us * total as f64 * cost;
    tokio::time::sleep(std::time::Duration::from_secs_f64(cost_us.max(0.0) / 1e6)).await;
    let data: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let v: Vec<f64> = (0..8)
                .map(|d| ((i as u32 + d + t) % 7) as f64 / 7.0)
                .collect();
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&state.model);
    full(
        StatusCode::OK,
        json!({"object": "list", "data": data, "model": model,
               "usage": {"prompt_tokens": total, "total_tokens": total}}),
    )
}
