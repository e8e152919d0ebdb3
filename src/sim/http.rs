//! The simulator's OpenAI-compatible HTTP surface: `/v1/models`, `/v1/chat/completions` and
//! `/v1/completions`, streaming (server-sent events, with `stream_options.include_usage` and
//! `continuous_usage_stats`) or not, `/metrics` (Prometheus, vLLM's metric names), and the
//! connection and request-id ways of real servers chosen in [`Behaviour`].

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::batcher::{Event, Gauges, Job};
use super::behaviour::{Behaviour, Conn};
use super::faults::{Fault, Faults};
use super::profile::Profile;
use crate::rng::{key, mix, Rng};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// Requests larger than this are refused (413).
const MAX_BODY: usize = 64 << 20;

/// The server's own view of one streamed request, for measuring client overhead.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The client's `x-request-id` header.
    pub request_id: Option<String>,
    /// The plan id in it (llmw's UUIDs carry it; a bare number is taken as it is).
    pub plan_id: Option<u64>,
    /// From the request's arrival to the first token handed to the connection.
    pub ttft_ns: u64,
    /// From the first token to the last one handed to the connection.
    pub decode_ns: u64,
    pub tokens: u32,
    /// The request's arrival and its first token's hand-off on the host's wall clock (ns since
    /// the Unix epoch), which the client's traces share: a benchmark on one machine can split a
    /// client's TTFT overhead into its send side and its receive side.
    pub received_unix_ns: u64,
    pub first_token_unix_ns: u64,
    /// When the request reached the host, by the kernel's stamp (`crate::arrival`), before the
    /// simulator took it at `received_unix_ns`: the send side splits again, into the client's
    /// write and the server's wait to read (absent where the kernel gives no stamps).
    pub arrived_unix_ns: Option<u64>,
}

/// `at` on the wall clock, in ns since the Unix epoch (through one anchor per process, so that
/// stamps are as monotonic as `Instant` is).
fn unix_ns(at: std::time::Instant) -> u64 {
    static ANCHOR: std::sync::OnceLock<(std::time::Instant, u64)> = std::sync::OnceLock::new();
    let (i0, w0) = *ANCHOR.get_or_init(|| {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (std::time::Instant::now(), wall.as_nanos() as u64)
    });
    if at >= i0 {
        w0 + at.duration_since(i0).as_nanos() as u64
    } else {
        w0.saturating_sub(i0.duration_since(at).as_nanos() as u64)
    }
}

pub type Timings = Arc<std::sync::Mutex<Vec<Timing>>>;

pub struct State {
    /// Set with `--record-timings`: every streamed request's server-side timing.
    pub timings: Option<Timings>,
    pub model: String,
    pub profile: Profile,
    pub faults: Faults,
    pub behaviour: Behaviour,
    pub jobs: mpsc::UnboundedSender<Job>,
    /// Completion requests taken in.
    pub counter: AtomicU64,
    pub connections: AtomicU64,
    pub gauges: Arc<Gauges>,
    /// The number of the newest completion request (`interrupt_on_new_request`).
    pub newest: tokio::sync::watch::Sender<u64>,
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

/// Serves one request of connection `conn`, with the connection rules of [`Behaviour`].
pub async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    conn: Arc<Conn>,
) -> Result<Response<Body>, Infallible> {
    if conn.closing() {
        // The server is done with this connection: it never reads this request, and the
        // connection is dropped shortly (see `Conn::ended`).
        return std::future::pending().await;
    }
    let nth = conn.begin();
    let b = &state.behaviour;
    let (mut resp, streamed) = route(req, &state, &conn).await;
    let headers = resp.headers_mut();
    let value = |s: String| hyper::header::HeaderValue::from_str(&s).ok();
    if b.close_after_response {
        // What llama-server says, right before it closes anyway.
        if let Some(v) = value("timeout=5, max=100".into()) {
            headers.insert("keep-alive", v);
        }
    } else if let Some(max) = b.max_requests_per_connection {
        if let Some(v) = value(format!("timeout=5, max={}", max.saturating_sub(nth))) {
            headers.insert("keep-alive", v);
        }
        if nth >= max {
            headers.insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
        }
    }
    if !streamed {
        conn.end();
        if b.close_after_response {
            conn.close_soon();
        }
    }
    Ok(resp)
}

