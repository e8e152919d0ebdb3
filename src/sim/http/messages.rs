//! The Anthropic Messages API as the simulator speaks it (`POST /v1/messages`): `system` (a
//! string or text blocks), `messages` (content a string or blocks), `max_tokens` (required: a
//! request without it is a 400, as Anthropic's is), `ignore_eos`/`min_tokens`, `stream`. A
//! stream is Anthropic's event sequence: `message_start` (the prompt's usage: `input_tokens`
//! uncached, `cache_read_input_tokens` from the prefix cache), `ping`, per content block
//! (`thinking` for reasoning, then `text`) `content_block_start`, its `content_block_delta`s
//! (`thinking_delta`, `text_delta`) and `content_block_stop`, then `message_delta` (the
//! `stop_reason`, `end_turn` or `max_tokens`, and the output total) and `message_stop`.

use hyper::Method;
use serde_json::{json, Value};

use super::api::{Ask, Route, Writer};
use super::json::push_json_str;
use super::read::{cap, content_words, exact, first_tool, tool_words};
use super::reply::Reply;

/// The Messages API's route.
pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    match (method, path) {
        (&Method::POST, "/v1/messages") => Some(Route::Complete(read)),
        _ => None,
    }
}

/// Request `n`.
fn read(body: &Value, n: u64) -> Result<Ask, String> {
    let mut words = Vec::new();
    content_words(body.get("system"), &mut words)?;
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err("missing or invalid 'messages'".into());
    };
    for m in messages {
        content_words(m.get("content"), &mut words)?;
    }
    tool_words(body, &mut words);
    let max_tokens = cap(body, "max_tokens").ok_or("max_tokens: Field required")?;
    Ok(Ask {
        tool: first_tool(body),
        words,
        chat: true,
        max_tokens,
        exact: exact(body, max_tokens),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        writer: Box::new(Messages {
            id: format!("msg_{n}"),
            blocks: 0,
            open: None,
            call: None,
        }),
    })
}

/// One answer's writer: the content blocks opened so far and the open one's kind.
struct Messages {
    id: String,
    blocks: u32,
    /// The open block: thinking (`true`) or text (or the tool call).
    open: Option<bool>,
    /// The answer is a call of this tool: a `tool_use` block, not text.
    call: Option<String>,
}

fn stop_reason(stopped: bool) -> &'static str {
    if stopped {
        "end_turn"
    } else {
        "max_tokens"
    }
}

/// One named event.
fn event(kind: &str, data: Value, out: &mut String) {
    out.push_str("event: ");
    out.push_str(kind);
    out.push_str("\ndata: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
}

/// The prompt's usage as Anthropic counts it: `input_tokens` are the uncached ones.
fn usage(reply: &Reply, output: u32) -> Value {
    let cached = reply.cached.min(reply.prompt_tokens);
    json!({
        "input_tokens": reply.prompt_tokens - cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": output,
    })
}

impl Messages {
    /// A piece of the open `tool_use` block's input JSON.
    fn json_delta(&self, piece: &str, out: &mut String) {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": self.blocks - 1,
                   "delta": {"type": "input_json_delta", "partial_json": piece}}),
            out,
        );
    }

    fn close_block(&mut self, out: &mut String) {
        if self.open.take().is_some() {
            event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": self.blocks - 1}),
                out,
            );
        }
    }
}

impl Writer for Messages {
    fn call(&mut self, name: &str) {
        self.call = Some(name.to_string());
    }

    fn start(&mut self, reply: &Reply, out: &mut String) {
        let message = json!({"id": self.id, "type": "message", "role": "assistant", "content": [], "model": reply.model,
                             "stop_reason": null, "stop_sequence": null, "usage": usage(reply, 1)});
        event(
            "message_start",
            json!({"type": "message_start", "message": message}),
            out,
        );
        event("ping", json!({"type": "ping"}), out);
    }

    fn text(&mut self, _: &Reply, text: &str, reasoning: bool, _: u32, out: &mut String) {
        if let (false, Some(name)) = (reasoning, self.call.clone()) {
            let mut piece = text.to_string();
            if self.open != Some(false) {
                self.close_block(out);
                let block = json!({"type": "tool_use", "id": format!("toolu_{}", self.id), "name": name, "input": {}});
                event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": self.blocks, "content_block": block}),
                    out,
                );
                self.blocks += 1;
                self.open = Some(false);
                piece = format!("{}{}", super::openai::ARGS_OPEN, text.trim_start());
            }
            self.json_delta(&piece, out);
            return;
        }
        if self.open != Some(reasoning) {
            self.close_block(out);
            let block = if reasoning {
                json!({"type": "thinking", "thinking": ""})
            } else {
                json!({"type": "text", "text": ""})
            };
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": self.blocks, "content_block": block}),
                out,
            );
            self.blocks += 1;
            self.open = Some(reasoning);
        }
        // The per-chunk event, written by hand (no `Value` tree per token).
        out.push_str("event: content_block_delta\ndata: {\"delta\":{");
        out.push_str(if reasoning {
            "\"thinking\":"
        } else {
            "\"text\":"
        });
        push_json_str(out, text);
        out.push_str(if reasoning {
            ",\"type\":\"thinking_delta\"},"
        } else {
            ",\"type\":\"text_delta\"},"
        });
        out.push_str(&format!(
            "\"index\":{},\"type\":\"content_block_delta\"}}\n\n",
            self.blocks - 1
        ));
    }

    fn finish(&mut self, reply: &Reply, stopped: bool, generated: u32, out: &mut String) {
        let called = self.call.is_some() && self.open == Some(false);
        if called && stopped {
            self.json_delta(super::openai::ARGS_CLOSE, out);
        }
        self.close_block(out);
        let reason = if called && stopped {
            "tool_use"
        } else {
            stop_reason(stopped)
        };
        // The cumulative usage, prompt counts included (as Anthropic's API sends it now): the
        // prefix cache's count is known by the end, not always at message_start.
        event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null},
                   "usage": usage(reply, generated)}),
            out,
        );
        event("message_stop", json!({"type": "message_stop"}), out);
    }

    fn abandon(&mut self, _: &Reply, _: &mut String) {
        // The stream just ends: no message_delta, no message_stop.
    }

    fn malformed(&mut self, out: &mut String) {
        out.push_str("event: content_block_delta\ndata: {\"type\": oops\n\n");
    }

    fn whole(
        &self,
        reply: &Reply,
        answer: &str,
        thinking: &str,
        stopped: bool,
        generated: u32,
    ) -> Value {
        let mut content = Vec::new();
        if !thinking.is_empty() {
            content.push(json!({"type": "thinking", "thinking": thinking, "signature": ""}));
        }
        let reason = match self.call.as_ref().filter(|_| !answer.is_empty()) {
            Some(name) => {
                content.push(
                    json!({"type": "tool_use", "id": format!("toolu_{}", self.id), "name": name,
                                    "input": {"arg0": answer}}),
                );
                if stopped {
                    "tool_use"
                } else {
                    "max_tokens"
                }
            }
            None => {
                content.push(json!({"type": "text", "text": answer}));
                stop_reason(stopped)
            }
        };
        json!({"id": self.id, "type": "message", "role": "assistant", "model": reply.model, "content": content,
               "stop_reason": reason, "stop_sequence": null, "usage": usage(reply, generated)})
    }
}
