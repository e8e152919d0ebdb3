//! `prompts = dataset("file.jsonl")`: real prompts, each line an object with `prompt` (a string)
//! or `messages` (a chat array), measured in tokens by the class's `tokenizer` (Hugging Face
//! `tokenizer.json`) when it names one, else estimated at 4 characters a token — the usual rule
//! of thumb for English under BPE (the server's `prompt_tokens` is recorded beside it either way).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One prompt of a dataset: the text (or `messages` array) to send and its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub value: Value,
    pub tokens: u32,
}

/// Tokenizers loaded once each, by path.
#[derive(Default)]
pub struct Tokenizers {
    loaded: Vec<(PathBuf, tokenizers::Tokenizer)>,
}

impl Tokenizers {
    pub fn get(&mut self, path: &Path) -> Result<&tokenizers::Tokenizer, String> {
        if let Some(i) = self.loaded.iter().position(|(p, _)| p == path) {
            return Ok(&self.loaded[i].1);
        }
        let t = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| format!("{}: not a Hugging Face tokenizer.json: {e}", path.display()))?;
        self.loaded.push((path.to_path_buf(), t));
        Ok(&self.loaded[self.loaded.len() - 1].1)
    }
}

/// The tokens of `text` under `t` (no special tokens added).
fn count(t: &tokenizers::Tokenizer, text: &str) -> Result<usize, String> {
    t.encode_fast(text, false)
        .map(|e| e.len())
        .map_err(|e| format!("the tokenizer failed: {e}"))
}

/// The prompts of the dataset at `path`; a chat prompt counts its messages' contents, without
/// the server's template.
pub fn read(path: &Path, tokenizer: Option<&tokenizers::Tokenizer>) -> Result<Vec<Prompt>, String> {
    let where_ = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{where_}: cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{where_}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{where_}:{}", i + 1);
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("{at}: invalid JSON: {e}"))?;
        let measure = |text: &str| -> Result<usize, String> {
            match tokenizer {
                Some(t) => count(t, text).map_err(|e| format!("{at}: {e}")),
                None => Ok(text.chars().count().div_ceil(4)),
            }
        };
        let (value, tokens) = match (v.get("prompt"), v.get("messages")) {
            (Some(Value::String(p)), _) => (Value::String(p.clone()), measure(p)?),
            (_, Some(Value::Array(m))) => {
                let mut tokens = 0;
                for msg in m {
                    let content = msg.get("content").and_then(Value::as_str);
                    let role = msg.get("role").and_then(Value::as_str);
                    let (Some(c), Some(_)) = (content, role) else {
                        return Err(format!(
                            "{at}: messages: each message needs a role and a string content"
                        ));
                    };
                    tokens += measure(c)?;
                }
                (Value::Array(m.clone()), tokens)
            }
            _ => {
                return Err(format!(
                    "{at}: expected a \"prompt\" string or a \"messages\" array"
                ))
            }
        };
        let tokens = u32::try_from(tokens).unwrap_or(u32::MAX).max(1);
        out.push(Prompt { value, tokens });
    }
    if out.is_empty() {
        return Err(format!("{where_}: the dataset has no prompts"));
    }
    Ok(out)
}
