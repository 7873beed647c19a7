//! /system/secrets: list names, create, update, delete. Values are never returned or logged.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::namespace_resolver::Access;
use super::{NamespaceQuery, parse_json};
use crate::error::Error;
use crate::model::{Namespace, Secret, SecretName, SecretSummary};
use crate::state::AppState;

async fn target(
    state: &AppState,
    secret: &Secret,
    query: &NamespaceQuery,
) -> Result<(Namespace, SecretName), Error> {
    let namespace = state
        .namespaces()
        .namespace(
            secret.namespace.as_deref(),
            query.namespace.as_deref(),
            Access::Change,
        )
        .await?;
    Ok((namespace, SecretName::parse(&secret.name)?))
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
) -> Result<Json<Vec<SecretSummary>>, Error> {
    let namespace = state
        .namespaces()
        .namespace(None, query.namespace.as_deref(), Access::Read)
        .await?;
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

pub async fn create(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let secret: Secret = parse_json(&body)?;
    let (namespace, name) = target(&state, &secret, &query).await?;
    state
        .backend
        .create_secret(&namespace, &name, &secret.bytes()?)
        .await?;
    Ok(StatusCode::CREATED)
}

pub async fn update(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let secret: Secret = parse_json(&body)?;
    let (namespace, name) = target(&state, &secret, &query).await?;
    state
        .backend
        .update_secret(&namespace, &name, &secret.bytes()?)
        .await?;
    Ok(StatusCode::OK)
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
