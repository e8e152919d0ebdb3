//! The wire: bytes to and from the server, and when they moved. Nothing here knows what a
//! request means.
//!
//! | file | owns |
//! | --- | --- |
//! | `h1.rs` | HTTP/1.1 on one connection: the request's bytes, the response head |
//! | `framing.rs` | a body's framing taken off bytes split anywhere (pure; fuzzed) |
//! | `body.rs` | a response body read off its connection in place |
//! | `http.rs` | the client: connections opened (TCP, TLS) and pooled, [`http::SendError`] |
//! | `keep.rs` | `Connection`/`Keep-Alive`: whether a connection may carry another request |
//! | `resend.rs` | the resend rule: a failed request sent again only when never read |
//! | `tls.rs` | the certificates https is checked against |
//! | `sse.rs` | server-sent events: bytes in, `data:` payloads out |
//! | `clock.rs` | the run's time base; the kernel's arrival stamps mapped onto it |
//! | `race.rs` | the busy exchange against the rare timeout/stop/cut, polled only when they fire |
//! | `retry_after.rs` | what a 429's or 503's `Retry-After` asks |

pub mod body;
pub mod clock;
pub mod framing;
pub mod h1;
pub mod http;
pub mod keep;
pub mod race;
pub mod resend;
pub mod retry_after;
pub mod sse;
pub mod tls;
