//! One request's latencies as every measure reads them: TTFT and the mean inter-token latency
//! of an answered request. A leaf: the groups and the session view both use it.

use crate::analysis::load::Run;

pub(crate) const NS_PER_MS: f64 = 1e6;

/// An answered request's TTFT and (streamed, two tokens or more) mean inter-token latency, in
/// ms: first token − sent, and (last − first token) / (output tokens − 1).
pub(crate) fn request_latencies(run: &Run, i: usize, streamed: bool) -> (Option<f64>, Option<f64>) {
    let r = &run.requests;
    let Some(first) = r.first_token_ns[i] else {
        return (None, None);
    };
    let ttft = (first - r.sent_ns[i]) as f64 / NS_PER_MS;
    let out = r.output_tokens[i].unwrap_or(0).max(0) as i64;
    let itl = match (r.last_token_ns[i], out >= 2 && streamed) {
        (Some(last), true) => Some((last - first) as f64 / (out - 1) as f64 / NS_PER_MS),
        _ => None,
    };
    (Some(ttft), itl)
}
