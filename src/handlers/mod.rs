//! One file per endpoint; each parses, asks the namespace resolver, calls the backend and
//! answers (statuses come from `crate::error`).

pub mod delete;
pub mod deploy;
pub mod health;
pub mod info;
pub mod invoke;
pub mod list;
pub mod logs;
pub mod namespaces;
pub mod prometheus;
pub mod scale;
pub mod scaling;
pub mod secrets;
pub mod status;
pub mod update;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::model::{FunctionDeployment, FunctionSpec, Namespace};
use crate::namespace_resolver::{Access, NamespaceResolver};
use crate::scaling::ScalingSettings;
use crate::scaling::policy::Policy;
use crate::state::AppState;

/// `?namespace=` as the routes take it.
#[derive(Debug, Default, Deserialize)]
pub struct NamespaceQuery {
    pub namespace: Option<String>,
}

/// The namespace a request names: the body's, else the query's, else the default; one that
/// exists (else 404 to read, 400 to change).
pub async fn namespace_of(
    state: &AppState,
    body: Option<&str>,
    query: &NamespaceQuery,
    access: Access,
) -> Result<Namespace, Error> {
    let query = query.namespace.as_deref();
    state.namespaces().namespace(body, query, access).await
}

/// Parses a JSON body, which every `/system` route takes as an object (serde would also read a
/// struct from an array); any fault is a 400 with the reason.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if !body.trim_ascii_start().starts_with(b"{") {
        return Err(Error::BadRequest(
            "invalid request body: expected a JSON object".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("invalid request body: {e}")))
}

/// A deploy or update body, validated (its scaling labels included): the namespace from the
/// body, else the query, one that exists.
pub async fn function_spec(
    namespaces: &NamespaceResolver<'_>,
    body: &[u8],
    query: &NamespaceQuery,
    scaling: &ScalingSettings,
) -> Result<FunctionSpec, Error> {
    let deployment: FunctionDeployment = parse_json(body)?;
    let namespace = namespaces
        .namespace(
            deployment.namespace.as_deref(),
            query.namespace.as_deref(),
            Access::Change,
        )
        .await?;
    let spec = FunctionSpec::new(deployment, namespace)?;
    if let Some(labels) = &spec.deployment.labels {
        Policy::check_labels(labels, scaling.defaults, scaling.max_replicas)
            .map_err(Error::bad_request)?;
    }
    Ok(spec)
}
