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

/// The shared text of prefix group `group` of `tokens` words (a class's `prefix`, a session's
/// `system`): the same for every request of the group.
fn prefix_words(seed: u64, group: u32, tokens: u32, out: &mut String) {
    let mut rng = Rng::new(key(&[seed, PROMPT_TEXT, 0, tokens as u64, group as u64]));
    words(&mut rng, tokens, out);
}

/// One synthetic function definition a request offers the model: its name, what it does, and
/// the JSON Schema of its parameters (the chat form; each dialect writes it its own way).
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// The tools `r` offers: its class's `tools` definitions, each of `tool_tokens` words (drawn
/// per tool from the seed and the class, so every request of a class offers the same set, as
/// an agent does: a server's prefix cache holds them once). The words are split between the
/// description and one to three string parameters' descriptions.
pub fn tools(schedule: &crate::schedule::Schedule, r: &PlannedRequest) -> Vec<Tool> {
    let Some(form) = schedule.class_plan(r).map(|c| &c.form) else {
        return Vec::new();
    };
    let n = form.tools.unwrap_or(0);
    (0..n)
        .map(|k| {
            let mut rng = Rng::new(key(&[
                schedule.seed,
                PROMPT_TEXT,
                5,
                r.class as u64,
                k as u64,
            ]));
            let total = match &form.tool_tokens {
                Some(d) => crate::schedule::sample::length(d, &mut rng),
                None => crate::schedule::DEFAULT_TOOL_TOKENS as u32,
            };
            let params = 1 + k % 3;
            let mut text = |n: u32| {
                let mut out = String::with_capacity(n as usize * 7);
                words(&mut rng, n, &mut out);
                out.trim_start().to_string()
            };
            let each = total / (params + 1);
            let description = text(total - each * params);
            let mut properties = serde_json::Map::new();
            let mut required = Vec::new();
            for p in 0..params {
                let name = format!("arg{p}");
                properties.insert(
                    name.clone(),
                    serde_json::json!({"type": "string", "description": text(each)}),
                );
                required.push(serde_json::Value::String(name));
            }
            Tool {
                name: format!("tool_{}_{k}", r.class),
                description,
                parameters: serde_json::json!({
                    "type": "object",
                    "properties": properties,
                    "required": required,
                }),
            }
        })
        .collect()
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

/// The `n` inputs of an embeddings request, `input_tokens / n` words each (input k's words
/// from the request's id and k, purposes 1000 on: every input differs, and a rerun sends the same).
fn batch(seed: u64, r: &PlannedRequest, n: u32) -> Vec<String> {
    let each = (r.input_tokens / n.max(1)).max(1);
    (0..n as u64)
        .map(|k| turn_words(seed, 1_000 + k, r.id, each))
        .collect()
}

/// An earlier turn's reply as the server sent it (`history = live`): its text and tokens.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    pub text: String,
    pub tokens: u32,
}

/// `n` words of a conversation's text: purpose 1 is a turn's user text (the request's own words,
/// as for any request), 5 its planned reply.
fn turn_words(seed: u64, purpose: u64, id: u64, n: u32) -> String {
    let mut rng = Rng::new(key(&[seed, PROMPT_TEXT, purpose, id]));
    let mut out = String::with_capacity(n as usize * 7);
    words(&mut rng, n, &mut out);
    out.trim_start().to_string()
}

/// The prompt of `session[index]`, a request of a conversation whose requests (in plan order)
/// are `session`, and its length in tokens: the system prompt, then for each kept earlier turn
/// its user text and reply (branch 0's), then the request's new user text. With `live` (one
/// entry per earlier turn: the server's reply) the real replies are carried and `max_context`
/// is applied to their real lengths; otherwise the plan's own replies and `first_turn` are.
pub fn conversation(
    seed: u64,
    session: &[PlannedRequest],
    index: usize,
    live: Option<(&[Reply], Option<u32>)>,
) -> (Prompt, u32) {
    use serde_json::json;
    let r = &session[index];
    let Some(me) = r.session else {
        return (Prompt::Text(prompt(seed, r)), r.input_tokens);
    };
    // Branch 0 of every earlier turn, in turn order.
    let earlier: Vec<&PlannedRequest> = session
        .iter()
        .filter(|q| q.session.is_some_and(|t| t.branch == 0 && t.turn < me.turn))
        .collect();
    let lens: Vec<u32> = earlier
        .iter()
        .enumerate()
        .map(|(j, q)| {
            let new = q.session.map_or(0, |t| t.new_tokens);
            let reply = match live {
                Some((replies, _)) => replies.get(j).map_or(0, |x| x.tokens),
                None => q.output_tokens,
            };
            new.saturating_add(reply)
        })
        .collect();
    let first = match live {
        Some((_, max)) => {
            crate::schedule::content::kept_from(&lens, r.prefix_tokens, me.new_tokens, max)
        }
        None => me.first_turn,
    } as usize;
    let mut messages = Vec::with_capacity(2 + 2 * earlier.len());
    let mut tokens = r.prefix_tokens as u64 + me.new_tokens as u64;
    if let Some(group) = r.prefix_group {
        let mut system = String::with_capacity(r.prefix_tokens as usize * 7);
        prefix_words(seed, group, r.prefix_tokens, &mut system);
        messages.push(json!({"role": "system", "content": system.trim_start()}));
    }
    for (j, q) in earlier.iter().enumerate().skip(first) {
        let new = q.session.map_or(0, |t| t.new_tokens);
        messages.push(json!({"role": "user", "content": turn_words(seed, 1, q.id, new)}));
        let reply = match live {
            Some((replies, _)) => replies.get(j).map(|x| x.text.clone()).unwrap_or_default(),
            None => turn_words(seed, 5, q.id, q.output_tokens),
        };
        messages.push(json!({"role": "assistant", "content": reply}));
        tokens += lens[j] as u64;
    }
    messages.push(json!({"role": "user", "content": turn_words(seed, 1, r.id, me.new_tokens)}));
    (
        Prompt::Conversation(serde_json::Value::Array(messages)),
        tokens.min(crate::schedule::sample::MAX_LENGTH as u64) as u32,
    )
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
