//! When requests go: the drivers of each phase kind and what they share. Nothing here writes
//! `run.json` (the lifecycle does, through the run record) or reads a response's bytes.
//!
//! | file | owns |
//! | --- | --- |
//! | `context.rs` | [`context::Ctx`]: the sender, clock, writer, stop and cut shared by every driver; firing one request |
//! | `open.rs` | open-loop phases: a dispatcher thread at absolute deadlines |
//! | `closed.rs` | closed-loop phases: virtual users, each sending when its last answer came |
//! | `session.rs` | conversations: turns with growing context, think times, fan-out |
//! | `search.rs` | capacity searches: probes as sub-plans, judged by the caller's judge |
//! | `pace.rs` | a user's failure pacing (`on_error { backoff }`) |
//! | `abort.rs` | the abort rule (a run that cannot connect ends) |

pub mod abort;
pub mod closed;
pub mod context;
pub mod open;
pub mod pace;
pub mod search;
pub mod session;
