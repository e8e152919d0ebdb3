//! Sending one request and reading its response: the body (chat or completions), the SSE stream
//! with every chunk timestamped on arrival, and the fixed meaning of each failure.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use super::clock::Clock;
use super::http::{HttpClient, Response};
use super::race::Won;
use super::sse::SseParser;
use crate::prompt::Prompt;
use crate::request_id::RunNonce;
use crate::rundir::record::{ChunkRow, RequestRow, Status};
use crate::schedule::PlannedRequest;
use crate::schedule::{Api, Target};

/// Everything needed to send requests to one server.
pub struct Sender {
    pub http: HttpClient,
    pub api_key: Option<String>,
    /// `header_env` headers with their values (never written; redacted from errors).
    pub secret_headers: Vec<(String, String)>,
    pub target: Target,
    pub model: String,
    /// The plan, for prompt synthesis (seed, replayed prefix blocks).
    pub schedule: std::sync::Arc<crate::schedule::Schedule>,
    pub timeout: Duration,
    /// The run-unique part of every request's UUID.
    pub nonce: RunNonce,
    /// Tokens the server adds to a chat prompt (its template), taken off synthesized text so
    /// the server counts `input` tokens (0 with `prompt_tokens = text` or on completions).
    pub prompt_overhead: u32,
}

