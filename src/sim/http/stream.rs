//! A streamed answer: the batcher's events turned into server-sent events by the request's
//! API (several tokens per chunk, reasoning flushed before the answer), the mid-stream faults
//! (cut, stall, malformed), the end early for a newer request, the stamps each token frame
//! gets as it is handed to the connection, and what the stream's end does to its connection
//! ([`StreamEnd`]).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::Response;
use tokio::sync::mpsc;

use super::api::Writer;
use super::reply::{token_text, Reply};
use super::respond::Body;
use super::timing::{plan_id_of, unix_ns, Timing};
use crate::sim::batcher::Event;
use crate::sim::behaviour::Conn;
use crate::sim::faults::Fault;

/// What the end of a streamed response does to its connection.
pub(super) struct StreamEnd {
    pub(super) conn: Arc<Conn>,
    pub(super) close: bool,
}

impl Drop for StreamEnd {
    fn drop(&mut self) {
        self.conn.end();
        if self.close {
            self.conn.close_soon();
        }
    }
}

/// A body frame, with the generated tokens it carries.
type Item = (Result<Frame<Bytes>, std::io::Error>, u32);

/// When token frames were handed to the connection (polled by hyper for writing).
#[derive(Default)]
struct Stamps {
    first: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
    tokens: u32,
}

/// A stream to end early when a request newer than `.1` arrives.
pub(super) type Interrupt = Option<(tokio::sync::watch::Receiver<u64>, u64)>;

/// Resolves when a newer request has arrived (never without `interrupt`).
async fn newer(interrupt: &mut Interrupt) {
    match interrupt {
        Some((newest, mine)) => {
            let mine = *mine;
            if newest.wait_for(|n| *n > mine).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

pub(super) fn streaming(
    mut reply: Reply,
    mut writer: Box<dyn Writer>,
    mut rx: mpsc::UnboundedReceiver<Event>,
    fault: Fault,
    end: StreamEnd,
    mut interrupt: Interrupt,
) -> Response<Body> {
    let (out, body_rx) = mpsc::channel::<Item>(64);
    let timing = reply.timings.clone().map(|t| {
        (
            t,
            reply.origin.request_id.clone(),
            reply.origin.received,
            reply.origin.arrived_unix_ns,
        )
    });
    tokio::spawn(async move {
        let send = |s: String, tokens: u32| {
            let out = out.clone();
            async move {
                out.send((Ok(Frame::data(Bytes::from(s))), tokens))
                    .await
                    .is_ok()
            }
        };
        // One event's room: a chunk's JSON is about this long.
        let event = || String::with_capacity(320);
        let mut first = event();
        writer.start(&reply, &mut first);
        if !first.is_empty() && !send(first, 0).await {
            return;
        }
        let half = (reply.output_tokens / 2).max(1);
        let mut generated = 0u32;
        // Tokens generated but not yet sent (several per chunk), and whether they are reasoning.
        let mut pending = String::new();
        let mut pending_n = 0u32;
        let mut pending_reasoning = false;
        loop {
            let next = tokio::select! {
                e = rx.recv() => e,
                _ = newer(&mut interrupt) => {
                    // Abandoned for the newer request.
                    let mut last = String::new();
                    writer.abandon(&reply, &mut last);
                    let _ = send(last, 0).await;
                    return;
                }
            };
            let Some(next) = next else { break };
            match next {
                Event::Cached(c) => reply.cached = c,
                Event::Token => {
                    generated += 1;
                    if generated == half {
                        match fault {
                            Fault::Cut => {
                                // Let what was sent reach the client, then hang up.
                                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                                let _ = out
                                    .send((Err(std::io::Error::other("injected cut")), 0))
                                    .await;
                                return;
                            }
                            Fault::Stall => {
                                // Hold the connection open, sending nothing, until the client leaves.
                                out.closed().await;
                                return;
                            }
                            Fault::Malformed => {
                                let mut line = String::new();
                                writer.malformed(&mut line);
                                if !send(line, 0).await {
                                    return;
                                }
                            }
                            _ => {}
                        }
                    }
                    let reasoning = generated <= reply.reasoning;
                    if pending_n > 0 && reasoning != pending_reasoning {
                        // A chunk holds one kind of text: flush the reasoning before the answer.
                        let mut c = event();
                        writer.text(&reply, &pending, pending_reasoning, generated - 1, &mut c);
                        if !send(c, pending_n).await {
                            return;
                        }
                        pending.clear();
                        pending_n = 0;
                    }
                    pending.push_str(token_text(generated));
                    pending_n += 1;
                    pending_reasoning = reasoning;
                    if pending_n >= reply.per_chunk || generated >= reply.output_tokens {
                        let mut c = event();
                        writer.text(&reply, &pending, reasoning, generated, &mut c);
                        if !send(c, pending_n).await {
                            return;
                        }
                        pending.clear();
                        pending_n = 0;
                    }
                }
                Event::Done { stopped } => {
                    let mut tail = String::new();
                    if pending_n > 0 {
                        writer.text(&reply, &pending, pending_reasoning, generated, &mut tail);
                    }
                    writer.finish(&reply, stopped, generated, &mut tail);
                    let _ = send(tail, pending_n).await;
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(
        (body_rx, Stamps::default(), timing, end),
        |(mut rx, mut stamps, timing, end)| async move {
            match rx.recv().await {
                Some((item, tokens)) => {
                    if tokens > 0 && timing.is_some() {
                        let now = std::time::Instant::now();
                        stamps.first.get_or_insert(now);
                        stamps.last = Some(now);
                        stamps.tokens += tokens;
                    }
                    Some((item, (rx, stamps, timing, end)))
                }
                None => {
                    if let (Some((timings, request_id, received, arrived)), Some(f), Some(l)) =
                        (timing, stamps.first, stamps.last)
                    {
                        let t = Timing {
                            plan_id: request_id.as_deref().and_then(plan_id_of),
                            request_id,
                            ttft_ns: f.duration_since(received).as_nanos() as u64,
                            decode_ns: l.duration_since(f).as_nanos() as u64,
                            tokens: stamps.tokens,
                            received_unix_ns: unix_ns(received),
                            arrived_unix_ns: arrived,
                            first_token_unix_ns: unix_ns(f),
                        };
                        if let Ok(mut v) = timings.lock() {
                            v.push(t);
                        }
                    }
                    drop(end);
                    None
                }
            }
        },
    );
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut().insert(
        "cache-control",
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}
