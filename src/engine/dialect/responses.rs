//! The OpenAI Responses API (`/v1/responses`): `input` items instead of messages,
//! `max_output_tokens`, and a stream of named events, each JSON object carrying its `type`:
//! `response.output_text.delta` is text, `response.reasoning_text.delta` and
//! `response.reasoning_summary_text.delta` are reasoning, `response.completed` (or
//! `response.incomplete`) carries the usage and ends the stream — there is no `[DONE]` —, and
//! `response.failed` and `error` are errors. Every other event (`response.created`,
//! `…output_item.added`, `…content_part.done`, …) is read and passed over.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::{Ask, Dialect, Event, Usage, Whole};
use crate::prompt::Prompt;

/// `/v1/responses`.
pub struct Responses;

pub static RESPONSES: Responses = Responses;

impl Dialect for Responses {
    fn route(&self) -> &'static str {
        "/v1/responses"
    }

    fn body(&self, ask: Ask<'_>) -> Value {
        let mut input = match ask.prompt {
            p @ (Prompt::Text(_) | Prompt::Batch(_)) if ask.images.is_empty() => {
                Value::String(p.text())
            }
            p @ (Prompt::Text(_) | Prompt::Batch(_)) => {
                items(json!([{"role": "user", "content": p.text()}]))
            }
            Prompt::Messages(m) | Prompt::Conversation(m) => items(m),
        };
        super::attach(
            &mut input,
            &ask.images,
            "input_text",
            |p| json!({"type": "input_image", "image_url": p.data_url()}),
        );
        let mut body = json!({
            "model": ask.model,
            "input": input,
            "max_output_tokens": ask.max_tokens,
            "stream": ask.stream,
            // llmw keeps no conversation on the server: every turn carries its history.
            "store": false,
        });
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
                .map(|t| {
                    json!({"type": "function", "name": t.name, "description": t.description,
                        "parameters": t.parameters})
                })
                .collect();
        }
        if let Some(c) = ask.tool_choice {
            body["tool_choice"] = json!(c.as_str());
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

/// Chat-form messages (`role`, `content`) as Responses input items: each a `message` item,
/// an assistant's text as `output_text` content (the form servers accept back as history); an
/// assistant's tool calls as `function_call` items and a `tool` message as the
/// `function_call_output` of its call.
fn items(messages: Value) -> Value {
    let Value::Array(list) = messages else {
        return messages;
    };
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
            out.extend(calls.iter().map(|c| {
                json!({"type": "function_call", "call_id": c["id"],
                    "name": c["function"]["name"], "arguments": c["function"]["arguments"]})
            }));
            continue;
        }
        let content = m.get("content").cloned().unwrap_or(Value::Null);
        out.push(match (role, content) {
            ("tool", output) => {
                json!({"type": "function_call_output", "call_id": m["tool_call_id"], "output": output})
            }
            ("assistant", Value::String(text)) => json!({"type": "message", "role": role,
                "content": [{"type": "output_text", "text": text}]}),
            (_, c) => json!({"type": "message", "role": role, "content": c}),
        });
    }
    Value::Array(out)
}

/// The fields of a streamed event that llmw reads.
#[derive(serde::Deserialize)]
struct StreamEvent<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Cow<'a, str>>,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

fn event(data: &[u8]) -> Result<Event<'_>, String> {
    let v: StreamEvent = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    Ok(match v.kind.as_ref() {
        "response.output_text.delta" => Event::text(v.delta.unwrap_or_default(), Cow::Borrowed("")),
        "response.reasoning_text.delta" | "response.reasoning_summary_text.delta" => {
            Event::text(Cow::Borrowed(""), v.delta.unwrap_or_default())
        }
        "response.output_item.added"
            if v.item
                .as_ref()
                .and_then(|i| i.get("type"))
                .and_then(Value::as_str)
                == Some("function_call") =>
        {
            let arguments = v
                .item
                .as_ref()
                .and_then(|i| i.get("arguments"))
                .and_then(Value::as_str);
            Event::Tool {
                arguments: Cow::Owned(arguments.unwrap_or("").to_string()),
                started: true,
                usage: Usage::default(),
                finish: None,
            }
        }
        "response.function_call_arguments.delta" => Event::Tool {
            arguments: v.delta.unwrap_or_default(),
            started: false,
            usage: Usage::default(),
            finish: None,
        },
        "response.completed" | "response.incomplete" => {
            let r = v.response.unwrap_or(Value::Null);
            Event::Finish {
                usage: usage(&r),
                reason: Cow::Owned(reason(&r)),
            }
        }
        "response.failed" => Event::Error(
            v.response
                .as_ref()
                .and_then(|r| r.get("error"))
                .map_or_else(|| "response.failed".to_string(), Value::to_string),
        ),
        "error" => Event::Error(v.error.or(v.message).map_or_else(
            || String::from_utf8_lossy(data).into_owned(),
            |e| e.to_string(),
        )),
        _ => Event::text(Cow::Borrowed(""), Cow::Borrowed("")),
    })
}

