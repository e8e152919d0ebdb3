//! The resend rule, edge by edge (src/engine/http.rs, `Attempt::never_read`): a request is
//! written to the server at most once unless the server provably never read it. Each test is a
//! raw TCP server that counts the request heads it reads, so "sent once" is what the server
//! saw, not what llmw says. They run under load in CI's busy machine; nothing here waits on a
//! timing closer than the resend window's second.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::runs::{prepare, requests, Req};
use llmw::engine::{self, Ending, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with each connection: it gets the stream and the count of request
/// heads read so far (which it bumps through [`read_head`]).
type Behaviour = fn(
    TcpStream,
    Arc<AtomicU32>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Reads one request head (and counts it); false at the end of the stream.
async fn read_head(s: &mut TcpStream, heads: &AtomicU32) -> Option<usize> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    heads.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head).to_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .or(Some(0))
}

/// Reads a whole request (head and body); false at the end of the stream.
async fn read_request(s: &mut TcpStream, heads: &AtomicU32) -> bool {
    let Some(len) = read_head(s, heads).await else {
        return false;
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.is_ok()
}

/// A whole completions response, kept alive.
const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 84\r\n\r\n{\"choices\":[{\"text\":\"hi\",\"finish_reason\":\"length\"}],\"usage\":{\"completion_tokens\":2}}";

async fn serve(behaviour: Behaviour) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let heads = Arc::new(AtomicU32::new(0));
    let count = heads.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(behaviour(s, count.clone()));
        }
    });
    (format!("http://{addr}"), heads)
}

/// `n` requests, one user, whole (non-streamed) answers; `input` tokens each.
fn workload(n: u32, input: u32) -> String {
    format!(
        r#"workload "resend" {{
  target {{ api = completions  model = "m"  timeout = 10s  stream = false }}
  requests {{ input = {input}  output = 2 }}
  phase "p" {{ requests = {n}  concurrency = 1 }}
}}"#
    )
}

async fn run(url: String, text: &str, name: &str) -> Vec<Req> {
    let p = prepare(text, name, url, Metrics::Off);
    let dir = p.dir.clone();
    let ending = engine::run(p.schedule, p.options).await.map(|r| r.ending);
    assert_eq!(ending, Ok(Ending::Completed));
    let mut rows = requests(&dir);
    rows.sort_by_key(|r| r.request_id);
    rows
}

/// About 8 MB of prompt: more than the sockets hold while the server reads nothing of it, so
/// the write is still going when the server resets.
const LARGE: u32 = 1_000_000;

/// A pooled connection the server closed before the request was due is not written on at
/// all: the pool asks the kernel first, and the request goes out once on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_before_the_write_is_not_used() {
    let (url, heads) = serve(|mut s, heads| {
        Box::pin(async move {
            if read_request(&mut s, &heads).await {
                let _ = s.write_all(ANSWER).await;
                // Close the idle connection soon after the answer (a FIN, nothing unread).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    })
    .await;
    // The user thinks between requests, so each finds its connection closed long before.
    let text = r#"workload "resend" {
  target { api = completions  model = "m"  timeout = 10s  stream = false }
  requests { input = 5  output = 2 }
  phase "p" { requests = 3  concurrency = 1  think = 300ms }
}"#;
    let rows = run(url, text, "closed-before-write").await;
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
        assert!(!r.resent, "{r:?}");
    }
    for r in &rows[1..] {
        assert_eq!(r.conn_reused, Some(false), "a new connection: {r:?}");
        assert!(r.connect_ns.is_some(), "{r:?}");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 3, "each request read once");
}

/// The server answers (413) and resets before it has read a large body: that answer is the
/// answer, whichever of the failed write and the arrived answer llmw notices first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_before_a_large_body_was_read_is_the_answer_not_a_stale_connection() {
    let (url, heads) = serve(|mut s, heads| {
        Box::pin(async move {
            // Read the head alone, refuse the body unread, and close (the kernel then resets).
            if read_head(&mut s, &heads).await.is_some() {
                let _ = s
                    .write_all(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\nconnection: close\r\n\r\ntoo large")
                    .await;
            }
        })
    })
    .await;
    let rows = run(url, &workload(2, LARGE), "early-413").await;
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.http_status, Some(413), "{r:?}");
        assert!(!r.resent, "{r:?}");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 2, "each request sent once");
}

