//! A response body read off its connection, in place: the connection's read buffer is
//! deframed (`framing.rs`) and each data slice handed on without a copy.

use super::framing::{self, Deframer, Framing};
use super::h1::{Head, Wire, WireError};

/// A response body being read off its connection.
pub struct Body {
    wire: Wire,
    deframer: Deframer,
    /// The framing is one a connection is not kept after (RFC 9112, 6.1 and 6.3):
    /// `Transfer-Encoding` with `Content-Length`, or on an HTTP/1.0 response.
    last_on_connection: bool,
}

impl Body {
    pub fn new(wire: Wire, head: &Head) -> Result<Body, WireError> {
        let framing = framing::of(head)?;
        let te = head.headers.contains_key(hyper::header::TRANSFER_ENCODING);
        Ok(Body {
            last_on_connection: te
                && (head.http10 || head.headers.contains_key(hyper::header::CONTENT_LENGTH)),
            wire,
            deframer: Deframer::new(framing),
        })
    }

    /// When the bytes of the last read arrived (wall clock, Unix ns), if the kernel said.
    pub fn arrived_unix_ns(&self) -> Option<u64> {
        self.wire.arrived_unix_ns()
    }

    /// The connection, once the body is no longer wanted.
    pub fn into_wire(self) -> Wire {
        self.wire
    }

    /// Whether the body was read to its end and nothing else arrived after it (the connection
    /// can then carry another request, framing permitting).
    pub fn finished_clean(&self) -> bool {
        self.deframer.done
            && self.wire.unread().is_empty()
            && self.deframer.framing != Framing::UntilClose
            && !self.last_on_connection
    }

    /// Waits until there are body bytes to [`Body::drain`]; false once the body has ended.
    pub async fn fill(&mut self) -> Result<bool, WireError> {
        loop {
            if self.deframer.done {
                return Ok(false);
            }
            if !self.wire.unread().is_empty() && !self.deframer.partial {
                return Ok(true);
            }
            if self.wire.read_more().await? == 0 {
                return if self.deframer.framing == Framing::UntilClose {
                    self.deframer.done = true;
                    Ok(false)
                } else {
                    Err(WireError::Closed)
                };
            }
            self.deframer.partial = false;
        }
    }

    /// Takes the framing off what the buffer holds and hands each data slice to `on_data`, in
    /// order, until it returns false (then Ok(false)) or the buffer is used up.
    pub fn drain(&mut self, on_data: impl FnMut(&[u8]) -> bool) -> Result<bool, WireError> {
        let (taken, more) = self.deframer.drain(self.wire.unread(), on_data)?;
        self.wire.take(taken);
        Ok(more)
    }

    /// Reads the body to its end, refusing one over `limit` bytes.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut over = false;
        while self.fill().await.map_err(|e| e.to_string())? {
            self.drain(|d| {
                over = out.len() + d.len() > limit;
                if !over {
                    out.extend_from_slice(d);
                }
                !over
            })
            .map_err(|e| e.to_string())?;
            if over {
                return Err(format!("body over {limit} bytes"));
            }
        }
        Ok(out)
    }

    /// The first `limit` bytes of the body at most (a read error ends it early; whether the
    /// body ended is `finished_clean`'s to say).
    pub async fn read_prefix(&mut self, limit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < limit && matches!(self.fill().await, Ok(true)) {
            let drained = self.drain(|d| {
                let room = limit - out.len();
                out.extend_from_slice(&d[..d.len().min(room)]);
                out.len() < limit
            });
            if drained.is_err() {
                break;
            }
        }
        out
    }
}
