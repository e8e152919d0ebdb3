//! Sending one request and reading its response: the body (chat or completions), the SSE stream
//! with every chunk timestamped on arrival, and the fixed meaning of each failure.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::clock::Clock;
use super::http::{describe, HttpClient};
use super::record::{ChunkRow, RequestRow, Status};
use super::sse::SseParser;
use crate::schedule::PlannedRequest;
use crate::workload::{Api, Target};

/// Everything needed to send requests to one server.
pub struct Sender {
    pub http: HttpClient,
    pub api_key: Option<String>,
    pub target: Target,
    pub model: String,
    /// The plan, for prompt synthesis (seed, replayed prefix blocks).
    pub schedule: std::sync::Arc<crate::schedule::Schedule>,
    pub timeout: Duration,
}

/// Without `timeout` in the workload, a request that takes longer than this is a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Error bodies and messages are cut to this many characters.
const MESSAGE_CHARS: usize = 200;

/// What the response told us so far; survives a timeout or a cancel.
#[derive(Default)]
struct Progress {
    chunks: Vec<ChunkRow>,
    first_token_ns: Option<u64>,
    last_token_ns: Option<u64>,
    prompt_tokens: Option<u32>,
    usage_output: Option<u32>,
    http_status: Option<u16>,
    finished: bool,
}

/// How the exchange ended, before timeouts and cancels are considered.
type Outcome = Result<(), String>;

