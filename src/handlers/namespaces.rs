//! /system/namespaces and /system/namespace/{name}: list, get, create, update and delete
//! namespaces (faas-cli namespace ...). Changes are refused with 403 when
//! FAAS_ECS_NAMESPACE_MANAGEMENT is false.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::parse_json;
use crate::error::Error;
use crate::model::{FunctionNamespace, Namespace, NamespaceSpec};
use crate::namespace_resolver::Access;
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

pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<FunctionNamespace>, Error> {
    let name = Namespace::parse(&name)?;
    state.namespaces().require(&name, Access::Read).await?;
    state
        .backend
        .namespace(&name)
        .map(|spec| Json(spec.to_wire()))
        .ok_or_else(|| crate::backend::Error::NotFound(format!("namespace {name}")).into())
}

fn managed(state: &AppState) -> Result<(), Error> {
    if state.namespace_management {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "namespaces are managed outside this provider (FAAS_ECS_NAMESPACE_MANAGEMENT=false)"
                .into(),
        ))
    }
}

/// POST /system/namespace/ (faas-cli names it in the body) or /system/namespace/{name}.
pub async fn create(
    State(state): State<AppState>,
    name: Option<Path<String>>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    managed(&state)?;
    let request: FunctionNamespace = parse_json(&body)?;
    let spec = NamespaceSpec::new(request, name.as_deref().map(String::as_str))?;
    state.backend.create_namespace(&spec).await?;
    Ok(StatusCode::CREATED)
}

pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    managed(&state)?;
    let request: FunctionNamespace = parse_json(&body)?;
    let spec = NamespaceSpec::new(request, Some(&name))?;
    state.backend.update_namespace(&spec).await?;
    Ok(StatusCode::ACCEPTED)
}

/// faas-cli sends a body naming the namespace again; the path decides.
pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, Error> {
    managed(&state)?;
    let name = Namespace::parse(&name)?;
    state.backend.delete_namespace(&name).await?;
    Ok(StatusCode::ACCEPTED)
}
