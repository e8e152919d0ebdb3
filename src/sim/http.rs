//! The simulator's OpenAI-compatible HTTP surface: `/v1/models`, `/v1/chat/completions` and
//! `/v1/completions`, streaming (server-sent events, with `stream_options.include_usage`) or not.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::batcher::{Event, Job};
use super::faults::{Fault, Faults};
use super::profile::Profile;
use crate::schedule::rng::{key, mix, Rng};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// Requests larger than this are refused (413).
const MAX_BODY: usize = 64 << 20;

/// The server's own view of one streamed request, for measuring client overhead.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The client's `x-request-id` header.
    pub request_id: Option<String>,
    /// From the request's arrival to the first token handed to the connection.
    pub ttft_ns: u64,
    /// From the first token to the last one handed to the connection.
    pub decode_ns: u64,
    pub tokens: u32,
}

pub type Timings = Arc<std::sync::Mutex<Vec<Timing>>>;

pub struct State {
    /// Set with `--record-timings`: every streamed request's server-side timing.
    pub timings: Option<Timings>,
    pub model: String,
    pub profile: Profile,
    pub faults: Faults,
    pub jobs: mpsc::UnboundedSender<Job>,
    pub counter: AtomicU64,
}

fn full(status: StatusCode, body: Value) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    full(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "code": status.as_u16()}}),
    )
}

pub async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Body>, Infallible> {
    let received = std::time::Instant::now();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = req.uri().path().trim_end_matches('/').to_string();
    let chat = match (req.method(), path.as_str()) {
        (&Method::GET, "/v1/models") => {
            return Ok(full(
                StatusCode::OK,
                json!({"object": "list", "data": [{"id": state.model, "object": "model", "owned_by": "llmw-sim"}]}),
            ))
        }
        (&Method::GET, "/health") => return Ok(full(StatusCode::OK, json!({"status": "ok"}))),
        (&Method::GET, "/llmw/timings") => return Ok(timings(&state)),
        (&Method::POST, "/v1/chat/completions") => true,
        (&Method::POST, "/v1/completions") => false,
        _ => return Ok(error(StatusCode::NOT_FOUND, "no such route")),
    };
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "could not read the request body",
            ))
        }
    };
    if bytes.len() > MAX_BODY {
        return Ok(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &format!("invalid JSON: {e}"),
            ))
        }
    };
    let origin = Origin {
        received,
        request_id,
    };
    Ok(complete(chat, body, &state, origin).await)
}

/// When and from whom a request came.
struct Origin {
    received: std::time::Instant,
    request_id: Option<String>,
}

fn timings(state: &State) -> Response<Body> {
    let Some(t) = &state.timings else {
        return error(
            StatusCode::NOT_FOUND,
            "start the simulator with --record-timings",
        );
    };
    let rows: Vec<Value> = t
        .lock()
        .map(|v| v.iter().map(|x| json!({"request_id": x.request_id, "ttft_ns": x.ttft_ns, "decode_ns": x.decode_ns, "tokens": x.tokens})).collect())
        .unwrap_or_default();
    full(StatusCode::OK, Value::Array(rows))
}

/// The words of the prompt: every message's content for chat, the prompt for completions.
fn prompt_words(chat: bool, body: &Value) -> Option<Vec<String>> {
    let text = if chat {
        let messages = body.get("messages")?.as_array()?;
        let mut all = String::new();
        for m in messages {
            match m.get("content") {
                Some(Value::String(s)) => all.push_str(s),
                Some(Value::Array(parts)) => {
                    for p in parts {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            all.push_str(t);
                            all.push(' ');
                        }
                    }
                }
                _ => {}
            }
            all.push(' ');
        }
        all
    } else {
        body.get("prompt")?.as_str()?.to_string()
    };
    Some(text.split_whitespace().map(str::to_string).collect())
}

