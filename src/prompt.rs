//! Synthesized prompts: text whose token count under common BPE tokenizers is close to the
//! requested length, deterministic per request, with identical text for every request of one
//! prefix group.
//!
//! Each word below (with its leading space) is a single token in the GPT-2, Llama 3, Qwen,
//! Mistral and SmolLM vocabularies, so a prompt of N words is close to N tokens. The measured
//! deviation is in docs/prompts.md.

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
const PROMPT_TEXT: u64 = 3;

fn words(rng: &mut Rng, n: u32, out: &mut String) {
    for _ in 0..n {
        out.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
}

/// `n` words of synthesized text for a calibration probe (the same for every run).
pub fn probe_text(n: u32) -> String {
    let mut rng = Rng::new(key(&[0, PROMPT_TEXT, 4, n as u64]));
    let mut out = String::with_capacity(n as usize * 7);
    words(&mut rng, n, &mut out);
    out.trim_start().to_string()
}

/// What a request sends: text, or (from a chat dataset) a `messages` array.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Text(String),
    Messages(serde_json::Value),
}

impl Prompt {
    /// As a JSON value: a string or the messages array.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Prompt::Text(t) => serde_json::Value::String(t.clone()),
            Prompt::Messages(m) => m.clone(),
        }
    }

    /// As one text (messages' contents joined by newlines), for the completions API.
    pub fn text(&self) -> String {
        match self {
            Prompt::Text(t) => t.clone(),
            Prompt::Messages(m) => m
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.get("content").and_then(serde_json::Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// The prompt of a request: its dataset entry when it has one, else synthesized text.
pub fn of(schedule: &crate::schedule::Schedule, r: &PlannedRequest) -> Prompt {
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
        let mut rng = Rng::new(key(&[
            seed,
            PROMPT_TEXT,
            0,
            r.prefix_tokens as u64,
            group as u64,
        ]));
        words(&mut rng, r.prefix_tokens, &mut out);
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
            prompt: None,
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