/// Without `timeout` in the workload, a request that takes longer than this is a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Resolves when `cut` is bumped after the request subscribed (never if its sender is gone).
async fn until_bumped(cut: &mut watch::Receiver<u64>) {
    if cut.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Chunk rows a request reserves room for at most before its stream starts.
const CHUNKS_AHEAD: u32 = 1024;
/// Error bodies and messages are cut to this many characters.
const MESSAGE_CHARS: usize = 200;
/// At most this much of an error body is read.
const ERROR_BODY_BYTES: usize = 16 * 1024;
/// At most this much of a non-streamed response body is read.
const WHOLE_BODY_BYTES: usize = 64 << 20;

/// What the response told us so far; survives a timeout or a cancel.
#[derive(Default)]
struct Progress {
    chunks: Vec<ChunkRow>,
    first_token_ns: Option<u64>,
    first_content_ns: Option<u64>,
    last_token_ns: Option<u64>,
    prompt_tokens: Option<u32>,
    usage_output: Option<u32>,
    usage_reasoning: Option<u32>,
    cached_tokens: Option<u32>,
    http_status: Option<u16>,
    finish_reason: Option<String>,
    conn_reused: Option<bool>,
    resent: bool,
    /// When the request's first byte was written (the one that got the response, if it was
    /// sent again); `None` when it never reached a connection.
    written_ns: Option<u64>,
    /// How the connection it went out on was opened (`None`: taken from the pool).
    setup: Option<super::http::Setup>,
    /// When `[DONE]` arrived (what follows it is not waited for).
    done_ns: Option<u64>,
    finished: bool,
    /// No event of the stream was a failure (set false on the first one).
    failure_free: bool,
    /// The answer's text, kept when the caller asked for it (`history = live`).
    reply: Option<String>,
    /// A 429's or 503's `Retry-After`.
    retry_after: Option<Duration>,
}

/// A request that ended: its row, its chunks, the answer's text if it was asked for, and how
/// long the server asked to be left alone.
pub struct Done {
    pub row: RequestRow,
    pub chunks: Vec<ChunkRow>,
    pub reply: Option<String>,
    pub retry_after: Option<Duration>,
}

/// A conversation's turn: the prompt to send instead of the plan's own, its length in tokens
/// (what the row records as `input_tokens`), and whether the answer's text is wanted back.
pub struct Turn {
    pub prompt: Prompt,
    pub input_tokens: u32,
    pub capture: bool,
}

/// How the exchange ended, before timeouts and cancels are considered.
type Outcome = Result<(), String>;

impl Sender {
    /// `message` with every secret the run sends (the API key, `header_env` values) taken out:
    /// a server that echoes a credential in its error must not put it in the run's files.
    fn redact(&self, mut message: String) -> String {
        let secrets = self
            .api_key
            .iter()
            .chain(self.secret_headers.iter().map(|(_, v)| v))
            .filter(|s| s.len() >= 4);
        for s in secrets {
            if message.contains(s.as_str()) {
                message = message.replace(s.as_str(), "[redacted]");
            }
        }
        message
    }

    fn route(&self) -> &'static str {
        match self.target.api {
            Api::Chat => "/v1/chat/completions",
            Api::Completions => "/v1/completions",
        }
    }

    fn body(&self, r: &PlannedRequest, prompt: Option<Prompt>) -> Value {
        let prompt = prompt.unwrap_or_else(|| {
            crate::prompt::of_shortened(&self.schedule, r, self.prompt_overhead)
        });
        let mut body = match (self.target.api, prompt) {
            (Api::Chat, Prompt::Messages(m) | Prompt::Conversation(m)) => {
                json!({"model": self.model, "messages": m})
            }
            (Api::Chat, p) => {
                json!({"model": self.model, "messages": [{"role": "user", "content": p.text()}]})
            }
            (Api::Completions, p) => json!({"model": self.model, "prompt": p.text()}),
        };
        body["max_tokens"] = json!(r.output_tokens);
        body["stream"] = json!(self.target.stream);
        if self.target.stream {
            // Per-chunk usage (vLLM's continuous_usage_stats) gives each chunk's true token count
            // where the server supports it; others ignore the field.
            body["stream_options"] = json!({"include_usage": true, "continuous_usage_stats": true});
        }
        if self.target.ignore_eos {
            body["ignore_eos"] = json!(true);
            body["min_tokens"] = json!(r.output_tokens);
        }
        if let Some(t) = self.target.temperature {
            body["temperature"] = json!(t);
        }
        body
    }

    /// Sends `r` now and waits for its response, the timeout, `stop`, or `cut` (a search cuts
    /// the requests of a probe still running a hold after it ended).
    pub async fn execute(
        &self,
        r: &PlannedRequest,
        scheduled_ns: Option<u64>,
        clock: &Clock,
        mut stop: watch::Receiver<bool>,
        mut cut: watch::Receiver<u64>,
        turn: Option<Turn>,
    ) -> Done {
        let input_tokens = turn.as_ref().map_or(r.input_tokens, |t| t.input_tokens);
        let capture = turn.as_ref().is_some_and(|t| t.capture);
        let body = self.body(r, turn.map(|t| t.prompt)).to_string();
        let uuid = self.nonce.uuid(r.id);
        let mut progress = Progress {
            // Room for the chunks asked for, so 2,000 streams do not hold a doubled Vec each.
            chunks: Vec::with_capacity(if self.target.stream {
                r.output_tokens.min(CHUNKS_AHEAD) as usize + 2
            } else {
                2
            }),
            failure_free: true,
            reply: capture.then(String::new),
            ..Progress::default()
        };
        // When the attempt began: the row's `sent_ns` only if no byte was ever written.
        let sent_ns = clock.now();
        let mut was_cut = false;
        let outcome = {
            let exchange = self.exchange(r, &uuid, body, clock, sent_ns, &mut progress);
            // The timeout, a stop and a cut fire once if ever: polled only when they do, not at
            // every chunk (engine/race.rs).
            let rare = async {
                tokio::select! {
                    _ = tokio::time::sleep(self.timeout) => None,
                    _ = super::stop::until_set(&mut stop) => Some(false),
                    _ = until_bumped(&mut cut) => Some(true),
                }
            };
            match super::race::race(exchange, rare).await {
                Won::Busy(o) => Some(o),
                Won::Rare(None) => None,
                Won::Rare(Some(cut)) => {
                    was_cut = cut;
                    Some(Err(if cut { "cut" } else { "cancelled" }.into()))
                }
            }
        };
        let done_ns = progress.done_ns.unwrap_or_else(|| clock.now());
        let cancelled = *stop.borrow();
        // An answer whose finish_reason arrived is complete, even if a stop or the timeout came
        // while llmw waited for `[DONE]` or the body's end after it.
        let complete = progress.finished && progress.failure_free;
        let (status, error) = match outcome {
            Some(Ok(())) => (Status::Ok, None),
            Some(Err(_)) | None if complete => (Status::Ok, None),
            Some(Err(_)) if cancelled => (
                Status::Cancelled,
                Some("the run was interrupted".to_string()),
            ),
            Some(Err(_)) if was_cut => (
                Status::Cancelled,
                Some("its search probe ended a hold ago; cancelled so the next probe starts on an idle server".to_string()),
            ),
            Some(Err(e)) => (Status::Error, Some(self.redact(e))),
            None => (
                Status::Timeout,
                Some(format!("no complete response within {:?}", self.timeout)),
            ),
        };
        let counted: u32 = progress.chunks.iter().map(|c| c.tokens).sum();
        let reasoning: u32 = progress
            .chunks
            .iter()
            .filter(|c| c.reasoning)
            .map(|c| c.tokens)
            .sum();
        let any_reasoning = progress.chunks.iter().any(|c| c.reasoning);
        let row = RequestRow {
            request_id: r.id,
            phase: r.phase,
            step: r.step,
            class: r.class,
            scheduled_ns,
            sent_ns: progress.written_ns.unwrap_or(sent_ns),
            first_token_ns: progress.first_token_ns,
            last_token_ns: progress.last_token_ns,
            done_ns,
            input_tokens,
            output_tokens_requested: r.output_tokens,
            prompt_tokens: progress.prompt_tokens,
            output_tokens: progress
                .usage_output
                .or((!progress.chunks.is_empty() || status == Status::Ok).then_some(counted)),
            chunks: progress.chunks.len() as u32,
            status,
            http_status: progress.http_status,
            error,
            prefix_group: r.prefix_group,
            request_uuid: Some(uuid),
            conn_reused: progress.conn_reused,
            resent: progress.resent,
            finish_reason: progress.finish_reason.take(),
            cached_tokens: progress.cached_tokens,
            first_content_ns: progress.first_content_ns,
            reasoning_tokens: progress
                .usage_reasoning
                .or((any_reasoning || status == Status::Ok).then_some(reasoning)),
            session: r.session.map(|t| t.id),
            turn: r.session.map(|t| t.turn),
            branch: r.session.map(|t| t.branch),
            session_turns: r.session.map(|t| t.turns),
            connect_ns: progress.setup.map(|s| s.connect.as_nanos() as u64),
            tls_ns: progress
                .setup
                .and_then(|s| s.tls)
                .map(|t| t.as_nanos() as u64),
            backoff_ns: None,
        };
        Done {
            row,
            chunks: progress.chunks,
            reply: progress.reply,
            retry_after: progress.retry_after,
        }
    }

    async fn exchange(
        &self,
        r: &PlannedRequest,
        uuid: &str,
        body: String,
        clock: &Clock,
        sent_ns: u64,
        p: &mut Progress,
    ) -> Outcome {
        let (id, max_tokens) = (r.id, r.output_tokens);
        let auth = self.api_key.as_ref().map(|k| format!("Bearer {k}"));
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(h) = &self.target.request_id_header {
            headers.push((h.as_str(), uuid));
        }
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        for (k, v) in self.target.headers.iter().chain(&self.secret_headers) {
            headers.push((k.as_str(), v.as_str()));
        }
        let sent = match self
            .http
            .send(hyper::Method::POST, self.route(), &headers, body.as_bytes())
            .await
        {
            Ok(sent) => sent,
            Err(e) => {
                p.written_ns = e.written_at.map(|t| clock.ns_of(t));
                p.setup = e.setup;
                return Err(short(&e.message));
            }
        };
        p.conn_reused = Some(sent.reused);
        p.resent = sent.resent;
        p.setup = sent.setup;
        p.written_ns = Some(clock.ns_of(sent.written_at));
        // No response time goes before the request's send, whatever a stamp says (a wall-clock
        // step, or a retransmitted segment stamped with data that came after it: `arrival.rs`).
        let floor = p.written_ns.unwrap_or(sent_ns);
        let resp = sent.response;
        let status = resp.status;
        p.http_status = Some(status.as_u16());
        if !status.is_success() {
            if matches!(status.as_u16(), 429 | 503) {
                p.retry_after = resp
                    .headers
                    .get(hyper::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| super::pace::retry_after(v, std::time::SystemTime::now()));
            }
            let (message, body) = http_error(resp).await;
            // Read to its end, the error's connection can serve the next request (a storm of
            // 429s must not become a storm of new connections).
            self.http.release(body);
            return Err(short(&message));
        }
        if let Some(enc) = resp
            .headers
            .get(hyper::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().eq_ignore_ascii_case("identity"))
        {
            // llmw asks for no encoding (it sends no Accept-Encoding); it does not decode one.
            return Err(format!(
                "the server encoded the response (content-encoding: {enc}), which llmw does not decode; turn compression off for this route"
            ));
        }
        let mut body = resp.body;
        if !self.target.stream {
            let bytes = body
                .read_to_end(WHOLE_BODY_BYTES)
                .await
                .map_err(|e| short(&format!("response broken: {e}")))?;
            // When the body's last bytes arrived (by the kernel's stamp, `arrival.rs`).
            let at = clock.arrival(body.arrived_unix_ns()).max(floor);
            p.done_ns = Some(at);
            self.http.release(body);
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| short(&format!("response is not valid JSON: {e}")))?;
            read_usage(&v, p);
            p.finish_reason = v
                .pointer("/choices/0/finish_reason")
                .and_then(Value::as_str)
                .map(str::to_string);
            let (answer, reasoning) = content(&v);
            let at_ns = Some(at);
            if !answer.is_empty() || !reasoning.is_empty() {
                p.first_token_ns = at_ns;
                p.last_token_ns = at_ns;
            }
            let total = p.usage_output.unwrap_or(1);
            // A whole response is one chunk of answer (and one of reasoning, if any), both at once.
            if !reasoning.is_empty() {
                let tokens = p
                    .usage_reasoning
                    .unwrap_or(if answer.is_empty() { total } else { 1 });
                p.chunks.push(ChunkRow {
                    request_id: id,
                    seq: 0,
                    at_ns: at,
                    tokens,
                    bytes: reasoning.len() as u32,
                    reasoning: true,
                });
            }
            if let Some(keep) = &mut p.reply {
                keep.push_str(&answer);
            }
            if !answer.is_empty() {
                p.first_content_ns = at_ns;
                let before: u32 = p.chunks.iter().map(|c| c.tokens).sum();
                p.chunks.push(ChunkRow {
                    request_id: id,
                    seq: p.chunks.len() as u32,
                    at_ns: at,
                    tokens: total.saturating_sub(before).max(1),
                    bytes: answer.len() as u32,
                    reasoning: false,
                });
            }
            p.finished = v
                .pointer("/choices/0/finish_reason")
                .is_some_and(|f| !f.is_null());
            return if p.finished {
                Ok(())
            } else {
                Err("response has no finish_reason".into())
            };
        }
        let mut reader = StreamReader::new(id, max_tokens);
        let broken = |e: super::h1::WireError| short(&format!("stream broken: {e}"));
        // One timestamp per socket read: the chunks that arrived together arrived at once, and
        // at the time the kernel stamped, not when llmw got round to reading them (`arrival.rs`;
        // never before the read before it).
        let mut last_at = floor;
        'read: while body.fill().await.map_err(broken)? {
            let at = clock.arrival(body.arrived_unix_ns()).max(last_at);
            last_at = at;
            let mut wanted = Ok(false);
            body.drain(|data| {
                wanted = reader.read(data, at, p);
                matches!(wanted, Ok(false))
            })
            .map_err(broken)?;
            if wanted? {
                break 'read;
            }
            // One read per turn: a stream with more bytes waiting goes to the back of the run
            // queue, so no stream's chunks wait for another's backlog to be read.
            tokio::task::yield_now().await;
        }
        // The response ended when its last bytes arrived (the end of the body keeps the stamp
        // of the last read that brought any).
        let end_at = clock.arrival(body.arrived_unix_ns()).max(last_at);
        // A last event without its blank line (a bare `[DONE]` at the body's end) is read here.
        reader.end(end_at, p);
        if reader.st.done || (reader.st.failure.is_none() && p.finished) {
            p.done_ns = Some(end_at);
        }
        let (failure, done) = (reader.st.failure, reader.st.done);
        if let Some(f) = failure {
            p.failure_free = false;
            return Err(f);
        }
        if done && !p.finished {
            // llama-cpp-python ends a stream it abandons (a newer request interrupted it) with
            // a bare [DONE]: the answer is incomplete, whatever the stream's last word.
            return Err(format!(
                "the stream ended ([DONE]) without a finish_reason after {} chunks: the server stopped generating",
                p.chunks.len()
            ));
        }
        if done {
            // What follows [DONE] is normally the body's end, already here: then the connection
            // can be reused. A server that holds the stream open after [DONE] is not waited for
            // (the answer is complete); its connection is dropped.
            let rest = tokio::time::timeout(AFTER_DONE, body.read_to_end(ERROR_BODY_BYTES)).await;
            if matches!(rest, Ok(Ok(_))) {
                self.http.release(body);
            }
            Ok(())
        } else if p.finished {
            self.http.release(body);
            Ok(())
        } else {
            Err("stream ended before a finish_reason or [DONE]".into())
        }
    }
}

