//! Synthesized prompts: text whose token count under common BPE tokenizers is close to the
//! requested length, deterministic per request, with identical text for every request of one
//! prefix group.
//!
//! Each word below (with its leading space) is a single token in the GPT-2, Llama 3, Qwen,
//! Mistral and SmolLM vocabularies, so a prompt of N words is close to N tokens. The measured
//! deviation is in docs/prompts.md.

mod conversation;
mod tools;

pub use conversation::{conversation, Reply};
pub use tools::{tools, Tool};

use crate::rng::{key, Rng};
use crate::schedule::PlannedRequest;

const WORDS: [&str; 96] = [
    " the",
    " of",
    " and",
    " to",
    " in",
    " is",
    " that",
    " for",
    " it",
    " as",
    " was",
    " with",
    " be",
    " by",
    " on",
    " not",
    " he",
    " this",
    " are",
    " or",
    " his",
    " from",
    " at",
    " which",
    " but",
    " have",
    " an",
    " had",
    " they",
    " you",
    " were",
    " their",
    " one",
    " all",
    " we",
    " can",
    " her",
    " has",
    " there",
    " been",
    " if",
    " more",
    " when",
    " will",
    " would",
    " who",
    " so",
    " no",
    " time",
    " people",
    " year",
    " way",
    " day",
    " man",
    " thing",
    " woman",
    " life",
    " child",
    " world",
    " school",
    " state",
    " family",
    " student",
    " group",
    " country",
    " problem",
    " hand",
    " part",
    " place",
    " case",
    " week",
    " company",
    " system",
    " program",
    " question",
    " work",
    " government",
    " number",
    " night",
    " point",
    " home",
    " water",
    " room",
    " mother",
    " area",
    " money",
    " story",
    " fact",
    " month",
    " lot",
    " right",
    " study",
    " book",
    " eye",
    " job",
    " word",
];

/// Stream tag for prompt text, distinct from the schedule's own streams.
pub(crate) const PROMPT_TEXT: u64 = 3;

pub(crate) fn words(rng: &mut Rng, n: u32, out: &mut String) {
    for _ in 0..n {
        out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
}

/// The shared text of prefix group `group` of `tokens` words (a class's `prefix`, a session's
/// `system`): the same for every request of the group.
pub(crate) fn prefix_words(seed: u64, group: u32, tokens: u32, out: &mut String) {
    let mut rng = Rng::new(key(&[seed, PROMPT_TEXT, 0, tokens as u64, group as u64]));
    words(&mut rng, tokens, out);
}

/// `n` words of synthesized text for a calibration probe (the same for every run).
pub fn probe_text(n: u32) -> String {
    let mut rng = Rng::new(key(&[0, PROMPT_TEXT, 4, n as u64]));
    let mut out = String::with_capacity(n as usize * 7);
    words(&mut rng, n, &mut out);
    out.trim_start().to_string()
}

/// What a request sends: text, or (from a chat dataset) a `messages` array, or a conversation's
/// messages (system, then user and assistant turns, then the new user text).
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Text(String),
    Messages(serde_json::Value),
    /// A conversation: as text (completions) its contents are joined by a space, so the text is
    /// exactly its words and each turn's text begins with the previous turn's prompt and reply.
    Conversation(serde_json::Value),
    /// An embeddings request's inputs.
    Batch(Vec<String>),
}

impl Prompt {
    /// As a JSON value: a string or the messages array.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Prompt::Text(t) => serde_json::Value::String(t.clone()),
            Prompt::Messages(m) | Prompt::Conversation(m) => m.clone(),
            Prompt::Batch(b) => serde_json::json!(b),
        }
    }

    /// As one text (a dataset's message contents joined by newlines, a conversation's by a
    /// space), for the completions API.
    pub fn text(&self) -> String {
        let join = |m: &serde_json::Value, by: &str| {
            m.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.get("content").and_then(serde_json::Value::as_str))
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join(by)
        };
        match self {
            Prompt::Text(t) => t.clone(),
            Prompt::Messages(m) => join(m, "\n"),
            Prompt::Conversation(m) => join(m, " "),
            Prompt::Batch(b) => b.join("\n"),
        }
    }
}

/// `n` words of a conversation's text: purpose 1 is a turn's user text (the request's own words,
/// as for any request), 5 its planned reply.
pub(crate) fn turn_words(seed: u64, purpose: u64, id: u64, n: u32) -> String {
    let mut rng = Rng::new(key(&[seed, PROMPT_TEXT, purpose, id]));
    let mut out = String::with_capacity(n as usize * 7);
    words(&mut rng, n, &mut out);
    out.trim_start().to_string()
}

