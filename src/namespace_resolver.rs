//! Which namespace a request is in, and whether it may use it: the one place that every handler
//! and the invocation path ask. A request names its namespace in the body, else in `?namespace=`,
//! else in the function's path (`name.namespace`), else it is in the default namespace. A
//! namespace that does not exist is a 404 for a read and a 400 for a change, as faas-netes
//! answers, and a 404 for an invocation; `/system` requests ask AWS about a namespace this replica
//! does not know (another replica may have just made it), invocations never do.

use crate::backend::NamespaceStore;
use crate::error::Error;
use crate::model::{FunctionId, FunctionName, Namespace};

/// What a request does in its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Change,
}

pub struct NamespaceResolver<'a> {
    store: &'a dyn NamespaceStore,
}

impl<'a> NamespaceResolver<'a> {
    pub fn new(store: &'a dyn NamespaceStore) -> Self {
        Self { store }
    }

    pub fn default_namespace(&self) -> &Namespace {
        self.store.default_namespace()
    }

    /// The namespace a request names (the body's, else the query's, else the default), held to
    /// those that exist.
    pub async fn namespace(
        &self,
        body: Option<&str>,
        query: Option<&str>,
        access: Access,
    ) -> Result<Namespace, Error> {
        let namespace = parse_namespace(body, query, self.default_namespace())?;
        self.require(&namespace, access).await?;
        Ok(namespace)
    }

    /// A function named in a path, in a namespace that exists.
    pub async fn function(
        &self,
        path: &str,
        body: Option<&str>,
        query: Option<&str>,
        access: Access,
    ) -> Result<FunctionId, Error> {
        let id = parse_function_in_path(path, body, query, self.default_namespace())?;
        self.require(&id.namespace, access).await?;
        Ok(id)
    }

    /// Fails unless the namespace exists.
    pub async fn require(&self, namespace: &Namespace, access: Access) -> Result<(), Error> {
        if self.store.find_namespace(namespace).await? {
            Ok(())
        } else {
            Err(match access {
                Access::Read => {
                    crate::backend::Error::NotFound(format!("namespace {namespace}")).into()
                }
                Access::Change => crate::backend::Error::no_such_namespace(namespace).into(),
            })
        }
    }

    /// The function an invocation names (`name` or `name.namespace`), from memory.
    pub fn invocation(&self, target: &str) -> Result<FunctionId, Error> {
        let id = parse_function_in_path(target, None, None, self.default_namespace())?;
        if self.store.has_namespace(&id.namespace) {
            Ok(id)
        } else {
            Err(Error::NotFound(format!(
                "namespace {} does not exist",
                id.namespace
            )))
        }
    }
}

fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The namespace a request names: the body's, else the query's, else `default`. A body and a
/// query that name different namespaces are refused: which one the caller meant is unknown.
pub fn parse_namespace(
    body: Option<&str>,
    query: Option<&str>,
    default: &Namespace,
) -> Result<Namespace, Error> {
    match (given(body), given(query)) {
        (Some(body), Some(query)) if body != query => Err(Error::BadRequest(format!(
            "the body names namespace {body:?} and the query {query:?}; name one, or the same in both"
        ))),
        (Some(name), _) | (None, Some(name)) => Ok(Namespace::parse(name)?),
        (None, None) => Ok(default.clone()),
    }
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
    fn the_namespace_is_the_bodys_else_the_querys_else_the_default_and_both_must_agree() {
        let d = &default();
        assert_eq!(parse_namespace(Some("a"), None, d).unwrap().as_str(), "a");
        assert_eq!(
            parse_namespace(Some(""), Some("b"), d).unwrap().as_str(),
            "b"
        );
        assert_eq!(parse_namespace(None, None, d).unwrap().as_str(), "team-x");
        assert!(parse_namespace(Some("Bad_Ns"), None, d).is_err());
        assert_eq!(
            parse_namespace(Some("a"), Some("a"), d).unwrap().as_str(),
            "a"
        );
        let err = parse_namespace(Some("b"), Some("a"), d).unwrap_err();
        assert!(matches!(err, Error::BadRequest(_)), "{err}");
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