/// An HTTP error response described even when its body is empty: status code and reason
/// phrase, the headers that explain it, and the start of the body; and the body, to give back.
async fn http_error(resp: Response) -> (String, super::http::ResponseBody) {
    let status = resp.status;
    let mut msg = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        msg.push(' ');
        msg.push_str(reason);
    }
    let explain: Vec<String> = ["retry-after", "content-type"]
        .iter()
        .filter_map(|h| {
            let v = resp.headers.get(*h)?.to_str().ok()?;
            Some(format!("{h}: {v}"))
        })
        .collect();
    if !explain.is_empty() {
        msg.push_str(&format!(" ({})", explain.join("; ")));
    }
    let mut body = resp.body;
    let text = body.read_prefix(ERROR_BODY_BYTES).await;
    let text = String::from_utf8_lossy(&text);
    let text = text.trim();
    if text.is_empty() {
        msg.push_str(", empty body");
    } else {
        msg.push_str(": ");
        msg.push_str(text);
    }
    (msg, body)
}

/// Feeds a recorded response stream, split into network reads as `reads`, through the same SSE
/// parser and event handling a live request uses (for fuzzing and tests); returns the chunk rows
/// and the failure, if any.
pub fn replay_stream(reads: &[&[u8]], max_tokens: u32) -> (Vec<ChunkRow>, Option<String>) {
    let mut p = Progress::default();
    let mut reader = StreamReader::new(0, max_tokens);
    for (i, bytes) in reads.iter().enumerate() {
        match reader.read(bytes, i as u64, &mut p) {
            Ok(false) => {}
            Ok(true) => break,
            Err(e) => return (p.chunks, Some(e)),
        }
    }
    reader.end(u64::MAX, &mut p);
    (p.chunks, reader.st.failure)
}

