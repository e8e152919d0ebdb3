//! A server-sent-events parser for streamed completions: bytes in, `data:` payloads out.
//!
//! Lines may end in `\n` or `\r\n` and may be split anywhere across network reads. Comment lines
//! (`: keep-alive`) and fields other than `data` are ignored; an event's `data` lines are joined
//! with `\n` and the event ends at a blank line.

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds bytes; calls `on_event` with each complete event's data.
    pub fn feed(&mut self, bytes: &[u8], mut on_event: impl FnMut(&[u8])) {
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            self.end_line(&mut on_event);
        }
        self.line.extend_from_slice(rest);
    }

    /// At the end of the stream: an event not closed by a blank line still counts.
    pub fn finish(&mut self, mut on_event: impl FnMut(&[u8])) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, |e| out.push(String::from_utf8_lossy(e).into_owned()));
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
    fn joins_multi_line_data_and_ignores_other_fields() {
        let got = events(&[b"event: x\nid: 3\ndata: a\ndata:b\n\n"]);
        assert_eq!(got, vec!["a\nb"]);
    }

    #[test]
    fn an_unterminated_last_event_still_counts() {
        assert_eq!(events(&[b"data: tail"]), vec!["tail"]);
        assert!(events(&[b": only a comment\n\n"]).is_empty());
    }
}
