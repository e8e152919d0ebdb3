//! The OpenAI Responses API as the simulator speaks it (`POST /v1/responses`): `input` (a string,
//! or `message` items whose content is a string or `input_text`/`output_text` parts),
//! `instructions`, `max_output_tokens`, `ignore_eos`/`min_tokens`, `stream`. A stream is the
//! named events OpenAI sends, each with its `type` and a `sequence_number`:
//! `response.created`, `response.in_progress`; per output item `response.output_item.added`,
//! `response.content_part.added`, its deltas (`response.reasoning_text.delta` for reasoning,
//! `response.output_text.delta` for the answer), `…done` events; then `response.completed`
//! (a natural end) or `response.incomplete` (`max_output_tokens` reached) with the usage. No
//! `[DONE]`.

use hyper::Method;
use serde_json::{json, Value};

use super::api::{Ask, Route, Writer};
use super::json::push_json_str;
use super::read::{call_words, cap, content_words, exact, first_tool, tool_words};
use super::reply::Reply;

/// The Responses API's route.
pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    match (method, path) {
        (&Method::POST, "/v1/responses") => Some(Route::Complete(read)),
        _ => None,
    }
}

/// Request `n`.
fn read(body: &Value, n: u64) -> Result<Ask, String> {
    let mut words = Vec::new();
    if let Some(s) = body.get("instructions").and_then(Value::as_str) {
        words.extend(s.split_whitespace().map(str::to_string));
    }
    match body.get("input") {
        Some(Value::String(s)) => words.extend(s.split_whitespace().map(str::to_string)),
        Some(Value::Array(items)) => {
            for item in items {
                content_words(item.get("content"), &mut words)?;
                call_words(item, &mut words)?;
            }
        }
        _ => return Err("missing or invalid 'input'".into()),
    }
    tool_words(body, &mut words);
    let max_tokens = cap(body, "max_output_tokens").unwrap_or(256);
    Ok(Ask {
        tool: first_tool(body),
        words,
        chat: true,
        max_tokens,
        exact: exact(body, max_tokens),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        writer: Box::new(Responses {
            id: format!("resp_{n}"),
            seq: 0,
            items: 0,
            open: None,
            text: String::new(),
            call: None,
        }),
    })
}

/// One answer's writer: the events' running number and the output item being written.
struct Responses {
    id: String,
    seq: u64,
    /// Output items opened so far (the open one is the last).
    items: u64,
    /// The open output item: reasoning (`true`) or the message.
    open: Option<bool>,
    /// The open item's text so far (its `…done` events repeat it).
    text: String,
    /// The answer is a call of this tool: a `function_call` item, not a message.
    call: Option<String>,
}

fn item_id(id: &str, reasoning: bool) -> String {
    format!("{}_{id}", if reasoning { "rs" } else { "msg" })
}

impl Responses {
    /// One named event; `data` is its JSON without `type` and `sequence_number`.
    fn event(&mut self, kind: &str, data: Value, out: &mut String) {
        let mut data = data;
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.push_str("event: ");
        out.push_str(kind);
        out.push_str("\ndata: ");
        out.push_str(&data.to_string());
        out.push_str("\n\n");
    }

    fn open_item(&mut self, reasoning: bool, out: &mut String) {
        let id = item_id(&self.id, reasoning);
        let (item, part) = if reasoning {
            (
                json!({"id": id, "type": "reasoning", "summary": [], "content": []}),
                json!({"type": "reasoning_text", "text": ""}),
            )
        } else {
            (
                json!({"id": id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}),
                json!({"type": "output_text", "text": "", "annotations": []}),
            )
        };
        let index = self.items;
        self.items += 1;
        self.event(
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
            out,
        );
        self.event(
            "response.content_part.added",
            json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
            out,
        );
        self.open = Some(reasoning);
    }

    /// The function call's item, its arguments as they stand.
    fn call_item(&self, name: &str, status: &str) -> Value {
        json!({"id": format!("fc_{}", self.id), "type": "function_call", "status": status,
               "call_id": format!("call_{}", self.id), "name": name, "arguments": self.text})
    }

