//! API dialects: how one API's request body is built and how its answer reads. The rest of
//! the engine (the exchange, the stream reader, the row, calibration) is the same for every
//! API; a dialect only turns a prompt into JSON and the server's JSON into [`Event`]s.
//!
//! A new API is one new file here implementing [`Dialect`] and one line in [`of`]. A dialect
//! must not touch a socket, a clock or a row: it is pure, so the fuzz targets and the tests
//! feed it bytes.

mod embeddings;
mod messages;
mod openai;
mod responses;

use std::borrow::Cow;

use serde_json::Value;

use crate::prompt::Prompt;
use crate::schedule::Api;

/// What one request asks, whatever the API.
pub struct Ask<'a> {
    pub model: &'a str,
    pub prompt: Prompt,
    pub max_tokens: u32,
    pub stream: bool,
    /// Generate exactly `max_tokens` (the API's way of ignoring end-of-sequence), if it has one.
    pub ignore_eos: bool,
    pub temperature: Option<f64>,
    /// Images sent with the last user message (none on APIs that take none).
    pub images: Vec<Picture>,
    /// Function definitions offered to the model, and whether it may, must or must not call
    /// one (`None`: the server's default).
    pub tools: Vec<crate::prompt::Tool>,
    pub tool_choice: Option<crate::schedule::ToolChoice>,
}

/// An image as a request carries it: its media type and its bytes in base64.
pub struct Picture {
    pub mime: &'static str,
    pub base64: String,
}

impl Picture {
    /// `data:image/jpeg;base64,...`.
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.mime, self.base64)
    }
}

/// Puts `images` into the last `user` message of `messages` (chat-form `role`/`content`
/// objects, or Responses items): its text becomes a `text_type` part, each image a part made
/// by `part`, in the API's own form.
fn attach(messages: &mut Value, images: &[Picture], text_type: &str, part: fn(&Picture) -> Value) {
    if images.is_empty() {
        return;
    }
    let Some(last) = messages.as_array_mut().and_then(|list| {
        list.iter_mut()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    }) else {
        return;
    };
    let mut parts = match last.get_mut("content").map(Value::take) {
        Some(Value::String(text)) => vec![serde_json::json!({"type": text_type, "text": text})],
        Some(Value::Array(parts)) => parts,
        _ => Vec::new(),
    };
    parts.extend(images.iter().map(part));
    last["content"] = Value::Array(parts);
}

/// Token counts as far as the server reported them; `output` is the running total so far in
/// a stream (a chunk's own count is the difference from the last).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Usage {
    pub prompt: Option<u32>,
    pub output: Option<u32>,
    /// Prompt tokens served from the server's cache.
    pub cached: Option<u32>,
    /// The server's own cache count outside `usage` (llama.cpp's `timings.cache_n`), used when
    /// no `cached` was ever reported.
    pub cached_hint: Option<u32>,
    /// Reasoning tokens among `output`.
    pub reasoning: Option<u32>,
}

/// One streamed event, decoded.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// Generated text (either part may be empty: a role-only or usage-only event), the usage
    /// it carried, and the finish reason once the answer ended.
    Delta {
        answer: Cow<'a, str>,
        reasoning: Cow<'a, str>,
        usage: Usage,
        finish: Option<Cow<'a, str>>,
    },
    /// The answer's last event, with its usage and why it ended (the Responses API's
    /// `response.completed`): nothing after it is read.
    Finish { usage: Usage, reason: Cow<'a, str> },
    /// The stream's end marker (`[DONE]`, `message_stop`); nothing after it is read.
    End,
    /// Part of a tool call: `started` when a call begins (its name arrives), `arguments` the
    /// piece of its JSON arguments this event carried (either may be empty), with the usage it
    /// carried.
    Tool {
        arguments: Cow<'a, str>,
        started: bool,
        usage: Usage,
        finish: Option<Cow<'a, str>>,
    },
    /// The server reported an error inside the stream.
    Error(String),
}

