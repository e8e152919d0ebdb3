//! The OpenAI dialects: chat completions (`messages`) and completions (`prompt`). Their
//! streams share one chunk shape (`choices[0].delta.content` or `choices[0].text`, `usage`,
//! `[DONE]` at the end); the reasoning fields of vLLM/SGLang (`reasoning_content`) and of
//! OpenRouter/Ollama (`reasoning`) are read too, and llama.cpp's `timings.cache_n`.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::{Ask, Dialect, Event, Usage, Whole};
use crate::prompt::Prompt;

/// `/v1/chat/completions`.
pub struct Chat;
/// `/v1/completions`.
pub struct Completions;

pub static CHAT: Chat = Chat;
pub static COMPLETIONS: Completions = Completions;

impl Dialect for Chat {
    fn route(&self) -> &'static str {
        "/v1/chat/completions"
    }

    fn body(&self, mut ask: Ask<'_>) -> Value {
        // Taken, not cloned: a long conversation's messages are the body's bulk.
        let mut messages = match std::mem::replace(&mut ask.prompt, Prompt::Text(String::new())) {
            Prompt::Messages(m) | Prompt::Conversation(m) => m,
            p @ (Prompt::Text(_) | Prompt::Batch(_)) => {
                json!([{"role": "user", "content": p.text()}])
            }
        };
        super::attach(
            &mut messages,
            &ask.images,
            "text",
            |p| json!({"type": "image_url", "image_url": {"url": p.data_url()}}),
        );
        common(json!({"model": ask.model, "messages": messages}), &ask)
    }

    fn event<'a>(&self, data: &'a [u8]) -> Result<Event<'a>, String> {
        event(data)
    }

    fn whole(&self, body: &[u8]) -> Result<Whole, String> {
        whole(body)
    }
}

impl Dialect for Completions {
    fn route(&self) -> &'static str {
        "/v1/completions"
    }

    fn body(&self, ask: Ask<'_>) -> Value {
        common(
            json!({"model": ask.model, "prompt": ask.prompt.text()}),
            &ask,
        )
    }

    fn event<'a>(&self, data: &'a [u8]) -> Result<Event<'a>, String> {
        event(data)
    }

    fn whole(&self, body: &[u8]) -> Result<Whole, String> {
        whole(body)
    }
}

/// The fields both APIs take.
fn common(mut body: Value, ask: &Ask<'_>) -> Value {
    if !ask.tools.is_empty() {
        body["tools"] = ask
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
    }
    if let Some(c) = ask.tool_choice {
        body["tool_choice"] = json!(c.as_str());
    }
    body["max_tokens"] = json!(ask.max_tokens);
    body["stream"] = json!(ask.stream);
    if ask.stream {
        // Per-chunk usage (vLLM's continuous_usage_stats) gives each chunk's true token count
        // where the server supports it; others ignore the field.
        body["stream_options"] = json!({"include_usage": true, "continuous_usage_stats": true});
    }
    if ask.ignore_eos {
        body["ignore_eos"] = json!(true);
        body["min_tokens"] = json!(ask.max_tokens);
    }
    if let Some(t) = ask.temperature {
        body["temperature"] = json!(t);
    }
    body
}

/// One streamed chunk: a typed, borrowing parse of only the fields used.
fn event(data: &[u8]) -> Result<Event<'_>, String> {
    if data.trim_ascii() == b"[DONE]" {
        return Ok(Event::End);
    }
    let v: StreamChunk = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if let Some(err) = &v.error {
        return Ok(Event::Error(err.to_string()));
    }
    let mut usage = Usage {
        cached_hint: v.timings.and_then(|t| t.cache_n).map(|n| n as u32),
        ..Usage::default()
    };
    if let Some(u) = &v.usage {
        usage.prompt = u.prompt_tokens.map(|x| x as u32);
        usage.output = u.completion_tokens.map(|x| x as u32);
        usage.cached = u
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .map(|x| x as u32);
        usage.reasoning = u
            .completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .map(|x| x as u32);
    }
    let Some(choice) = v.choices.into_iter().next() else {
        return Ok(Event::Delta {
            answer: Cow::Borrowed(""),
            reasoning: Cow::Borrowed(""),
            usage,
            finish: None,
        });
    };
    let (content, reasoning) = match choice.delta {
        Some(StreamDelta {
            tool_calls: Some(calls),
            ..
        }) if !calls.is_empty() => {
            // One call's pieces (or, rarely, several calls' in one chunk).
            let started = calls
                .iter()
                .any(|c| c.id.is_some() || c.function.as_ref().is_some_and(|f| f.name.is_some()));
            let mut pieces = calls
                .into_iter()
                .filter_map(|c| c.function.and_then(|f| f.arguments));
            let first = pieces.next().unwrap_or(Cow::Borrowed(""));
            let arguments = pieces.fold(first, |mut all, p| {
                all.to_mut().push_str(&p);
                all
            });
            return Ok(Event::Tool {
                arguments,
                started,
                usage,
                finish: choice.finish_reason,
            });
        }
        Some(d) => (d.content, d.reasoning_content.or(d.reasoning)),
        None => (None, None),
    };
    Ok(Event::Delta {
        answer: content.or(choice.text).unwrap_or(Cow::Borrowed("")),
        reasoning: reasoning.unwrap_or(Cow::Borrowed("")),
        usage,
        finish: choice.finish_reason,
    })
}

