//! What a response told us so far: it survives a timeout, a cut or a cancel, so a request
//! that did not finish still records the chunks and stamps it got.

use crate::engine::dialect::Usage;
use crate::engine::wire::http::Setup;
use crate::rundir::record::ChunkRow;

#[derive(Default)]
pub struct Progress {
    pub chunks: Vec<ChunkRow>,
    pub first_token_ns: Option<u64>,
    pub first_content_ns: Option<u64>,
    pub last_token_ns: Option<u64>,
    pub prompt_tokens: Option<u32>,
    pub usage_output: Option<u32>,
    pub usage_reasoning: Option<u32>,
    pub cached_tokens: Option<u32>,
    pub http_status: Option<u16>,
    pub finish_reason: Option<String>,
    pub conn_reused: Option<bool>,
    pub resent: bool,
    /// When the request's first byte was written (the one that got the response, if it was
    /// sent again); `None` when it never reached a connection.
    pub written_ns: Option<u64>,
    /// How the connection it went out on was opened (`None`: taken from the pool).
    pub setup: Option<Setup>,
    /// When the end marker arrived (what follows it is not waited for).
    pub done_ns: Option<u64>,
    pub finished: bool,
    /// No event of the stream was a failure (set false on the first one).
    pub failure_free: bool,
    /// The answer's text, kept when the caller asked for it (`history = live`).
    pub reply: Option<String>,
    /// A 429's or 503's `Retry-After`.
    pub retry_after: Option<std::time::Duration>,
    /// The request offered tools: its row counts the calls (0 when none came).
    pub tools_offered: bool,
    /// Tool calls begun in the answer, and when the first one's first byte arrived.
    pub tool_calls: Option<u32>,
    pub first_tool_ns: Option<u64>,
}

impl Progress {
    /// Takes what a usage report says (a later report replaces an earlier one's counts).
    pub fn note_usage(&mut self, u: &Usage) {
        self.prompt_tokens = u.prompt.or(self.prompt_tokens);
        self.usage_output = u.output.or(self.usage_output);
        self.cached_tokens = u.cached.or(self.cached_tokens);
        self.usage_reasoning = u.reasoning.or(self.usage_reasoning);
        if self.cached_tokens.is_none() {
            self.cached_tokens = u.cached_hint;
        }
    }

    /// The output tokens counted from the chunks.
    pub fn counted(&self) -> u32 {
        self.chunks.iter().map(|c| c.tokens).sum()
    }
}
