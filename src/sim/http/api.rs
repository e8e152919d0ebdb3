//! The seam between the simulator and the APIs it speaks. An API is one file beside this one
//! (`openai.rs`) and owns its whole wire format: which methods and paths it answers
//! ([`Routes`]), how a request's body says what it asks for ([`Read`] → [`Ask`]), and how the
//! answer is written, streamed or whole ([`Writer`]). Everything else — the connection rules,
//! the output length, faults, the batcher's job, tokens per chunk, reasoning before the answer,
//! interrupts and the server's timings — is the simulator's, the same for every API.
//!
//! To add an API: a file with its `route` function, its readers and its writer, and that
//! `route` in `routes::APIS`.

use hyper::Method;
use serde_json::Value;

use super::reply::Reply;

/// What a completion request asks for, however its API spells it.
pub(super) struct Ask {
    /// The prompt's words (every message's text, or the prompt's).
    pub(super) words: Vec<String>,
    /// A conversation of messages: the chat template's tokens are added to the prompt, and the
    /// answer may begin with reasoning.
    pub(super) chat: bool,
    /// At most this many tokens.
    pub(super) max_tokens: u32,
    /// Exactly `max_tokens`, never a natural end before (`ignore_eos`, `min_tokens`).
    pub(super) exact: bool,
    /// Server-sent events, or one body.
    pub(super) stream: bool,
    /// How the answer is written, with what the request chose of its API's options.
    pub(super) writer: Box<dyn Writer>,
    /// The first tool the request offers, if it offers any and allows a call.
    pub(super) tool: Option<String>,
}

/// Reads completion request `n`'s body: what it asks for, or a 400's message.
pub(super) type Read = fn(body: &Value, n: u64) -> Result<Ask, String>;

/// What an API answers one method and path with.
pub(super) enum Route {
    /// This JSON at once, given the server's model names, its own first (`GET /v1/models`).
    Json(fn(models: &[&str]) -> Value),
    /// A completion, its body read by this.
    Complete(Read),
    /// A batch of inputs embedded (`embeddings.rs`): no generation, no stream.
    Embed,
}

/// One API's routes: what it answers `method` on `path` (a trailing `/` taken off) with, if it
/// answers it at all.
pub(super) type Routes = fn(method: &Method, path: &str) -> Option<Route>;

/// One answer in one API's wire format. A stream is `start`, `text` for each chunk, then
/// `finish` (or `abandon`), each appending its server-sent events to `out`; a whole answer is
/// `whole` alone. `generated` counts the tokens generated so far, `reply` holds the counts
/// (its `cached` as the batcher last said).
pub(super) trait Writer: Send {
    /// The answer is a call of tool `name`, not text: the answer's tokens are its arguments
    /// (an API without tools ignores it).
    fn call(&mut self, name: &str) {
        let _ = name;
    }
    /// Before the first token (OpenAI's chat: the role chunk); nothing is sent if it writes
    /// nothing.
    fn start(&mut self, reply: &Reply, out: &mut String);
    /// Some tokens' text, all reasoning or all answer.
    fn text(
        &mut self,
        reply: &Reply,
        text: &str,
        reasoning: bool,
        generated: u32,
        out: &mut String,
    );
    /// The end: `stopped` at a natural end (else at the length limit), with usage and the
    /// stream's last event.
    fn finish(&mut self, reply: &Reply, stopped: bool, generated: u32, out: &mut String);
    /// The end of a stream given up for a newer request (`interrupt_on_new_request`).
    fn abandon(&mut self, reply: &Reply, out: &mut String);
    /// The `malformed` fault: an event no client can parse, sent mid-stream.
    fn malformed(&mut self, out: &mut String);
    /// The whole answer, not streamed: the reasoning `thinking`, then `answer`.
    fn whole(
        &self,
        reply: &Reply,
        answer: &str,
        thinking: &str,
        stopped: bool,
        generated: u32,
    ) -> Value;
}
