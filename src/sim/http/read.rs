//! What every API's request reader shares: the words of a message's content (a string, or parts
//! with `text` and images), and the rule that a request asks for exactly its length
//! (`ignore_eos`, or a `min_tokens` at the cap). A leaf.
//!
//! An image counts as a vision model counts it: one token per [`PIXELS_PER_TOKEN`] pixels
//! (Qwen2-VL's 14-pixel patches merged 2 × 2), each a word made from the image's bytes, so its
//! prefill costs by the pixel and the same image twice shares a cached prefix.

use base64::Engine as _;
use serde_json::Value;

/// Pixels per image token: a 28 × 28 block.
pub(super) const PIXELS_PER_TOKEN: u64 = 28 * 28;

/// Appends the words of one message's `content`: its text, and its images' tokens. An image
/// that cannot be decoded is an error (the server's 400).
pub(super) fn content_words(
    content: Option<&Value>,
    words: &mut Vec<String>,
) -> Result<(), String> {
    match content {
        Some(Value::String(s)) => words.extend(s.split_whitespace().map(str::to_string)),
        Some(Value::Array(parts)) => {
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    // The Messages API's tool history: a call's input, a result's content.
                    Some("tool_use") => string_words(p.get("input"), words),
                    Some("tool_result") => content_words(p.get("content"), words)?,
                    _ => {}
                }
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    words.extend(t.split_whitespace().map(str::to_string));
                } else if let Some(data) = image_data(p) {
                    image_words(data, words)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Appends the words of a chat message's or a Responses item's tool history: an assistant's
/// `tool_calls` arguments, a `function_call`'s arguments, a `function_call_output`'s output (the
/// Messages API's `tool_use` and `tool_result` are `content` parts: [`content_words`]).
/// Arguments that are not JSON are an error, as a template that renders them makes them.
pub(super) fn call_words(m: &Value, words: &mut Vec<String>) -> Result<(), String> {
    let calls = m.get("tool_calls").and_then(Value::as_array);
    for c in calls.into_iter().flatten() {
        arguments(c.pointer("/function/arguments"), words)?;
    }
    match m.get("type").and_then(Value::as_str) {
        Some("function_call") => arguments(m.get("arguments"), words),
        Some("function_call_output") => content_words(m.get("output"), words),
        _ => Ok(()),
    }
}

/// The id of the first tool result in `body` (any API's form: a chat `tool` message, a
/// Responses `function_call_output`, a Messages `tool_result`) that answers no call made before
/// it, as servers refuse such a history.
pub(super) fn orphan_result(body: &Value) -> Option<String> {
    fn walk(v: &Value, calls: &mut Vec<String>) -> Option<String> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        match v {
            Value::Array(list) => list.iter().find_map(|x| walk(x, calls)),
            Value::Object(m) => {
                let kind = text("type");
                let made = match kind.as_deref() {
                    Some("tool_use") => text("id"),
                    Some("function_call") => text("call_id"),
                    _ => None,
                };
                calls.extend(made);
                let answers = match (kind.as_deref(), text("role").as_deref()) {
                    (Some("function_call_output"), _) => text("call_id"),
                    (Some("tool_result"), _) => text("tool_use_id"),
                    (_, Some("tool")) => text("tool_call_id"),
                    _ => None,
                };
                if let Some(id) = answers.filter(|id| !calls.contains(id)) {
                    return Some(id);
                }
                let made = m.get("tool_calls").and_then(Value::as_array);
                calls.extend(
                    made.into_iter()
                        .flatten()
                        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string)),
                );
                m.values().find_map(|x| walk(x, calls))
            }
            _ => None,
        }
    }
    let history = body.get("messages").or_else(|| body.get("input"))?;
    walk(history, &mut Vec::new())
}

/// The words of a call's JSON arguments (a string of JSON): its string values'.
fn arguments(text: Option<&Value>, words: &mut Vec<String>) -> Result<(), String> {
    let Some(Value::String(text)) = text else {
        return Ok(());
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("a tool call's arguments are not valid JSON: {e}"))?;
    string_words(Some(&v), words);
    Ok(())
}

/// The words of every string in `v`, at any depth.
fn string_words(v: Option<&Value>, words: &mut Vec<String>) {
    match v {
        Some(Value::String(s)) => words.extend(s.split_whitespace().map(str::to_string)),
        Some(Value::Array(list)) => list.iter().for_each(|x| string_words(Some(x), words)),
        Some(Value::Object(m)) => m.values().for_each(|x| string_words(Some(x), words)),
        _ => {}
    }
}

