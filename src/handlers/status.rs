//! GET /system/function/{name}: served from memory; 404 with an empty body when missing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};

use super::NamespaceQuery;
use crate::backend::Error as BackendError;
use crate::error::Error;
use crate::namespace_resolver::Access;
use crate::state::AppState;

pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Response, Error> {
    let found = state
        .namespaces()
        .function(&name, None, query.namespace.as_deref(), Access::Read)
        .await;
    let id = match found {
        Ok(id) => id,
        // A namespace that does not exist has no such function: the same empty 404.
        Err(Error::Backend(BackendError::NotFound(_))) => return Err(Error::NoSuchFunction),
        Err(e) => return Err(e),
    };
    match state.backend.get(&id).await {
        Ok(Some(status)) => Ok(Json(status).into_response()),
        Ok(None) | Err(BackendError::NotFound(_)) => Err(Error::NoSuchFunction),
        Err(e) => Err(e.into()),
    }
}