    fn close_item(&mut self, out: &mut String) {
        if let (Some(false), Some(name)) = (self.open, self.call.clone()) {
            self.open = None;
            let item = self.call_item(&name, "completed");
            let id = format!("fc_{}", self.id);
            let index = self.items.saturating_sub(1);
            self.event(
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": index, "arguments": self.text}),
                out,
            );
            self.event(
                "response.output_item.done",
                json!({"output_index": index, "item": item}),
                out,
            );
            self.text.clear();
            return;
        }
        let Some(reasoning) = self.open.take() else {
            return;
        };
        let id = item_id(&self.id, reasoning);
        let text = std::mem::take(&mut self.text);
        let (done, part, item) = if reasoning {
            (
                "response.reasoning_text.done",
                json!({"type": "reasoning_text", "text": text}),
                json!({"id": id, "type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": text}]}),
            )
        } else {
            (
                "response.output_text.done",
                json!({"type": "output_text", "text": text, "annotations": []}),
                json!({"id": id, "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}),
            )
        };
        self.event(
            done,
            json!({"item_id": id, "content_index": 0, "text": text}),
            out,
        );
        self.event(
            "response.content_part.done",
            json!({"item_id": id, "content_index": 0, "part": part}),
            out,
        );
        self.event("response.output_item.done", json!({"item": item}), out);
    }

    /// The response object: its status, output items and usage.
    fn response(
        &self,
        reply: &Reply,
        output: Value,
        stopped: Option<bool>,
        generated: u32,
    ) -> Value {
        let mut r = json!({"id": self.id, "object": "response", "created_at": 0, "model": reply.model, "output": output});
        match stopped {
            None => r["status"] = json!("in_progress"),
            Some(true) => r["status"] = json!("completed"),
            Some(false) => {
                r["status"] = json!("incomplete");
                r["incomplete_details"] = json!({"reason": "max_output_tokens"});
            }
        }
        if stopped.is_some() {
            r["usage"] = json!({
                "input_tokens": reply.prompt_tokens,
                "input_tokens_details": {"cached_tokens": reply.cached},
                "output_tokens": generated,
                "output_tokens_details": {"reasoning_tokens": reply.reasoning.min(generated)},
                "total_tokens": reply.prompt_tokens + generated,
            });
        }
        r
    }
}

impl Writer for Responses {
    fn call(&mut self, name: &str) {
        self.call = Some(name.to_string());
    }

    fn start(&mut self, reply: &Reply, out: &mut String) {
        let r = self.response(reply, json!([]), None, 0);
        self.event("response.created", json!({"response": r}), out);
        self.event("response.in_progress", json!({"response": r}), out);
    }

    fn text(&mut self, _: &Reply, text: &str, reasoning: bool, _: u32, out: &mut String) {
        if let (false, Some(name)) = (reasoning, self.call.clone()) {
            let mut piece = text.to_string();
            if self.open != Some(false) {
                self.close_item(out);
                self.text.clear();
                let index = self.items;
                self.items += 1;
                self.open = Some(false);
                let item = self.call_item(&name, "in_progress");
                self.event(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                    out,
                );
                piece = format!("{}{}", super::openai::ARGS_OPEN, text.trim_start());
            }
            self.text.push_str(&piece);
            let index = self.items.saturating_sub(1);
            let id = format!("fc_{}", self.id);
            self.event(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": piece}),
                out,
            );
            return;
        }
        if self.open != Some(reasoning) {
            self.close_item(out);
            self.open_item(reasoning, out);
        }
        self.text.push_str(text);
        // The per-chunk event, written by hand (no `Value` tree per token).
        let kind = if reasoning {
            "response.reasoning_text.delta"
        } else {
            "response.output_text.delta"
        };
        out.push_str("event: ");
        out.push_str(kind);
        out.push_str("\ndata: {\"content_index\":0,\"delta\":");
        push_json_str(out, text);
        out.push_str(",\"item_id\":");
        push_json_str(out, &item_id(&self.id, reasoning));
        out.push_str(&format!(
            ",\"output_index\":{},\"sequence_number\":{},\"type\":\"{kind}\"}}\n\n",
            self.items.saturating_sub(1),
            self.seq
        ));
        self.seq += 1;
    }

    fn finish(&mut self, reply: &Reply, stopped: bool, generated: u32, out: &mut String) {
        if let (true, Some(false), Some(_)) = (stopped, self.open, &self.call) {
            let close = super::openai::ARGS_CLOSE;
            self.text.push_str(close);
            let (index, id) = (self.items.saturating_sub(1), format!("fc_{}", self.id));
            self.event(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": close}),
                out,
            );
        }
        self.close_item(out);
        let kind = if stopped {
            "response.completed"
        } else {
            "response.incomplete"
        };
        let r = self.response(reply, json!([]), Some(stopped), generated);
        self.event(kind, json!({"response": r}), out);
    }

    fn abandon(&mut self, _: &Reply, _: &mut String) {
        // The stream just ends: no response.completed.
    }

    fn malformed(&mut self, out: &mut String) {
        out.push_str("event: response.output_text.delta\ndata: {\"type\": oops\n\n");
    }

    fn whole(
        &self,
        reply: &Reply,
        answer: &str,
        thinking: &str,
        stopped: bool,
        generated: u32,
    ) -> Value {
        let mut output = Vec::new();
        if !thinking.is_empty() {
            output.push(json!({"id": item_id(&self.id, true), "type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": thinking}]}));
        }
        match self.call.as_ref().filter(|_| !answer.is_empty()) {
            Some(name) => {
                let close = if stopped { super::openai::ARGS_CLOSE } else { "" };
                let arguments = format!("{}{answer}{close}", super::openai::ARGS_OPEN);
                output.push(json!({"id": format!("fc_{}", self.id), "type": "function_call", "status": "completed",
                                   "call_id": format!("call_{}", self.id), "name": name, "arguments": arguments}));
            }
            None => output.push(json!({"id": item_id(&self.id, false), "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": answer, "annotations": []}]})),
        }
        self.response(reply, Value::Array(output), Some(stopped), generated)
    }
}
