//! The resend rule: when a request that failed on a pooled connection is sent again, once,
//! on a new connection — only when the server cannot have read it.

use std::time::Duration;

/// A reused connection that fails later than this after the write is not a stale connection
/// (the server read the request and then failed): it is not sent again.
const RESEND_WINDOW: Duration = Duration::from_secs(1);

/// A request on a connection that failed before a response head was read: what the resend
/// rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// The connection came from the pool: opened before this request (pre-opened, or kept
    /// from an earlier response), so the server may have closed it before the request came.
    pub pooled: bool,
    /// Bytes of the request the connection took before it failed, of `whole`.
    pub taken: usize,
    pub whole: usize,
    /// The server sent bytes after the request began.
    pub answered: bool,
    /// The failure was the connection closed or reset (not a malformed answer).
    pub closed: bool,
    /// From the end of the write to the failure; `None` when the write itself failed.
    pub after_write: Option<Duration>,
}

impl Attempt {
    /// The resend rule. A request that failed is sent again (once, on a new connection) only
    /// when the server cannot have read it:
    ///
    /// | what happened | sent again |
    /// | --- | --- |
    /// | any answer byte arrived (a 413 before the body was read, a response then a reset) | no: that is the answer |
    /// | a connection opened for this request failed | no: a real failure |
    /// | a pooled connection refused the write's first byte (reset before the write) | yes: nothing reached the server |
    /// | a pooled connection took part of the request, then was reset | no: the server may have read the head |
    /// | a pooled connection took all of it, then closed or reset within [`RESEND_WINDOW`] with no byte back | yes: the server closed it idle as the request came (it answers or closes after reading, never silently at once) |
    /// | the same, later than that | no: the server read it and failed |
    /// | a malformed answer | no |
    ///
    /// A connection the server closed before the request was due is not used at all: the pool
    /// asks the kernel whether it is still open before taking it (`Wire::looks_open`).
    pub fn never_read(&self) -> bool {
        if !self.pooled || self.answered || !self.closed {
            return false;
        }
        self.taken == 0
            || (self.taken == self.whole && self.after_write.is_some_and(|d| d < RESEND_WINDOW))
    }
}
