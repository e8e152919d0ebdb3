//! When response bytes arrived, by the kernel's clock rather than llmw's: a connection's socket
//! asks Linux to stamp what it receives (`SO_TIMESTAMPNS`), and each read returns, with its
//! bytes, the time the kernel's receive path took in the last of them (a software stamp: after
//! the network card's interrupt batching, before any wait for the reader). A chunk's timestamp
//! is then the moment it arrived, not the moment a busy client got round to reading it: at 512
//! streams stepping together, the last of a step's 512 chunks used to be stamped 512 reads late
//! (4 ms at 8 µs a read); now it is stamped when it came in (docs/benchmarks.md, "Arrival times
//! from the kernel"). Bytes read together share the stamp of the last of them; a segment that
//! was retransmitted after a loss can carry the stamp of data that arrived after it, which is
//! why callers never let a stamp go before the request's send. Elsewhere than Linux, or when the
//! kernel gives no stamp, a read has none and the caller takes its own clock. (Linux turns
//! stamping on for the host a moment after the first socket asks, in a work item of its own;
//! llmw opens its connections before the run starts.)
//!
//! The socket is tokio's `AsyncFd` over the standard library's stream, read with `recvmsg`
//! (tokio's `TcpStream` reads with `recv`, which returns no control messages; no maintained
//! small crate reads a TCP stream with them). As tokio's own streams do, a read that did not fill
//! the buffer took all there was, so the socket waits for the next readiness event rather than
//! asking the kernel again only to hear "would block" — one system call per chunk, not two.
//! (`AsyncFd` is Unix's, as is the rest of llmw; on Linux and the BSDs tokio's reactor is
//! edge-triggered, which that clearing relies on.)
//! This module holds some of the crate's few `unsafe` blocks (`setsockopt`, `recvmsg`, and the
//! read buffer's uninitialised room it reads into); `engine/host_clock.rs` and
//! `engine/niceness.rs` hold the others.

use std::io::{self, Write};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP connection whose reads carry the kernel's arrival time.
pub struct Socket {
    fd: AsyncFd<std::net::TcpStream>,
    /// No read (no write) was tried yet. A new registration knows no readiness until the
    /// reactor's next turn; tokio's own streams take a connected or accepted socket to be ready,
    /// and so does this one: the first read and the first write are tried at once.
    fresh_read: bool,
    fresh_write: bool,
    /// Wall-clock time (Unix ns) the bytes of the last read arrived, if the kernel said.
    arrived_unix_ns: Option<u64>,
    /// Where that time is also stored, for a reader that does not own the socket (0: none).
    tap: Option<Arc<AtomicU64>>,
    /// Bytes the kernel took for sending since the socket was made (under TLS: ciphertext,
    /// handshake included), so a writer above a buffering layer can tell whether any byte of
    /// its request reached the socket.
    written: u64,
}

impl Socket {
    /// Takes over a connected stream (its options, such as `TCP_NODELAY`, stay as set).
    pub fn new(tcp: TcpStream) -> io::Result<Socket> {
        // `into_std` leaves the stream non-blocking, as `AsyncFd` needs it.
        let tcp = tcp.into_std()?;
        sys::stamp_arrivals(&tcp);
        #[allow(unsafe_code)]
        // SAFETY: a `std::net::TcpStream` owns its descriptor: it stays open, and the same, until
        // the stream is dropped, which only the `AsyncFd` can do.
        let fd = unsafe { AsyncFd::register(tcp)? };
        Ok(Socket {
            fd,
            fresh_read: true,
            fresh_write: true,
            arrived_unix_ns: None,
            tap: None,
            written: 0,
        })
    }

    /// A socket that also stores each read's arrival time in `tap` (0 for none): the simulator
    /// hands its sockets to hyper, and its request handlers read the time there.
    pub fn tapped(tcp: TcpStream, tap: Arc<AtomicU64>) -> io::Result<Socket> {
        Ok(Socket {
            tap: Some(tap),
            ..Socket::new(tcp)?
        })
    }

    /// When the bytes of the last read that returned any arrived (wall clock, Unix ns), if the
    /// kernel said.
    pub fn arrived_unix_ns(&self) -> Option<u64> {
        self.arrived_unix_ns
    }