/// The response to one request, and whether it streams (its end then ends the request).
async fn route(req: Request<Incoming>, state: &State, conn: &Arc<Conn>) -> (Response<Body>, bool) {
    let received = std::time::Instant::now();
    let arrived_unix_ns = Some(
        conn.arrived_unix_ns
            .load(std::sync::atomic::Ordering::Relaxed),
    )
    .filter(|t| *t > 0);
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = req.uri().path().trim_end_matches('/').to_string();
    let chat = match (req.method(), path.as_str()) {
        (&Method::GET, "/v1/models") => {
            return (
                full(
                    StatusCode::OK,
                    json!({"object": "list", "data": [{"id": state.model, "object": "model", "owned_by": "llmw-sim"}]}),
                ),
                false,
            )
        }
        (&Method::GET, "/health") => return (full(StatusCode::OK, json!({"status": "ok"})), false),
        (&Method::GET, "/llmw/timings") => return (timings(state), false),
        (&Method::GET, "/metrics") => return (metrics(state), false),
        (&Method::POST, "/v1/chat/completions") => true,
        (&Method::POST, "/v1/completions") => false,
        _ => return (error(StatusCode::NOT_FOUND, "no such route"), false),
    };
    if state.behaviour.require_uuid_request_id
        && request_id
            .as_deref()
            .is_some_and(|id| !crate::request_id::is_uuid(id))
    {
        // llama-cpp-python's request-id middleware: 400 and nothing else.
        let mut r = Response::new(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
        );
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return (r, false);
    }
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return (
                error(StatusCode::BAD_REQUEST, "could not read the request body"),
                false,
            )
        }
    };
    if bytes.len() > MAX_BODY {
        return (
            error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
            false,
        );
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return (
                error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
                false,
            )
        }
    };
    let origin = Origin {
        received,
        arrived_unix_ns,
        request_id,
    };
    complete(chat, body, state, origin, conn).await
}

/// When and from whom a request came.
struct Origin {
    received: std::time::Instant,
    /// When the request reached the host, by the kernel's stamp (Unix ns), before the
    /// simulator took it.
    arrived_unix_ns: Option<u64>,
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
        .map(|v| v.iter().map(|x| json!({"request_id": x.plan_id, "request_uuid": x.request_id, "ttft_ns": x.ttft_ns, "decode_ns": x.decode_ns, "tokens": x.tokens, "received_unix_ns": x.received_unix_ns, "arrived_unix_ns": x.arrived_unix_ns, "first_token_unix_ns": x.first_token_unix_ns})).collect())
        .unwrap_or_default();
    full(StatusCode::OK, Value::Array(rows))
}

