//! /system/secrets: list names, create, update, delete. Values are never returned or logged.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};

use super::{NamespaceQuery, namespace_of, parse_json};
use crate::error::Error;
use crate::model::{Namespace, Secret, SecretName, SecretSummary};
use crate::namespace_resolver::Access;
use crate::state::AppState;

async fn target(
    state: &AppState,
    secret: &Secret,
    query: &NamespaceQuery,
) -> Result<(Namespace, SecretName), Error> {
    let namespace = namespace_of(state, secret.namespace.as_deref(), query, Access::Change).await?;
    Ok((namespace, SecretName::parse(&secret.name)?))
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Json<Vec<SecretSummary>>, Error> {
    let namespace = namespace_of(&state, None, &query, Access::Read).await?;
    let names = state.backend.list_secrets(&namespace).await?;
    Ok(Json(
        names
            .into_iter()
            .map(|n| SecretSummary {
                name: n.to_string(),
                namespace: namespace.to_string(),
            })
            .collect(),
    ))
}

/// POST creates (201, 409 when it exists), PUT replaces the value (200, 404 when missing).
pub async fn store(
    State(state): State<AppState>,
    method: Method,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let secret: Secret = parse_json(&body)?;
    let (namespace, name) = target(&state, &secret, &query).await?;
    let value = secret.bytes()?;
    if method == Method::POST {
        state
            .backend
            .create_secret(&namespace, &name, &value)
            .await?;
        Ok(StatusCode::CREATED)
    } else {
        state
            .backend
            .update_secret(&namespace, &name, &value)
            .await?;
        Ok(StatusCode::OK)
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let secret: Secret = parse_json(&body)?;
    let (namespace, name) = target(&state, &secret, &query).await?;
    state.backend.delete_secret(&namespace, &name).await?;
    Ok(StatusCode::OK)
}
