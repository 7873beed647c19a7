//! OpenFaaS namespaces in Cloud Map: each is a service of type HTTP (no DNS records, no hosted
//! zone, made at once) named `_namespace.<name>` in the functions' Cloud Map namespace, tagged as
//! ours, its description holding the labels and annotations as JSON.

use std::collections::BTreeMap;
use std::time::Instant;

use async_trait::async_trait;

use aws_sdk_servicediscovery::operation::create_service::CreateServiceError;
use aws_sdk_servicediscovery::types::{ServiceChange, ServiceTypeOption, Tag};
use serde::{Deserialize, Serialize};

use super::cloudmap::{self, CloudMapService, Listed};
use super::error::aws_error;
use super::tags::{MANAGED_BY_TAG, MANAGED_BY_VALUE, NAMESPACE_TAG};
use super::{EcsBackend, service};
use crate::backend::{Error, NamespaceStore};
use crate::model::shared as names;
use crate::model::{Namespace, NamespaceSpec};

/// Tag that tells a namespace's Cloud Map service from a function's.
pub const KIND_TAG: &str = "openfaas:kind";
pub const KIND_NAMESPACE: &str = "namespace";
/// Cloud Map's limit on a service description.
pub const MAX_DESCRIPTION: usize = 1024;

#[derive(Serialize, Deserialize, Default)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

/// The description that records a namespace's labels and annotations.
pub fn describe(spec: &NamespaceSpec) -> Result<String, Error> {
    let text = serde_json::to_string(&Stored {
        labels: spec.labels.clone(),
        annotations: spec.annotations.clone(),
    })
    .map_err(|e| Error::aws("CreateService", e))?;
    if text.len() > MAX_DESCRIPTION {
        return Err(Error::Invalid(format!(
            "labels and annotations take {} bytes as JSON; at most {MAX_DESCRIPTION} fit (Cloud Map's limit on the description that stores them)",
            text.len()
        )));
    }
    Ok(text)
}

/// A namespace as a listed Cloud Map service records it; `None` for other services.
pub fn from_listed(listed: &Listed) -> Option<(NamespaceSpec, CloudMapService)> {
    let name = names::namespace_of_marker(&listed.name)?;
    let stored: Stored = match listed.description.as_deref().filter(|d| !d.is_empty()) {
        None => Stored::default(),
        Some(text) => serde_json::from_str(text).unwrap_or_else(|e| {
            tracing::warn!(namespace = %name, error = %e, "the namespace's labels and annotations do not parse; read as none");
            Stored::default()
        }),
    };
    Some((
        NamespaceSpec {
            name,
            labels: stored.labels,
            annotations: stored.annotations,
        },
        listed.service.clone(),
    ))
}

/// Every namespace recorded in the Cloud Map namespace.
pub async fn list(
    sd: &aws_sdk_servicediscovery::Client,
    namespace_id: &str,
) -> Result<Vec<(NamespaceSpec, CloudMapService)>, Error> {
    Ok(cloudmap::services(sd, namespace_id)
        .await?
        .iter()
        .filter_map(from_listed)
        .collect())
}

/// Records a namespace; [`Error::Conflict`] when one of that name is recorded.
pub async fn create(
    sd: &aws_sdk_servicediscovery::Client,
    namespace_id: &str,
    spec: &NamespaceSpec,
) -> Result<CloudMapService, Error> {
    let description = describe(spec)?;
    let tags = [
        (MANAGED_BY_TAG, MANAGED_BY_VALUE),
        (NAMESPACE_TAG, spec.name.as_str()),
        (KIND_TAG, KIND_NAMESPACE),
    ]
    .into_iter()
    .map(|(k, v)| Tag::builder().key(k).value(v).build())
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| Error::aws("CreateService", e))?;
    let out = sd
        .create_service()
        .name(names::namespace_marker(&spec.name))
        .namespace_id(namespace_id)
        .r#type(ServiceTypeOption::Http)
        .description(description)
        // The same for each of the SDK's attempts: a retry after a lost answer is not a conflict.
        .creator_request_id(super::tags::unique_token())
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(CreateServiceError::ServiceAlreadyExists(_)) => {
                Error::Conflict(format!("namespace {} already exists", spec.name))
            }
            _ => aws_error("CreateService", e),
        })?;
    match out.service().and_then(|s| Some((s.id()?, s.arn()?))) {
        Some((id, arn)) => Ok(CloudMapService {
            id: id.into(),
            arn: arn.into(),
        }),
        None => Err(Error::aws("CreateService", "answer carries no service id")),
    }
}

