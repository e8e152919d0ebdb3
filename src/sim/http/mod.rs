//! The simulator's HTTP surface: the OpenAI API (`/v1/models`, `/v1/chat/completions` and
//! `/v1/completions`, streaming — server-sent events, with `stream_options.include_usage` and
//! `continuous_usage_stats` — or not), the OpenAI Responses API (`/v1/responses`) and the
//! Anthropic Messages API (`/v1/messages`), each with its own event sequence, embeddings
//! (`/v1/embeddings`), `/metrics` (Prometheus, vLLM's metric names), and the
//! connection and request-id ways of real servers chosen in
//! [`Behaviour`](crate::sim::Behaviour).
//!
//! An API's wire format is one file behind the seam in `api.rs`; the rest is the same for every
//! API.
//!
//! | file | owns |
//! | --- | --- |
//! | `conn.rs` | [`handle`]: one request on its connection, the keep-alive and close rules |
//! | `routes.rs` | which method and path answers what (`APIS`: the APIs spoken); the request-id rule, the body read and parsed |
//! | `complete.rs` | a completion, whatever its API: output length, fault, prefix blocks, the batcher's job |
//! | `stream.rs` | a streamed answer: tokens per chunk, reasoning first, mid-stream faults, interrupts, token stamps |
//! | `whole.rs` | an answer not streamed: the tokens collected into one body |
//! | `api.rs` | the seam: an API's routes, its request read into an `Ask`, its answers' `Writer` |
//! | `openai.rs` | the OpenAI API's wire format: routes, request fields, SSE chunks by hand, whole bodies, the error body |
//! | `responses.rs` | the OpenAI Responses API's: `input` items, `max_output_tokens`, the named `response.*` events, the response object |
//! | `messages.rs` | the Anthropic Messages API's: `system`, required `max_tokens`, `message_start` … `message_stop`, uncached `input_tokens` |
//! | `embeddings.rs` | the embeddings API: `input` strings, a cost per input token outside the batcher, one embedding each |
//! | `read.rs` | what the APIs' request readers share: a content's words, the exact-length rule, a length cap (leaf) |
//! | `reports.rs` | `GET /llmw/timings` and `GET /metrics` |
//! | `respond.rs` | the body type, plain JSON answers and errors |
//! | `reply.rs` | an answer's token counts and each token's text (leaf but for `timing`) |
//! | `json.rs` | JSON strings written by hand (leaf) |
//! | `state.rs` | [`State`]: what every request shares |
//! | `timing.rs` | where a request came from, [`Timing`]: the server's view of one streamed request, its clock readings (leaf) |
//!
//! Nothing here decides when a token is due (that is the batcher's cost model) or which
//! fault a request draws (that is `faults`); the files reach each other only downward:
//! conn → routes → complete → stream/whole → api → reply → timing, and routes and respond →
//! openai → api, none back up.

mod api;
mod complete;
mod conn;
mod embeddings;
mod json;
mod messages;
mod openai;
mod read;
mod reply;
mod reports;
mod respond;
mod responses;
mod routes;
mod state;
mod stream;
mod timing;
mod whole;

pub use conn::handle;
pub use state::State;
pub use timing::Timing;
