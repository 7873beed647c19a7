//! PUT /system/functions: 404 for an unknown function (faas-cli then falls back to POST).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::{NamespaceQuery, namespace, parse_json};
use crate::error::Error;
use crate::model::{FunctionDeployment, FunctionSpec};
use crate::state::AppState;

pub async fn update(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let deployment: FunctionDeployment = parse_json(&body)?;
    let namespace = namespace(deployment.namespace.as_deref(), query.namespace.as_deref())?;
    let spec = FunctionSpec::new(deployment, namespace)?;
    state.backend.update(&spec).await?;
    Ok(StatusCode::ACCEPTED)
}
