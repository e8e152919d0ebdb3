//! An answer not streamed: the batcher's events collected (reasoning apart from the answer)
//! into one body, in its API's shape.

use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

use super::api::Writer;
use super::reply::{token_text, Reply};
use super::respond::{full, Body};
use crate::sim::batcher::Event;

pub(super) async fn whole(
    mut reply: Reply,
    writer: Box<dyn Writer>,
    mut rx: mpsc::UnboundedReceiver<Event>,
) -> Response<Body> {
    let (mut answer, mut thinking) = (String::new(), String::new());
    let mut generated = 0;
    let mut stopped = false;
    while let Some(event) = rx.recv().await {
        match event {
            Event::Cached(c) => reply.cached = c,
            Event::Token => {
                generated += 1;
                if generated <= reply.reasoning {
                    thinking.push_str(token_text(generated));
                } else {
                    answer.push_str(token_text(generated));
                }
            }
            Event::Done { stopped: s } => {
                stopped = s;
                break;
            }
        }
    }
    let body = writer.whole(&reply, &answer, &thinking, stopped, generated);
    full(StatusCode::OK, body)
}
