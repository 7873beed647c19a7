//! GET /system/function/{name}: served from memory; 404 with an empty body when missing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{NamespaceQuery, function_in_path};
use crate::error::Error;
use crate::state::AppState;

pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Response, Error> {
    let (name, namespace) =
        function_in_path(&*state.backend, &name, None, query.namespace.as_deref())?;
    match state.backend.get(&namespace, &name).await {
        Ok(Some(status)) => Ok(Json(status).into_response()),
        Ok(None) | Err(crate::backend::Error::NotFound(_)) => {
            Ok(StatusCode::NOT_FOUND.into_response())
        }
        Err(e) => Err(e.into()),
    }
}
