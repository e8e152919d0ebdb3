//! The function definitions a request offers (`tools = N`), and the calls an agent session's
//! turns make to them (`tool_result`): synthetic, deterministic per seed and class (the
//! definitions) or per request (a call), each as words of the prompt vocabulary.

use super::{words, PROMPT_TEXT};
use crate::rng::{key, Rng};
use crate::schedule::PlannedRequest;

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

/// A planned tool call: what an agent session's turn answers in the plan (`tool_result`).
pub(crate) struct Call {
    pub id: String,
    pub name: String,
    /// The arguments as JSON text (the form chat and Responses carry them in).
    pub arguments: String,
}

impl Call {
    /// The assistant's message that made the call, in the chat form.
    pub fn message(&self) -> serde_json::Value {
        serde_json::json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": self.id, "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }]})
    }
}

/// The call `q` makes in the plan: one of `tools` (drawn from the seed and its id), with its
/// planned reply's `output_tokens` words spread over the tool's string parameters in order.
pub(crate) fn call(seed: u64, q: &PlannedRequest, tools: &[Tool]) -> Call {
    let mut rng = Rng::new(key(&[seed, PROMPT_TEXT, 6, q.id]));
    let tool = &tools[rng.below(tools.len() as u64) as usize];
    let names: Vec<&String> = tool.parameters["properties"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let text = super::turn_words(seed, 5, q.id, q.output_tokens);
    let all: Vec<&str> = text.split(' ').collect();
    let each = all.len().div_ceil(names.len().max(1)).max(1);
    let mut arguments = serde_json::Map::new();
    for (k, name) in names.into_iter().enumerate() {
        let part = all.iter().skip(k * each).take(each);
        let part: Vec<&str> = part.copied().collect();
        arguments.insert(name.clone(), serde_json::Value::String(part.join(" ")));
    }
    Call {
        id: format!("call_{:016x}", q.id),
        name: tool.name.clone(),
        arguments: serde_json::Value::Object(arguments).to_string(),
    }
}