    /// What the peer has done to the connection, asked of the kernel now (a peek that neither
    /// waits nor takes a byte). Unlike a read through the reactor, this does not depend on
    /// the reactor having seen the socket's last readiness event, which a busy client's may
    /// not have yet: a connection the server closed a moment ago is found closed.
    pub fn peer(&self) -> Peer {
        let mut one = [0u8; 1];
        match self.fd.get_ref().peek(&mut one) {
            Ok(0) => Peer::Closed,
            Ok(_) => Peer::Sent,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Peer::Quiet,
            Err(_) => Peer::Closed,
        }
    }
}

/// What a peek finds on a connection (`Socket::peer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Nothing to read, and the connection is open.
    Quiet,
    /// Bytes are waiting to be read.
    Sent,
    /// The peer closed (FIN) or reset the connection.
    Closed,
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let room = buf.remaining();
        if room == 0 {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        if std::mem::take(&mut this.fresh_read) {
            match sys::recv(this.fd.get_ref(), buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => {
                    return Poll::Ready(done.map(|at| this.took(buf.filled().len() - before, at)))
                }
            }
        }
        loop {
            let mut guard = ready!(this.fd.poll_read_ready(cx))?;
            match guard.try_io(|fd| sys::recv(fd.get_ref(), buf)) {
                Ok(Ok(at)) => {
                    let n = buf.filled().len() - before;
                    if n > 0 && n < room {
                        guard.clear_ready();
                    }
                    this.took(n, at);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                // Would block: `try_io` cleared the readiness, so the next poll waits.
                Err(_) => continue,
            }
        }
    }
}

impl Socket {
    /// A read of `n` bytes stamped `at`: the end of the stream (0 bytes) keeps the last data's
    /// stamp.
    fn took(&mut self, n: usize, at: Option<u64>) {
        if n > 0 {
            self.arrived_unix_ns = at;
            if let Some(tap) = &self.tap {
                tap.store(at.unwrap_or(0), Ordering::Relaxed);
            }
        }
    }

    /// A write through `op`, waiting for the socket to take bytes; like a read, a plain write
    /// the socket took only part of (`len` is what was asked) clears the readiness, as tokio's
    /// does. A vectored write never does (`len` is `None`): `writev` takes at most `IOV_MAX`
    /// slices, so a short count need not mean a full socket.
    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        len: Option<usize>,
        op: impl Fn(&std::net::TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let out = self.poll_write_raw(cx, len, op);
        if let Poll::Ready(Ok(n)) = &out {
            self.written += *n as u64;
        }
        out
    }

    /// Bytes the kernel took for sending since the socket was made.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn poll_write_raw(
        &mut self,
        cx: &mut Context<'_>,
        len: Option<usize>,
        op: impl Fn(&std::net::TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if std::mem::take(&mut self.fresh_write) {
            match op(self.fd.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
        }
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| op(fd.get_ref())) {
                Ok(Ok(n)) => {
                    if len.is_some_and(|len| n > 0 && n < len) {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_) => continue,
            }
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, Some(buf.len()), |mut tcp| tcp.write(buf))
    }