/// A streamed response being read: the SSE parser and where the stream stands.
struct StreamReader {
    id: u64,
    parser: SseParser,
    st: StreamState,
}

impl StreamReader {
    fn new(id: u64, max_tokens: u32) -> StreamReader {
        StreamReader {
            id,
            parser: SseParser::new(),
            st: StreamState {
                chunk_limit: chunk_limit(max_tokens),
                ..StreamState::default()
            },
        }
    }

    /// Takes one network read that arrived at `at`; true once no more is wanted (a failure
    /// or `[DONE]`). An oversized line or event is an error.
    fn read(&mut self, bytes: &[u8], at: u64, p: &mut Progress) -> Result<bool, String> {
        let (id, st) = (self.id, &mut self.st);
        self.parser
            .feed(bytes, |data| on_event(id, data, at, p, st))
            .map_err(|e| format!("stream broken: {e}"))?;
        Ok(self.st.failure.is_some() || self.st.done)
    }

    /// At the end of the body: an event not closed by a blank line still counts.
    fn end(&mut self, at: u64, p: &mut Progress) {
        if self.st.failure.is_none() && !self.st.done {
            let (id, st) = (self.id, &mut self.st);
            self.parser.finish(|data| on_event(id, data, at, p, st));
        }
    }
}

/// Where a stream stands between events.
#[derive(Default)]
struct StreamState {
    failure: Option<String>,
    done: bool,
    /// The last `usage.completion_tokens` seen (per-chunk usage gives tokens per chunk).
    last_usage: Option<u32>,
    /// More chunks than this for the request's `max_tokens` is a server gone wrong.
    chunk_limit: usize,
}