/// Replaces a recorded namespace's labels and annotations.
pub async fn update(
    sd: &aws_sdk_servicediscovery::Client,
    service: &CloudMapService,
    spec: &NamespaceSpec,
) -> Result<(), Error> {
    let change = ServiceChange::builder()
        .description(describe(spec)?)
        .build();
    sd.update_service()
        .id(&service.id)
        .service(change)
        .send()
        .await
        .map_err(|e| aws_error("UpdateService", e))?;
    Ok(())
}

/// Removes a namespace's record; one already gone counts as removed.
pub async fn delete(
    sd: &aws_sdk_servicediscovery::Client,
    service: &CloudMapService,
) -> Result<(), Error> {
    cloudmap::delete(sd, &service.id).await.map(|_| ())
}

impl EcsBackend {
    /// Reads the namespaces recorded in AWS into the table, with the default one whether
    /// recorded or not.
    pub(super) async fn reload_namespaces(&self) -> Result<(), Error> {
        let started = Instant::now();
        let default = &self.settings.default_namespace;
        let mut found: Vec<_> = list(
            &self.aws.servicediscovery,
            &self.settings.cloudmap_namespace_id,
        )
        .await?
        .into_iter()
        .map(|(spec, service)| (spec.name.clone(), (spec, Some(service))))
        .collect();
        if !found.iter().any(|(name, _)| name == default) {
            found.push((
                default.clone(),
                (NamespaceSpec::bare(default.clone()), None),
            ));
        }
        self.namespaces.replace(found, started);
        Ok(())
    }

    /// A namespace's record as last read: `None` when the namespace does not exist, `Some(None)`
    /// for the default namespace without a record.
    fn namespace_record(&self, name: &Namespace) -> Option<Option<CloudMapService>> {
        self.namespaces.get(name).map(|(_, service)| service)
    }
}

#[async_trait]
impl NamespaceStore for EcsBackend {
    fn default_namespace(&self) -> &Namespace {
        &self.settings.default_namespace
    }

    fn namespaces(&self) -> Vec<Namespace> {
        self.namespaces.names()
    }

    fn has_namespace(&self, namespace: &Namespace) -> bool {
        self.namespaces.contains(namespace)
    }

    async fn find_namespace(&self, namespace: &Namespace) -> Result<bool, Error> {
        if self.has_namespace(namespace) {
            return Ok(true);
        }
        if self.namespaces.recently_missing(namespace) {
            return Ok(false);
        }
        self.reload_namespaces().await?;
        let found = self.has_namespace(namespace);
        if !found {
            self.namespaces.mark_missing(namespace);
        }
        Ok(found)
    }

    fn namespace(&self, name: &Namespace) -> Option<NamespaceSpec> {
        self.namespaces.get(name).map(|(spec, _)| spec)
    }

    async fn create_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error> {
        let _change = self.namespace_change(&spec.name).await;
        // Another provider replica may have made it since the last refresh.
        self.reload_namespaces().await?;
        if self.has_namespace(&spec.name) {
            return Err(Error::Conflict(format!(
                "namespace {} already exists",
                spec.name
            )));
        }
        let service = create(
            &self.aws.servicediscovery,
            &self.settings.cloudmap_namespace_id,
            spec,
        )
        .await?;
        self.namespaces
            .put(spec.name.clone(), (spec.clone(), Some(service)));
        tracing::info!(namespace = %spec.name, "namespace created");
        Ok(())
    }

