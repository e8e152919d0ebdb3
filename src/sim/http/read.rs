//! What every API's request reader shares: the words of a message's content (a string, or parts
//! with `text`), and the rule that a request asks for exactly its length (`ignore_eos`, or a
//! `min_tokens` at the cap). A leaf.

use serde_json::Value;

/// Appends the words of one message's `content`.
pub(super) fn content_words(content: Option<&Value>, words: &mut Vec<String>) {
    match content {
        Some(Value::String(s)) => words.extend(s.split_whitespace().map(str::to_string)),
        Some(Value::Array(parts)) => {
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    words.extend(t.split_whitespace().map(str::to_string));
                }
            }
        }
        _ => {}
    }
}

/// Whether the request asks for exactly `max_tokens`, never a natural end before.
pub(super) fn exact(body: &Value, max_tokens: u32) -> bool {
    body.get("ignore_eos")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || body
            .get("min_tokens")
            .and_then(Value::as_u64)
            .is_some_and(|m| m >= max_tokens as u64)
}

/// A length cap read from `field`: 256 when absent, kept within 1..=2^20.
pub(super) fn cap(body: &Value, field: &str) -> Option<u32> {
    body.get(field)
        .and_then(Value::as_u64)
        .map(|v| v.clamp(1, 1 << 20) as u32)
}