/// How long the body's end may take to follow `[DONE]` before the connection is given up.
const AFTER_DONE: Duration = Duration::from_millis(100);

/// Chunks allowed for `max_tokens`: each chunk should carry at least one token; role, usage and
/// empty keep-alive chunks get generous room.
fn chunk_limit(max_tokens: u32) -> usize {
    4 * max_tokens as usize + 64
}

/// Handles one SSE event's data.
fn on_event(id: u64, data: &[u8], at: u64, p: &mut Progress, st: &mut StreamState) {
    if st.failure.is_some() || st.done {
        return;
    }
    if data.trim_ascii() == b"[DONE]" {
        st.done = true;
        return;
    }
    // A typed, borrowing parse: only the fields used, no allocation for the text.
    let v: StreamChunk = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(_) => {
            st.failure = Some(short(&format!(
                "invalid JSON in SSE data: {}",
                String::from_utf8_lossy(data)
            )));
            return;
        }
    };
    if let Some(err) = &v.error {
        st.failure = Some(short(&format!("server error in stream: {err}")));
        return;
    }
    let before = st.last_usage;
    if let Some(u) = &v.usage {
        if let Some(x) = u.prompt_tokens {
            p.prompt_tokens = Some(x as u32);
        }
        if let Some(x) = u.completion_tokens {
            p.usage_output = Some(x as u32);
            st.last_usage = Some(x as u32);
        }
        if let Some(x) = u
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
        {
            p.cached_tokens = Some(x as u32);
        }
        if let Some(x) = u
            .completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
        {
            p.usage_reasoning = Some(x as u32);
        }
    }
    if p.cached_tokens.is_none() {
        // llama.cpp's own per-response timings: `cache_n` prompt tokens came from its cache.
        if let Some(n) = v.timings.as_ref().and_then(|t| t.cache_n) {
            p.cached_tokens = Some(n as u32);
        }
    }
    let choice = v.choices.first();
    let (answer, reasoning) = choice
        .map(|c| {
            let delta = c.delta.as_ref();
            let answer = delta
                .and_then(|d| d.content.as_deref())
                .or(c.text.as_deref())
                .unwrap_or("");
            let reasoning = delta
                .and_then(|d| d.reasoning_content.as_deref().or(d.reasoning.as_deref()))
                .unwrap_or("");
            (answer, reasoning)
        })
        .unwrap_or(("", ""));
    if !answer.is_empty() || !reasoning.is_empty() {
        // Per-chunk usage (continuous usage stats) tells how many tokens this chunk held.
        let tokens = match (before, st.last_usage) {
            (Some(b), Some(a)) if a > b => a - b,
            (None, Some(a)) if a > 0 && p.chunks.is_empty() => a,
            _ => 1,
        };
        if p.first_token_ns.is_none() {
            p.first_token_ns = Some(at);
        }
        let is_answer = !answer.is_empty();
        if let (Some(keep), true) = (&mut p.reply, is_answer) {
            keep.push_str(answer);
        }
        if is_answer && p.first_content_ns.is_none() {
            p.first_content_ns = Some(at);
        }
        p.last_token_ns = Some(at);
        let seq = p.chunks.len() as u32;
        p.chunks.push(ChunkRow {
            request_id: id,
            seq,
            at_ns: at,
            tokens,
            bytes: (answer.len() + reasoning.len()) as u32,
            reasoning: !is_answer,
        });
        if p.chunks.len() > st.chunk_limit {
            st.failure = Some(format!(
                "the server sent more than {} chunks of text for max_tokens {}",
                st.chunk_limit,
                (st.chunk_limit - 64) / 4
            ));
        }
    }
    if let Some(reason) = choice.and_then(|c| c.finish_reason.as_deref()) {
        p.finished = true;
        p.finish_reason = Some(reason.to_string());
    }
}

