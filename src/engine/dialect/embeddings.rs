//! The OpenAI embeddings API (`/v1/embeddings`): a batch of inputs in `input`, nothing
//! generated and never streamed. The answer is `data` (one embedding per input) and `usage`
//! (`prompt_tokens`, the tokens of every input); it is complete when it holds an embedding for
//! every input sent.

use serde_json::{json, Value};

use super::{Ask, Dialect, Event, Usage, Whole};
use crate::prompt::Prompt;

/// `/v1/embeddings`.
pub struct Embeddings;

pub static EMBEDDINGS: Embeddings = Embeddings;

impl Dialect for Embeddings {
    fn route(&self) -> &'static str {
        "/v1/embeddings"
    }

    fn body(&self, ask: Ask<'_>) -> Value {
        let input = match ask.prompt {
            Prompt::Batch(inputs) => Value::from(inputs),
            p => json!([p.text()]),
        };
        json!({"model": ask.model, "input": input, "encoding_format": "float"})
    }

    fn event<'a>(&self, _: &'a [u8]) -> Result<Event<'a>, String> {
        Err("the embeddings API does not stream".into())
    }

    fn whole(&self, body: &[u8]) -> Result<Whole, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
            return Err(format!("an error, not embeddings: {e}"));
        }
        let data = v
            .get("data")
            .and_then(Value::as_array)
            .ok_or("no data array of embeddings")?;
        let num = |p: &str| v.pointer(p).and_then(Value::as_u64).map(|x| x as u32);
        Ok(Whole {
            answer: String::new(),
            reasoning: String::new(),
            usage: Usage {
                prompt: num("/usage/prompt_tokens"),
                output: Some(0),
                ..Usage::default()
            },
            finished: !data.is_empty(),
            finish_reason: Some(format!("{} embeddings", data.len())),
            ..Whole::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_goes_as_its_inputs_and_the_answer_counts_its_tokens() {
        let body = EMBEDDINGS.body(Ask {
            model: "e",
            prompt: Prompt::Batch(vec!["a b".into(), "c".into()]),
            max_tokens: 0,
            stream: true,
            ignore_eos: true,
            temperature: None,
            images: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
        });
        assert_eq!(
            body,
            json!({"model": "e", "input": ["a b", "c"], "encoding_format": "float"})
        );
        let w = EMBEDDINGS
            .whole(br#"{"data":[{"embedding":[0.1]},{"embedding":[0.2]}],"usage":{"prompt_tokens":5,"total_tokens":5}}"#)
            .expect("valid");
        assert_eq!((w.usage.prompt, w.finished), (Some(5), true));
        assert_eq!(w.finish_reason.as_deref(), Some("2 embeddings"));
        assert!(EMBEDDINGS.whole(br#"{"error":{"code":501}}"#).is_err());
        assert!(EMBEDDINGS.event(b"{}").is_err());
    }
}
