//! Prints synthesized prompts as JSON lines (`{"tokens": N, "prompt": "..."}`), for measuring
//! how close their length is under a real tokenizer (see docs/prompts.md and
//! benches/prompt_tokens.py).
//!
//! `cargo run --example prompts > prompts.jsonl`

use llmw::prompt::prompt;
use llmw::schedule::PlannedRequest;

fn main() {
    let lengths = [16u32, 64, 128, 512, 2048, 8192];
    for (i, &n) in lengths.iter().cycle().take(lengths.len() * 20).enumerate() {
        let r = PlannedRequest {
            id: i as u64,
            phase: 0,
            step: 0,
            class: 0,
            at_ns: None,
            input_tokens: n,
            output_tokens: 1,
            prefix_group: None,
            prefix_tokens: 0,
            think_ns: None,
            blocks: None,
            prompt: None,
            session: None,
            inputs: None,
            recorded: None,
        };
        let text = prompt(7, &r);
        println!("{}", serde_json::json!({"tokens": n, "prompt": text}));
    }
}
