//! The plan hash: SHA-256 over a canonical encoding of the plan, so two plans with the same
//! hash send the same requests at the same times. The workload's name, description and target
//! are not part of it: an A/B comparison of two models runs the same plan. Nor are file paths:
//! what the files hold is (the trace rows in the requests, sampled pairs, empirical values,
//! dataset prompts), so a copied directory plans identically and an edited file does not.

use sha2::{Digest, Sha256};

use super::Schedule;

pub fn plan_hash(s: &Schedule) -> String {
    let mut h = Sha256::new();
    h.update(b"llmw-plan-v1\n");
    h.update(s.seed.to_le_bytes());
    // The phases (with the class shapes closed-loop requests are generated from) as JSON:
    // field order is declaration order and floats print as shortest round-trip decimals, so
    // the encoding is the same on every machine.
    match serde_json::to_vec(&(&s.classes, &s.phases)) {
        Ok(bytes) => h.update(&bytes),
        // Non-finite floats cannot occur in a checked workload; hash their Debug form if they do.
        Err(_) => h.update(format!("{:?}{:?}", s.classes, s.phases).as_bytes()),
    }
    for r in &s.requests {
        h.update(r.id.to_le_bytes());
        h.update(r.class.to_le_bytes());
        h.update(r.at_ns.unwrap_or(u64::MAX).to_le_bytes());
        h.update(r.input_tokens.to_le_bytes());
        h.update(r.output_tokens.to_le_bytes());
        h.update(r.prefix_group.unwrap_or(u32::MAX).to_le_bytes());
        h.update(r.prefix_tokens.to_le_bytes());
        // A conversation's place decides its prompt's history (absent outside sessions, so
        // other plans keep their hashes).
        if let Some(t) = &r.session {
            h.update(b"turn");
            for v in [t.turn, t.branch, t.turns, t.new_tokens, t.first_turn] {
                h.update(v.to_le_bytes());
            }
            h.update(t.id.to_le_bytes());
            h.update(r.think_ns.unwrap_or(u64::MAX).to_le_bytes());
        }
        // An embeddings batch (absent elsewhere, so other plans keep their hashes).
        if let Some(n) = r.inputs {
            h.update(b"inputs");
            h.update(n.to_le_bytes());
        }
        // What a trace row says it was sent as (absent elsewhere, so other plans keep their
        // hashes).
        if let Some(said) = r.recorded.and_then(|i| s.recorded.get(i as usize)) {
            h.update(b"recorded");
            match serde_json::to_vec(said) {
                Ok(bytes) => h.update(&bytes),
                Err(_) => h.update(format!("{said:?}").as_bytes()),
            }
        }
        // Replayed prefix blocks decide the prompt text (absent for most plans).
        if let Some(list) = r.blocks.and_then(|i| s.blocks.get(i as usize)) {
            h.update(s.block_tokens.to_le_bytes());
            for b in list {
                h.update(b.to_le_bytes());
            }
        }
    }
    // Real prompts of `dataset(...)` classes: their text is what is sent (absent for most plans,
    // so their hashes stay as they were).
    if !s.prompts.is_empty() {
        h.update(b"prompts\n");
        match serde_json::to_vec(&s.prompts) {
            Ok(bytes) => h.update(&bytes),
            Err(_) => h.update(format!("{:?}", s.prompts).as_bytes()),
        }
    }
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
