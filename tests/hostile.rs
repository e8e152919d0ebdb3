//! Hostile servers, each a few lines of raw TCP: every one must give a clear failure row (or a
//! clear error) in bounded memory and time, never a hang, a panic or an abort.

mod common;

use std::time::{Duration, Instant};

use common::runs::{prepare, requests, Req};
use llmw::engine::{self, Ending, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a hostile server does once it has read a request.
type Answer = fn(TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Reads one request's head and body (by Content-Length).
async fn read_request(s: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let Ok(n) = s.read(&mut chunk).await else {
                    return false;
                };
                if n == 0 {
                    return false;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return true;
        }
    }
}

async fn serve(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_request(&mut s).await {
                    answer(s).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

const STREAM_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

/// One HTTP chunk of the chunked encoding.
fn chunked(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

const TOKEN: &[u8] =
    b"data: {\"choices\":[{\"index\":0,\"text\":\" hi\",\"finish_reason\":null}]}\n\n";
const LAST: &[u8] = b"data: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n";

async fn run(url: String, text: &str, name: &str) -> (Result<Ending, String>, Vec<Req>, Duration) {
    let p = prepare(text, name, url, Metrics::Off);
    let dir = p.dir.clone();
    let began = Instant::now();
    let result = engine::run(p.schedule, p.options)
        .await
        .map(|r| r.ending)
        .map_err(|e| e.to_string());
    let took = began.elapsed();
    let rows = if result.is_ok() {
        requests(&dir)
    } else {
        Vec::new()
    };
    (result, rows, took)
}

const TWO: &str = r#"workload "hostile" {
  target { api = completions  model = "m"  timeout = 5s }
  requests { input = 5  output = 2 }
  phase "p" { requests = 2  concurrency = 1 }
}"#;

fn only_error(rows: &[Req], needle: &str) {
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r.status, "error", "{r:?}");
        let e = r.error.as_deref().unwrap_or("");
        assert!(e.contains(needle), "'{e}' does not say '{needle}'");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_sse_line_is_an_error_in_bounded_memory() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            let _ = s.write_all(&chunked(b"data: ")).await;
            let block = vec![b'x'; 64 * 1024];
            // 64 MiB without a newline, unless the client hangs up first.
            for _ in 0..1024 {
                if s.write_all(&chunked(&block)).await.is_err() {
                    return;
                }
            }
        })
    })
    .await;
    let (ending, rows, _) = run(url, TWO, "endless-line").await;
    assert_eq!(ending, Ok(Ending::Completed));
    only_error(&rows, "an SSE line or event over 1048576 bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_then_a_connection_held_open_is_ok_at_once() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            let _ = s.write_all(&chunked(TOKEN)).await;
            let _ = s.write_all(&chunked(LAST)).await;
            // No terminating chunk: the stream stays open for good.
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
    })
    .await;
    let (ending, rows, took) = run(url, TWO, "done-held").await;
    assert_eq!(ending, Ok(Ending::Completed));
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.status, "ok", "{r:?}");
        assert!((r.done_ns - r.sent_ns) < 1_000_000_000, "{r:?}");
    }
    assert!(
        took < Duration::from_secs(4),
        "the run waited {took:?} for streams already done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_accepts_and_never_answers_cannot_hang_model_discovery() {
    let url = serve(|s| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(s);
        })
    })
    .await;
    let text = TWO.replace("model = \"m\"  ", "");
    let text = text.replace("timeout = 5s", "timeout = 1s");
    let (ending, _, took) = run(url, &text, "never-answers").await;
    let e = ending.expect_err("no model");
    assert!(e.contains("/v1/models did not answer within 1s"), "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_response_is_a_clear_error() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\ncontent-length: 4\r\n\r\n\x1f\x8b\x08\x00";
            let _ = s.write_all(head).await;
        })
    })
    .await;
    let (_, rows, _) = run(url, TWO, "gzip").await;
    only_error(&rows, "content-encoding: gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_error_body_is_read_only_as_far_as_the_message_needs() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let body = vec![b'e'; 32 << 20];
            let head = format!(
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 7\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
        })
    })
    .await;
    let (_, rows, _) = run(url, TWO, "huge-error").await;
    only_error(&rows, "HTTP 503 Service Unavailable (retry-after: 7)");
    assert!(rows
        .iter()
        .all(|r| r.error.as_deref().is_some_and(|e| e.chars().count() <= 201)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_chunks_far_past_max_tokens_is_an_error() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            for _ in 0..10_000 {
                if s.write_all(&chunked(TOKEN)).await.is_err() {
                    return;
                }
            }
            let _ = s.write_all(&chunked(LAST)).await;
        })
    })
    .await;
    let (_, rows, _) = run(url, TWO, "flood").await;
    only_error(&rows, "more than 72 chunks of text for max_tokens 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_utf8_are_an_error_row() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            let _ = s
                .write_all(&chunked(
                    b"data: {\"choices\":[{\"text\":\"\xff\xfe\"}]}\n\n",
                ))
                .await;
            let _ = s.write_all(&chunked(LAST)).await;
            let _ = s.write_all(b"0\r\n\r\n").await;
        })
    })
    .await;
    let (_, rows, _) = run(url, TWO, "not-utf8").await;
    only_error(&rows, "invalid JSON in SSE data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_trickled_one_at_a_time_end_at_the_request_timeout() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            for b in TOKEN.iter().cycle().take(100_000) {
                if s.write_all(&chunked(&[*b])).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    })
    .await;
    let text = TWO.replace("timeout = 5s", "timeout = 1s");
    let (_, rows, took) = run(url, &text, "trickle").await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status == "timeout"), "{rows:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

// llmw reads HTTP/1.1 itself (src/engine/h1.rs): what hyper used to refuse, it must refuse too.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_http_is_an_error_row() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
        })
    })
    .await;
    let (ending, rows, _) = run(url, TWO, "not-http").await;
    assert_eq!(ending, Ok(Ending::Completed));
    only_error(&rows, "not a valid HTTP/1.1 response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_inside_a_chunk_is_an_error_with_the_tokens_before_it() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            let _ = s.write_all(&chunked(TOKEN)).await;
            // A chunk that announces more than it carries, then the connection closes.
            let _ = s.write_all(b"400\r\ndata: {\"choi").await;
        })
    })
    .await;
    let (ending, rows, _) = run(url, TWO, "cut-chunk").await;
    assert_eq!(ending, Ok(Ending::Completed));
    only_error(&rows, "stream broken: the server closed the connection");
    assert!(rows.iter().all(|r| r.chunks == 1), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_chunk_size_is_an_error_row() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s.write_all(STREAM_HEAD).await;
            let _ = s.write_all(b"zz\r\ndata: x\n\n\r\n").await;
        })
    })
    .await;
    let (ending, rows, _) = run(url, TWO, "bad-chunk-size").await;
    assert_eq!(ending, Ok(Ending::Completed));
    only_error(&rows, "chunk size 'zz'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_delimited_http10_stream_is_read_to_its_end() {
    let url = serve(|mut s| {
        Box::pin(async move {
            let _ = s
                .write_all(b"HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
                .await;
            let _ = s.write_all(TOKEN).await;
            let _ = s.write_all(LAST).await;
        })
    })
    .await;
    let (ending, rows, _) = run(url, TWO, "http10").await;
    assert_eq!(ending, Ok(Ending::Completed));
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.status == "ok" && r.chunks == 1),
        "{rows:?}"
    );
}
