//! Warnings: the engine prints nothing itself. What it has to say while a run goes (a late
//! start, a server that counts tokens oddly, a probe it could not measure) goes to the
//! caller's [`Warn`]; the CLI prints it on stderr, a library caller may log or collect it.

use std::sync::Arc;

/// Where a run's warnings go.
pub type Warn = Arc<dyn Fn(&str) + Send + Sync>;

/// A [`Warn`] that drops every warning.
pub fn ignore() -> Warn {
    Arc::new(|_| {})
}
