//! POST /system/scale-function/{name}

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::{NamespaceQuery, function_in_path, parse_json};
use crate::error::Error;
use crate::model::ScaleServiceRequest;
use crate::state::AppState;

/// ECS keeps desired counts in an i32.
const MAX_REPLICAS: u64 = i32::MAX as u64;

pub async fn scale(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let request: ScaleServiceRequest = parse_json(&body)?;
    let (name, namespace) = function_in_path(
        &name,
        request.namespace.as_deref(),
        query.namespace.as_deref(),
    )?;
    if request.replicas > MAX_REPLICAS {
        return Err(Error::BadRequest(format!(
            "replicas must be at most {MAX_REPLICAS}"
        )));
    }
    state
        .backend
        .scale(&namespace, &name, request.replicas as u32)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
