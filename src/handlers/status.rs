//! GET /system/function/{name}: served from memory; 404 with an empty body when missing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Access, NamespaceQuery, function_in_path};
use crate::error::Error;
use crate::state::AppState;

pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Response, Error> {
    let id = match function_in_path(
        &*state.backend,
        &name,
        None,
        query.namespace.as_deref(),
        Access::Read,
    )
    .await
    {
        Ok(id) => id,
        // A namespace that does not exist has no such function: the same empty 404.
        Err(Error::Backend(crate::backend::Error::NotFound(_))) => {
            return Ok(StatusCode::NOT_FOUND.into_response());
        }
        Err(e) => return Err(e),
    };
    match state.backend.get(&id).await {
        Ok(Some(status)) => Ok(Json(status).into_response()),
        Ok(None) | Err(crate::backend::Error::NotFound(_)) => {
            Ok(StatusCode::NOT_FOUND.into_response())
        }
        Err(e) => Err(e.into()),
    }
}