impl Sender {
    fn route(&self) -> &'static str {
        match self.target.api {
            Api::Chat => "/v1/chat/completions",
            Api::Completions => "/v1/completions",
        }
    }

    fn body(&self, r: &PlannedRequest) -> Value {
        let prompt = crate::prompt::of(&self.schedule, r);
        let mut body = match (self.target.api, prompt) {
            (Api::Chat, crate::prompt::Prompt::Messages(m)) => {
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
            body["stream_options"] = json!({"include_usage": true});
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

    /// Sends `r` now and waits for its response, the timeout, or `stop`.
    pub async fn execute(
        &self,
        r: &PlannedRequest,
        scheduled_ns: Option<u64>,
        clock: &Clock,
        mut stop: watch::Receiver<bool>,
    ) -> (RequestRow, Vec<ChunkRow>) {
        let body = self.body(r).to_string();
        let mut progress = Progress::default();
        let sent_ns = clock.now();
        let outcome = {
            let exchange = self.exchange(r.id, body, clock, &mut progress);
            tokio::select! {
                o = tokio::time::timeout(self.timeout, exchange) => o.ok(),
                _ = stop.wait_for(|s| *s) => Some(Err("cancelled".into())),
            }
        };
        let done_ns = clock.now();
        let cancelled = *stop.borrow();
        let (status, error) = match outcome {
            Some(Ok(())) => (Status::Ok, None),
            Some(Err(_)) if cancelled && !progress.finished => (
                Status::Cancelled,
                Some("the run was interrupted".to_string()),
            ),
            Some(Err(e)) => (Status::Error, Some(e)),
            None => (
                Status::Timeout,
                Some(format!("no complete response within {:?}", self.timeout)),
            ),
        };
        let counted: u32 = progress.chunks.iter().map(|c| c.tokens).sum();
        let row = RequestRow {
            request_id: r.id,
            phase: r.phase,
            step: r.step,
            class: r.class,
            scheduled_ns,
            sent_ns,
            first_token_ns: progress.first_token_ns,
            last_token_ns: progress.last_token_ns,
            done_ns,
            input_tokens: r.input_tokens,
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
        };
        (row, progress.chunks)
    }

    async fn exchange(&self, id: u64, body: String, clock: &Clock, p: &mut Progress) -> Outcome {
        let auth = self.api_key.as_ref().map(|k| format!("Bearer {k}"));
        let request_id = id.to_string();
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/json"),
            ("x-request-id", &request_id),
        ];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        for (k, v) in &self.target.headers {
            headers.push((k.as_str(), v.as_str()));
        }
        let (resp, lease) = self
            .http
            .send(
                hyper::Method::POST,
                self.route(),
                &headers,
                Bytes::from(body),
            )
            .await
            .map_err(|e| short(&e))?;
        let status = resp.status();
        p.http_status = Some(status.as_u16());
        let mut body = resp.into_body();
        if !status.is_success() {
            let text = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(short(&format!(
                "HTTP {}: {}",
                status.as_u16(),
                String::from_utf8_lossy(&text).trim()
            )));
        }
        if !self.target.stream {
            let bytes = body
                .collect()
                .await
                .map_err(|e| short(&format!("response broken: {}", describe(&e))))?
                .to_bytes();
            self.http.release(lease);
            let at = clock.now();
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| short(&format!("response is not valid JSON: {e}")))?;
            let text = content(&v);
            read_usage(&v, p);
            if !text.is_empty() {
                p.first_token_ns = Some(at);
                p.last_token_ns = Some(at);
                let tokens = p.usage_output.unwrap_or(1);
                p.chunks.push(ChunkRow {
                    request_id: id,
                    seq: 0,
                    at_ns: at,
                    tokens,
                    bytes: text.len() as u32,
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
        let mut parser = SseParser::new();
        let mut st = StreamState::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| short(&format!("stream broken: {}", describe(&e))))?;
            let Ok(bytes) = frame.into_data() else {
                continue;
            };
            let at = clock.now();
            parser.feed(&bytes, |data| on_event(id, data, at, p, &mut st));
            if st.failure.is_some() || st.done {
                break;
            }
        }
        if st.failure.is_none() && !st.done {
            let at = clock.now();
            parser.finish(|data| on_event(id, data, at, p, &mut st));
        }
        let (failure, done) = (st.failure, st.done);
        if let Some(f) = failure {
            return Err(f);
        }
        if done {
            // Read what follows [DONE] (normally nothing) so the connection can be reused.
            if body.collect().await.is_ok() {
                self.http.release(lease);
            }
            Ok(())
        } else if p.finished {
            self.http.release(lease);
            Ok(())
        } else {
            Err("stream ended before a finish_reason or [DONE]".into())
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
}

/// Handles one SSE event's data.
fn on_event(id: u64, data: &[u8], at: u64, p: &mut Progress, st: &mut StreamState) {
    if st.failure.is_some() || st.done {
        return;
    }
    let (failure, done, last_usage) = (&mut st.failure, &mut st.done, &mut st.last_usage);
    if data.trim_ascii() == b"[DONE]" {
        *done = true;
        return;
    }
    // A typed, borrowing parse: only the fields used, no allocation for the text.
    let v: StreamChunk = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(_) => {
            *failure = Some(short(&format!(
                "invalid JSON in SSE data: {}",
                String::from_utf8_lossy(data)
            )));
            return;
        }
    };
    if let Some(err) = &v.error {
        *failure = Some(short(&format!("server error in stream: {err}")));
        return;
    }
    let before = *last_usage;
    if let Some(u) = &v.usage {
        if let Some(x) = u.prompt_tokens {
            p.prompt_tokens = Some(x as u32);
        }
        if let Some(x) = u.completion_tokens {
            p.usage_output = Some(x as u32);
            *last_usage = Some(x as u32);
        }
    }
    let choice = v.choices.first();
    let text = choice.and_then(|c| {
        let delta = c.delta.as_ref();
        let t = delta
            .and_then(|d| d.content.as_deref())
            .or(c.text.as_deref())
            .unwrap_or("");
        if t.is_empty() {
            delta.and_then(|d| d.reasoning_content.as_deref())
        } else {
            Some(t)
        }
    });
    if let Some(text) = text {
        if !text.is_empty() {
            // Per-chunk usage (continuous usage stats) tells how many tokens this chunk held.
            let tokens = match (before, *last_usage) {
                (Some(b), Some(a)) if a > b => a - b,
                (None, Some(a)) if a > 0 && p.chunks.is_empty() => a,
                _ => 1,
            };
            if p.first_token_ns.is_none() {
                p.first_token_ns = Some(at);
            }
            p.last_token_ns = Some(at);
            let seq = p.chunks.len() as u32;
            p.chunks.push(ChunkRow {
                request_id: id,
                seq,
                at_ns: at,
                tokens,
                bytes: text.len() as u32,
            });
        }
    }
    if choice.is_some_and(|c| c.finish_reason.is_some()) {
        p.finished = true;
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
}

#[derive(serde::Deserialize)]
struct StreamUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

/// Generated text of a whole (non-streamed) response: `message.content` or `text`.
fn content(v: &Value) -> String {
    let Some(choice) = v.pointer("/choices/0") else {
        return String::new();
    };
    let text = choice
        .pointer("/message/content")
        .or_else(|| choice.get("text"));
    let out = text.and_then(Value::as_str).unwrap_or("");
    if out.is_empty() {
        // Reasoning models return their thinking separately; it is generated text too.
        choice
            .pointer("/message/reasoning_content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    } else {
        out.to_string()
    }
}

fn read_usage(v: &Value, p: &mut Progress) {
    if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
        if let Some(x) = u.get("prompt_tokens").and_then(Value::as_u64) {
            p.prompt_tokens = Some(x as u32);
        }
        if let Some(x) = u.get("completion_tokens").and_then(Value::as_u64) {
            p.usage_output = Some(x as u32);
        }
    }
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
