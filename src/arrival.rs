//! When response bytes arrived, by the kernel's clock rather than llmw's: a connection's socket
//! asks Linux to stamp what it receives (`SO_TIMESTAMPNS`), and each read returns, with its
//! bytes, the time the last of them reached the host. A chunk's timestamp is then the moment it
//! arrived, not the moment a busy client got round to reading it: at 512 streams stepping
//! together, the last of a step's 512 chunks used to be stamped 512 reads late (4 ms at 8 µs a
//! read); now it is stamped when it came in (docs/benchmarks.md, "Arrival times from the
//! kernel"). Elsewhere than Linux, or when the kernel gives no stamp, a read has none and the
//! caller takes its own clock. (Linux turns stamping on for the host a moment after the first
//! socket asks, in a work item of its own; llmw opens its connections before the run starts.)
//!
//! This module holds two of the crate's few `unsafe` system calls (`setsockopt` and `recvmsg`
//! on the socket's own descriptor; `engine/host_clock.rs` and `engine/niceness.rs` hold the
//! others). tokio's `TcpStream` reads with `recv`, which returns no
//! control messages, and no maintained small crate reads a TCP stream with them.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP connection whose reads carry the kernel's arrival time.
pub struct Socket {
    tcp: TcpStream,
    /// Whether the kernel was asked to stamp what arrives (and agreed).
    stamped: bool,
    /// Wall-clock time (Unix ns) the bytes of the last read arrived, if the kernel said.
    arrived_unix_ns: Option<u64>,
    /// Where that time is also stored, for a reader that does not own the socket (0: none).
    tap: Option<Arc<AtomicU64>>,
}

impl Socket {
    pub fn new(tcp: TcpStream) -> Socket {
        let stamped = sys::stamp_arrivals(&tcp);
        Socket {
            tcp,
            stamped,
            arrived_unix_ns: None,
            tap: None,
        }
    }

    /// A socket that also stores each read's arrival time in `tap` (0 for none): the simulator
    /// hands its sockets to hyper, and its request handlers read the time there.
    pub fn tapped(tcp: TcpStream, tap: Arc<AtomicU64>) -> Socket {
        Socket {
            tap: Some(tap),
            ..Socket::new(tcp)
        }
    }

    /// When the bytes of the last read arrived (wall clock, Unix ns), if the kernel said.
    pub fn arrived_unix_ns(&self) -> Option<u64> {
        self.arrived_unix_ns
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.stamped {
            return Pin::new(&mut this.tcp).poll_read(cx, buf);
        }
        loop {
            ready!(this.tcp.poll_read_ready(cx))?;
            // SAFETY (in `recv`): the kernel only writes into the room, and `n` bytes of it are
            // initialised when it returns `n`; the room is never read before that.
            #[allow(unsafe_code)]
            let room = unsafe { buf.unfilled_mut() };
            match this
                .tcp
                .try_io(tokio::io::Interest::READABLE, || sys::recv(&this.tcp, room))
            {
                Ok((n, at)) => {
                    // SAFETY: `recvmsg` wrote these `n` bytes.
                    #[allow(unsafe_code)]
                    unsafe {
                        buf.assume_init(n);
                    }
                    buf.advance(n);
                    this.arrived_unix_ns = at;
                    if let Some(tap) = &this.tap {
                        tap.store(at.unwrap_or(0), Ordering::Relaxed);
                    }
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale: `try_io` cleared it, so the next poll waits for more.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
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
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    // Vectored writes pass through: hyper (the simulator's server) and rustls write queued
    // buffers in one `writev` when the stream says it can, and would otherwise copy them into
    // one buffer and write it whole, which changes how a server's chunks are batched.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::os::fd::AsRawFd;

    use tokio::net::TcpStream;

    /// Asks the kernel to stamp each received packet with the wall clock (ns); false if refused.
    pub fn stamp_arrivals(tcp: &TcpStream) -> bool {
        let on: libc::c_int = 1;
        #[allow(unsafe_code)]
        // SAFETY: the descriptor is the stream's own, open while `tcp` lives; the option value
        // points at a live c_int and its length is that of a c_int.
        let rc = unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                std::ptr::from_ref(&on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    }

    /// One `recvmsg` into `buf` (non-blocking, as the socket is): the bytes read and the
    /// arrival time of the last of them, when the kernel attached one.
    pub fn recv(
        tcp: &TcpStream,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> io::Result<(usize, Option<u64>)> {
        // Room for the one control message asked for (a timespec: 32 bytes with its header),
        // aligned as a cmsghdr.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        #[allow(unsafe_code)]
        // SAFETY: `msghdr` is a plain C struct for which all-zero is valid (no name, no
        // buffers); every pointer set below points at a live local of the stated length, and
        // `recvmsg` writes at most `iov_len` bytes into `buf` (which may be uninitialised: it
        // is only written) and `msg_controllen` into `control`. The control messages are walked with the libc macros inside the length
        // the kernel returned, and the timespec is read unaligned from its data.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &raw mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
            let n = libc::recvmsg(tcp.as_raw_fd(), &raw mut msg, 0);
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut at = None;
            let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    at = unix_ns(ts.tv_sec as i64, ts.tv_nsec as i64);
                }
                c = libc::CMSG_NXTHDR(&raw const msg, c);
            }
            Ok((n as usize, at))
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
    use std::io;

    use tokio::net::TcpStream;

    /// No arrival stamps here: reads take llmw's own clock.
    pub fn stamp_arrivals(_: &TcpStream) -> bool {
        false
    }

    pub fn recv(
        _: &TcpStream,
        _: &mut [std::mem::MaybeUninit<u8>],
    ) -> io::Result<(usize, Option<u64>)> {
        Err(io::ErrorKind::Unsupported.into())
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
        let mut socket = Socket::tapped(tcp, tap.clone());
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