    // hyper (the simulator's server) and rustls write queued buffers in one `writev` when the
    // stream can, and would otherwise copy them into one buffer, which changes how a server's
    // chunks are batched.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, None, |mut tcp| tcp.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the socket: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // As tokio's: a connection the peer already reset is shut down.
        Poll::Ready(match self.fd.get_ref().shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        })
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::os::fd::AsRawFd;

    use tokio::io::ReadBuf;

    /// Asks the kernel to stamp each received packet with the wall clock (ns). If it refuses,
    /// reads simply carry no stamp.
    pub fn stamp_arrivals(tcp: &std::net::TcpStream) {
        let on: libc::c_int = 1;
        #[allow(unsafe_code)]
        // SAFETY: the descriptor is the stream's own, open while `tcp` lives; the option value
        // points at a live c_int and its length is that of a c_int.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                std::ptr::from_ref(&on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    /// One `recvmsg` into the room of `buf` (non-blocking, as the socket is), the bytes read
    /// added to its filled part: the arrival time of the last of them, when the kernel attached
    /// one.
    pub fn recv(tcp: &std::net::TcpStream, buf: &mut ReadBuf<'_>) -> io::Result<Option<u64>> {
        // Room for the one control message asked for (a timespec: 32 bytes with its header),
        // aligned as a cmsghdr.
        let mut control = [0u64; 8];
        #[allow(unsafe_code)]
        // SAFETY: `unfilled_mut` gives the buffer's room, possibly uninitialised: `recvmsg`
        // only writes into it, at most `iov_len` bytes, and exactly the `n` it returns are
        // then marked initialised and filled. `msghdr` is a plain C struct for which all-zero
        // is valid (no name, no buffers); every pointer set points at a live local of the
        // stated length, and the kernel writes at most `msg_controllen` bytes of control
        // messages. They are walked with the libc macros inside the length the kernel
        // returned, a timestamp read only from a message long enough to hold one, unaligned.
        unsafe {
            let room = buf.unfilled_mut();
            let mut iov = libc::iovec {
                iov_base: room.as_mut_ptr().cast(),
                iov_len: room.len(),
            };
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &raw mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
            let n = libc::recvmsg(tcp.as_raw_fd(), &raw mut msg, 0);
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            buf.assume_init(n);
            buf.advance(n);
            let mut at = None;
            if msg.msg_flags & libc::MSG_CTRUNC != 0 {
                return Ok(None);
            }
            let wanted = libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize;
            let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET
                    && (*c).cmsg_type == libc::SCM_TIMESTAMPNS
                    && (*c).cmsg_len as usize >= wanted
                {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    at = unix_ns(ts.tv_sec as i64, ts.tv_nsec as i64);
                }
                c = libc::CMSG_NXTHDR(&raw const msg, c);
            }
            Ok(at)
        }
    }

    /// A timespec as Unix ns; `None` for one before 1970 or unset.
    fn unix_ns(sec: i64, nsec: i64) -> Option<u64> {
        let ns = u64::try_from(sec).ok()?.checked_mul(1_000_000_000)?;
        ns.checked_add(u64::try_from(nsec).ok()?).filter(|t| *t > 0)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io::{self, Read};

    use tokio::io::ReadBuf;

    /// No arrival stamps here: reads take llmw's own clock.
    pub fn stamp_arrivals(_: &std::net::TcpStream) {}

    pub fn recv(mut tcp: &std::net::TcpStream, buf: &mut ReadBuf<'_>) -> io::Result<Option<u64>> {
        let n = tcp.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Ok(None)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::Socket;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn unix_now_ns() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as u64
    }

    /// Bytes that waited in the socket are stamped when they arrived, not when they were read.
    #[tokio::test]
    async fn a_read_says_when_its_bytes_arrived_not_when_they_were_read() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            // Write once the client's socket stamps arrivals (it says so with a byte).
            let mut go = [0u8; 1];
            s.read_exact(&mut go).await.expect("go");
            let before = unix_now_ns();
            s.write_all(b"data: first\n\n").await.expect("write");
            let after = unix_now_ns();
            // Keep the connection open until the client has read.
            let mut one = [0u8; 1];
            let _ = s.read(&mut one).await;
            (before, after)
        });
        let tap = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("conn");
        let mut socket = Socket::tapped(tcp, tap.clone()).expect("socket");
        // The kernel turns stamping on for the whole host in a work item of its own when the
        // first socket asks: give it time to run.
        tokio::time::sleep(Duration::from_millis(50)).await;
        socket.write_all(b"g").await.expect("go");
        // The bytes are written at once; the client reads them 200 ms later.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut buf = [0u8; 64];
        let n = socket.read(&mut buf).await.expect("read");
        let read_at = unix_now_ns();
        assert_eq!(&buf[..n], b"data: first\n\n");
        let arrived = socket
            .arrived_unix_ns()
            .expect("the kernel stamps arrivals on Linux");
        assert_eq!(tap.load(std::sync::atomic::Ordering::Relaxed), arrived);
        socket.write_all(b"x").await.expect("write");
        let (before, after) = server.await.expect("server");
        // Arrival lies after the server's write began (a millisecond of slack for the clock's
        // steps) and before the read, which came 200 ms after the write returned.
        assert!(
            arrived + 1_000_000 >= before && arrived <= read_at,
            "arrived {arrived}, written between {before} and {after}, read at {read_at}"
        );
        assert!(
            read_at - arrived >= 150_000_000,
            "stamped {} ms before the read, not ~200",
            (read_at - arrived) / 1_000_000
        );
    }
}
