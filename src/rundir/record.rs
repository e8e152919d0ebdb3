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
    /// The status a `status` column value names; `None` for one this version does not know.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "ok" => Some(Status::Ok),
            "error" => Some(Status::Error),
            "timeout" => Some(Status::Timeout),
            "dropped" => Some(Status::Dropped),
            "cancelled" => Some(Status::Cancelled),
            _ => None,
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

/// What went wrong with a request that did not end `ok`: the `error_kind` column. The kinds
/// are fixed (docs/runs.md lists them); the `error` column says the rest in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// No connection: the name did not resolve, the port refused, connect timed out.
    Connect,
    /// The TLS handshake or the certificate failed.
    Tls,
    /// The server answered with a status other than 2xx.
    HttpStatus,
    /// The answer is not HTTP/1.1 llmw can read, or the connection ended before its head.
    Protocol,
    /// The body broke after a 2xx head: closed mid-stream, bad framing, an error event, an
    /// end without a finish.
    Stream,
    /// The body is not the API's JSON.
    Decode,
    /// No complete answer within the request's timeout.
    Timeout,
    /// A capacity search cut it (its probe ended a hold ago).
    Cut,
    /// The run stopped for another reason (the abort rule, a failed writer) while it ran.
    Cancelled,
    /// The run was interrupted (a signal) while it ran.
    Interrupted,
    /// An open-loop request dropped at `max_in_flight`.
    Dropped,
    /// llmw itself failed on it (a bug; the run ends failed and says so).
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::HttpStatus,
        ErrorKind::Protocol,
        ErrorKind::Stream,
        ErrorKind::Decode,
        ErrorKind::Timeout,
        ErrorKind::Cut,
        ErrorKind::Cancelled,
        ErrorKind::Interrupted,
        ErrorKind::Dropped,
        ErrorKind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Stream => "stream",
            ErrorKind::Decode => "decode",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cut => "cut",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Dropped => "dropped",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind an `error_kind` value names; `None` for a name this version does not know.
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
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
    /// Why it failed, by kind (`None` when it ended `ok`, and in runs before the column).
    pub error_kind: Option<ErrorKind>,
    pub prefix_group: Option<u32>,
    /// The UUID llmw gave the request (sent in the request-id header unless that is off).
    pub request_uuid: Option<String>,
    /// The connection came from the pool (pre-opened or kept from an earlier request) rather
    /// than being opened for this request; `None` when no connection was had.
    pub conn_reused: Option<bool>,
    /// Sent a second time on a fresh connection: the pooled one had been closed by the server
    /// before it read the request (docs/servers.md).
    pub resent: bool,
    /// `finish_reason` as the server sent it (`length`, `stop`, …).
    pub finish_reason: Option<String>,
    /// `usage.prompt_tokens_details.cached_tokens` (or llama.cpp's `timings.cache_n`).
    pub cached_tokens: Option<u32>,
    /// The first chunk that carried answer text (not reasoning).
    pub first_content_ns: Option<u64>,
    /// Tokens of reasoning (`reasoning_content` / `reasoning`) among `output_tokens`.
    pub reasoning_tokens: Option<u32>,
    /// Conversations: the session's id (its first request's id), the 0-based turn, the branch
    /// within the turn (`fanout`), and the session's planned number of turns.
    pub session: Option<u64>,
    pub turn: Option<u32>,
    pub branch: Option<u32>,
    pub session_turns: Option<u32>,
    /// A connection opened for this request: how long the name look-up and TCP connect took
    /// (ns), and the TLS handshake after it. `None` on a pooled connection (and for TLS on
    /// plain HTTP). `sent_ns` is after both: when the request's first byte was written.
    pub connect_ns: Option<u64>,
    pub tls_ns: Option<u64>,
    /// A closed-loop user paused this long after this request failed, before its next one
    /// (`on_error { backoff }`, or the server's `Retry-After`); `None` when it did not.
    pub backoff_ns: Option<u64>,
    /// The API the request was sent to (`chat`, `responses`, …) and the model it named;
    /// `None` in runs from before the columns.
    pub api: Option<&'static str>,
    pub model: Option<String>,
    /// An embeddings request's inputs (`None` for the other APIs, and in runs before it).
    pub inputs: Option<u32>,
    /// The target (base URL, credentials removed) the request went to, of the run's one or
    /// several; `None` in runs from before the column.
    pub target: Option<std::sync::Arc<str>>,
    /// The images the request sent (`None`: its class sends none, and in runs before the
    /// column), their pixels (width × height summed) and encoded bytes (before base64).
    pub images: Option<u32>,
    pub image_pixels: Option<u64>,
    pub image_bytes: Option<u64>,
    /// The request body's length in bytes (`None` for a request never sent, and in runs
    /// before the column).
    pub body_bytes: Option<u64>,
    /// The tools the request offered (`None`: none), the calls its answer began, and when the
    /// first call's first byte arrived.
    pub tools: Option<u32>,
    pub tool_calls: Option<u32>,
    pub first_tool_ns: Option<u64>,
}

impl RequestRow {
    /// A row of phase 0 and class 0 with the given id, step, status and times (ns: sent, first
    /// token, last token, done), every length 0 and every optional field empty: the base of
    /// rows built by hand (a request that was never sent, tests, the synthetic benchmark run),
    /// which set the rest with `..`.
    pub fn bare(
        request_id: u64,
        step: u32,
        status: Status,
        (sent, first, last, done): (u64, Option<u64>, Option<u64>, u64),
    ) -> RequestRow {
        RequestRow {
            request_id,
            phase: 0,
            step,
            class: 0,
            scheduled_ns: None,
            sent_ns: sent,
            first_token_ns: first,
            last_token_ns: last,
            done_ns: done,
            input_tokens: 0,
            output_tokens_requested: 0,
            prompt_tokens: None,
            output_tokens: None,
            chunks: 0,
            status,
            http_status: None,
            error: None,
            error_kind: None,
            prefix_group: None,
            request_uuid: None,
            conn_reused: None,
            resent: false,
            finish_reason: None,
            cached_tokens: None,
            first_content_ns: None,
            reasoning_tokens: None,
            session: None,
            turn: None,
            branch: None,
            session_turns: None,
            connect_ns: None,
            tls_ns: None,
            backoff_ns: None,
            api: None,
            model: None,
            inputs: None,
            target: None,
            images: None,
            image_pixels: None,
            image_bytes: None,
            body_bytes: None,
            tools: None,
            tool_calls: None,
            first_tool_ns: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRow {
    pub request_id: u64,
    pub seq: u32,
    pub at_ns: u64,
    pub tokens: u32,
    pub bytes: u32,
    /// The chunk carried reasoning (`reasoning_content` / `reasoning`), not answer text.
    pub reasoning: bool,
}

/// One sample of the server's Prometheus metrics, scraped at `at_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub at_ns: u64,
    pub name: String,
    /// The label set as the server wrote it, without braces (`model_name="m",le="0.5"`).
    pub labels: String,
    pub value: f64,
    /// The target whose server wrote the sample (`None`: one `--metrics-url` for a fleet).
    pub target: Option<std::sync::Arc<str>>,
}