/// Why a response ended: its `incomplete_details.reason` (`max_output_tokens`), else its
/// `status` (`completed`).
fn reason(r: &Value) -> String {
    r.pointer("/incomplete_details/reason")
        .or_else(|| r.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("completed")
        .to_string()
}

/// A response object's `usage` (llama.cpp adds its `timings` beside the response).
fn usage(r: &Value) -> Usage {
    let num = |p: &str| r.pointer(p).and_then(Value::as_u64).map(|x| x as u32);
    Usage {
        prompt: num("/usage/input_tokens"),
        output: num("/usage/output_tokens"),
        cached: num("/usage/input_tokens_details/cached_tokens"),
        cached_hint: None,
        reasoning: num("/usage/output_tokens_details/reasoning_tokens"),
    }
}

/// A whole response: the text of its `message` items' `output_text` parts, the reasoning of
/// its `reasoning` items.
fn whole(body: &[u8]) -> Result<Whole, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        return Err(format!("an error, not a response: {e}"));
    }
    let mut answer = String::new();
    let mut reasoning = String::new();
    let (mut tool_calls, mut tool_arguments) = (0, String::new());
    for item in v
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let into = match item.get("type").and_then(Value::as_str) {
            Some("message") => &mut answer,
            Some("reasoning") => &mut reasoning,
            Some("function_call") => {
                tool_calls += 1;
                tool_arguments
                    .push_str(item.get("arguments").and_then(Value::as_str).unwrap_or(""));
                continue;
            }
            _ => continue,
        };
        let parts = ["content", "summary"]
            .into_iter()
            .filter_map(|k| item.get(k).and_then(Value::as_array))
            .flatten();
        for part in parts {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                into.push_str(t);
            }
        }
    }
    let status = v.get("status").and_then(Value::as_str);
    Ok(Whole {
        answer,
        reasoning,
        usage: usage(&v),
        finished: matches!(status, Some("completed" | "incomplete")),
        finish_reason: status.map(|_| reason(&v)),
        tool_calls,
        tool_arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(e: Event<'_>) -> (String, String) {
        match e {
            Event::Delta {
                answer, reasoning, ..
            } => (answer.into_owned(), reasoning.into_owned()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stream_reads_text_reasoning_usage_and_errors() {
        let d = br#"{"type":"response.output_text.delta","item_id":"m","delta":"N"}"#;
        assert_eq!(delta(event(d).expect("valid")), ("N".into(), "".into()));
        let d = br#"{"type":"response.reasoning_text.delta","delta":"hm"}"#;
        assert_eq!(delta(event(d).expect("valid")), ("".into(), "hm".into()));
        let d = br#"{"type":"response.created","response":{"id":"r","status":"in_progress"}}"#;
        assert_eq!(delta(event(d).expect("valid")), ("".into(), "".into()));
        let d = br#"{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":32,"output_tokens":5,"input_tokens_details":{"cached_tokens":7}}}}"#;
        let Event::Finish { usage, reason } = event(d).expect("valid") else {
            panic!("not the event expected")
        };
        assert_eq!(
            (usage.prompt, usage.output, usage.cached, reason.as_ref()),
            (Some(32), Some(5), Some(7), "completed")
        );
        let d = br#"{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}"#;
        assert!(
            matches!(event(d).expect("valid"), Event::Finish { reason, .. } if reason == "max_output_tokens")
        );
        let d = br#"{"type":"response.failed","response":{"error":{"message":"boom"}}}"#;
        assert!(matches!(event(d).expect("valid"), Event::Error(m) if m.contains("boom")));
        let d = br#"{"type":"error","code":"x","message":"overloaded"}"#;
        assert!(matches!(event(d).expect("valid"), Event::Error(m) if m.contains("overloaded")));
        assert!(event(b"{}").is_err(), "an event without a type");
    }

    #[test]
    fn a_conversation_becomes_message_items() {
        let body = RESPONSES.body(Ask {
            model: "m",
            prompt: Prompt::Conversation(json!([
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"},
            ])),
            max_tokens: 9,
            stream: true,
            ignore_eos: false,
            temperature: None,
            images: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
        });
        assert_eq!(body["max_output_tokens"], 9);
        assert_eq!(
            body["input"][0],
            json!({"type": "message", "role": "system", "content": "s"})
        );
        assert_eq!(
            body["input"][2]["content"],
            json!([{"type": "output_text", "text": "a"}])
        );
    }

    #[test]
    fn a_whole_response_reads_its_items() {
        let w = whole(br#"{"status":"completed","output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]},{"type":"message","content":[{"type":"output_text","text":"hi"}]}],"usage":{"input_tokens":3,"output_tokens":2}}"#).expect("valid");
        assert_eq!(
            (w.answer.as_str(), w.reasoning.as_str(), w.finished),
            ("hi", "r", true)
        );
        assert_eq!(w.usage.output, Some(2));
        assert!(whole(br#"{"error":{"message":"no"}}"#).is_err());
    }
}
