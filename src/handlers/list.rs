//! GET /system/functions

use axum::extract::{Query, State};
use axum::Json;

use super::{namespace, NamespaceQuery};
use crate::error::Error;
use crate::model::FunctionStatus;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Json<Vec<FunctionStatus>>, Error> {
    let namespace = namespace(None, query.namespace.as_deref())?;
    Ok(Json(state.backend.list(&namespace).await?))
}
