//! The ways real servers differ from a polite one, as simulator options, so that `cargo test`
//! meets what llmw meets in the field (docs/servers.md has the servers these come from).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Connection handling, request-id rules and response shapes of real servers.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Close the connection after every response without saying so, as llama.cpp's
    /// llama-server does: it answers `Keep-Alive: timeout=5, max=100`, then closes, leaving a
    /// request written meanwhile unread.
    pub close_after_response: bool,
    /// Close connections idle for longer than this (uvicorn, under vLLM and SGLang: 5 s).
    pub idle_close: Option<f64>,
    /// Close a connection after this many requests, saying `Connection: close` on the last
    /// and counting down in `Keep-Alive: max=` (nginx's keepalive_requests).
    pub max_requests_per_connection: Option<u32>,
    /// Answer `400 Bad Request` with an empty body to an `X-Request-Id` that is not a UUID, as
    /// llama-cpp-python's server does.
    pub require_uuid_request_id: bool,
    /// A new completion request ends the stream in progress with a bare `data: [DONE]` and no
    /// finish_reason, as llama-cpp-python's server does by default (`interrupt_requests`).
    pub interrupt_on_new_request: bool,
    /// Tokens the chat template adds to every chat prompt (SmolLM2-Instruct's: 30).
    pub chat_template_tokens: u32,
    /// The first N generated tokens of every response are reasoning, streamed as
    /// `reasoning_content` deltas before the answer (reasoning models).
    pub reasoning_tokens: u32,
    /// Generated tokens per streamed chunk (speculative decoding, server-side coalescing). With
    /// `stream_options.continuous_usage_stats` each chunk carries its running usage.
    pub tokens_per_chunk: u32,
    /// Routes answered `404 Not Found` (FastAPI's `{"detail": "Not Found"}`), as a server that
    /// does not serve that API does: `/v1/responses`, `/v1/messages`.
    pub unserved: Vec<String>,
    /// Every `/v1/` request must carry this key, as `Authorization: Bearer KEY` or (Anthropic's
    /// way) `x-api-key: KEY`; without it, `401 Unauthorized` (vLLM's `--api-key`).
    pub api_key: Option<String>,
    /// The share of requests offering tools (and not `tool_choice: none`) answered with a
    /// call to the first tool instead of text: its arguments are the answer's tokens.
    pub tool_call_share: f64,
    /// Refuse requests with images (`500`, "image input is not supported"), as llama.cpp does
    /// for a model loaded without a vision projector (`--mmproj`).
    pub no_vision: bool,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            close_after_response: false,
            idle_close: None,
            max_requests_per_connection: None,
            require_uuid_request_id: false,
            interrupt_on_new_request: false,
            chat_template_tokens: 0,
            reasoning_tokens: 0,
            tokens_per_chunk: 1,
            unserved: Vec::new(),
            api_key: None,
            tool_call_share: 0.0,
            no_vision: false,
        }
    }
}

/// After a response that ends a connection, the server waits this long before it closes, so the
/// response's last bytes leave first and a request the client writes meanwhile lands unread.
pub const LINGER: Duration = Duration::from_millis(25);

/// One connection's state, shared by its requests and the task that serves it.
pub struct Conn {
    /// No more requests are read: the next one waits, unanswered, for the close.
    closing: AtomicBool,
    close: Notify,
    /// Requests begun on this connection.
    pub served: AtomicU32,
    /// Requests whose response is still being written.
    active: AtomicU32,
    last_done: Mutex<Instant>,
    /// When the bytes of the connection's last read arrived, by the kernel's stamp (Unix ns, 0
    /// for none; `crate::arrival`): a request's handler finds its own arrival there.
    pub arrived_unix_ns: Arc<AtomicU64>,
}

impl Default for Conn {
    fn default() -> Conn {
        Conn {
            closing: AtomicBool::new(false),
            close: Notify::new(),
            served: AtomicU32::new(0),
            active: AtomicU32::new(0),
            last_done: Mutex::new(Instant::now()),
            arrived_unix_ns: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Conn {
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Marks the connection to be closed once the current response has left.
    pub fn close_soon(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.close.notify_one();
    }

    pub fn begin(&self) -> u32 {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.served.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn end(&self) {
        if let Ok(mut t) = self.last_done.lock() {
            *t = Instant::now();
        }
        self.active.fetch_sub(1, Ordering::SeqCst);
    }

    /// Resolves when the connection should be dropped: [`LINGER`] after [`Conn::close_soon`],
    /// or once it has been idle for `idle`.
    pub async fn ended(&self, idle: Option<Duration>) {
        let asked = async {
            self.close.notified().await;
            tokio::time::sleep(LINGER).await;
        };
        let idle_out = async {
            let Some(idle) = idle else {
                return std::future::pending().await;
            };
            loop {
                tokio::time::sleep(idle / 8).await;
                let since = self
                    .last_done
                    .lock()
                    .map(|t| t.elapsed())
                    .unwrap_or_default();
                if self.active.load(Ordering::SeqCst) == 0 && since >= idle {
                    return;
                }
            }
        };
        tokio::select! {
            _ = asked => {}
            _ = idle_out => {}
        }
    }
}
