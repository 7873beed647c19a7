//! POST /system/functions

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::{NamespaceQuery, function_spec};
use crate::error::Error;
use crate::state::AppState;

pub async fn deploy(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let spec = function_spec(&state.namespaces(), &body, &query, state.scaling.settings()).await?;
    state.backend.deploy(&spec).await?;
    Ok(StatusCode::ACCEPTED)
}
