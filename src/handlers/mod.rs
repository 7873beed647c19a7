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
use crate::model::{DEFAULT_NAMESPACE, FunctionDeployment, FunctionName, FunctionSpec, Namespace};
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

/// A deploy or update body, validated (its scaling labels included): the namespace from the
/// body, else the query, one the backend serves.
pub fn function_spec(
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
    )?;
    let spec = FunctionSpec::new(deployment, namespace)?;
    if let Some(labels) = &spec.deployment.labels {
        Policy::from_labels(labels, scaling.defaults, scaling.max_replicas)
            .map_err(Error::bad_request)?;
    }
    Ok(spec)
}

/// The namespace of a request: the body's, else the query's, else the default.
pub fn parse_namespace(body: Option<&str>, query: Option<&str>) -> Result<Namespace, Error> {
    let name = given(body).or(given(query)).unwrap_or(DEFAULT_NAMESPACE);
    Ok(Namespace::parse(name)?)
}

/// The namespace of a request, as [`parse_namespace`] finds it, checked against those the
/// backend serves: the one place requests are held to their namespace.
pub fn namespace(
    backend: &dyn FunctionBackend,
    body: Option<&str>,
    query: Option<&str>,
) -> Result<Namespace, Error> {
    let namespace = parse_namespace(body, query)?;
    backend.check_namespace(&namespace)?;
    Ok(namespace)
}

/// A function named in a path, in a namespace the backend serves.
pub fn function_in_path(
    backend: &dyn FunctionBackend,
    path: &str,
    body_namespace: Option<&str>,
    query_namespace: Option<&str>,
) -> Result<(FunctionName, Namespace), Error> {
    let (name, namespace) = parse_function_in_path(path, body_namespace, query_namespace)?;
    backend.check_namespace(&namespace)?;
    Ok((name, namespace))
}

/// A function named in a path: `name` or `name.namespace` (the namespace follows the last dot).
pub fn parse_function_in_path(
    path: &str,
    body_namespace: Option<&str>,
    query_namespace: Option<&str>,
) -> Result<(FunctionName, Namespace), Error> {
    let (name, namespace) = match path.rsplit_once('.') {
        Some((_, "")) => {
            return Err(Error::BadRequest(format!(
                "{path:?}: no namespace after the dot"
            )));
        }
        Some((name, ns)) => (name, parse_namespace(Some(ns), None)?),
        None => (path, parse_namespace(body_namespace, query_namespace)?),
    };
    Ok((FunctionName::parse(name)?, namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_namespace_wins_over_query_over_default() {
        assert_eq!(parse_namespace(Some("a"), Some("b")).unwrap().as_str(), "a");
        assert_eq!(parse_namespace(Some(""), Some("b")).unwrap().as_str(), "b");
        assert_eq!(parse_namespace(None, None).unwrap().as_str(), "openfaas-fn");
        assert!(parse_namespace(Some("Bad_Ns"), None).is_err());
    }

    #[test]
    fn the_text_after_the_last_dot_is_the_namespace() {
        let (name, ns) = parse_function_in_path("echo.team-a", None, Some("ignored")).unwrap();
        assert_eq!((name.as_str(), ns.as_str()), ("echo", "team-a"));
        let (name, ns) = parse_function_in_path("echo", None, Some("team-b")).unwrap();
        assert_eq!((name.as_str(), ns.as_str()), ("echo", "team-b"));
        assert!(parse_function_in_path("a.b.c", None, None).is_err());
        assert!(parse_function_in_path("echo.", None, None).is_err());
    }
}
