//! The OpenAI API as the simulator speaks it, its whole wire format in one file: the routes
//! (`GET /v1/models`, `POST /v1/chat/completions`, `POST /v1/completions`), what a request's
//! body asks for (`messages` or `prompt`, `max_tokens`, `ignore_eos`/`min_tokens`, `stream`,
//! `stream_options.include_usage` and `continuous_usage_stats`), the streamed chunks
//! (`chat.completion.chunk` / `text_completion`, `reasoning_content` deltas, a usage event,
//! `[DONE]`), the whole `chat.completion` / `text_completion` body, and the error body every
//! route of the simulator answers with (vLLM's and llama.cpp's shape too).

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::api::{Ask, Route, Writer};
use super::json::push_json_str;
use super::read::{call_words, cap, content_words, exact, first_tool, tool_words};
use super::reply::Reply;

/// The OpenAI API's routes.
pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    match (method, path) {
        (&Method::GET, "/v1/models") => Some(Route::Json(models)),
        (&Method::POST, "/v1/chat/completions") => {
            Some(Route::Complete(|body, n| read(true, body, n)))
        }
        (&Method::POST, "/v1/completions") => Some(Route::Complete(|body, n| read(false, body, n))),
        _ => None,
    }
}

fn models(models: &[&str]) -> Value {
    let data: Vec<Value> = models
        .iter()
        .map(|m| json!({"id": m, "object": "model", "owned_by": "llmw-sim"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// An error's body: `{"error": {"message", "type", "code"}}`.
pub(super) fn error_body(status: StatusCode, message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "code": status.as_u16()}})
}

/// Request `n` to chat completions (`chat`) or completions.
fn read(chat: bool, body: &Value, n: u64) -> Result<Ask, String> {
    let mut words = prompt_words(chat, body)?;
    tool_words(body, &mut words);
    let max_tokens = cap(body, "max_tokens")
        .or_else(|| cap(body, "max_completion_tokens"))
        .unwrap_or(256);
    let exact = exact(body, max_tokens);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let option = |name: &str| {
        body.get("stream_options")
            .and_then(|o| o.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let writer = OpenAi {
        chat,
        id: format!("cmpl-{n}"),
        usage: option("include_usage"),
        continuous_usage: option("continuous_usage_stats"),
        call: None,
        args: 0,
    };
    Ok(Ask {
        tool: first_tool(body),
        words,
        chat,
        max_tokens,
        exact,
        stream,
        writer: Box::new(writer),
    })
}

/// The words of the prompt: every message's content for chat, the prompt for completions.
fn prompt_words(chat: bool, body: &Value) -> Result<Vec<String>, String> {
    let missing = || {
        let what = if chat { "messages" } else { "prompt" };
        format!("missing or invalid '{what}'")
    };
    if !chat {
        let text = body
            .get("prompt")
            .and_then(Value::as_str)
            .ok_or_else(missing)?;
        return Ok(text.split_whitespace().map(str::to_string).collect());
    }
    let mut words = Vec::new();
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(missing)?;
    for m in messages {
        content_words(m.get("content"), &mut words)?;
        call_words(m, &mut words)?;
    }
    Ok(words)
}

/// One answer's writer, with what its request chose.
struct OpenAi {
    /// Chat completions, or completions.
    chat: bool,
    id: String,
    /// `stream_options.include_usage`: a usage event before `[DONE]`.
    usage: bool,
    /// `stream_options.continuous_usage_stats`: usage in every chunk.
    continuous_usage: bool,
    /// The answer is a call of this tool (chat only).
    call: Option<String>,
    /// Argument pieces written so far.
    args: u32,
}

/// What a simulated call's arguments open with: the answer's words are the value of its one
/// argument (closed at a natural end; a call cut at its length is cut JSON, as servers send).
pub(super) const ARGS_OPEN: &str = "{\"arg0\": \"";
pub(super) const ARGS_CLOSE: &str = "\"}";

impl OpenAi {
    fn object(&self) -> &'static str {
        if self.chat {
            "chat.completion.chunk"
        } else {
            "text_completion"
        }
    }

    /// One SSE event: `text` of `kind` (answer or reasoning), or the role or finish chunk.
    /// Written out by hand, keys in serde_json's order: one string per chunk and no `Value`
    /// tree, so that the simulator, not its JSON, is what a client benchmark measures.
    fn chunk(
        &self,
        reply: &Reply,
        text: Option<(&str, bool)>,
        finish: Option<&str>,
        role: bool,
        generated: u32,
        out: &mut String,
    ) {
        use std::fmt::Write;
        out.push_str("data: {\"choices\":[{");
        if self.chat {
            out.push_str("\"delta\":{");
            if role {
                out.push_str("\"content\":\"\",\"role\":\"assistant\"");
            } else if let Some((t, reasoning)) = text {
                out.push_str(if reasoning {
                    "\"reasoning_content\":"
                } else {
                    "\"content\":"
                });
                push_json_str(out, t);
            }
            out.push_str("},");
        }
        out.push_str("\"finish_reason\":");
        match finish {
            Some(f) => push_json_str(out, f),
            None => out.push_str("null"),
        }
        out.push_str(",\"index\":0");
        if !self.chat {
            out.push_str(",\"text\":");
            push_json_str(out, text.map_or("", |t| t.0));
        }
        out.push_str("}],\"created\":0,\"id\":");
        push_json_str(out, &self.id);
        out.push_str(",\"model\":");
        push_json_str(out, &reply.model);
        let _ = write!(out, ",\"object\":\"{}\"", self.object());
        if self.continuous_usage {
            let (p, c) = (reply.prompt_tokens, generated);
            let _ = write!(
                out,
                ",\"usage\":{{\"completion_tokens\":{c},\"completion_tokens_details\":{{\"reasoning_tokens\":{}}},\"prompt_tokens\":{p},\"prompt_tokens_details\":{{\"cached_tokens\":{}}},\"total_tokens\":{}}}",
                reply.reasoning.min(c),
                reply.cached,
                p + c
            );
        }
        out.push_str("}\n\n");
    }

    fn usage(&self, reply: &Reply, completion: u32) -> Value {
        json!({"prompt_tokens": reply.prompt_tokens, "completion_tokens": completion, "total_tokens": reply.prompt_tokens + completion,
               "prompt_tokens_details": {"cached_tokens": reply.cached},
               "completion_tokens_details": {"reasoning_tokens": reply.reasoning.min(completion)}})
    }
}

fn finish_reason(stopped: bool) -> &'static str {
    if stopped {
        "stop"
    } else {
        "length"
    }
}

impl OpenAi {
    /// A `tool_calls` chunk: the call's start (id, name) or a piece of its arguments.
    fn call_chunk(&mut self, reply: &Reply, name: Option<&str>, arguments: &str, out: &mut String) {
        let call = match name {
            Some(n) => json!({"index": 0, "id": format!("call_{}", self.id), "type": "function",
                               "function": {"name": n, "arguments": arguments}}),
            None => json!({"index": 0, "function": {"arguments": arguments}}),
        };
        let chunk = json!({"choices": [{"delta": {"tool_calls": [call]}, "finish_reason": null, "index": 0}],
                           "created": 0, "id": self.id, "model": reply.model, "object": self.object()});
        out.push_str(&format!("data: {chunk}\n\n"));
    }
}

impl Writer for OpenAi {
    fn call(&mut self, name: &str) {
        if self.chat {
            self.call = Some(name.to_string());
        }
    }

    fn start(&mut self, reply: &Reply, out: &mut String) {
        if self.chat {
            self.chunk(reply, None, None, true, 0, out);
        }
    }

    fn text(
        &mut self,
        reply: &Reply,
        text: &str,
        reasoning: bool,
        generated: u32,
        out: &mut String,
    ) {
        if let (Some(name), false) = (self.call.clone(), reasoning) {
            // The call begins (its id and name) with the first token after any reasoning.
            let piece = if self.args == 0 {
                self.call_chunk(reply, Some(&name), "", out);
                format!("{ARGS_OPEN}{}", text.trim_start())
            } else {
                text.to_string()
            };
            self.args += 1;
            return self.call_chunk(reply, None, &piece, out);
        }
        self.chunk(reply, Some((text, reasoning)), None, false, generated, out);
    }

    fn finish(&mut self, reply: &Reply, stopped: bool, generated: u32, out: &mut String) {
        // A call only once it began (an answer all reasoning never reached it).
        let reason = match (self.call.is_some() && self.args > 0, stopped) {
            (true, true) => {
                self.call_chunk(reply, None, ARGS_CLOSE, out);
                "tool_calls"
            }
            _ => finish_reason(stopped),
        };
        self.chunk(reply, None, Some(reason), false, generated, out);
        if self.usage {
            let last = json!({"id": self.id, "object": self.object(), "created": 0, "model": reply.model, "choices": [], "usage": self.usage(reply, generated)});
            out.push_str(&format!("data: {last}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
    }

    fn abandon(&mut self, _: &Reply, out: &mut String) {
        // A bare [DONE], no finish_reason.
        out.push_str("data: [DONE]\n\n");
    }

    fn malformed(&mut self, out: &mut String) {
        out.push_str("data: {\"choices\": [oops\n\n");
    }

    fn whole(
        &self,
        reply: &Reply,
        answer: &str,
        thinking: &str,
        stopped: bool,
        generated: u32,
    ) -> Value {
        let reason = finish_reason(stopped);
        // A call only if the answer reached it (an answer all reasoning did not).
        if let Some(name) = self.call.as_ref().filter(|_| !answer.is_empty()) {
            let arguments = format!(
                "{ARGS_OPEN}{answer}{}",
                if stopped { ARGS_CLOSE } else { "" }
            );
            let call = json!({"id": format!("call_{}", self.id), "type": "function",
                              "function": {"name": name, "arguments": arguments}});
            let reason = if stopped { "tool_calls" } else { "length" };
            let message = json!({"role": "assistant", "content": null, "tool_calls": [call]});
            let choice = json!({"index": 0, "message": message, "finish_reason": reason});
            return json!({"id": self.id, "object": "chat.completion", "created": 0, "model": reply.model,
                          "choices": [choice], "usage": self.usage(reply, generated)});
        }
        let choice = if self.chat {
            let mut message = json!({"role": "assistant", "content": answer});
            if !thinking.is_empty() {
                message["reasoning_content"] = json!(thinking);
            }
            json!({"index": 0, "message": message, "finish_reason": reason})
        } else {
            json!({"index": 0, "text": answer, "finish_reason": reason})
        };
        let object = if self.chat {
            "chat.completion"
        } else {
            "text_completion"
        };
        json!({"id": self.id, "object": object, "created": 0, "model": reply.model, "choices": [choice], "usage": self.usage(reply, generated)})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::http::timing::Origin;

    /// What `OpenAi::chunk` writes by hand, built as a `Value` (the way it was before).
    fn oracle(
        w: &OpenAi,
        r: &Reply,
        text: Option<(&str, bool)>,
        finish: Option<&str>,
        role: bool,
        n: u32,
    ) -> Value {
        let choice = if w.chat {
            let delta = match (role, text) {
                (true, _) => json!({"role": "assistant", "content": ""}),
                (false, Some((t, true))) => json!({"reasoning_content": t}),
                (false, Some((t, false))) => json!({"content": t}),
                (false, None) => json!({}),
            };
            json!({"index": 0, "delta": delta, "finish_reason": finish})
        } else {
            json!({"index": 0, "text": text.map(|t| t.0).unwrap_or(""), "finish_reason": finish})
        };
        let mut event = json!({"id": w.id, "object": w.object(), "created": 0, "model": r.model, "choices": [choice]});
        if w.continuous_usage {
            event["usage"] = w.usage(r, n);
        }
        event
    }

    #[test]
    fn hand_written_chunks_are_the_json_they_stand_for() {
        for (chat, continuous_usage) in [(true, true), (true, false), (false, true), (false, false)]
        {
            let r = Reply {
                origin: Origin {
                    received: std::time::Instant::now(),
                    arrived_unix_ns: None,
                    request_id: None,
                },
                timings: None,
                model: "a \"quoted\"\\model\n".into(),
                prompt_tokens: 30,
                output_tokens: 9,
                reasoning: 2,
                per_chunk: 1,
                cached: 16,
            };
            let w = OpenAi {
                chat,
                id: "cmpl-7".into(),
                usage: true,
                continuous_usage,
                call: None,
                args: 0,
            };
            type Case<'a> = (Option<(&'a str, bool)>, Option<&'a str>, bool, u32);
            let cases: [Case; 5] = [
                (None, None, true, 0),
                (Some((" the model", false)), None, false, 3),
                (Some((" why", true)), None, false, 1),
                (None, Some("length"), false, 9),
                (Some(("tab\there \"q\"", false)), Some("stop"), false, 4),
            ];
            for (text, finish, role, n) in cases {
                let mut line = String::new();
                w.chunk(&r, text, finish, role, n, &mut line);
                let json = line
                    .strip_prefix("data: ")
                    .and_then(|l| l.strip_suffix("\n\n"))
                    .expect("one SSE event");
                let got: Value = serde_json::from_str(json).expect("valid JSON");
                assert_eq!(got, oracle(&w, &r, text, finish, role, n), "{line}");
                // Byte for byte what serde_json writes for that value (its keys sorted).
                assert_eq!(json, oracle(&w, &r, text, finish, role, n).to_string());
            }
        }
    }
}
