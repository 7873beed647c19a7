//! One file per endpoint; each parses, calls the backend and maps the answer.

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

use crate::backend::FunctionBackend;
use crate::error::Error;
use crate::model::{FunctionDeployment, FunctionId, FunctionName, FunctionSpec, Namespace};
use crate::scaling::ScalingSettings;
use crate::scaling::policy::Policy;

/// `?namespace=` as the routes take it.
#[derive(Debug, Default, Deserialize)]
pub struct NamespaceQuery {
    pub namespace: Option<String>,
}

/// Parses a JSON body; any fault is a 400 with serde's reason.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("invalid request body: {e}")))
}

fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// What a request does in its namespace: a namespace that does not exist is a 404 for a read
/// and a 400 for a change, as faas-netes answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Change,
}

/// The error for a namespace that does not exist.
pub fn no_such_namespace(namespace: &Namespace, access: Access) -> Error {
    match access {
        Access::Read => Error::Backend(crate::backend::Error::NotFound(format!(
            "namespace {namespace}"
        ))),
        Access::Change => Error::BadRequest(format!("namespace {namespace} does not exist")),
    }
}

/// A deploy or update body, validated (its scaling labels included): the namespace from the
/// body, else the query, one that exists.
pub async fn function_spec(
    backend: &dyn FunctionBackend,
    body: &[u8],
    query: &NamespaceQuery,
    scaling: &ScalingSettings,
) -> Result<FunctionSpec, Error> {
    let deployment: FunctionDeployment = parse_json(body)?;
    let namespace = namespace(
        backend,
        deployment.namespace.as_deref(),
        query.namespace.as_deref(),
        Access::Change,
    )
    .await?;
    let spec = FunctionSpec::new(deployment, namespace)?;
    if let Some(labels) = &spec.deployment.labels {
        Policy::from_labels(labels, scaling.defaults, scaling.max_replicas)
            .map_err(Error::bad_request)?;
    }
    Ok(spec)
}

/// The namespace of a request: the body's, else the query's, else `default`.
pub fn parse_namespace(
    body: Option<&str>,
    query: Option<&str>,
    default: &Namespace,
) -> Result<Namespace, Error> {
    match given(body).or(given(query)) {
        Some(name) => Ok(Namespace::parse(name)?),
        None => Ok(default.clone()),
    }
}

/// Fails with [`no_such_namespace`] unless the namespace exists (asking the backend to look
/// when it does not know it: another provider replica may have just made it).
pub async fn require_namespace(
    backend: &dyn FunctionBackend,
    namespace: &Namespace,
    access: Access,
) -> Result<(), Error> {
    if backend.find_namespace(namespace).await? {
        Ok(())
    } else {
        Err(no_such_namespace(namespace, access))
    }
}

/// The namespace of a request, as [`parse_namespace`] finds it, held to those that exist: the
/// one place `/system` requests are held to their namespace.
pub async fn namespace(
    backend: &dyn FunctionBackend,
    body: Option<&str>,
    query: Option<&str>,
    access: Access,
) -> Result<Namespace, Error> {
    let namespace = parse_namespace(body, query, backend.default_namespace())?;
    require_namespace(backend, &namespace, access).await?;
    Ok(namespace)
}

/// A function named in a path, in a namespace that exists.
pub async fn function_in_path(
    backend: &dyn FunctionBackend,
    path: &str,
    body_namespace: Option<&str>,
    query_namespace: Option<&str>,
    access: Access,
) -> Result<FunctionId, Error> {
    let id = parse_function_in_path(
        path,
        body_namespace,
        query_namespace,
        backend.default_namespace(),
    )?;
    require_namespace(backend, &id.namespace, access).await?;
    Ok(id)
}

/// A function named in a path: `name` or `name.namespace` (the namespace follows the last dot).
pub fn parse_function_in_path(
    path: &str,
    body_namespace: Option<&str>,
    query_namespace: Option<&str>,
    default: &Namespace,
) -> Result<FunctionId, Error> {
    let (name, namespace) = match path.rsplit_once('.') {
        Some((_, "")) => {
            return Err(Error::BadRequest(format!(
                "{path:?}: no namespace after the dot"
            )));
        }
        Some((name, ns)) => (name, Namespace::parse(ns)?),
        None => (
            path,
            parse_namespace(body_namespace, query_namespace, default)?,
        ),
    };
    Ok(FunctionId::new(namespace, FunctionName::parse(name)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Namespace {
        Namespace::parse("team-x").unwrap()
    }

    #[test]
    fn body_namespace_wins_over_query_over_default() {
        let d = &default();
        assert_eq!(
            parse_namespace(Some("a"), Some("b"), d).unwrap().as_str(),
            "a"
        );
        assert_eq!(
            parse_namespace(Some(""), Some("b"), d).unwrap().as_str(),
            "b"
        );
        assert_eq!(parse_namespace(None, None, d).unwrap().as_str(), "team-x");
        assert!(parse_namespace(Some("Bad_Ns"), None, d).is_err());
    }

    #[test]
    fn the_text_after_the_last_dot_is_the_namespace() {
        let d = &default();
        let id = parse_function_in_path("echo.team-a", None, Some("ignored"), d).unwrap();
        assert_eq!(
            (id.name.as_str(), id.namespace.as_str()),
            ("echo", "team-a")
        );
        let id = parse_function_in_path("echo", None, Some("team-b"), d).unwrap();
        assert_eq!(
            (id.name.as_str(), id.namespace.as_str()),
            ("echo", "team-b")
        );
        let id = parse_function_in_path("echo", None, None, d).unwrap();
        assert_eq!(id.namespace.as_str(), "team-x");
        assert!(parse_function_in_path("a.b.c", None, None, d).is_err());
        assert!(parse_function_in_path("echo.", None, None, d).is_err());
    }
}
