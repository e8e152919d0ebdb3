//! The Anthropic Messages API (`/v1/messages`): a top-level `system`, `max_tokens` always
//! sent (the API requires it), the key in `x-api-key` with an `anthropic-version`, and a stream
//! of typed events: `message_start` (the prompt's usage), `content_block_delta` (`text_delta`
//! is text, `thinking_delta` reasoning), `message_delta` (the `stop_reason` and the output
//! total), `message_stop` (the end), `error`; `ping` and the block starts and stops are passed
//! over.
//!
//! Anthropic's `input_tokens` counts only the prompt tokens not read from or written to the
//! cache; the prompt is `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`,
//! of which `cache_read_input_tokens` were cached.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::{Ask, Dialect, Event, Usage, Whole};
use crate::prompt::Prompt;

/// `/v1/messages`.
pub struct Messages;

pub static MESSAGES: Messages = Messages;

/// The API version sent with every request (the one the SSE format above is of).
const VERSION: &str = "2023-06-01";

impl Dialect for Messages {
    fn route(&self) -> &'static str {
        "/v1/messages"
    }

    fn auth(&self, key: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = vec![("anthropic-version", VERSION.to_string())];
        if let Some(k) = key {
            h.push(("x-api-key", k.to_string()));
        }
        h
    }

    fn body(&self, ask: Ask<'_>) -> Value {
        let (system, mut messages) = match ask.prompt {
            p @ (Prompt::Text(_) | Prompt::Batch(_)) => {
                (None, json!([{"role": "user", "content": p.text()}]))
            }
            Prompt::Messages(m) | Prompt::Conversation(m) => split_system(m),
        };
        super::attach(
            &mut messages,
            &ask.images,
            "text",
            |p| json!({"type": "image", "source": {"type": "base64", "media_type": p.mime, "data": p.base64}}),
        );
        let mut body = json!({
            "model": ask.model,
            "messages": messages,
            "max_tokens": ask.max_tokens,
            "stream": ask.stream,
        });
        if let Some(s) = system {
            body["system"] = Value::String(s);
        }
        if ask.ignore_eos {
            body["ignore_eos"] = json!(true);
            body["min_tokens"] = json!(ask.max_tokens);
        }
        if let Some(t) = ask.temperature {
            body["temperature"] = json!(t);
        }
        if !ask.tools.is_empty() {
            body["tools"] = ask
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
        }
        if let Some(c) = ask.tool_choice {
            // Anthropic's words: auto, any (a tool must be called), none.
            let kind = match c {
                crate::schedule::ToolChoice::Auto => "auto",
                crate::schedule::ToolChoice::Required => "any",
                crate::schedule::ToolChoice::None => "none",
            };
            body["tool_choice"] = json!({"type": kind});
        }
        body
    }

    fn event<'a>(&self, data: &'a [u8]) -> Result<Event<'a>, String> {
        event(data)
    }

    fn whole(&self, body: &[u8]) -> Result<Whole, String> {
        whole(body)
    }
}

/// Chat-form messages with the `system` ones taken out (joined by a blank line): the Messages
/// API has no system role. An assistant's tool calls become `tool_use` blocks (their arguments
/// an object), and a `tool` message a user message holding the `tool_result` of its call.
fn split_system(messages: Value) -> (Option<String>, Value) {
    let Value::Array(list) = messages else {
        return (None, messages);
    };
    let mut system: Vec<String> = Vec::new();
    let mut rest = Vec::with_capacity(list.len());
    for m in list {
        match m.get("role").and_then(Value::as_str) {
            Some("system") => {
                if let Some(s) = m.get("content").and_then(Value::as_str) {
                    system.push(s.to_string());
                }
            }
            Some("tool") => rest.push(json!({"role": "user", "content": [{"type": "tool_result",
                "tool_use_id": m["tool_call_id"], "content": m["content"]}]})),
            Some("assistant") if m.get("tool_calls").is_some() => {
                let calls = m["tool_calls"].as_array().into_iter().flatten();
                let blocks: Vec<Value> = calls
                    .map(|c| {
                        let args = c["function"]["arguments"].as_str().unwrap_or("{}");
                        let input: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
                        json!({"type": "tool_use", "id": c["id"], "name": c["function"]["name"],
                            "input": input})
                    })
                    .collect();
                rest.push(json!({"role": "assistant", "content": blocks}));
            }
            _ => rest.push(m),
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    (system, Value::Array(rest))
}

/// The fields of a streamed event that llmw reads.
#[derive(serde::Deserialize)]
struct StreamEvent<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default)]
    content_block: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(serde::Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
}

