//! DELETE /system/functions

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::{NamespaceQuery, namespace_of, parse_json};
use crate::error::Error;
use crate::model::{DeleteFunctionRequest, FunctionId, FunctionName};
use crate::namespace_resolver::Access;
use crate::state::AppState;

pub async fn delete(
    State(state): State<AppState>,
    Query(query): Query<NamespaceQuery>,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let request: DeleteFunctionRequest = parse_json(&body)?;
    let namespace =
        namespace_of(&state, request.namespace.as_deref(), &query, Access::Change).await?;
    let name = FunctionName::parse(&request.function_name)?;
    state
        .backend
        .delete(&FunctionId::new(namespace, name))
        .await?;
    Ok(StatusCode::ACCEPTED)
}