    async fn update_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error> {
        let _change = self.namespace_change(&spec.name).await;
        self.reload_namespaces().await?;
        let service = match self.namespace_record(&spec.name) {
            None => return Err(Error::NotFound(format!("namespace {}", spec.name))),
            Some(Some(service)) => {
                update(&self.aws.servicediscovery, &service, spec).await?;
                service
            }
            // The default namespace gets a record when labels are first set on it.
            Some(None) => {
                create(
                    &self.aws.servicediscovery,
                    &self.settings.cloudmap_namespace_id,
                    spec,
                )
                .await?
            }
        };
        self.namespaces
            .put(spec.name.clone(), (spec.clone(), Some(service)));
        tracing::info!(namespace = %spec.name, "namespace updated");
        Ok(())
    }

    async fn delete_namespace(&self, name: &Namespace) -> Result<(), Error> {
        if *name == self.settings.default_namespace {
            return Err(Error::Invalid(format!(
                "namespace {name} is the default namespace (FAAS_ECS_DEFAULT_NAMESPACE) and cannot be removed"
            )));
        }
        let _change = self.namespace_change(name).await;
        // No deploy or secret is made in this namespace until it is gone.
        let _gate = self.namespace_gate.write().await;
        self.reload_namespaces().await?;
        let Some(service) = self.namespace_record(name).flatten() else {
            return Err(Error::NotFound(format!("namespace {name}")));
        };
        // What ECS lists, and what this provider knows of (a deploy it just made).
        let mut functions: Vec<String> =
            service::list_ours(&self.aws.ecs, &self.settings.service.cluster)
                .await?
                .iter()
                .filter(|s| service::is_ours(s, name))
                .filter_map(service::function_of)
                .collect();
        functions.extend(
            self.cache
                .list(name)
                .into_iter()
                .map(|(id, _)| id.name.to_string()),
        );
        functions.sort();
        functions.dedup();
        let secrets = self.secrets_manager().list(name).await?;
        if !functions.is_empty() || !secrets.is_empty() {
            tracing::debug!(namespace = %name, ?functions, secrets = secrets.len(), "namespace not removed: not empty");
            return Err(Error::namespace_not_empty(
                name,
                functions.len(),
                secrets.len(),
            ));
        }
        delete(&self.aws.servicediscovery, &service).await?;
        self.namespaces.remove(name);
        tracing::info!(namespace = %name, "namespace deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Namespace;

    fn listed(name: &str, description: Option<&str>) -> Listed {
        Listed {
            service: CloudMapService {
                id: "srv-1".into(),
                arn: "arn:aws:servicediscovery:us-east-1:1:service/srv-1".into(),
            },
            name: name.into(),
            description: description.map(String::from),
            created: None,
        }
    }

    #[test]
    fn labels_and_annotations_round_trip_through_the_description() {
        let spec = NamespaceSpec {
            name: Namespace::parse("team-a").unwrap(),
            labels: Some(BTreeMap::from([("openfaas".into(), "1".into())])),
            annotations: Some(BTreeMap::new()),
        };
        let text = describe(&spec).unwrap();
        let (read, _) = from_listed(&listed("_namespace.team-a", Some(&text))).unwrap();
        assert_eq!(read, spec);
        let (bare, _) = from_listed(&listed("_namespace.team-b", None)).unwrap();
        assert_eq!(
            bare,
            NamespaceSpec::bare(Namespace::parse("team-b").unwrap())
        );
        assert!(from_listed(&listed("echo.team-a", None)).is_none());
    }

    #[test]
    fn what_does_not_fit_cloud_maps_description_is_refused_with_the_limit() {
        let spec = NamespaceSpec {
            name: Namespace::parse("team-a").unwrap(),
            labels: Some(BTreeMap::from([("big".into(), "x".repeat(1100))])),
            annotations: None,
        };
        let err = describe(&spec).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert!(err.to_string().contains("1024"), "{err}");
    }
}
