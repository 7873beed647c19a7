//! /function/{name}[/{path}]: invocations, passed to the proxy.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::function_in_path;
use crate::state::AppState;

pub async fn proxy(State(state): State<AppState>, request: Request) -> Response {
    let uri = request.uri();
    let rest = uri.path().strip_prefix("/function/").unwrap_or_default();
    let (target, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (name, namespace) = match function_in_path(target, None, None) {
        Ok(found) => found,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if state.backend.check_namespace(&namespace).is_err() {
        return (
            StatusCode::NOT_FOUND,
            format!("namespace {namespace} is not managed by this provider"),
        )
            .into_response();
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    state
        .proxy
        .forward(&name, &path_and_query, request, client)
        .await
}