/// The `n` inputs of an embeddings request, `input_tokens / n` words each (input k's words
/// from the request's id and k, purposes 1000 on: every input differs, and a rerun sends the same).
fn batch(seed: u64, r: &PlannedRequest, n: u32) -> Vec<String> {
    let each = (r.input_tokens / n.max(1)).max(1);
    (0..n as u64)
        .map(|k| turn_words(seed, 1_000 + k, r.id, each))
        .collect()
}

/// The prompt of a request: its dataset entry when it has one, an embeddings batch's inputs,
/// else synthesized text.
pub fn of(schedule: &crate::schedule::Schedule, r: &PlannedRequest) -> Prompt {
    if let Some(n) = r.inputs.filter(|_| r.prompt.is_none()) {
        return Prompt::Batch(batch(schedule.seed, r, n));
    }
    match r.prompt.and_then(|i| schedule.prompts.get(i as usize)) {
        Some(serde_json::Value::String(s)) => Prompt::Text(s.clone()),
        Some(m) => Prompt::Messages(m.clone()),
        None => Prompt::Text(for_request(schedule, r)),
    }
}

/// The prompt of a request with its synthesized text `by` tokens shorter than planned (the chat
/// template's overhead, so the server counts the planned `input`); dataset prompts are sent as
/// they are. The prefix group's shared text is kept whole while the request has room for it.
pub fn of_shortened(schedule: &crate::schedule::Schedule, r: &PlannedRequest, by: u32) -> Prompt {
    if by == 0 || r.prompt.is_some() {
        return of(schedule, r);
    }
    let mut short = *r;
    short.input_tokens = r.input_tokens.saturating_sub(by).max(1);
    short.prefix_tokens = r.prefix_tokens.min(short.input_tokens);
    of(schedule, &short)
}

/// The prompt of a request of `schedule`: for replayed Mooncake requests, one run of words per
/// prefix block (the same block id gives the same words, so shared leading blocks give
/// byte-identical prefixes); otherwise [`prompt`].
pub fn for_request(schedule: &crate::schedule::Schedule, r: &PlannedRequest) -> String {
    let Some(list) = r.blocks.and_then(|i| schedule.blocks.get(i as usize)) else {
        return prompt(schedule.seed, r);
    };
    let size = schedule.block_tokens.max(1);
    let mut out = String::with_capacity(r.input_tokens as usize * 7);
    let mut left = r.input_tokens;
    for block in list {
        if left == 0 {
            break;
        }
        let n = left.min(size);
        let mut rng = Rng::new(key(&[schedule.seed, PROMPT_TEXT, 2, *block]));
        words(&mut rng, n, &mut out);
        left -= n;
    }
    let mut rng = Rng::new(key(&[schedule.seed, PROMPT_TEXT, 1, r.id]));
    words(&mut rng, left, &mut out);
    out.trim_start().to_string()
}

/// The prompt of one planned request: its prefix group's shared text, then its own words.
pub fn prompt(seed: u64, r: &PlannedRequest) -> String {
    let mut out = String::with_capacity(r.input_tokens as usize * 7);
    if let Some(group) = r.prefix_group {
        prefix_words(seed, group, r.prefix_tokens, &mut out);
    }
    let mut rng = Rng::new(key(&[seed, PROMPT_TEXT, 1, r.id]));
    words(
        &mut rng,
        r.input_tokens.saturating_sub(r.prefix_tokens),
        &mut out,
    );
    // Leading space is part of each token; the text itself starts without one.
    out.trim_start().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: u64, input: u32, group: Option<u32>, prefix: u32) -> PlannedRequest {
        PlannedRequest {
            id,
            phase: 0,
            step: 0,
            class: 0,
            at_ns: None,
            input_tokens: input,
            output_tokens: 1,
            prefix_group: group,
            prefix_tokens: prefix,
            think_ns: None,
            blocks: None,
            recorded: None,
            prompt: None,
            inputs: None,
            session: None,
        }
    }

    #[test]
    fn word_count_matches_the_requested_length() {
        let p = prompt(1, &req(5, 300, None, 0));
        assert_eq!(p.split_whitespace().count(), 300);
        assert_eq!(prompt(1, &req(5, 300, None, 0)), p, "deterministic");
        assert_ne!(prompt(1, &req(6, 300, None, 0)), p, "per request");
    }

    #[test]
    fn one_prefix_group_shares_its_text_exactly() {
        let a = prompt(1, &req(1, 100, Some(2), 64));
        let b = prompt(1, &req(2, 120, Some(2), 64));
        let c = prompt(1, &req(3, 100, Some(3), 64));
        let head = |s: &str| s.split_whitespace().take(64).collect::<Vec<_>>().join(" ");
        assert_eq!(head(&a), head(&b));
        assert_ne!(head(&a), head(&c));
        assert_ne!(a.split_whitespace().nth(64), None);
    }
}
