//! Reading a streamed answer: the SSE parser, each event decoded by the request's dialect,
//! every chunk with text a [`ChunkRow`] at the time its network read arrived, and the rules
//! that make a stream a failure (a chunk flood, an error event, data that is not the API's).

use std::borrow::Cow;

use super::failure::{short, Failure};
use super::progress::Progress;
use crate::engine::dialect::{self, Dialect, Event};
use crate::engine::wire::sse::SseParser;
use crate::rundir::record::{ChunkRow, ErrorKind};
use crate::schedule::Api;

/// A streamed response being read: the SSE parser and where the stream stands.
pub struct StreamReader {
    id: u64,
    dialect: &'static dyn Dialect,
    parser: SseParser,
    pub st: StreamState,
}

/// Where a stream stands between events.
#[derive(Default)]
pub struct StreamState {
    pub failure: Option<Failure>,
    pub done: bool,
    /// The last output-token total seen (per-chunk usage gives tokens per chunk).
    last_usage: Option<u32>,
    /// More chunks than this for the request's `max_tokens` is a server gone wrong.
    chunk_limit: usize,
}

/// Chunks allowed for `max_tokens`: each chunk should carry at least one token; role, usage and
/// empty keep-alive chunks get generous room.
fn chunk_limit(max_tokens: u32) -> usize {
    4 * max_tokens as usize + 64
}

impl StreamReader {
    pub fn new(id: u64, max_tokens: u32, dialect: &'static dyn Dialect) -> StreamReader {
        StreamReader {
            id,
            dialect,
            parser: SseParser::new(),
            st: StreamState {
                chunk_limit: chunk_limit(max_tokens),
                ..StreamState::default()
            },
        }
    }

    /// Takes one network read that arrived at `at`; true once no more is wanted (a failure
    /// or the end marker). An oversized line or event is an error.
    pub fn read(&mut self, bytes: &[u8], at: u64, p: &mut Progress) -> Result<bool, Failure> {
        let (id, dialect, st) = (self.id, self.dialect, &mut self.st);
        self.parser
            .feed(bytes, |data| on_event(id, dialect, data, at, p, st))
            .map_err(|e| Failure::new(ErrorKind::Stream, format!("stream broken: {e}")))?;
        Ok(self.st.failure.is_some() || self.st.done)
    }

    /// At the end of the body: an event not closed by a blank line still counts.
    pub fn end(&mut self, at: u64, p: &mut Progress) {
        if self.st.failure.is_none() && !self.st.done {
            let (id, dialect, st) = (self.id, self.dialect, &mut self.st);
            self.parser
                .finish(|data| on_event(id, dialect, data, at, p, st));
        }
    }
}

/// Handles one SSE event's data.
fn on_event(
    id: u64,
    dialect: &dyn Dialect,
    data: &[u8],
    at: u64,
    p: &mut Progress,
    st: &mut StreamState,
) {
    if st.failure.is_some() || st.done {
        return;
    }
    let (answer, reasoning, usage, finish, tool) = match dialect.event(data) {
        Ok(Event::End) => {
            st.done = true;
            return;
        }
        Ok(Event::Finish { usage, reason }) => {
            p.note_usage(&usage);
            p.finished = true;
            p.finish_reason = Some(reason.into_owned());
            st.done = true;
            return;
        }
        Ok(Event::Error(err)) => {
            st.failure = Some(Failure::new(
                ErrorKind::Stream,
                format!("server error in stream: {err}"),
            ));
            return;
        }
        Ok(Event::Delta {
            answer,
            reasoning,
            usage,
            finish,
        }) => (answer, reasoning, usage, finish, false),
        Ok(Event::Tool {
            arguments,
            started,
            usage,
            finish,
        }) => {
            // A tool call is generated output: its arguments' pieces are chunks of the
            // answer, its start the first tool-call byte.
            *p.tool_calls.get_or_insert(0) += u32::from(started);
            if started || !arguments.is_empty() {
                p.first_tool_ns.get_or_insert(at);
            }
            (arguments, Cow::Borrowed(""), usage, finish, true)
        }
        Err(_) => {
            st.failure = Some(Failure::new(
                ErrorKind::Decode,
                short(&format!(
                    "invalid JSON in SSE data: {}",
                    String::from_utf8_lossy(data)
                )),
            ));
            return;
        }
    };
    let before = st.last_usage;
    p.note_usage(&usage);
    if usage.output.is_some() {
        st.last_usage = usage.output;
    }
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
        // A conversation's live history keeps the answer's text, not a call's arguments.
        if let (Some(keep), true, false) = (&mut p.reply, is_answer, tool) {
            keep.push_str(&answer);
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
            st.failure = Some(Failure::new(
                ErrorKind::Stream,
                format!(
                    "the server sent more than {} chunks of text for max_tokens {}",
                    st.chunk_limit,
                    (st.chunk_limit - 64) / 4
                ),
            ));
        }
    }
    if let Some(reason) = finish {
        p.finished = true;
        p.finish_reason = Some(reason.into_owned());
    }
}

/// Feeds a recorded response stream of `api`, split into network reads as `reads`, through the
/// same SSE parser and event handling a live request uses (for fuzzing and tests); returns the
/// chunk rows and the failure's words, if any.
pub fn replay_stream(
    api: Api,
    reads: &[&[u8]],
    max_tokens: u32,
) -> (Vec<ChunkRow>, Option<String>) {
    let mut p = Progress::default();
    let mut reader = StreamReader::new(0, max_tokens, dialect::of(api));
    for (i, bytes) in reads.iter().enumerate() {
        match reader.read(bytes, i as u64, &mut p) {
            Ok(false) => {}
            Ok(true) => break,
            Err(e) => return (p.chunks, Some(e.message)),
        }
    }
    reader.end(u64::MAX, &mut p);
    (p.chunks, reader.st.failure.map(|f| f.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorded llama.cpp stream (tests/fixtures/tool-calls/), fed in one read.
    fn read(api: Api, body: &[u8]) -> (Progress, Option<Failure>) {
        let mut p = Progress::default();
        let mut reader = StreamReader::new(0, 256, dialect::of(api));
        let _ = reader.read(body, 7, &mut p);
        reader.end(8, &mut p);
        (p, reader.st.failure)
    }

    #[test]
    fn a_tool_call_is_read_in_every_api_as_output_with_its_first_byte() {
        let fixtures: [(Api, &[u8], &str); 3] = [
            (
                Api::Chat,
                include_bytes!("../../../tests/fixtures/tool-calls/chat_required.sse"),
                "tool_calls",
            ),
            (
                Api::Responses,
                include_bytes!("../../../tests/fixtures/tool-calls/resp_required.sse"),
                "completed",
            ),
            (
                Api::Messages,
                include_bytes!("../../../tests/fixtures/tool-calls/msg_any.sse"),
                "tool_use",
            ),
        ];
        for (api, body, reason) in fixtures {
            let (p, failure) = read(api, body);
            assert!(
                failure.is_none(),
                "{api:?}: {:?}",
                failure.map(|f| f.message)
            );
            assert_eq!(p.tool_calls, Some(1), "{api:?}");
            assert_eq!(p.first_tool_ns, Some(7), "{api:?}");
            assert!(
                !p.chunks.is_empty() && p.chunks.iter().all(|c| !c.reasoning),
                "{api:?}"
            );
            assert_eq!(p.first_token_ns, Some(7), "{api:?}");
            assert_eq!(p.finish_reason.as_deref(), Some(reason), "{api:?}");
            assert!(p.finished, "{api:?}");
        }
    }
}