fn event(data: &[u8]) -> Result<Event<'_>, String> {
    let v: StreamEvent = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    Ok(match v.kind.as_ref() {
        "content_block_delta" => {
            let d = v.delta.ok_or("a content_block_delta without its delta")?;
            match d.partial_json {
                // A tool_use block's arguments (`input_json_delta`).
                Some(json) => Event::Tool {
                    arguments: json,
                    started: false,
                    usage: Usage::default(),
                    finish: None,
                },
                None => Event::text(d.text.unwrap_or_default(), d.thinking.unwrap_or_default()),
            }
        }
        "content_block_start"
            if v.content_block
                .as_ref()
                .and_then(|b| b.get("type"))
                .and_then(Value::as_str)
                == Some("tool_use") =>
        {
            Event::Tool {
                arguments: Cow::Borrowed(""),
                started: true,
                usage: Usage::default(),
                finish: None,
            }
        }
        "message_start" => Event::Delta {
            answer: Cow::Borrowed(""),
            reasoning: Cow::Borrowed(""),
            usage: v
                .message
                .as_ref()
                .and_then(|m| m.get("usage"))
                .map(usage)
                .unwrap_or_default(),
            finish: None,
        },
        "message_delta" => Event::Delta {
            answer: Cow::Borrowed(""),
            reasoning: Cow::Borrowed(""),
            usage: v.usage.as_ref().map(usage).unwrap_or_default(),
            finish: v.delta.and_then(|d| d.stop_reason),
        },
        "message_stop" => Event::End,
        "error" => Event::Error(v.error.map_or_else(
            || String::from_utf8_lossy(data).into_owned(),
            |e| e.to_string(),
        )),
        _ => Event::text(Cow::Borrowed(""), Cow::Borrowed("")),
    })
}

/// A `usage` object: the prompt only when the input count is in it (`message_delta` may carry
/// the output total alone).
fn usage(u: &Value) -> Usage {
    let num = |k: &str| u.get(k).and_then(Value::as_u64).map(|x| x as u32);
    let read = num("cache_read_input_tokens");
    Usage {
        prompt: num("input_tokens").map(|i| {
            i.saturating_add(read.unwrap_or(0))
                .saturating_add(num("cache_creation_input_tokens").unwrap_or(0))
        }),
        output: num("output_tokens"),
        cached: read,
        cached_hint: None,
        reasoning: None,
    }
}

/// A whole message: its `text` blocks' text, its `thinking` blocks' reasoning.
fn whole(body: &[u8]) -> Result<Whole, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(format!("an error, not a message: {}", v["error"]));
    }
    let mut answer = String::new();
    let mut reasoning = String::new();
    let (mut tool_calls, mut tool_arguments) = (0, String::new());
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => answer.push_str(block["text"].as_str().unwrap_or("")),
            Some("thinking") => reasoning.push_str(block["thinking"].as_str().unwrap_or("")),
            Some("tool_use") => {
                tool_calls += 1;
                tool_arguments
                    .push_str(&block.get("input").map(Value::to_string).unwrap_or_default());
            }
            _ => {}
        }
    }
    let stop = v.get("stop_reason").and_then(Value::as_str);
    Ok(Whole {
        answer,
        reasoning,
        usage: v.get("usage").map(usage).unwrap_or_default(),
        finished: stop.is_some(),
        finish_reason: stop.map(str::to_string),
        tool_calls,
        tool_arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_reads_text_thinking_usage_and_the_stop() {
        let start = br#"{"type":"message_start","message":{"usage":{"cache_read_input_tokens":31,"input_tokens":1,"output_tokens":0}}}"#;
        let Event::Delta { usage, .. } = event(start).expect("valid") else {
            panic!("not the event expected")
        };
        assert_eq!(
            (usage.prompt, usage.cached, usage.output),
            (Some(32), Some(31), Some(0))
        );
        let d = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#;
        assert_eq!(
            event(d).expect("valid"),
            Event::text(Cow::Borrowed("Hello"), Cow::Borrowed(""))
        );
        let d = br#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#;
        assert_eq!(
            event(d).expect("valid"),
            Event::text(Cow::Borrowed(""), Cow::Borrowed("hm"))
        );
        let d = br#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":4}}"#;
        let Event::Delta { usage, finish, .. } = event(d).expect("valid") else {
            panic!("not the event expected")
        };
        assert_eq!(
            (usage.output, usage.prompt, finish.as_deref()),
            (Some(4), None, Some("max_tokens"))
        );
        assert_eq!(
            event(br#"{"type":"message_stop"}"#).expect("valid"),
            Event::End
        );
        let d = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert!(matches!(event(d).expect("valid"), Event::Error(m) if m.contains("Overloaded")));
        assert!(event(br#"{"type":"content_block_delta"}"#).is_err());
    }

    #[test]
    fn the_system_prompt_goes_on_top_and_the_key_in_its_header() {
        let body = MESSAGES.body(Ask {
            model: "m",
            prompt: Prompt::Conversation(json!([
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
            ])),
            max_tokens: 9,
            stream: false,
            ignore_eos: false,
            temperature: None,
            images: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
        });
        assert_eq!(body["system"], "s");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "u"}]));
        assert_eq!(body["max_tokens"], 9);
        let h = MESSAGES.auth(Some("k"));
        assert!(h.contains(&("x-api-key", "k".to_string())));
        assert!(h.iter().any(|(n, _)| *n == "anthropic-version"));
        assert!(MESSAGES.auth(None).iter().all(|(n, _)| *n != "x-api-key"));
    }

    #[test]
    fn a_whole_message_reads_its_blocks() {
        let w = whole(br#"{"type":"message","content":[{"type":"thinking","thinking":"r"},{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}"#).expect("valid");
        assert_eq!(
            (w.answer.as_str(), w.reasoning.as_str(), w.finished),
            ("hi", "r", true)
        );
        assert_eq!((w.usage.prompt, w.usage.output), (Some(3), Some(2)));
        assert!(whole(br#"{"type":"error","error":{"message":"no"}}"#).is_err());
    }
}