/// Appends the words of the request's tool definitions (`tools`, in any API's form): every
/// `description` in them, as a template renders a tool's definition into the prompt. (Real
/// templates add their JSON around it too; the simulator counts the words alone.)
pub(super) fn tool_words(body: &Value, words: &mut Vec<String>) {
    fn walk(v: &Value, words: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("description", Value::String(s)) => {
                            words.extend(s.split_whitespace().map(str::to_string));
                        }
                        _ => walk(x, words),
                    }
                }
            }
            Value::Array(list) => list.iter().for_each(|x| walk(x, words)),
            _ => {}
        }
    }
    if let Some(tools) = body.get("tools") {
        walk(tools, words);
    }
}

/// The name of the first tool `body` offers, unless its `tool_choice` rules calls out (chat and
/// Responses: `"none"`; Messages: `{"type": "none"}`).
pub(super) fn first_tool(body: &Value) -> Option<String> {
    let choice = body.get("tool_choice");
    let none = choice.and_then(Value::as_str) == Some("none")
        || choice.and_then(|c| c.get("type")).and_then(Value::as_str) == Some("none");
    let tool = body.get("tools")?.as_array()?.first()?;
    let name = tool
        .pointer("/function/name")
        .or_else(|| tool.get("name"))?;
    (!none).then(|| name.as_str().map(str::to_string)).flatten()
}

/// Whether any message of `body` carries an image part (in any API's form).
pub(super) fn has_image(body: &Value) -> bool {
    match body {
        Value::Object(m) => image_data(body).is_some() || m.values().any(has_image),
        Value::Array(list) => list.iter().any(has_image),
        _ => false,
    }
}

/// An image part's base64 data, in any API's form: chat's `image_url.url` and the Responses
/// API's `image_url` (data URLs), the Messages API's `source.data`.
fn image_data(part: &Value) -> Option<&str> {
    let kind = part.get("type").and_then(Value::as_str)?;
    let url = match kind {
        "image_url" => part.pointer("/image_url/url")?.as_str()?,
        "input_image" => part.get("image_url")?.as_str()?,
        "image" => return part.pointer("/source/data")?.as_str(),
        _ => return None,
    };
    url.split_once(";base64,").map(|(_, data)| data)
}

/// One image's tokens as words.
fn image_words(data: &str, words: &mut Vec<String>) -> Result<(), String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("an image is not valid base64: {e}"))?;
    let (w, h) = crate::image::dimensions(&bytes)
        .ok_or("an image is neither a PNG nor a JPEG this server reads")?;
    let tokens = (u64::from(w) * u64::from(h)).div_ceil(PIXELS_PER_TOKEN);
    let id = crate::image::crc32(&bytes);
    words.extend((0..tokens).map(|i| format!("<img{id:08x}.{i}>")));
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(content: Value) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        content_words(Some(&content), &mut out).map(|()| out)
    }

    #[test]
    fn images_count_by_the_pixel_in_every_api_form() {
        use base64::Engine as _;
        let png = crate::image::synth(3, 56, 30, crate::image::Format::Png);
        let data = base64::engine::general_purpose::STANDARD.encode(&png);
        let url = format!("data:image/png;base64,{data}");
        // 56 × 30 = 1,680 pixels: 3 tokens of 784, whatever the API's form.
        for part in [
            json!({"type": "image_url", "image_url": {"url": url}}),
            json!({"type": "input_image", "image_url": url}),
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}),
        ] {
            let w = words(json!([{"type": "text", "text": "what is this"}, part])).expect("read");
            assert_eq!(w.len(), 3 + 3, "{w:?}");
        }
        // The same image twice: the same words (a cached prefix).
        let a = words(json!([{"type": "input_image", "image_url": url}])).expect("read");
        assert_eq!(
            a,
            words(json!([{"type": "input_image", "image_url": url}])).expect("read")
        );
    }

    #[test]
    fn an_image_the_server_cannot_read_is_refused() {
        let bad = words(
            json!([{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]),
        );
        assert!(bad.expect_err("refused").contains("not valid base64"));
        let gif =
            words(json!([{"type": "input_image", "image_url": "data:image/gif;base64,R0lGODlh"}]));
        assert!(gif
            .expect_err("refused")
            .contains("neither a PNG nor a JPEG"));
    }
}
