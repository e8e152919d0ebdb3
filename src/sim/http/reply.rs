//! What a completion answers with, whatever API it came through: the answer's token counts as
//! the batcher reports them ([`Reply`]) and the text of each token. A leaf but for `timing`.

use super::timing::{Origin, Timings};

/// One answer being generated: its counts, and for a stream where the request came from and
/// where its timing goes.
pub(super) struct Reply {
    pub(super) origin: Origin,
    pub(super) timings: Option<Timings>,
    /// The server's model name, which every answer carries.
    pub(super) model: String,
    pub(super) prompt_tokens: u32,
    pub(super) output_tokens: u32,
    /// The first this-many tokens are reasoning (chat only).
    pub(super) reasoning: u32,
    /// Tokens per streamed chunk.
    pub(super) per_chunk: u32,
    /// Prompt tokens that came from the prefix cache.
    pub(super) cached: u32,
}

/// The text of token `i`: a word, so that every chunk carries visible text.
pub(super) fn token_text(i: u32) -> &'static str {
    const T: [&str; 8] = [
        " the", " model", " says", " hello", " and", " then", " more", " words",
    ];
    T[i as usize % T.len()]
}
