//! The response body type and the plain JSON answers: a value, and an error (in the OpenAI
//! API's shape, which every route answers with).

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::openai::error_body;

pub type Body = BoxBody<Bytes, std::io::Error>;

pub(super) fn full(status: StatusCode, body: Value) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

pub(super) fn error(status: StatusCode, message: &str) -> Response<Body> {
    full(status, error_body(status, message))
}
