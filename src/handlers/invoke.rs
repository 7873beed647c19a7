//! /function/{name}[/{path}]: invocations, passed to the proxy. The server sends them here
//! without the router: this is the hot path, and it needs none of the router's extractors.

use axum::http::header::HeaderValue;
use axum::http::uri::PathAndQuery;
use axum::http::{Method, Request, Response};
use axum::response::IntoResponse;
use http_body_util::Either;
use hyper::body::Incoming;

use crate::error::Error;
use crate::model::shared::INVOKE_PREFIX;
use crate::proxy::ProxyBody;
use crate::state::AppState;

/// Methods a function may be invoked with; others get 405.
const ALLOW: &str = "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS";

pub async fn invoke(
    state: &AppState,
    request: Request<Incoming>,
    forwarded_for: Option<&HeaderValue>,
) -> Response<ProxyBody> {
    if !matches!(
        *request.method(),
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::OPTIONS
    ) {
        return own(Error::MethodNotAllowed(ALLOW));
    }
    let uri = request.uri();
    let rest = uri.path().strip_prefix(INVOKE_PREFIX).unwrap_or_default();
    let (target, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if target.is_empty() {
        return own(Error::NoSuchFunction);
    }
    let id = match state.namespaces().invocation(target) {
        Ok(id) => id,
        Err(e) => return own(e),
    };
    let path_and_query = match uri.query() {
        Some(q) => PathAndQuery::try_from(format!("{path}?{q}")),
        None => PathAndQuery::try_from(path),
    };
    let Ok(path_and_query) = path_and_query else {
        return own(Error::BadRequest("invalid path".into()));
    };
    let (invocation, in_flight) = state.scaling.meters.begin(&id);
    let response = state
        .proxy
        .forward(
            &id,
            path_and_query,
            request,
            forwarded_for,
            Some(in_flight),
            &*state.scaling,
        )
        .await;
    invocation.answered(response.status().as_u16());
    response
}

/// An answer of the provider's own, not the function's.
fn own(error: Error) -> Response<ProxyBody> {
    error.into_response().map(Either::Right)
}
