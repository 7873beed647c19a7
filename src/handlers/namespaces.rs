//! GET /system/namespaces, and the namespace management routes this provider does not offer.

use axum::Json;
use axum::extract::State;

use crate::error::Error;
use crate::state::AppState;

pub async fn list(State(state): State<AppState>) -> Json<Vec<String>> {
    Json(
        state
            .backend
            .namespaces()
            .into_iter()
            .map(|n| n.to_string())
            .collect(),
    )
}

/// /system/namespace/{name}: namespaces map to ECS clusters set up by Terraform, not created here.
pub async fn manage() -> Error {
    Error::NotImplemented
}