/// The server resets while the request is still being written, without a byte of answer: it
/// may have read the head, so the request is a failure, not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_during_the_write_without_an_answer_is_a_failure_not_a_resend() {
    let (url, heads) = serve(|mut s, heads| {
        Box::pin(async move {
            let _ = read_head(&mut s, &heads).await;
            // Dropped with the body unread: the kernel resets the connection.
        })
    })
    .await;
    let rows = run(url, &workload(2, LARGE), "reset-during-write").await;
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.status, "error", "{r:?}");
        assert!(!r.resent, "{r:?}");
        assert_eq!(r.http_status, None, "{r:?}");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 2, "each request sent once");
}

/// The server reads the request, answers part of it and resets: bytes came back, so the server
/// read it; the row says the response broke, and nothing is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_then_a_reset_is_not_sent_again() {
    let (url, heads) = serve(|mut s, heads| {
        Box::pin(async move {
            if read_request(&mut s, &heads).await {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"choices\"")
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                // A close with linger 0 is a reset.
                let _ = s.set_zero_linger();
            }
        })
    })
    .await;
    let rows = run(url, &workload(2, 5), "answer-then-reset").await;
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.status, "error", "{r:?}");
        assert_eq!(r.http_status, Some(200), "{r:?}");
        assert!(!r.resent, "{r:?}");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 2, "each request sent once");
}

/// The server closes a kept connection just as the next request reaches it, without reading it
/// (an idle timeout racing the write): the pool's check found it open, the whole request was
/// taken, and the connection closed with no byte back at once. The server never read it, so it
/// goes out again on a new connection, and the server reads each request once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_close_racing_the_write_is_sent_again_once() {
    let (url, heads) = serve(|mut s, heads| {
        Box::pin(async move {
            if read_request(&mut s, &heads).await {
                let _ = s.write_all(ANSWER).await;
                // The next request arrives; the server closes without reading it (unread
                // bytes: the kernel resets).
                let mut first = [0u8; 1];
                let _ = s.peek(&mut first).await;
            }
        })
    })
    .await;
    let rows = run(url, &workload(3, 5), "idle-close-race").await;
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
    }
    assert!(!rows[0].resent, "{:?}", rows[0]);
    for r in &rows[1..] {
        assert!(r.resent, "raced, then sent again: {r:?}");
        assert_eq!(r.conn_reused, Some(false), "{r:?}");
        assert!(r.connect_ns.is_some(), "{r:?}");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 3, "each request read once");
}

/// Against a server that closes after every response (llama.cpp's way), each request opens its
/// own connection: its row has `connect_ns`, and `sent_ns` is after the set-up, so the one user's
/// next request goes out no sooner than the previous answer plus that set-up. TTFT starts there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_set_up_is_timed_and_kept_out_of_ttft() {
    let sim = common::runs::simulator(llmw::sim::SimConfig {
        behaviour: llmw::sim::Behaviour {
            close_after_response: true,
            ..llmw::sim::Behaviour::default()
        },
        ..llmw::sim::SimConfig::default()
    })
    .await;
    let text = r#"workload "setup" {
  target { api = completions  model = "m" }
  requests { input = 5  output = 3 }
  phase "p" { requests = 12  concurrency = 1 }
}"#;
    let p = prepare(text, "setup-timed", sim.url(), Metrics::Off);
    let dir = p.dir.clone();
    engine::run(p.schedule, p.options).await.expect("run");
    let mut rows = requests(&dir);
    assert_eq!(rows.len(), 12);
    rows.sort_by_key(|r| r.sent_ns);
    for pair in rows.windows(2) {
        let (before, r) = (&pair[0], &pair[1]);
        assert_eq!(r.status, "ok", "{r:?}");
        let connect = r.connect_ns.expect("a new connection for each request");
        assert!(connect > 0 && r.tls_ns.is_none(), "{r:?}");
        assert!(
            r.sent_ns - before.done_ns >= connect,
            "the set-up ({connect} ns) lies between the last answer and the send: {before:?} {r:?}"
        );
        assert!(r.first_token_ns.expect("ttft") > r.sent_ns, "{r:?}");
    }
    // The analysis' set-up figure is those columns, and the share that opened a connection.
    let run = llmw::load_run(&dir).expect("load");
    let a = llmw::analyze(&run, &Default::default()).expect("analyze");
    let c = &a.groups[0].connections;
    let opened: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.connect_ns)
        .map(|n| n as f64 / 1e6)
        .collect();
    assert_eq!(c.opened, opened.len());
    assert!(c.opened >= 11, "{c:?}");
    assert_eq!(c.opened_share, Some(c.opened as f64 / 12.0));
    let max = opened.iter().copied().fold(0.0, f64::max);
    assert_eq!(c.setup_ms.max, Some(max));
}
