//! One HTTP exchange of a request: the headers, the send (at most twice, by the pool's resend
//! rule), the status, and the body read whole or as a stream, every byte stamped on arrival.

use std::time::Duration;

use super::failure::Failure;
use super::progress::Progress;
use super::stream::StreamReader;
use super::Sender;
use crate::engine::wire::clock::Clock;
use crate::engine::wire::http::{Response, ResponseBody};
use crate::rundir::record::{ChunkRow, ErrorKind};

/// At most this much of an error body is read.
const ERROR_BODY_BYTES: usize = 16 * 1024;
/// At most this much of a non-streamed response body is read.
const WHOLE_BODY_BYTES: usize = 64 << 20;
/// How long the body's end may take to follow the end marker before the connection is given
/// up.
const AFTER_DONE: Duration = Duration::from_millis(100);

/// How the exchange ended, before timeouts and cancels are considered.
pub type Outcome = Result<(), Failure>;

impl Sender {
    /// The headers every request carries: the body's type, the request id, the dialect's
    /// (the key, and any its API requires, unless the workload sets that header itself), the
    /// workload's headers and the secret ones.
    pub fn headers<'a>(
        &'a self,
        uuid: &'a str,
        auth: &'a [(&'static str, String)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(h) = &self.target.request_id_header {
            headers.push((h.as_str(), uuid));
        }
        let ours = self.target.headers.iter().chain(&self.secret_headers);
        for (k, v) in auth {
            if !ours.clone().any(|(n, _)| n.eq_ignore_ascii_case(k)) {
                headers.push((k, v.as_str()));
            }
        }
        for (k, v) in ours {
            headers.push((k.as_str(), v.as_str()));
        }
        headers
    }

    pub(super) async fn exchange(
        &self,
        r: &crate::schedule::PlannedRequest,
        uuid: &str,
        body: String,
        clock: &Clock,
        sent_ns: u64,
        p: &mut Progress,
    ) -> Outcome {
        let dialect = self.dialect(r);
        let auth = self.auth(self.schedule.api_of(r));
        let headers = self.headers(uuid, &auth);
        let sent = match self
            .replica(r)
            .http
            .send(
                hyper::Method::POST,
                dialect.route(),
                &headers,
                body.as_bytes(),
            )
            .await
        {
            Ok(sent) => sent,
            Err(e) => {
                p.written_ns = e.written_at.map(|t| clock.ns_of(t));
                p.setup = e.setup;
                // Whether the connection was new or pooled, it was had: the row says which.
                p.conn_reused = e.reused;
                return Err(Failure::new(e.kind, e.message));
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
                    .and_then(|v| {
                        crate::engine::wire::retry_after::parse(v, std::time::SystemTime::now())
                    });
            }
            let (mut message, body) = http_error(resp).await;
            if matches!(status.as_u16(), 404 | 501) {
                let api = self.schedule.api_of(r);
                message = format!(
                    "{} does not answer {message}: this server may not serve api = {} — set the class's (or the target's) api to one it serves",
                    dialect.route(),
                    api.as_str()
                );
            }
            // Read to its end, the error's connection can serve the next request (a storm of
            // 429s must not become a storm of new connections).
            self.replica(r).http.release(body);
            return Err(Failure::new(ErrorKind::HttpStatus, message));
        }
        if let Some(enc) = resp
            .headers
            .get(hyper::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().eq_ignore_ascii_case("identity"))
        {
            // llmw asks for no encoding (it sends no Accept-Encoding); it does not decode one.
            return Err(Failure::new(ErrorKind::Protocol, format!(
                "the server encoded the response (content-encoding: {enc}), which llmw does not decode; turn compression off for this route"
            )));
        }
        if self.streams(r) {
            self.read_stream(r, resp.body, clock, floor, p).await
        } else {
            self.read_whole(r, resp.body, clock, floor, p).await
        }
    }

    /// A non-streamed answer: one chunk of answer (and one of reasoning, if any), both at the
    /// time its last bytes arrived.
    async fn read_whole(
        &self,
        r: &crate::schedule::PlannedRequest,
        mut body: ResponseBody,
        clock: &Clock,
        floor: u64,
        p: &mut Progress,
    ) -> Outcome {
        let bytes = body
            .read_to_end(WHOLE_BODY_BYTES)
            .await
            .map_err(|e| Failure::new(ErrorKind::Stream, format!("response broken: {e}")))?;
        // When the body's last bytes arrived (by the kernel's stamp, `arrival.rs`).
        let at = clock.arrival(body.arrived_unix_ns()).max(floor);
        p.done_ns = Some(at);
        self.replica(r).http.release(body);
        let id = r.id;
        let w = self.dialect(r).whole(&bytes).map_err(|e| {
            Failure::new(
                ErrorKind::Decode,
                format!("response is not valid JSON: {e}"),
            )
        })?;
        p.note_usage(&w.usage);
        p.finish_reason = w.finish_reason;
        // A tool call's arguments are output as an answer's text is.
        let answer_bytes = w.answer.len() + w.tool_arguments.len();
        if w.tool_calls > 0 || p.tools_offered {
            p.tool_calls = Some(w.tool_calls);
        }
        if w.tool_calls > 0 {
            p.first_tool_ns = Some(at);
        }
        if answer_bytes > 0 || !w.reasoning.is_empty() {
            p.first_token_ns = Some(at);
            p.last_token_ns = Some(at);
        }
        let total = p.usage_output.unwrap_or(1);
        if !w.reasoning.is_empty() {
            // Without a reasoning count (the Messages API reports none), the output's share
            // of reasoning bytes, leaving the answer at least one token.
            let tokens = p.usage_reasoning.unwrap_or_else(|| {
                let (r, a) = (w.reasoning.len() as f64, answer_bytes as f64);
                let share = (total as f64 * r / (r + a)).round() as u32;
                match answer_bytes == 0 {
                    true => total,
                    false => share.clamp(1, total.saturating_sub(1).max(1)),
                }
            });
            p.chunks.push(ChunkRow {
                request_id: id,
                seq: 0,
                at_ns: at,
                tokens,
                bytes: w.reasoning.len() as u32,
                reasoning: true,
            });
        }
        if let Some(keep) = &mut p.reply {
            keep.push_str(&w.answer);
        }
        if answer_bytes > 0 {
            p.first_content_ns = Some(at);
            let before = p.counted();
            p.chunks.push(ChunkRow {
                request_id: id,
                seq: p.chunks.len() as u32,
                at_ns: at,
                tokens: total.saturating_sub(before).max(1),
                bytes: answer_bytes as u32,
                reasoning: false,
            });
        }
        p.finished = w.finished;
        if p.finished {
            Ok(())
        } else {
            Err(Failure::new(
                ErrorKind::Decode,
                "response has no finish_reason",
            ))
        }
    }

    /// A streamed answer, one network read at a time.
    async fn read_stream(
        &self,
        r: &crate::schedule::PlannedRequest,
        mut body: ResponseBody,
        clock: &Clock,
        floor: u64,
        p: &mut Progress,
    ) -> Outcome {
        let mut reader = StreamReader::new(r.id, r.output_tokens, self.dialect(r));
        let broken = |e: crate::engine::wire::h1::WireError| {
            Failure::new(ErrorKind::Stream, format!("stream broken: {e}"))
        };
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
            return Err(Failure::new(ErrorKind::Stream, format!(
                "the stream ended ([DONE]) without a finish_reason after {} chunks: the server stopped generating",
                p.chunks.len()
            )));
        }
        if done {
            // What follows [DONE] is normally the body's end, already here: then the connection
            // can be reused. A server that holds the stream open after [DONE] is not waited for
            // (the answer is complete); its connection is dropped.
            let rest = tokio::time::timeout(AFTER_DONE, body.read_to_end(ERROR_BODY_BYTES)).await;
            if matches!(rest, Ok(Ok(_))) {
                self.replica(r).http.release(body);
            }
            Ok(())
        } else if p.finished {
            self.replica(r).http.release(body);
            Ok(())
        } else {
            Err(Failure::new(
                ErrorKind::Stream,
                "stream ended before a finish_reason or [DONE]",
            ))
        }
    }
}

/// An HTTP error response described even when its body is empty: status code and reason
/// phrase, the headers that explain it, and the start of the body; and the body, to give back.
async fn http_error(resp: Response) -> (String, ResponseBody) {
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
        // Whole (read_prefix bounds it): the recorded words are redacted, then shortened.
        msg.push_str(text);
    }
    (msg, body)
}
