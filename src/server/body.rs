//! `/system` request bodies, read whole before they are handled: within a time, up to a size.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::Error;
use crate::model::shared::MAX_BODY_BYTES;

/// Reads a routed request's whole body within the read timeout before it is handled: a client
/// that stalls cannot hold its connection for ever. A declared length over the limit is refused
/// before any of the body is read.
pub(super) async fn read_whole_body(
    State(timeout): State<Duration>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Error::TooLarge.into_response();
    }
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let read = Limited::new(body, MAX_BODY_BYTES).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(body)) => {
            let body = Body::from(body.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => Error::TooLarge.into_response(),
        Ok(Err(e)) => {
            Error::BadRequest(format!("cannot read the request body: {e}")).into_response()
        }
        Err(_) => Error::BodyTimeout(timeout).into_response(),
    }
}