/// Prometheus text exposition under vLLM's metric names, so a run against the simulator
/// exercises the same scrape and analysis as one against vLLM.
fn metrics(state: &State) -> Response<Body> {
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

async fn complete(
    chat: bool,
    body: Value,
    state: &State,
    origin: Origin,
    conn: &Arc<Conn>,
) -> (Response<Body>, bool) {
    let n = state.counter.fetch_add(1, Ordering::SeqCst);
    state.newest.send_modify(|v| *v = (*v).max(n));
    let Some(words) = prompt_words(chat, &body) else {
        let what = if chat { "messages" } else { "prompt" };
        let message = format!("missing or invalid '{what}'");
        return (error(StatusCode::BAD_REQUEST, &message), false);
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
        events: tx,
    };
    if state.jobs.send(job).is_err() {
        let message = "the simulator is shutting down";
        return (error(StatusCode::SERVICE_UNAVAILABLE, message), false);
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let option = |name: &str| {
        body.get("stream_options")
            .and_then(|o| o.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let reply = Reply {
        chat,
        id: format!("cmpl-{n}"),
        model: state.model.clone(),
        prompt_tokens,
        output_tokens,
        reasoning,
        per_chunk: b.tokens_per_chunk.max(1),
        usage: option("include_usage"),
        continuous_usage: option("continuous_usage_stats"),
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
        (streaming(reply, rx, fault, end, interrupt), true)
    } else {
        (whole(reply, rx).await, false)
    }
}

/// What the end of a streamed response does to its connection.
struct StreamEnd {
    conn: Arc<Conn>,
    close: bool,
}

impl Drop for StreamEnd {
    fn drop(&mut self) {
        self.conn.end();
        if self.close {
            self.conn.close_soon();
        }
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
    /// The first this-many tokens are reasoning (chat only).
    reasoning: u32,
    /// Tokens per streamed chunk.
    per_chunk: u32,
    usage: bool,
    continuous_usage: bool,
    /// Prompt tokens that came from the prefix cache.
    cached: u32,
}

/// The text of token `i`: a word, so that every chunk carries visible text.
fn token_text(i: u32) -> &'static str {
    const T: [&str; 8] = [
        " the", " model", " says", " hello", " and", " then", " more", " words",
    ];
    T[i as usize % T.len()]
}

impl Reply {
    fn object(&self) -> &'static str {
        if self.chat {
            "chat.completion.chunk"
        } else {
            "text_completion"
        }
    }

    /// One SSE event: `text` of `kind` (answer or reasoning), or the role or finish chunk.
    /// Written out by hand, keys in serde_json's order: one string per chunk and no `Value`
    /// tree, so that the simulator, not its JSON, is what a client benchmark measures.
    fn chunk(
        &self,
        text: Option<(&str, bool)>,
        finish: Option<&str>,
        role: bool,
        generated: u32,
    ) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(320);
        out.push_str("data: {\"choices\":[{");
        if self.chat {
            out.push_str("\"delta\":{");
            if role {
                out.push_str("\"content\":\"\",\"role\":\"assistant\"");
            } else if let Some((t, reasoning)) = text {
                out.push_str(if reasoning {
                    "\"reasoning_content\":"
                } else {
                    "\"content\":"
                });
                push_json_str(&mut out, t);
            }
            out.push_str("},");
        }
        out.push_str("\"finish_reason\":");
        match finish {
            Some(f) => push_json_str(&mut out, f),
            None => out.push_str("null"),
        }
        out.push_str(",\"index\":0");
        if !self.chat {
            out.push_str(",\"text\":");
            push_json_str(&mut out, text.map_or("", |t| t.0));
        }
        out.push_str("}],\"created\":0,\"id\":");
        push_json_str(&mut out, &self.id);
        out.push_str(",\"model\":");
        push_json_str(&mut out, &self.model);
        let _ = write!(out, ",\"object\":\"{}\"", self.object());
        if self.continuous_usage {
            let (p, c) = (self.prompt_tokens, generated);
            let _ = write!(
                out,
                ",\"usage\":{{\"completion_tokens\":{c},\"completion_tokens_details\":{{\"reasoning_tokens\":{}}},\"prompt_tokens\":{p},\"prompt_tokens_details\":{{\"cached_tokens\":{}}},\"total_tokens\":{}}}",
                self.reasoning.min(c),
                self.cached,
                p + c
            );
        }
        out.push_str("}\n\n");
        out
    }

    fn usage(&self, completion: u32) -> Value {
        json!({"prompt_tokens": self.prompt_tokens, "completion_tokens": completion, "total_tokens": self.prompt_tokens + completion,
               "prompt_tokens_details": {"cached_tokens": self.cached},
               "completion_tokens_details": {"reasoning_tokens": self.reasoning.min(completion)}})
    }
}

/// A body frame, with the generated tokens it carries.
type Item = (Result<Frame<Bytes>, std::io::Error>, u32);

/// When token frames were handed to the connection (polled by hyper for writing).
#[derive(Default)]
struct Stamps {
    first: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
    tokens: u32,
}

/// A stream to end early when a request newer than `.1` arrives.
type Interrupt = Option<(tokio::sync::watch::Receiver<u64>, u64)>;

/// Resolves when a newer request has arrived (never without `interrupt`).
async fn newer(interrupt: &mut Interrupt) {
    match interrupt {
        Some((newest, mine)) => {
            let mine = *mine;
            if newest.wait_for(|n| *n > mine).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

fn streaming(
    mut reply: Reply,
    mut rx: mpsc::UnboundedReceiver<Event>,
    fault: Fault,
    end: StreamEnd,
    mut interrupt: Interrupt,
) -> Response<Body> {
    let (out, body_rx) = mpsc::channel::<Item>(64);
    let timing = reply.timings.clone().map(|t| {
        (
            t,
            reply.origin.request_id.clone(),
            reply.origin.received,
            reply.origin.arrived_unix_ns,
        )
    });
    tokio::spawn(async move {
        let send = |s: String, tokens: u32| {
            let out = out.clone();
            async move {
                out.send((Ok(Frame::data(Bytes::from(s))), tokens))
                    .await
                    .is_ok()
            }
        };
        if reply.chat && !send(reply.chunk(None, None, true, 0), 0).await {
            return;
        }
        let half = (reply.output_tokens / 2).max(1);
        let mut generated = 0u32;
        // Tokens generated but not yet sent (several per chunk), and whether they are reasoning.
        let mut pending = String::new();
        let mut pending_n = 0u32;
        let mut pending_reasoning = false;
        loop {
            let event = tokio::select! {
                e = rx.recv() => e,
                _ = newer(&mut interrupt) => {
                    // Abandoned for the newer request: a bare [DONE], no finish_reason.
                    let _ = send("data: [DONE]\n\n".to_string(), 0).await;
                    return;
                }
            };
            let Some(event) = event else { break };
            match event {
                Event::Cached(c) => reply.cached = c,
                Event::Token => {
                    generated += 1;
                    if generated == half {
                        match fault {
                            Fault::Cut => {
                                // Let what was sent reach the client, then hang up.
                                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                                let _ = out
                                    .send((Err(std::io::Error::other("injected cut")), 0))
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
                                if !send(line, 0).await {
                                    return;
                                }
                            }
                            _ => {}
                        }
                    }
                    let reasoning = generated <= reply.reasoning;
                    if pending_n > 0 && reasoning != pending_reasoning {
                        // A chunk holds one kind of text: flush the reasoning before the answer.
                        let c = reply.chunk(
                            Some((&pending, pending_reasoning)),
                            None,
                            false,
                            generated - 1,
                        );
                        if !send(c, pending_n).await {
                            return;
                        }
                        pending.clear();
                        pending_n = 0;
                    }
                    pending.push_str(token_text(generated));
                    pending_n += 1;
                    pending_reasoning = reasoning;
                    if pending_n >= reply.per_chunk || generated >= reply.output_tokens {
                        let c = reply.chunk(Some((&pending, reasoning)), None, false, generated);
                        if !send(c, pending_n).await {
                            return;
                        }
                        pending.clear();
                        pending_n = 0;
                    }
                }
                Event::Done { stopped } => {
                    let mut tail = String::new();
                    if pending_n > 0 {
                        tail.push_str(&reply.chunk(
                            Some((&pending, pending_reasoning)),
                            None,
                            false,
                            generated,
                        ));
                    }
                    let reason = if stopped { "stop" } else { "length" };
                    tail.push_str(&reply.chunk(None, Some(reason), false, generated));
                    if reply.usage {
                        let last = json!({"id": reply.id, "object": reply.object(), "created": 0, "model": reply.model, "choices": [], "usage": reply.usage(generated)});
                        tail.push_str(&format!("data: {last}\n\n"));
                    }
                    tail.push_str("data: [DONE]\n\n");
                    let _ = send(tail, pending_n).await;
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(
        (body_rx, Stamps::default(), timing, end),
        |(mut rx, mut stamps, timing, end)| async move {
            match rx.recv().await {
                Some((item, tokens)) => {
                    if tokens > 0 && timing.is_some() {
                        let now = std::time::Instant::now();
                        stamps.first.get_or_insert(now);
                        stamps.last = Some(now);
                        stamps.tokens += tokens;
                    }
                    Some((item, (rx, stamps, timing, end)))
                }
                None => {
                    if let (Some((timings, request_id, received, arrived)), Some(f), Some(l)) =
                        (timing, stamps.first, stamps.last)
                    {
                        let t = Timing {
                            plan_id: request_id.as_deref().and_then(plan_id_of),
                            request_id,
                            ttft_ns: f.duration_since(received).as_nanos() as u64,
                            decode_ns: l.duration_since(f).as_nanos() as u64,
                            tokens: stamps.tokens,
                            received_unix_ns: unix_ns(received),
                            arrived_unix_ns: arrived,
                            first_token_unix_ns: unix_ns(f),
                        };
                        if let Ok(mut v) = timings.lock() {
                            v.push(t);
                        }
                    }
                    drop(end);
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

/// Appends `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&Value::from(s).to_string());
    }
}

/// The plan id a client's request id names: llmw's UUIDs carry it, a bare number is one.
fn plan_id_of(id: &str) -> Option<u64> {
    crate::request_id::plan_id(id).or_else(|| id.parse().ok())
}

async fn whole(mut reply: Reply, mut rx: mpsc::UnboundedReceiver<Event>) -> Response<Body> {
    let (mut answer, mut thinking) = (String::new(), String::new());
    let mut generated = 0;
    let mut reason = "length";
    while let Some(event) = rx.recv().await {
        match event {
            Event::Cached(c) => reply.cached = c,
            Event::Token => {
                generated += 1;
                if generated <= reply.reasoning {
                    thinking.push_str(token_text(generated));
                } else {
                    answer.push_str(token_text(generated));
                }
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
        let mut message = json!({"role": "assistant", "content": answer});
        if !thinking.is_empty() {
            message["reasoning_content"] = json!(thinking);
        }
        json!({"index": 0, "message": message, "finish_reason": reason})
    } else {
        json!({"index": 0, "text": answer, "finish_reason": reason})
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Reply::chunk` writes by hand, built as a `Value` (the way it was before).
    fn oracle(
        r: &Reply,
        text: Option<(&str, bool)>,
        finish: Option<&str>,
        role: bool,
        n: u32,
    ) -> Value {
        let choice = if r.chat {
            let delta = match (role, text) {
                (true, _) => json!({"role": "assistant", "content": ""}),
                (false, Some((t, true))) => json!({"reasoning_content": t}),
                (false, Some((t, false))) => json!({"content": t}),
                (false, None) => json!({}),
            };
            json!({"index": 0, "delta": delta, "finish_reason": finish})
        } else {
            json!({"index": 0, "text": text.map(|t| t.0).unwrap_or(""), "finish_reason": finish})
        };
        let mut event = json!({"id": r.id, "object": r.object(), "created": 0, "model": r.model, "choices": [choice]});
        if r.continuous_usage {
            event["usage"] = r.usage(n);
        }
        event
    }

    #[test]
    fn hand_written_chunks_are_the_json_they_stand_for() {
        for (chat, continuous_usage) in [(true, true), (true, false), (false, true), (false, false)]
        {
            let r = Reply {
                origin: Origin {
                    received: std::time::Instant::now(),
                    arrived_unix_ns: None,
                    request_id: None,
                },
                timings: None,
                chat,
                id: "cmpl-7".into(),
                model: "a \"quoted\"\\model\n".into(),
                prompt_tokens: 30,
                output_tokens: 9,
                reasoning: 2,
                per_chunk: 1,
                usage: true,
                continuous_usage,
                cached: 16,
            };
            type Case<'a> = (Option<(&'a str, bool)>, Option<&'a str>, bool, u32);
            let cases: [Case; 5] = [
                (None, None, true, 0),
                (Some((" the model", false)), None, false, 3),
                (Some((" why", true)), None, false, 1),
                (None, Some("length"), false, 9),
                (Some(("tab\there \"q\"", false)), Some("stop"), false, 4),
            ];
            for (text, finish, role, n) in cases {
                let line = r.chunk(text, finish, role, n);
                let json = line
                    .strip_prefix("data: ")
                    .and_then(|l| l.strip_suffix("\n\n"))
                    .expect("one SSE event");
                let got: Value = serde_json::from_str(json).expect("valid JSON");
                assert_eq!(got, oracle(&r, text, finish, role, n), "{line}");
                // Byte for byte what serde_json writes for that value (its keys sorted).
                assert_eq!(json, oracle(&r, text, finish, role, n).to_string());
            }
        }
    }
}
