//! One completion request, whatever its API: its body read into an [`Ask`] by the API, the
//! output length (exact or natural), the fault it draws, the prompt's prefix blocks, the job
//! handed to the batcher, and the answer streamed or whole.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::api::{Ask, Read};
use super::reply::{token_text, Reply};
use super::respond::{error, Body};
use super::state::State;
use super::stream::{streaming, StreamEnd};
use super::timing::Origin;
use super::whole::whole;
use crate::rng::{key, mix, Rng};
use crate::sim::batcher::Job;
use crate::sim::behaviour::Conn;
use crate::sim::faults::Fault;

/// Hashes of each full block of words, chained so a block's hash depends on all before it.
fn block_hashes<'a>(words: impl Iterator<Item = &'a str>, block: u32) -> Vec<u64> {
    let mut out = Vec::new();
    let mut h = 0u64;
    for (i, w) in words.enumerate() {
        for b in w.bytes() {
            h = mix(h ^ b as u64);
        }
        h = mix(h ^ 0x20);
        if (i + 1) % block.max(1) as usize == 0 {
            out.push(h);
        }
    }
    out
}

/// Completion request `body`, read by `read`: the answer, and whether it streams.
pub(super) async fn complete(
    read: Read,
    body: Value,
    state: &State,
    origin: Origin,
    conn: &Arc<Conn>,
) -> (Response<Body>, bool) {
    if state.behaviour.no_vision && super::read::has_image(&body) {
        // llama.cpp's words for a model without a vision projector.
        let message = "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj";
        return (error(StatusCode::INTERNAL_SERVER_ERROR, message), false);
    }
    if let Some(id) = super::read::orphan_result(&body) {
        let message = format!("a tool result answers no call made before it (call id {id:?})");
        return (error(StatusCode::BAD_REQUEST, &message), false);
    }
    let n = state.counter.fetch_add(1, Ordering::SeqCst);
    state.newest.send_modify(|v| *v = (*v).max(n));
    let Ask {
        words,
        chat,
        max_tokens,
        exact,
        stream,
        mut writer,
        tool,
    } = match read(&body, n) {
        Ok(ask) => ask,
        Err(message) => return (error(StatusCode::BAD_REQUEST, &message), false),
    };
    let (output_tokens, stopped) = if exact {
        (max_tokens, false)
    } else {
        let natural =
            1 + Rng::new(key(&[n, 17])).below(2 * state.profile.natural_output_mean as u64) as u32;
        (natural.min(max_tokens), natural < max_tokens)
    };
    let fault = state.faults.pick(n);
    if let Fault::Status(code) = fault {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (error(status, "injected fault"), false);
    }
    if let Fault::Throttle(secs) = fault {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "rate limited (injected)");
        if let Ok(v) = hyper::header::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(hyper::header::RETRY_AFTER, v);
        }
        return (r, false);
    }
    let b = &state.behaviour;
    if let Some(name) = tool {
        // The same requests answer with a call every run (a draw from the request's number).
        if Rng::new(key(&[n, 23])).f64() < b.tool_call_share {
            writer.call(&name);
        }
    }
    let template = if chat { b.chat_template_tokens } else { 0 };
    let prompt_tokens = words.len() as u32 + template;
    let (tx, rx) = mpsc::unbounded_channel();
    // The prompt's blocks, and those of the prompt followed by the answer's words (what a
    // conversation sends back as the next turn's history).
    let block = state.profile.block_tokens.max(1);
    let reasoning = if chat {
        b.reasoning_tokens.min(output_tokens)
    } else {
        0
    };
    let answer = (reasoning + 1..=output_tokens).map(|i| token_text(i).trim_start());
    let answer_blocks = block_hashes(words.iter().map(String::as_str).chain(answer), block);
    let prompt_blocks =
        answer_blocks[..(words.len() / block as usize).min(answer_blocks.len())].to_vec();
    let job = Job {
        prompt_tokens,
        blocks: prompt_blocks,
        answer_blocks,
        output_tokens,
        stopped,
        cost: state
            .profile
            .cost_of(body.get("model").and_then(Value::as_str)),
        events: tx,
    };
    if state.jobs.send(job).is_err() {
        let message = "the simulator is shutting down";
        return (error(StatusCode::SERVICE_UNAVAILABLE, message), false);
    }
    // A model it serves beside the default answers in its own name, as vLLM names a LoRA
    // adapter's answers.
    let asked = body.get("model").and_then(Value::as_str);
    let served = state.profile.model_costs.iter().map(|(m, _)| m.as_str());
    let model = match asked {
        Some(m) if served.clone().any(|s| s == m) => m.to_string(),
        _ => state.model.clone(),
    };
    let reply = Reply {
        model,
        prompt_tokens,
        output_tokens,
        reasoning,
        per_chunk: b.tokens_per_chunk.max(1),
        cached: 0,
        origin,
        timings: state.timings.clone(),
    };
    if stream {
        let end = StreamEnd {
            conn: conn.clone(),
            close: b.close_after_response,
        };
        let interrupt = b
            .interrupt_on_new_request
            .then(|| (state.newest.subscribe(), n));
        (streaming(reply, writer, rx, fault, end, interrupt), true)
    } else {
        (whole(reply, writer, rx).await, false)
    }
}
