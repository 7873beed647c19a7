//! Namespaces as the API carries them: a name, labels and annotations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Invalid, Namespace};

/// Names that cannot be created: OpenFaaS's own services run in `openfaas`.
pub const RESERVED_NAMESPACES: [&str; 1] = ["openfaas"];

/// The body of `/system/namespace/{name}` (faas-provider's `FunctionNamespace`). Absent maps
/// stay absent and `{}` stays `{}`, so that a namespace reads back exactly as it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FunctionNamespace {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A namespace request that passed validation, or a namespace as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSpec {
    pub name: Namespace,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
}

impl NamespaceSpec {
    /// A namespace with nothing stored but its name.
    pub fn bare(name: Namespace) -> Self {
        Self {
            name,
            labels: None,
            annotations: None,
        }
    }

    /// Validates a create or update: the name in the path (if any) and the body's must agree,
    /// one of them must be given, and it must be a DNS label that is not reserved.
    pub fn new(request: FunctionNamespace, path: Option<&str>) -> Result<Self, Invalid> {
        let body = Some(request.name.trim()).filter(|n| !n.is_empty());
        let path = path.map(str::trim).filter(|n| !n.is_empty());
        let name = match (path, body) {
            (Some(p), Some(b)) if p != b => {
                return Err(Invalid(format!(
                    "the namespace in the path ({p:?}) and in the body ({b:?}) differ"
                )));
            }
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => return Err(Invalid("a namespace name is required".into())),
        };
        let name = Namespace::parse(name)?;
        if RESERVED_NAMESPACES.contains(&name.as_str()) {
            return Err(Invalid(format!(
                "namespace {name} is reserved for OpenFaaS itself"
            )));
        }
        let empty_key = |m: &Option<BTreeMap<String, String>>| {
            m.iter().flat_map(|m| m.keys()).any(|k| k.trim().is_empty())
        };
        if empty_key(&request.labels) || empty_key(&request.annotations) {
            return Err(Invalid(
                "label and annotation keys must not be empty".into(),
            ));
        }
        Ok(Self {
            name,
            labels: request.labels,
            annotations: request.annotations,
        })
    }

    pub fn to_wire(&self) -> FunctionNamespace {
        FunctionNamespace {
            name: self.name.to_string(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> FunctionNamespace {
        FunctionNamespace {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_name_comes_from_the_path_or_the_body_and_they_must_agree() {
        assert_eq!(
            NamespaceSpec::new(request("team-a"), None)
                .unwrap()
                .name
                .as_str(),
            "team-a"
        );
        assert_eq!(
            NamespaceSpec::new(request(""), Some("team-b"))
                .unwrap()
                .name
                .as_str(),
            "team-b"
        );
        assert!(NamespaceSpec::new(request("a"), Some("b")).is_err());
        assert!(NamespaceSpec::new(request(""), None).is_err());
    }

    #[test]
    fn bad_and_reserved_names_and_empty_keys_are_refused() {
        for bad in ["Team_A", "-a", "a.b", "openfaas"] {
            let err = NamespaceSpec::new(request(bad), None).unwrap_err();
            assert!(err.0.contains(bad) || err.0.contains("reserved"), "{err}");
        }
        let mut r = request("a");
        r.labels = Some(BTreeMap::from([(" ".into(), "x".into())]));
        assert!(NamespaceSpec::new(r, None).is_err());
    }

    #[test]
    fn absent_maps_stay_absent_and_empty_ones_empty() {
        let absent: FunctionNamespace = serde_json::from_str(r#"{"name":"a"}"#).unwrap();
        assert_eq!(serde_json::to_string(&absent).unwrap(), r#"{"name":"a"}"#);
        let empty: FunctionNamespace =
            serde_json::from_str(r#"{"name":"a","labels":{},"annotations":{}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            r#"{"name":"a","labels":{},"annotations":{}}"#
        );
    }
}
