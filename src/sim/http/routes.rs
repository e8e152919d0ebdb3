//! Which path answers what: the simulator's own routes (`/health`, `/llmw/timings`,
//! `/metrics`), then each API's ([`APIS`]); for a completion, the request-id rule, the body read
//! (size-capped) and parsed, and the API's reader handed to `complete`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use super::api::{Route, Routes};
use super::complete::complete;
use super::reports::{metrics, timings};
use super::respond::{error, full, Body};
use super::state::State;
use super::timing::Origin;
use super::{embeddings, messages, openai, responses};
use crate::sim::behaviour::Conn;

/// The APIs the simulator speaks, each in its own file: the first whose routes answer a method
/// and path serves it.
const APIS: &[Routes] = &[
    openai::route,
    responses::route,
    messages::route,
    embeddings::route,
];

/// Requests larger than this are refused (413).
const MAX_BODY: usize = 64 << 20;

/// The response to one request, and whether it streams (its end then ends the request).
pub(super) async fn route(
    req: Request<Incoming>,
    state: &State,
    conn: &Arc<Conn>,
) -> (Response<Body>, bool) {
    let received = std::time::Instant::now();
    let arrived_unix_ns = Some(
        conn.arrived_unix_ns
            .load(std::sync::atomic::Ordering::Relaxed),
    )
    .filter(|t| *t > 0);
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = req.uri().path().trim_end_matches('/').to_string();
    if state
        .behaviour
        .unserved
        .iter()
        .any(|u| u.trim_end_matches('/') == path)
    {
        return (
            full(StatusCode::NOT_FOUND, json!({"detail": "Not Found"})),
            false,
        );
    }
    if let Some(key) = &state.behaviour.api_key {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let bearer = header("authorization").and_then(|a| a.strip_prefix("Bearer "));
        if path.starts_with("/v1/") && bearer != Some(key) && header("x-api-key") != Some(key) {
            return (
                full(StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"})),
                false,
            );
        }
    }
    let read = match (req.method(), path.as_str()) {
        (&Method::GET, "/health") => return (full(StatusCode::OK, json!({"status": "ok"})), false),
        (&Method::GET, "/llmw/timings") => return (timings(state), false),
        (&Method::GET, "/metrics") => return (metrics(state), false),
        (method, path) => match APIS.iter().find_map(|routes| routes(method, path)) {
            Some(Route::Json(answer)) => {
                let mut names = vec![state.model.as_str()];
                names.extend(state.profile.model_costs.iter().map(|(m, _)| m.as_str()));
                return (full(StatusCode::OK, answer(&names)), false);
            }
            Some(Route::Complete(read)) => Some(read),
            Some(Route::Embed) => None,
            None => return (error(StatusCode::NOT_FOUND, "no such route"), false),
        },
    };
    if state.behaviour.require_uuid_request_id
        && request_id
            .as_deref()
            .is_some_and(|id| !crate::request_id::is_uuid(id))
    {
        // llama-cpp-python's request-id middleware: 400 and nothing else.
        let mut r = Response::new(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
        );
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return (r, false);
    }
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return (
                error(StatusCode::BAD_REQUEST, "could not read the request body"),
                false,
            )
        }
    };
    if bytes.len() > MAX_BODY {
        return (
            error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
            false,
        );
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return (
                error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
                false,
            )
        }
    };
    let Some(read) = read else {
        return (embeddings::answer(&body, state).await, false);
    };
    let origin = Origin {
        received,
        arrived_unix_ns,
        request_id,
    };
    complete(read, body, state, origin, conn).await
}