/// The fields of a streamed chunk that llmw reads; everything else is skipped unparsed.
#[derive(serde::Deserialize)]
struct StreamChunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<StreamChoice<'a>>,
    #[serde(default)]
    usage: Option<StreamUsage>,
    #[serde(default)]
    timings: Option<LlamaTimings>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(serde::Deserialize)]
struct StreamChoice<'a> {
    #[serde(default, borrow)]
    delta: Option<StreamDelta<'a>>,
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct StreamDelta<'a> {
    #[serde(default, borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct StreamUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(serde::Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(serde::Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

/// llama.cpp's `timings` object (only the prompt-cache count is read).
#[derive(serde::Deserialize)]
struct LlamaTimings {
    cache_n: Option<u64>,
}

/// Generated text of a whole (non-streamed) response: (answer, reasoning).
fn content(v: &Value) -> (String, String) {
    let Some(choice) = v.pointer("/choices/0") else {
        return (String::new(), String::new());
    };
    let text = |p: &str| {
        choice
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let answer = match text("/message/content") {
        a if a.is_empty() => text("/text"),
        a => a,
    };
    let reasoning = match text("/message/reasoning_content") {
        r if r.is_empty() => text("/message/reasoning"),
        r => r,
    };
    (answer, reasoning)
}

fn read_usage(v: &Value, p: &mut Progress) {
    let Some(u) = v.get("usage").filter(|u| !u.is_null()) else {
        return;
    };
    let num = |ptr: &str| u.pointer(ptr).and_then(Value::as_u64).map(|x| x as u32);
    p.prompt_tokens = num("/prompt_tokens").or(p.prompt_tokens);
    p.usage_output = num("/completion_tokens").or(p.usage_output);
    p.cached_tokens = num("/prompt_tokens_details/cached_tokens")
        .or_else(|| {
            v.pointer("/timings/cache_n")
                .and_then(Value::as_u64)
                .map(|x| x as u32)
        })
        .or(p.cached_tokens);
    p.usage_reasoning = num("/completion_tokens_details/reasoning_tokens").or(p.usage_reasoning);
}

fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MESSAGE_CHARS {
        format!(
            "{}…",
            one_line.chars().take(MESSAGE_CHARS).collect::<String>()
        )
    } else {
        one_line
    }
}
