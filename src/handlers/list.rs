//! GET /system/functions

use axum::Json;
use axum::extract::{Query, State};

use super::{NamespaceQuery, namespace_of};
use crate::error::Error;
use crate::model::FunctionStatus;
use crate::namespace_resolver::Access;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Json<Vec<FunctionStatus>>, Error> {
    let namespace = namespace_of(&state, None, &query, Access::Read).await?;
    Ok(Json(state.backend.list(&namespace).await?))
}
