//! A response body's framing (RFC 9112, section 6): which of `Content-Length`, `chunked` or
//! "until the server closes" ends it, and the framing taken off bytes as they come, split
//! anywhere. Pure: bytes in, data slices out, so `fuzzing::framing` checks it against a plain
//! one-shot decoder over arbitrary splits of arbitrary bytes.
//!
//! Chunk-size lines are parsed by `httparse::parse_chunk_size` (the size in hex, at most 16
//! digits, extensions after `;` ignored, spaces before them); a line ended by a bare `\n` is
//! accepted as RFC 9112 allows a recipient to.

use super::h1::{Head, WireError};

/// How the body's end is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: this many bytes are left.
    Length(u64),
    /// `Transfer-Encoding: chunked`, at this point of the framing.
    Chunked(Chunk),
    /// Neither: the body ends when the server closes the connection.
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk: this many data bytes are left.
    Data(u64),
    /// Expecting the line break after a chunk's data.
    DataEnd,
    /// After the last (empty) chunk: trailer lines until a blank one.
    Trailer,
}

/// The framing a response's headers give (RFC 9112, section 6.3; llmw sends no HEAD request).
pub fn of(head: &Head) -> Result<Framing, WireError> {
    let code = head.status.as_u16();
    if code == 204 || code == 304 {
        return Ok(Framing::Length(0));
    }
    let chunked = head
        .headers
        .get_all(hyper::header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
    if chunked {
        return Ok(Framing::Chunked(Chunk::Size));
    }
    if head.headers.contains_key(hyper::header::TRANSFER_ENCODING) {
        return Ok(Framing::UntilClose);
    }
    // Every Content-Length value, repeated headers and lists alike, must be the same number.
    let mut length = None;
    for v in head.headers.get_all(hyper::header::CONTENT_LENGTH) {
        for part in v.as_bytes().split(|b| *b == b',') {
            let n = digits(part.trim_ascii())
                .ok_or_else(|| WireError::Malformed("content-length is not a number".into()))?;
            if length.is_some_and(|l| l != n) {
                return Err(WireError::Malformed(
                    "content-length headers that disagree".into(),
                ));
            }
            length = Some(n);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// A decimal number of digits alone (no sign, no space) that fits in a u64.
pub fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A chunk-size line (without its line break): the size, by `httparse`.
fn chunk_size(line: &[u8]) -> Result<u64, WireError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let bad = || {
        WireError::Malformed(format!(
            "chunk size '{}'",
            String::from_utf8_lossy(line).trim()
        ))
    };
    // httparse reads an empty line as size 0; an empty size line is no size at all.
    if line.first().is_none_or(|b| !b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut full = Vec::with_capacity(line.len() + 2);
    full.extend_from_slice(line);
    full.extend_from_slice(b"\r\n");
    match httparse::parse_chunk_size(&full) {
        Ok(httparse::Status::Complete((used, size))) if used == full.len() => Ok(size),
        _ => Err(bad()),
    }
}

/// The framing being taken off a body, between reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deframer {
    pub framing: Framing,
    /// The body has ended.
    pub done: bool,
    /// What is left unread ends in an incomplete framing line: read more first.
    pub partial: bool,
}

impl Deframer {
    pub fn new(framing: Framing) -> Deframer {
        Deframer {
            framing,
            done: framing == Framing::Length(0),
            partial: false,
        }
    }

    /// Takes the framing off `avail` (the bytes read and not yet taken) and hands each data
    /// slice to `on_data`, in order, until it returns false or `avail` is used up. Returns how
    /// many bytes of `avail` were taken, and false when `on_data` asked to stop.
    pub fn drain(
        &mut self,
        avail: &[u8],
        mut on_data: impl FnMut(&[u8]) -> bool,
    ) -> Result<(usize, bool), WireError> {
        let mut at = 0;
        while !self.done && at < avail.len() {
            let rest = &avail[at..];
            let line = || rest.iter().position(|b| *b == b'\n');
            match &mut self.framing {
                Framing::UntilClose => {
                    at = avail.len();
                    if !on_data(rest) {
                        return Ok((at, false));
                    }
                }
                Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => {
                    let n = (*left).min(rest.len() as u64) as usize;
                    *left -= n as u64;
                    at += n;
                    if *left == 0 {
                        match &mut self.framing {
                            Framing::Chunked(c) => *c = Chunk::DataEnd,
                            _ => self.done = true,
                        }
                    }
                    if !on_data(&rest[..n]) {
                        return Ok((at, false));
                    }
                }
                Framing::Chunked(c @ Chunk::Size) => {
                    let Some(nl) = line() else {
                        self.partial = true;
                        return Ok((at, true));
                    };
                    let size = chunk_size(&rest[..nl])?;
                    *c = if size == 0 {
                        Chunk::Trailer
                    } else {
                        Chunk::Data(size)
                    };
                    at += nl + 1;
                }
                Framing::Chunked(c @ Chunk::DataEnd) => {
                    let Some(nl) = line() else {
                        self.partial = true;
                        return Ok((at, true));
                    };
                    if !rest[..nl].iter().all(|b| *b == b'\r') || nl > 1 {
                        return Err(WireError::Malformed(
                            "a chunk's data is longer than its size".into(),
                        ));
                    }
                    *c = Chunk::Size;
                    at += nl + 1;
                }
                Framing::Chunked(Chunk::Trailer) => {
                    let Some(nl) = line() else {
                        self.partial = true;
                        return Ok((at, true));
                    };
                    if rest[..nl].iter().all(|b| *b == b'\r') && nl <= 1 {
                        self.done = true;
                    }
                    at += nl + 1;
                }
            }
        }
        Ok((at, true))
    }
}

/// How a body read in pieces ended: its data, and the end (`Some(n)`: the body ended after
/// `n` bytes of input; `None`: it wants more), or the error.
pub type Deframed = (Vec<u8>, Result<Option<usize>, String>);

/// Takes the framing off `input` as if it arrived in pieces of the sizes `pieces` gives, in
/// turn (cycled; for the fuzz target and tests).
pub fn deframe_in_pieces(framing: Framing, input: &[u8], pieces: &[usize]) -> Deframed {
    let mut d = Deframer::new(framing);
    let (mut data, mut start, mut end) = (Vec::new(), 0, 0);
    let mut sizes = pieces.iter().copied().map(|n| n.max(1)).cycle();
    while !d.done {
        if end == input.len() && (start == end || d.partial) {
            return (data, Ok(None));
        }
        if start == end || d.partial {
            end = (end + sizes.next().unwrap_or(1)).min(input.len());
            d.partial = false;
        }
        match d.drain(&input[start..end], |x| {
            data.extend_from_slice(x);
            true
        }) {
            Ok((taken, _)) => start += taken,
            Err(e) => return (data, Err(e.to_string())),
        }
    }
    (data, Ok(Some(start)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderMap, HeaderName, HeaderValue};
    use hyper::StatusCode;

    #[test]
    fn chunk_sizes_are_read_by_httparse_with_bare_line_feeds_allowed() {
        assert_eq!(chunk_size(b"1f").ok(), Some(31));
        assert_eq!(chunk_size(b"1F;name=value\r").ok(), Some(31));
        assert_eq!(chunk_size(b"a  ;x").ok(), Some(10));
        for bad in [
            &b""[..],
            b"\r",
            b"-1",
            b" 1",
            b"1 2",
            b"g",
            b"11111111111111111",
        ] {
            assert!(chunk_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(digits(b"15"), Some(15));
        for bad in [&b""[..], b"+1", b"1a", b"99999999999999999999"] {
            assert_eq!(digits(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_chunked_body_split_anywhere_gives_the_same_data() {
        let body = b"3\r\nabc\r\n5;ext\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        for split in 1..body.len() {
            let mut d = Deframer::new(Framing::Chunked(Chunk::Size));
            let (mut buf, mut out, mut start) = (Vec::new(), Vec::new(), 0);
            for piece in body.chunks(split) {
                buf.extend_from_slice(piece);
                d.partial = false;
                let (took, _) = d
                    .drain(&buf[start..], |x| {
                        out.extend_from_slice(x);
                        true
                    })
                    .expect("valid");
                start += took;
                if d.done {
                    break;
                }
            }
            assert!(d.done, "split {split}");
            assert_eq!(out, b"abchello", "split {split}");
            assert_eq!(
                &buf[start..],
                &b"NEXT"[..buf.len() - start],
                "split {split}"
            );
        }
    }

    #[test]
    fn content_lengths_must_agree_and_be_plain_numbers() {
        let head = |lines: &[(&str, &str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in lines {
                headers.append(
                    HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    HeaderValue::from_str(v).expect("value"),
                );
            }
            Head {
                status: StatusCode::OK,
                headers,
                http10: false,
            }
        };
        let cl = "content-length";
        assert_eq!(of(&head(&[(cl, "5, 5")])).ok(), Some(Framing::Length(5)));
        assert_eq!(
            of(&head(&[(cl, "5"), (cl, "5")])).ok(),
            Some(Framing::Length(5))
        );
        for bad in [
            &[(cl, "5"), (cl, "6")][..],
            &[(cl, "+5")],
            &[(cl, "5, 6")],
            &[(cl, "")],
        ] {
            assert!(of(&head(bad)).is_err(), "{bad:?}");
        }
    }
}
