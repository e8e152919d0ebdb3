//! The simulator's command-line options (`llmw sim`, and `--sim-profile` of `llmw run`): raw clap
//! values, checked here and turned into the library's `SimConfig` parts. The library types carry
//! no clap attributes.

use llmw::sim::{Behaviour, Faults, Profile, ProfileName};

/// `--profile` / `--sim-profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProfileArg {
    /// Like an 8B model on one data-centre GPU: ~10 ms ITL and tens of ms TTFT at low load,
    /// output throughput plateauing in the thousands of tokens/s.
    #[default]
    Default,
    /// No model delay at all: measures the client and the HTTP path alone.
    Fast,
}

impl ProfileArg {
    pub fn profile(self) -> Profile {
        Profile::named(match self {
            ProfileArg::Default => ProfileName::Default,
            ProfileArg::Fast => ProfileName::Fast,
        })
    }
}

/// A profile's parameters, each overriding the named profile's.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// Named profile to start from.
    #[arg(long, value_enum, default_value_t = ProfileArg::Default)]
    pub profile: ProfileArg,
    /// Fixed cost of a step, in microseconds.
    #[arg(long, value_name = "US", value_parser = non_negative)]
    pub step_base_us: Option<f64>,
    /// Cost per running sequence per step, in microseconds.
    #[arg(long, value_name = "US", value_parser = non_negative)]
    pub per_seq_us: Option<f64>,
    /// Cost per prefilled prompt token, in microseconds.
    #[arg(long, value_name = "US", value_parser = non_negative)]
    pub per_prefill_token_us: Option<f64>,
    /// Cost per KV-cache token held, per step, in nanoseconds.
    #[arg(long, value_name = "NS", value_parser = non_negative)]
    pub per_kv_token_ns: Option<f64>,
    /// Largest running batch.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_seqs: Option<u32>,
    /// KV-cache capacity in tokens.
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u64).range(1..))]
    pub kv_capacity: Option<u64>,
    /// Prefill tokens per step.
    #[arg(long, value_name = "TOKENS", value_parser = clap::value_parser!(u32).range(1..))]
    pub prefill_budget: Option<u32>,
    /// Serve another model beside --model, each request naming it costing FACTOR times a
    /// default one per sequence and per prefill token (repeat for more models).
    #[arg(long, value_name = "NAME=FACTOR", value_parser = model_cost)]
    pub model_cost: Vec<(String, f64)>,
}

/// `NAME=FACTOR`: a model's name and its cost, a positive number.
fn model_cost(s: &str) -> Result<(String, f64), String> {
    let (name, factor) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("expected NAME=FACTOR, found '{s}'"))?;
    let factor: f64 = factor
        .trim()
        .parse()
        .map_err(|_| format!("'{factor}' is not a number"))?;
    if name.trim().is_empty() || !(factor.is_finite() && factor > 0.0) {
        return Err(format!(
            "expected a model name and a cost above 0, found '{s}'"
        ));
    }
    Ok((name.trim().to_string(), factor))
}

impl ProfileArgs {
    pub fn profile(&self) -> Profile {
        let mut p = self.profile.profile();
        let set = |v: Option<f64>, field: &mut f64| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(self.step_base_us, &mut p.step_base_us);
        set(self.per_seq_us, &mut p.per_seq_us);
        set(self.per_prefill_token_us, &mut p.per_prefill_token_us);
        set(self.per_kv_token_ns, &mut p.per_kv_token_ns);
        p.max_seqs = self.max_seqs.unwrap_or(p.max_seqs);
        p.kv_capacity = self.kv_capacity.unwrap_or(p.kv_capacity);
        p.prefill_budget = self.prefill_budget.unwrap_or(p.prefill_budget);
        p.model_costs = self.model_cost.clone();
        p
    }
}

/// Shares (0–1) of requests given each fault.
#[derive(Debug, Clone, clap::Args)]
pub struct FaultArgs {
    /// Share of requests answered 429 (half of them) or 500 (the other half).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub error_rate: f64,
    /// Share of requests answered 429 Too Many Requests with a Retry-After header.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub throttle_rate: f64,
    /// The Retry-After (seconds) of those answers.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    pub retry_after: u32,
    /// Share of streams cut (connection aborted) halfway.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub cut_rate: f64,
    /// Share of streams that stall halfway and never finish.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub stall_rate: f64,
    /// Share of streams that get a malformed SSE data line halfway.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub malformed_rate: f64,
}

