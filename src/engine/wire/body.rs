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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrival::Socket;
    use crate::engine::wire::h1::{request, Io};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A response written by a test server in `pieces`, read back as (status, body, clean end).
    async fn read_back(pieces: Vec<&'static [u8]>) -> (u16, Vec<u8>, bool) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await;
            for p in pieces {
                s.write_all(p).await.expect("write");
                s.flush().await.expect("flush");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut wire = Wire::new(Io::Plain(Socket::new(tcp).expect("socket")));
        let req = request(&hyper::Method::GET, "x", "/", &[], b"").expect("request");
        wire.write(&req).await.expect("write");
        let head = wire.read_head().await.expect("head");
        let mut body = Body::new(wire, &head).expect("framing");
        let bytes = body.read_to_end(1 << 20).await.expect("body");
        let clean = body.finished_clean();
        server.await.expect("server");
        (head.status.as_u16(), bytes, clean)
    }

    #[tokio::test]
    async fn chunked_framing_split_anywhere_is_taken_off() {
        let (status, body, clean) = read_back(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
            b"lo\r",
            b"\n6;ext=1\r\n world\r\n0",
            b"\r\ntrailer: x\r\n\r\n",
        ])
        .await;
        assert_eq!(
            (status, body.as_slice(), clean),
            (200, &b"hello world"[..], true)
        );
    }

    #[tokio::test]
    async fn content_length_and_close_delimited_bodies() {
        let (_, body, clean) = read_back(vec![
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nno",
            b"pe",
        ])
        .await;
        assert_eq!((body.as_slice(), clean), (&b"nope"[..], true));
        // Without a length the body runs to the close, and the connection is not reusable.
        let (_, body, clean) = read_back(vec![b"HTTP/1.0 200 OK\r\n\r\nall of it"]).await;
        assert_eq!((body.as_slice(), clean), (&b"all of it"[..], false));
    }

    #[tokio::test]
    async fn the_buffer_grows_for_a_long_head_and_refuses_one_past_its_limit() {
        let head = |pad: usize| -> &'static [u8] {
            let text = format!(
                "HTTP/1.1 200 OK\r\nx-pad: {}\r\ncontent-length: 2\r\n\r\nok",
                "p".repeat(pad)
            );
            Box::leak(text.into_bytes().into_boxed_slice())
        };
        let (status, body, clean) = read_back(vec![head(10_000)]).await;
        assert_eq!((status, body.as_slice(), clean), (200, &b"ok"[..], true));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let _ = s.write_all(head(20_000)).await;
        });
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut wire = Wire::new(Io::Plain(Socket::new(tcp).expect("socket")));
        let err = wire.read_head().await.err().expect("too long");
        assert!(err.to_string().contains("over 16384 bytes"), "{err}");
    }

    #[tokio::test]
    async fn chunked_with_a_content_length_is_read_chunked_and_ends_the_connection() {
        let (_, body, clean) = read_back(vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ])
        .await;
        assert_eq!((body.as_slice(), clean), (&b"abc"[..], false));
    }
}