/// Hashes of each full block of words, chained so a block's hash depends on all before it.
fn block_hashes(words: &[String], block: u32) -> Vec<u64> {
    let mut out = Vec::new();
    let mut h = 0u64;
    for (i, w) in words.iter().enumerate() {
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

async fn complete(chat: bool, body: Value, state: &State, origin: Origin) -> Response<Body> {
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let Some(words) = prompt_words(chat, &body) else {
        let what = if chat { "messages" } else { "prompt" };
        return error(
            StatusCode::BAD_REQUEST,
            &format!("missing or invalid '{what}'"),
        );
    };
    let max_tokens = body
        .get("max_tokens")
        .or_else(|| body.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(256)
        .clamp(1, 1 << 20) as u32;
    let exact = body
        .get("ignore_eos")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || body
            .get("min_tokens")
            .and_then(Value::as_u64)
            .is_some_and(|m| m >= max_tokens as u64);
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
        return error(status, "injected fault");
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let job = Job {
        prompt_tokens: words.len() as u32,
        blocks: block_hashes(&words, state.profile.block_tokens),
        output_tokens,
        stopped,
        events: tx,
    };
    if state.jobs.send(job).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulator is shutting down",
        );
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let reply = Reply {
        chat,
        id: format!("cmpl-{n}"),
        model: state.model.clone(),
        prompt_tokens: words.len() as u32,
        output_tokens,
        origin,
        timings: state.timings.clone(),
    };
    if stream {
        streaming(reply, rx, usage, fault)
    } else {
        whole(reply, rx).await
    }
}

struct Reply {
    origin: Origin,
    timings: Option<Timings>,
    chat: bool,
    id: String,
    model: String,
    prompt_tokens: u32,
    output_tokens: u32,
}

/// The text of token `i`: a word, so that every chunk carries visible text.
fn token_text(i: u32) -> &'static str {
    const T: [&str; 8] = [
        " the", " model", " says", " hello", " and", " then", " more", " words",
    ];
    T[i as usize % T.len()]
}

impl Reply {
    fn chunk(&self, text: Option<&str>, finish: Option<&str>, role: bool) -> String {
        let choice = if self.chat {
            let mut delta = json!({});
            if role {
                delta = json!({"role": "assistant", "content": ""});
            } else if let Some(t) = text {
                delta = json!({"content": t});
            }
            json!({"index": 0, "delta": delta, "finish_reason": finish})
        } else {
            json!({"index": 0, "text": text.unwrap_or(""), "finish_reason": finish})
        };
        let object = if self.chat {
            "chat.completion.chunk"
        } else {
            "text_completion"
        };
        format!(
            "data: {}\n\n",
            json!({"id": self.id, "object": object, "created": 0, "model": self.model, "choices": [choice]})
        )
    }

    fn usage(&self, completion: u32) -> Value {
        json!({"prompt_tokens": self.prompt_tokens, "completion_tokens": completion, "total_tokens": self.prompt_tokens + completion})
    }
}

/// A body frame, marked when it carries a generated token.
type Item = (Result<Frame<Bytes>, std::io::Error>, bool);

/// When token frames were handed to the connection (polled by hyper for writing).
#[derive(Default)]
struct Stamps {
    first: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
    tokens: u32,
}

fn streaming(
    reply: Reply,
    mut rx: mpsc::UnboundedReceiver<Event>,
    usage: bool,
    fault: Fault,
) -> Response<Body> {
    let (out, body_rx) = mpsc::channel::<Item>(64);
    let timing = reply
        .timings
        .clone()
        .map(|t| (t, reply.origin.request_id.clone(), reply.origin.received));
    tokio::spawn(async move {
        let send = |s: String, token: bool| {
            let out = out.clone();
            async move {
                out.send((Ok(Frame::data(Bytes::from(s))), token))
                    .await
                    .is_ok()
            }
        };
        if reply.chat && !send(reply.chunk(None, None, true), false).await {
            return;
        }
        let half = (reply.output_tokens / 2).max(1);
        let mut generated = 0u32;
        while let Some(event) = rx.recv().await {
            match event {
                Event::Token => {
                    generated += 1;
                    if generated == half {
                        match fault {
                            Fault::Cut => {
                                // Let what was sent reach the client, then hang up.
                                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                                let _ = out
                                    .send((Err(std::io::Error::other("injected cut")), false))
                                    .await;
                                return;
                            }
                            Fault::Stall => {
                                // Hold the connection open, sending nothing, until the client leaves.
                                out.closed().await;
                                return;
                            }
                            Fault::Malformed => {
                                let line = "data: {\"choices\": [oops\n\n".to_string();
                                if !send(line, false).await {
                                    return;
                                }
                            }
                            _ => {}
                        }
                    }
                    if !send(reply.chunk(Some(token_text(generated)), None, false), true).await {
                        return;
                    }
                }
                Event::Done { stopped } => {
                    let reason = if stopped { "stop" } else { "length" };
                    let mut tail = reply.chunk(None, Some(reason), false);
                    if usage {
                        let object = if reply.chat {
                            "chat.completion.chunk"
                        } else {
                            "text_completion"
                        };
                        let last = json!({"id": reply.id, "object": object, "created": 0, "model": reply.model, "choices": [], "usage": reply.usage(generated)});
                        tail.push_str(&format!("data: {last}\n\n"));
                    }
                    tail.push_str("data: [DONE]\n\n");
                    let _ = send(tail, false).await;
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(
        (body_rx, Stamps::default(), timing),
        |(mut rx, mut stamps, timing)| async move {
            match rx.recv().await {
                Some((item, token)) => {
                    if token && timing.is_some() {
                        let now = std::time::Instant::now();
                        stamps.first.get_or_insert(now);
                        stamps.last = Some(now);
                        stamps.tokens += 1;
                    }
                    Some((item, (rx, stamps, timing)))
                }
                None => {
                    if let (Some((timings, request_id, received)), Some(f), Some(l)) =
                        (timing, stamps.first, stamps.last)
                    {
                        let t = Timing {
                            request_id,
                            ttft_ns: f.duration_since(received).as_nanos() as u64,
                            decode_ns: l.duration_since(f).as_nanos() as u64,
                            tokens: stamps.tokens,
                        };
                        if let Ok(mut v) = timings.lock() {
                            v.push(t);
                        }
                    }
                    None
                }
            }
        },
    );
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut().insert(
        "cache-control",
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}

async fn whole(reply: Reply, mut rx: mpsc::UnboundedReceiver<Event>) -> Response<Body> {
    let mut text = String::new();
    let mut generated = 0;
    let mut reason = "length";
    while let Some(event) = rx.recv().await {
        match event {
            Event::Token => {
                generated += 1;
                text.push_str(token_text(generated));
            }
            Event::Done { stopped } => {
                if stopped {
                    reason = "stop";
                }
                break;
            }
        }
    }
    let choice = if reply.chat {
        json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason})
    } else {
        json!({"index": 0, "text": text, "finish_reason": reason})
    };
    let object = if reply.chat {
        "chat.completion"
    } else {
        "text_completion"
    };
    full(
        StatusCode::OK,
        json!({"id": reply.id, "object": object, "created": 0, "model": reply.model, "choices": [choice], "usage": reply.usage(generated)}),
    )
}