impl FaultArgs {
    pub fn faults(&self) -> Result<Faults, String> {
        let total = self.error_rate
            + self.throttle_rate
            + self.cut_rate
            + self.stall_rate
            + self.malformed_rate;
        // A little room for the sum's rounding (0.1 + 0.2 + 0.3 + 0.4 is 1.0000000000000002).
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "the fault shares add up to {total}; together they can be at most 1"
            ));
        }
        Ok(Faults {
            error_rate: self.error_rate,
            throttle_rate: self.throttle_rate,
            retry_after_s: self.retry_after,
            cut_rate: self.cut_rate,
            stall_rate: self.stall_rate,
            malformed_rate: self.malformed_rate,
        })
    }
}

/// Connection handling, request-id rules and response shapes of real servers.
#[derive(Debug, Clone, clap::Args)]
pub struct BehaviourArgs {
    /// Close the connection after every response without saying so, as llama.cpp's
    /// llama-server does: it answers `Keep-Alive: timeout=5, max=100`, then closes, leaving a
    /// request written meanwhile unread.
    #[arg(long)]
    pub close_after_response: bool,
    /// Close connections idle for longer than this (uvicorn, under vLLM and SGLang: 5 s).
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub idle_close: Option<f64>,
    /// Close a connection after this many requests, saying `Connection: close` on the last
    /// and counting down in `Keep-Alive: max=` (nginx's keepalive_requests).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_requests_per_connection: Option<u32>,
    /// Answer `400 Bad Request` with an empty body to an `X-Request-Id` that is not a UUID, as
    /// llama-cpp-python's server does.
    #[arg(long)]
    pub require_uuid_request_id: bool,
    /// A new completion request ends the stream in progress with a bare `data: [DONE]` and no
    /// finish_reason, as llama-cpp-python's server does by default (`interrupt_requests`).
    #[arg(long)]
    pub interrupt_on_new_request: bool,
    /// Tokens the chat template adds to every chat prompt (SmolLM2-Instruct's: 30).
    #[arg(long, value_name = "TOKENS", default_value_t = 0)]
    pub chat_template_tokens: u32,
    /// The first N generated tokens of every response are reasoning, streamed as
    /// `reasoning_content` deltas before the answer (reasoning models).
    #[arg(long, value_name = "TOKENS", default_value_t = 0)]
    pub reasoning_tokens: u32,
    /// Generated tokens per streamed chunk (speculative decoding, server-side coalescing). With
    /// `stream_options.continuous_usage_stats` each chunk carries its running usage.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub tokens_per_chunk: u32,
    /// Answer this route `404 Not Found`, as a server that does not serve its API does
    /// (`/v1/responses`, `/v1/messages`; repeatable).
    #[arg(long, value_name = "ROUTE")]
    pub unserved: Vec<String>,
    /// Refuse (401) every /v1/ request without this key, as `Authorization: Bearer KEY` or
    /// `x-api-key: KEY` (vLLM's --api-key).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Answer this share (0 to 1) of the requests that offer tools with a call to the first
    /// tool, its arguments the answer's tokens (finish `tool_calls`, `tool_use`).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub tool_calls: f64,
    /// Refuse requests with images (500 "image input is not supported"), as llama.cpp does for
    /// a text-only model.
    #[arg(long)]
    pub no_vision: bool,
}

impl BehaviourArgs {
    pub fn behaviour(&self) -> Behaviour {
        Behaviour {
            close_after_response: self.close_after_response,
            idle_close: self.idle_close,
            max_requests_per_connection: self.max_requests_per_connection,
            require_uuid_request_id: self.require_uuid_request_id,
            interrupt_on_new_request: self.interrupt_on_new_request,
            chat_template_tokens: self.chat_template_tokens,
            reasoning_tokens: self.reasoning_tokens,
            tokens_per_chunk: self.tokens_per_chunk,
            unserved: self.unserved.clone(),
            api_key: self.api_key.clone(),
            tool_call_share: self.tool_calls,
            no_vision: self.no_vision,
        }
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a finite number of at least 0")),
    }
}

fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a share between 0 and 1")),
    }
}
