//! POST /system/scale-function/{name}

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::{NamespaceQuery, parse_json};
use crate::error::Error;
use crate::model::ScaleServiceRequest;
use crate::namespace_resolver::Access;
use crate::state::AppState;

pub async fn scale(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let request: ScaleServiceRequest = parse_json(&body)?;
    let id = state
        .namespaces()
        .function(
            &name,
            request.namespace.as_deref(),
            query.namespace.as_deref(),
            Access::Change,
        )
        .await?;
    let max = state.scaling.settings().max_replicas;
    if request.replicas > max {
        return Err(Error::BadRequest(format!(
            "replicas must be at most {max} (FAAS_ECS_MAX_REPLICAS)"
        )));
    }
    state.backend.scale(&id, request.replicas as u32).await?;
    Ok(StatusCode::ACCEPTED)
}
