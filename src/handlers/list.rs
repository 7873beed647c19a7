//! GET /system/functions

use axum::Json;
use axum::extract::{Query, State};

use super::NamespaceQuery;
use super::namespace_resolver::Access;
use crate::error::Error;
use crate::model::FunctionStatus;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Json<Vec<FunctionStatus>>, Error> {
    let namespace = state
        .namespaces()
        .namespace(None, query.namespace.as_deref(), Access::Read)
        .await?;
    Ok(Json(state.backend.list(&namespace).await?))
}
