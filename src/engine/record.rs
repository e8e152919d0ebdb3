//! What the engine records: one row per request that reached its send time, one row per
//! streamed chunk that carried generated text. Times are ns since the run's start.

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Error,
    Timeout,
    Dropped,
    Cancelled,
}

impl Status {
    /// The status a `status` column value names (an unknown one reads as an error).
    pub fn parse(s: &str) -> Status {
        match s {
            "ok" => Status::Ok,
            "timeout" => Status::Timeout,
            "dropped" => Status::Dropped,
            "cancelled" => Status::Cancelled,
            _ => Status::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Timeout => "timeout",
            Status::Dropped => "dropped",
            Status::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    pub request_id: u64,
    pub phase: u32,
    pub step: u32,
    pub class: u32,
    pub scheduled_ns: Option<u64>,
    pub sent_ns: u64,
    pub first_token_ns: Option<u64>,
    pub last_token_ns: Option<u64>,
    pub done_ns: u64,
    pub input_tokens: u32,
    pub output_tokens_requested: u32,
    pub prompt_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
    pub chunks: u32,
    pub status: Status,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub prefix_group: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRow {
    pub request_id: u64,
    pub seq: u32,
    pub at_ns: u64,
    pub tokens: u32,
    pub bytes: u32,
}
