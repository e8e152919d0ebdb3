//! What the server said about keeping a connection (`Connection`, `Keep-Alive`), and whether
//! it may carry another request (RFC 9112, 9.3).

use std::time::{Duration, Instant};

use crate::engine::wire::h1;

/// A connection is not reused when less than this is left of the server's keep-alive timeout.
const TIMEOUT_MARGIN: Duration = Duration::from_millis(500);

/// What the server said about keeping a connection.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    /// Responses read on it so far.
    pub served: u32,
    /// `Keep-Alive: max=` of the last response: requests the server still allows.
    remaining: Option<u32>,
    /// `Keep-Alive: timeout=` of the last response.
    timeout: Option<Duration>,
    /// The last response said `Connection: close` (or was HTTP/1.0 without `keep-alive`).
    closing: bool,
    pub idle_since: Instant,
}

impl Keep {
    pub fn fresh() -> Keep {
        Keep {
            served: 0,
            remaining: None,
            timeout: None,
            closing: false,
            idle_since: Instant::now(),
        }
    }

    /// Whether the server's own rules still allow another request now.
    pub fn allows(&self) -> bool {
        !self.closing
            && self.remaining != Some(0)
            && self
                .timeout
                .is_none_or(|t| self.idle_since.elapsed() + TIMEOUT_MARGIN < t)
    }

    /// The connection goes idle now, its response read: whether it may be kept. The keep-alive
    /// timeout counts from here, not from the request's start (a stream may outlast it).
    pub fn released(&mut self) -> bool {
        self.idle_since = Instant::now();
        self.allows()
    }

    /// Reads `Connection` and `Keep-Alive` of a response.
    pub fn note(&mut self, head: &h1::Head) {
        let headers = &head.headers;
        self.served += 1;
        let says = |token: &str| {
            headers
                .get_all(hyper::header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        self.closing = says("close") || (head.http10 && !says("keep-alive"));
        if let Some(ka) = headers.get("keep-alive").and_then(|v| v.to_str().ok()) {
            let (timeout, max) = parse_keep_alive(ka);
            self.timeout = timeout.or(self.timeout);
            self.remaining = max.or(self.remaining.map(|m| m.saturating_sub(1)));
        } else if let Some(m) = self.remaining.as_mut() {
            *m = m.saturating_sub(1);
        }
    }
}

/// `timeout=5, max=100` → (5 s, 100).
pub fn parse_keep_alive(v: &str) -> (Option<Duration>, Option<u32>) {
    let (mut timeout, mut max) = (None, None);
    for part in v.split(',') {
        let Some((k, val)) = part.split_once('=') else {
            continue;
        };
        let val = val.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "timeout" => timeout = val.parse::<u64>().ok().map(Duration::from_secs),
            "max" => max = val.parse::<u32>().ok(),
            _ => {}
        }
    }
    (timeout, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_headers_are_read() {
        assert_eq!(
            parse_keep_alive("timeout=5, max=100"),
            (Some(Duration::from_secs(5)), Some(100))
        );
        assert_eq!(parse_keep_alive("max=0"), (None, Some(0)));
        assert_eq!(
            parse_keep_alive("timeout=\"7\""),
            (Some(Duration::from_secs(7)), None)
        );
        assert_eq!(parse_keep_alive("garbage"), (None, None));
    }

    #[test]
    fn a_stream_longer_than_the_keep_alive_timeout_still_keeps_its_connection() {
        let mut keep = Keep::fresh();
        keep.timeout = Some(Duration::from_secs(5));
        // The last release (or the connect) was 10 s ago: the request then streamed for 10 s.
        keep.idle_since = Instant::now()
            .checked_sub(Duration::from_secs(10))
            .expect("an uptime over 10 s");
        assert!(!keep.allows(), "idle for 10 s of a 5 s timeout");
        assert!(keep.released(), "idle from the response's end");
        keep.closing = true;
        assert!(!keep.released());
    }
}