/// A whole response: `choices[0].message.content` (chat) or `choices[0].text` (completions).
fn whole(body: &[u8]) -> Result<Whole, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let choice = v.pointer("/choices/0");
    let text = |p: &str| {
        choice
            .and_then(|c| c.pointer(p))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let answer = match text("/message/content") {
        a if a.is_empty() => text("/text"),
        a => a,
    };
    let reasoning = match text("/message/reasoning_content") {
        r if r.is_empty() => text("/message/reasoning"),
        r => r,
    };
    let finish = v.pointer("/choices/0/finish_reason");
    let num = |ptr: &str| v.pointer(ptr).and_then(Value::as_u64).map(|x| x as u32);
    let usage = match v.get("usage").filter(|u| !u.is_null()) {
        Some(_) => Usage {
            prompt: num("/usage/prompt_tokens"),
            output: num("/usage/completion_tokens"),
            cached: num("/usage/prompt_tokens_details/cached_tokens"),
            cached_hint: num("/timings/cache_n"),
            reasoning: num("/usage/completion_tokens_details/reasoning_tokens"),
        },
        None => Usage::default(),
    };
    let calls = choice
        .and_then(|c| c.pointer("/message/tool_calls"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    Ok(Whole {
        answer,
        reasoning,
        usage,
        finished: finish.is_some_and(|f| !f.is_null()),
        finish_reason: finish.and_then(Value::as_str).map(str::to_string),
        tool_calls: calls.len() as u32,
        tool_arguments: calls
            .iter()
            .filter_map(|c| c.pointer("/function/arguments").and_then(Value::as_str))
            .collect(),
    })
}

/// The fields of a streamed chunk that llmw reads; everything else is skipped unparsed.
#[derive(serde::Deserialize)]
struct StreamChunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<StreamChoice<'a>>,
    #[serde(default)]
    usage: Option<StreamUsage>,
    #[serde(default)]
    timings: Option<LlamaTimings>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(serde::Deserialize)]
struct StreamChoice<'a> {
    #[serde(default, borrow)]
    delta: Option<StreamDelta<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct StreamDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

/// A piece of a streamed tool call: its id and name in the first, arguments after.
#[derive(serde::Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(serde::Deserialize)]
struct FunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct StreamUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(serde::Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(serde::Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

/// llama.cpp's `timings` object (only the prompt-cache count is read).
#[derive(serde::Deserialize, Clone, Copy)]
struct LlamaTimings {
    cache_n: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_reads_answer_reasoning_usage_and_finish() {
        let e = event(br#"{"choices":[{"delta":{"reasoning_content":"hm"},"finish_reason":"length"}],"usage":{"prompt_tokens":7,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}},"timings":{"cache_n":5}}"#).expect("valid");
        let Event::Delta {
            answer,
            reasoning,
            usage,
            finish,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!((answer.as_ref(), reasoning.as_ref()), ("", "hm"));
        assert_eq!(finish.as_deref(), Some("length"));
        assert_eq!(
            (usage.prompt, usage.output, usage.cached, usage.cached_hint),
            (Some(7), Some(3), Some(4), Some(5))
        );
        assert_eq!(event(b" [DONE] ").expect("valid"), Event::End);
        assert!(
            matches!(event(br#"{"error":{"message":"x"}}"#).expect("valid"), Event::Error(m) if m.contains('x'))
        );
        assert!(event(b"{nope").is_err());
    }

    #[test]
    fn a_whole_answer_reads_text_or_message() {
        let w = whole(br#"{"choices":[{"text":"hi","finish_reason":"stop"}],"usage":{"completion_tokens":2}}"#).expect("valid");
        assert_eq!(
            (w.answer.as_str(), w.finished, w.usage.output),
            ("hi", true, Some(2))
        );
        let w = whole(
            br#"{"choices":[{"message":{"content":"yo","reasoning":"r"},"finish_reason":null}]}"#,
        )
        .expect("valid");
        assert_eq!(
            (w.answer.as_str(), w.reasoning.as_str(), w.finished),
            ("yo", "r", false)
        );
    }
}
