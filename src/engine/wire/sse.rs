//! A server-sent-events parser for streamed completions: bytes in, `data:` payloads out.
//!
//! Lines may end in `\n` or `\r\n` and may be split anywhere across network reads. Comment lines
//! (`: keep-alive`) and fields other than `data` are ignored; an event's `data` lines are joined
//! with `\n` and the event ends at a blank line. A line or an event longer than [`MAX_EVENT`]
//! is an error, so a server that never sends a newline cannot make memory grow without bound.

/// The longest SSE line or event accepted (a streamed chunk is normally well under 1 KiB).
pub const MAX_EVENT: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    too_long: bool,
}

/// The stream broke the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an SSE line or event over {MAX_EVENT} bytes")
    }
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds bytes; calls `on_event` with each complete event's data. Once a line or an event
    /// exceeds [`MAX_EVENT`] it returns `Err` and takes nothing more.
    pub fn feed(&mut self, bytes: &[u8], mut on_event: impl FnMut(&[u8])) -> Result<(), TooLong> {
        if self.too_long {
            return Err(TooLong);
        }
        let mut rest = bytes;
        // The usual case, one whole `data:` event at the start of a line, is handed on in place.
        while self.line.is_empty() && !self.has_data {
            let Some((data, len)) = whole_event(rest) else {
                break;
            };
            on_event(data);
            rest = &rest[len..];
        }
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            if self.line.len() + nl > MAX_EVENT {
                return self.fail();
            }
            self.line.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            self.end_line(&mut on_event);
            if self.data.len() > MAX_EVENT {
                return self.fail();
            }
        }
        if self.line.len() + rest.len() > MAX_EVENT {
            return self.fail();
        }
        self.line.extend_from_slice(rest);
        Ok(())
    }

    fn fail(&mut self) -> Result<(), TooLong> {
        self.too_long = true;
        self.line = Vec::new();
        self.data = Vec::new();
        Err(TooLong)
    }

    /// At the end of the stream: an event not closed by a blank line still counts.
    pub fn finish(&mut self, mut on_event: impl FnMut(&[u8])) {
        if self.too_long {
            return;
        }
        if !self.line.is_empty() {
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            self.end_line(&mut on_event);
        }
        self.dispatch(&mut on_event);
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(&[u8])) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch(on_event);
        } else if let Some(value) = line.strip_prefix(b"data:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
        // Comments (":...") and other fields (event:, id:, retry:) carry nothing we use.
        self.line = line;
        self.line.clear();
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(&[u8])) {
        if self.has_data {
            on_event(&self.data);
            self.data.clear();
            self.has_data = false;
        }
    }
}

/// A single-line `data:` event, blank line included, at the start of `b`: its data and length.
fn whole_event(b: &[u8]) -> Option<(&[u8], usize)> {
    let body = b.strip_prefix(b"data:")?;
    let nl = body.iter().position(|c| *c == b'\n')?;
    let after = &body[nl + 1..];
    let blank = if after.first() == Some(&b'\n') {
        1
    } else if after.starts_with(b"\r\n") {
        2
    } else {
        return None;
    };
    let line = &body[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let value = line.strip_prefix(b" ").unwrap_or(line);
    // The same limit as a line read piece by piece: `data:` and the line's end count.
    (5 + nl <= MAX_EVENT).then_some((value, 5 + nl + 1 + blank))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| out.push(String::from_utf8_lossy(e).into_owned()))
                .expect("within the limit");
        }
        p.finish(|e| out.push(String::from_utf8_lossy(e).into_owned()));
        out
    }

    #[test]
    fn splits_events_across_reads_and_line_endings() {
        let got = events(&[
            b"data: {\"a\"",
            b":1}\r\n\r\n: keep-alive\n\ndata: [DO",
            b"NE]\n\n",
        ]);
        assert_eq!(got, vec!["{\"a\":1}", "[DONE]"]);
    }

    #[test]
    fn whole_events_in_one_read_match_the_same_bytes_fed_one_at_a_time() {
        let stream: &[u8] =
            b"data: {\"a\":1}\n\ndata:b\r\n\r\n: ping\n\ndata: c\ndata: d\n\nevent: e\ndata: f\n\ndata: [DONE]\n\n";
        let whole = events(&[stream]);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(whole, events(&bytes));
        assert_eq!(whole, vec!["{\"a\":1}", "b", "c\nd", "f", "[DONE]"]);
    }

    #[test]
    fn joins_multi_line_data_and_ignores_other_fields() {
        let got = events(&[b"event: x\nid: 3\ndata: a\ndata:b\n\n"]);
        assert_eq!(got, vec!["a\nb"]);
    }

    #[test]
    fn an_endless_line_is_an_error_not_a_growing_buffer() {
        let mut p = SseParser::new();
        let block = vec![b'x'; 64 * 1024];
        let mut result = p.feed(b"data: ", |_| {});
        for _ in 0..32 {
            result = result.and(p.feed(&block, |_| {}));
        }
        assert_eq!(result, Err(TooLong));
        assert!(p.line.capacity() <= MAX_EVENT + block.len());
        assert_eq!(
            p.feed(b"\n\n", |_| panic!("no event after the limit")),
            Err(TooLong)
        );
        // Many short data lines that never end the event are bounded too.
        let mut p = SseParser::new();
        let line = b"data: 0123456789012345678901234567890123456789\n";
        let mut r = Ok(());
        for _ in 0..40_000 {
            r = r.and(p.feed(line, |_| {}));
        }
        assert_eq!(r, Err(TooLong));
    }

    #[test]
    fn an_unterminated_last_event_still_counts() {
        assert_eq!(events(&[b"data: tail"]), vec!["tail"]);
        assert!(events(&[b": only a comment\n\n"]).is_empty());
    }
}