impl<'a> Event<'a> {
    /// Text and reasoning alone (both empty: an event with nothing llmw records).
    pub fn text(answer: Cow<'a, str>, reasoning: Cow<'a, str>) -> Event<'a> {
        Event::Delta {
            answer,
            reasoning,
            usage: Usage::default(),
            finish: None,
        }
    }
}

/// A whole (non-streamed) answer, decoded.
#[derive(Debug, Default, PartialEq)]
pub struct Whole {
    pub answer: String,
    pub reasoning: String,
    pub usage: Usage,
    /// The answer says it ended (a finish reason, even one that is not text).
    pub finished: bool,
    pub finish_reason: Option<String>,
    /// Tool calls in the answer, and their JSON arguments one after the other.
    pub tool_calls: u32,
    pub tool_arguments: String,
}

/// What an API implements.
pub trait Dialect: Sync {
    /// The path requests are posted to (`/v1/chat/completions`).
    fn route(&self) -> &'static str;
    /// The headers that carry the API key (`None`: no key was given) and any the API
    /// requires; OpenAI's `Authorization: Bearer` unless the dialect says otherwise.
    fn auth(&self, key: Option<&str>) -> Vec<(&'static str, String)> {
        key.map(|k| vec![("authorization", format!("Bearer {k}"))])
            .unwrap_or_default()
    }
    /// The request body.
    fn body(&self, ask: Ask<'_>) -> Value;
    /// One SSE event's data; `Err` says why it is not an event of this API.
    fn event<'a>(&self, data: &'a [u8]) -> Result<Event<'a>, String>;
    /// A non-streamed response body; `Err` says why it is not an answer of this API.
    fn whole(&self, body: &[u8]) -> Result<Whole, String>;
}

/// The dialect of `api`.
pub fn of(api: Api) -> &'static dyn Dialect {
    match api {
        Api::Chat => &openai::CHAT,
        Api::Completions => &openai::COMPLETIONS,
        Api::Responses => &responses::RESPONSES,
        Api::Messages => &messages::MESSAGES,
        Api::Embeddings => &embeddings::EMBEDDINGS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ToolChoice;

    fn ask(tools: usize, choice: Option<ToolChoice>) -> Ask<'static> {
        Ask {
            model: "m",
            prompt: Prompt::Text("what now".into()),
            max_tokens: 8,
            stream: true,
            ignore_eos: false,
            temperature: None,
            images: Vec::new(),
            tools: (0..tools)
                .map(|k| crate::prompt::Tool {
                    name: format!("tool_0_{k}"),
                    description: "look it up".into(),
                    parameters: serde_json::json!({"type": "object", "properties": {"arg0": {"type": "string"}}}),
                })
                .collect(),
            tool_choice: choice,
        }
    }

    #[test]
    fn tools_go_in_each_apis_own_form() {
        let chat = of(Api::Chat).body(ask(2, Some(ToolChoice::Required)));
        assert_eq!(chat["tools"][1]["type"], "function");
        assert_eq!(chat["tools"][1]["function"]["name"], "tool_0_1");
        assert_eq!(chat["tools"][0]["function"]["parameters"]["type"], "object");
        assert_eq!(chat["tool_choice"], "required");
        let responses = of(Api::Responses).body(ask(2, Some(ToolChoice::Auto)));
        assert_eq!(responses["tools"][0]["type"], "function");
        assert_eq!(responses["tools"][0]["name"], "tool_0_0");
        assert_eq!(responses["tools"][0]["parameters"]["type"], "object");
        assert_eq!(responses["tool_choice"], "auto");
        let messages = of(Api::Messages).body(ask(1, Some(ToolChoice::Required)));
        assert_eq!(messages["tools"][0]["name"], "tool_0_0");
        assert_eq!(messages["tools"][0]["input_schema"]["type"], "object");
        assert_eq!(messages["tools"][0]["description"], "look it up");
        assert_eq!(messages["tool_choice"], serde_json::json!({"type": "any"}));
        // No tools, no fields.
        for api in [Api::Chat, Api::Responses, Api::Messages] {
            let b = of(api).body(ask(0, None));
            assert!(
                b.get("tools").is_none() && b.get("tool_choice").is_none(),
                "{b}"
            );
        }
    }
}
