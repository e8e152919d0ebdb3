//! One request on its connection, with the connection rules of
//! [`Behaviour`](crate::sim::Behaviour): a closing
//! connection's request left unread, the `Keep-Alive`/`Connection: close` headers, and the end
//! of a request that does not stream.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response};

use super::respond::Body;
use super::routes::route;
use super::state::State;
use crate::sim::behaviour::Conn;

/// Serves one request of connection `conn`, with the connection rules of
/// [`Behaviour`](crate::sim::Behaviour).
pub async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    conn: Arc<Conn>,
) -> Result<Response<Body>, Infallible> {
    if conn.closing() {
        // The server is done with this connection: it never reads this request, and the
        // connection is dropped shortly (see `Conn::ended`).
        return std::future::pending().await;
    }
    let nth = conn.begin();
    let b = &state.behaviour;
    let (mut resp, streamed) = route(req, &state, &conn).await;
    let headers = resp.headers_mut();
    let value = |s: String| hyper::header::HeaderValue::from_str(&s).ok();
    if b.close_after_response {
        // What llama-server says, right before it closes anyway.
        if let Some(v) = value("timeout=5, max=100".into()) {
            headers.insert("keep-alive", v);
        }
    } else if let Some(max) = b.max_requests_per_connection {
        if let Some(v) = value(format!("timeout=5, max={}", max.saturating_sub(nth))) {
            headers.insert("keep-alive", v);
        }
        if nth >= max {
            headers.insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
        }
    }
    if !streamed {
        conn.end();
        if b.close_after_response {
            conn.close_soon();
        }
    }
    Ok(resp)
}
