//! Simulator profiles: the cost model of one continuous-batching inference server.
//!
//! A step decodes one token for every running sequence and spends up to `prefill_budget`
//! tokens of prefill on waiting prompts. Its duration is
//!
//! ```text
//! step = base + per_seq · running + per_prefill_token · prefill_tokens + per_kv_token · kv_tokens
//! ```
//!
//! so inter-token latency grows with the batch and the KV cache held, TTFT grows with the prompt
//! and with queueing, and output throughput (running / step) plateaus as the per-sequence and
//! KV terms come to dominate, or when `max_seqs` or `kv_capacity` make new requests wait.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileName {
    #[default]
    /// Like an 8B model on one data-centre GPU: ~10 ms ITL and tens of ms TTFT at low load,
    /// output throughput plateauing in the thousands of tokens/s.
    Default,
    /// No model delay at all: measures the client and the HTTP path alone.
    Fast,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub step_base_us: f64,
    pub per_seq_us: f64,
    pub per_prefill_token_us: f64,
    pub per_kv_token_ns: f64,
    /// At most this many sequences run at once; the rest wait, first come first served.
    pub max_seqs: u32,
    /// KV-cache capacity in tokens; a sequence reserves prompt + output tokens when admitted.
    pub kv_capacity: u64,
    /// Prefill tokens processed per step (chunked prefill).
    pub prefill_budget: u32,
    /// Prefix-cache block size in tokens.
    pub block_tokens: u32,
    /// Output length when the request neither sets `ignore_eos` nor `min_tokens`: the mean of
    /// the simulated natural stopping point (capped by `max_tokens`).
    pub natural_output_mean: u32,
    /// Models served beside the default one, each with its cost: a request naming one costs
    /// that many times a default request's per-sequence and per-prefill-token time (a LoRA
    /// adapter's extra work, a larger model's). Any other name costs 1.
    pub model_costs: Vec<(String, f64)>,
}

impl Profile {
    pub fn named(name: ProfileName) -> Profile {
        match name {
            ProfileName::Default => Profile {
                step_base_us: 7_000.0,
                per_seq_us: 60.0,
                per_prefill_token_us: 40.0,
                per_kv_token_ns: 50.0,
                max_seqs: 256,
                kv_capacity: 300_000,
                prefill_budget: 4096,
                block_tokens: 16,
                natural_output_mean: 200,
                model_costs: Vec::new(),
            },
            ProfileName::Fast => Profile {
                step_base_us: 0.0,
                per_seq_us: 0.0,
                per_prefill_token_us: 0.0,
                per_kv_token_ns: 0.0,
                max_seqs: 1_000_000,
                kv_capacity: u64::MAX / 4,
                prefill_budget: u32::MAX,
                block_tokens: 16,
                natural_output_mean: 200,
                model_costs: Vec::new(),
            },
        }
    }

    /// The duration of one step, in seconds: `running` and `prefill_tokens` are each weighted
    /// by their model's cost ([`Profile::cost_of`]), 1 for the default model.
    pub fn step_seconds(&self, running: f64, prefill_tokens: f64, kv_tokens: u64) -> f64 {
        (self.step_base_us + self.per_seq_us * running + self.per_prefill_token_us * prefill_tokens)
            / 1e6
            + self.per_kv_token_ns * kv_tokens as f64 / 1e9
    }

    /// The cost of a request naming `model` (1 unless `model_costs` says otherwise).
    pub fn cost_of(&self, model: Option<&str>) -> f64 {
        model
            .and_then(|m| self.model_costs.iter().find(|(name, _)| name == m))
            .map_or(1.0, |(_, c)| *c)
    }
}
