//! What a run ran against, in `run.json`: the target as given ([`Target`]), the request ids
//! sent, the prompt calibration measured before the run, the in-process simulator's cost model,
//! and what the run learnt of the server (connection reuse, the metrics scrape).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Chat,
    Completions,
    Responses,
    Messages,
    Embeddings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptTokens {
    Exact,
    Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The base URL, credentials removed.
    pub url: String,
    pub api: Api,
    pub model: String,
    pub stream: bool,
    pub ignore_eos: bool,
    #[serde(default)]
    pub timeout_ns: Option<u64>,
    /// The names of the extra headers sent (never their values).
    #[serde(default)]
    pub header_names: Vec<String>,
    #[serde(default)]
    pub request_id_header: Option<String>,
    pub prompt_tokens: PromptTokens,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestIds {
    /// The header each request's UUID is sent in (`None`: not sent).
    #[serde(default)]
    pub header: Option<String>,
    /// The run-unique first 18 characters of every request's UUID.
    pub uuid_prefix: String,
    pub format: String,
}

/// The chat template's tokens, measured before the run (or why not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptCalibration {
    pub mode: PromptTokens,
    pub overhead_tokens: u32,
    #[serde(default)]
    pub tokens_per_word: Option<f64>,
    /// Each probe's words and the prompt tokens the server counted.
    #[serde(default)]
    pub probes: Vec<Probe>,
    #[serde(default)]
    pub note: Option<String>,
    /// Why the probes could not measure it.
    #[serde(default)]
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub words: u32,
    pub prompt_tokens: u32,
}

/// The run's targets, when it had several (`--target` more than once): how requests were
/// spread over them, and each with its own metrics scrape (`server_metrics` sums them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    /// `session`, `round_robin` or `class` (the workload's `spread`).
    pub spread: String,
    pub targets: Vec<Replica>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    /// The base URL, credentials removed: the `target` column's value for its requests.
    pub url: String,
    /// Its own page's scrape (`None`: one `--metrics-url` for the fleet, or not scraped).
    #[serde(default)]
    pub server_metrics: Option<ServerMetrics>,
}

/// The in-process simulator's cost model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulator {
    pub in_process: bool,
    pub model: String,
    pub step_base_us: f64,
    pub per_seq_us: f64,
    pub per_prefill_token_us: f64,
    pub per_kv_token_ns: f64,
    pub max_seqs: u32,
    pub kv_capacity: u64,
    pub prefill_budget: u32,
}

/// Connection reuse as the server allowed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connections {
    pub reuse: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// The Prometheus scrape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerMetrics {
    /// `--no-metrics`.
    #[serde(default)]
    pub off: bool,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub scrapes: u64,
    #[serde(default)]
    pub failed_scrapes: u64,
    #[serde(default)]
    pub samples: u64,
    /// Why nothing was recorded (the first scrape failed).
    #[serde(default)]
    pub unavailable: Option<String>,
}
