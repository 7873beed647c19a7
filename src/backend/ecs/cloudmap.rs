//! The Cloud Map service of each function: created before its ECS service, removed after it.

use std::time::Duration;

use aws_sdk_servicediscovery::operation::create_service::CreateServiceError;
use aws_sdk_servicediscovery::operation::delete_service::DeleteServiceError;
use aws_sdk_servicediscovery::types::{
    DnsConfig, DnsRecord, FilterCondition, HealthCheckCustomConfig, RecordType, RoutingPolicy,
    ServiceFilter, ServiceFilterName, Tag,
};

use super::error::aws_error;
use super::tags::{MANAGED_BY_TAG, MANAGED_BY_VALUE, owner_tags};
use crate::backend::Error;
use crate::model::FunctionId;
use crate::model::shared as names;

/// A function's Cloud Map service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudMapService {
    pub id: String,
    pub arn: String,
}

/// The service id inside a Cloud Map service ARN (`.../service/srv-...`).
pub fn service_id_of(arn: &str) -> Option<&str> {
    arn.rsplit_once("service/")
        .map(|(_, id)| id)
        .filter(|id| id.starts_with("srv-"))
}

/// Creates the function's Cloud Map service: A records with a short TTL, health as ECS reports it.
/// A service of that name left behind by an interrupted deploy of this provider is adopted, so
/// that a retried deploy converges.
pub async fn create(
    sd: &aws_sdk_servicediscovery::Client,
    namespace_id: &str,
    ttl: i64,
    srv: bool,
    id: &FunctionId,
) -> Result<CloudMapService, Error> {
    let name = names::cloudmap_service(id);
    let record = DnsRecord::builder()
        .r#type(RecordType::A)
        .ttl(ttl)
        .build()
        .map_err(|e| Error::aws("CreateService", e))?;
    let mut records = vec![record];
    if srv {
        records.push(
            DnsRecord::builder()
                .r#type(RecordType::Srv)
                .ttl(ttl)
                .build()
                .map_err(|e| Error::aws("CreateService", e))?,
        );
    }
    let dns = DnsConfig::builder()
        .routing_policy(RoutingPolicy::Multivalue)
        .set_dns_records(Some(records))
        .build()
        .map_err(|e| Error::aws("CreateService", e))?;
    let tags = owner_tags(&id.namespace, &id.name)
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::aws("CreateService", e))?;
    let result = sd
        .create_service()
        .name(name.as_ref())
        .namespace_id(namespace_id)
        .dns_config(dns)
        .health_check_custom_config(HealthCheckCustomConfig::builder().build())
        .set_tags(Some(tags))
        .send()
        .await;
    match result {
        Ok(out) => {
            let service = out.service();
            match (service.and_then(|s| s.id()), service.and_then(|s| s.arn())) {
                (Some(id), Some(arn)) => Ok(CloudMapService {
                    id: id.into(),
                    arn: arn.into(),
                }),
                _ => Err(Error::aws("CreateService", "answer carries no service id")),
            }
        }
        Err(err) => {
            if let Some(CreateServiceError::ServiceAlreadyExists(existing)) = err.as_service_error()
                && let (Some(existing_id), Some(arn)) =
                    (existing.service_id(), existing.service_arn())
            {
                if is_ours(sd, arn).await? {
                    tracing::info!(function.name = %id.name, function.namespace = %id.namespace, cloudmap.service = existing_id, "adopting Cloud Map service left by an earlier deploy");
                    return Ok(CloudMapService {
                        id: existing_id.into(),
                        arn: arn.into(),
                    });
                }
                return Err(Error::Conflict(format!(
                    "Cloud Map namespace already has a service named {name} that faas-ecs does not manage"
                )));
            }
            Err(aws_error("CreateService", err))
        }
    }
}

/// A Cloud Map service's tags, as `(key, value)`.
pub async fn tags(
    sd: &aws_sdk_servicediscovery::Client,
    arn: &str,
) -> Result<Vec<(String, String)>, Error> {
    let out = sd
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("ListTagsForResource", e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Whether a Cloud Map service carries this provider's tags.
pub async fn is_ours(sd: &aws_sdk_servicediscovery::Client, arn: &str) -> Result<bool, Error> {
    Ok(tags(sd, arn)
        .await?
        .iter()
        .any(|(k, v)| k == MANAGED_BY_TAG && v == MANAGED_BY_VALUE))
}

/// Whether a delete went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    /// AWS refuses while instances are registered.
    InUse,
}

/// Deletes a function's Cloud Map service; a service that is already gone counts as deleted.
pub async fn delete(
    sd: &aws_sdk_servicediscovery::Client,
    service_id: &str,
) -> Result<Deleted, Error> {
    match sd.delete_service().id(service_id).send().await {
        Ok(_) => Ok(Deleted::Yes),
        Err(err) => match err.as_service_error() {
            Some(DeleteServiceError::ServiceNotFound(_)) => Ok(Deleted::Yes),
            Some(DeleteServiceError::ResourceInUse(_)) => Ok(Deleted::InUse),
            _ => Err(aws_error("DeleteService", err)),
        },
    }
}

/// Deletes a Cloud Map service once its instances are gone. ECS deregisters a deleted service's
/// tasks as they stop; after a grace period this deregisters what is left itself.
pub async fn delete_when_empty(
    sd: &aws_sdk_servicediscovery::Client,
    service_id: &str,
) -> Result<(), Error> {
    let mut delay = Duration::from_secs(2);
    for attempt in 0..12 {
        tokio::time::sleep(delay).await;
        if attempt >= 3 {
            deregister_all(sd, service_id).await?;
        }
        if delete(sd, service_id).await? == Deleted::Yes {
            return Ok(());
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
    Err(Error::Conflict(format!(
        "Cloud Map service {service_id} still has instances"
    )))
}

/// Deregisters every instance of a Cloud Map service.
pub async fn deregister_all(
    sd: &aws_sdk_servicediscovery::Client,
    service_id: &str,
) -> Result<(), Error> {
    let instances = sd
        .list_instances()
        .service_id(service_id)
        .send()
        .await
        .map_err(|e| aws_error("ListInstances", e))?;
    for instance in instances.instances() {
        if let Some(id) = instance.id() {
            sd.deregister_instance()
                .service_id(service_id)
                .instance_id(id)
                .send()
                .await
                .map_err(|e| aws_error("DeregisterInstance", e))?;
        }
    }
    Ok(())
}

/// A service as ListServices describes it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub service: CloudMapService,
    pub name: String,
    pub description: Option<String>,
    pub created: Option<std::time::SystemTime>,
}

/// Every service in the namespace.
pub async fn services(
    sd: &aws_sdk_servicediscovery::Client,
    namespace_id: &str,
) -> Result<Vec<Listed>, Error> {
    let filter = ServiceFilter::builder()
        .name(ServiceFilterName::NamespaceId)
        .values(namespace_id)
        .condition(FilterCondition::Eq)
        .build()
        .map_err(|e| Error::aws("ListServices", e))?;
    let mut pages = sd.list_services().filters(filter).into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ListServices", e))?;
        for service in page.services() {
            if let (Some(id), Some(arn)) = (service.id(), service.arn()) {
                let created = service
                    .create_date()
                    .and_then(|d| std::time::SystemTime::try_from(*d).ok());
                found.push(Listed {
                    service: CloudMapService {
                        id: id.into(),
                        arn: arn.into(),
                    },
                    name: service.name().unwrap_or_default().to_string(),
                    description: service.description().map(String::from),
                    created,
                });
            }
        }
    }
    Ok(found)
}

/// The IPv4 addresses registered in a Cloud Map service.
pub async fn instance_addresses(
    sd: &aws_sdk_servicediscovery::Client,
    service_id: &str,
) -> Result<Vec<std::net::IpAddr>, Error> {
    let mut pages = sd
        .list_instances()
        .service_id(service_id)
        .into_paginator()
        .send();
    let mut addrs = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ListInstances", e))?;
        addrs.extend(page.instances().iter().filter_map(|i| {
            i.attributes()?
                .get("AWS_INSTANCE_IPV4")?
                .parse::<std::net::IpAddr>()
                .ok()
        }));
    }
    Ok(addrs)
}

/// The DNS name of the namespace, which function names are resolved under.
pub async fn namespace_name(
    sd: &aws_sdk_servicediscovery::Client,
    namespace_id: &str,
) -> Result<String, Error> {
    let out = sd
        .get_namespace()
        .id(namespace_id)
        .send()
        .await
        .map_err(|e| aws_error("GetNamespace", e))?;
    out.namespace()
        .and_then(|n| n.name())
        .map(String::from)
        .ok_or_else(|| Error::aws("GetNamespace", "answer carries no namespace name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_come_from_arns() {
        assert_eq!(
            service_id_of("arn:aws:servicediscovery:eu-west-1:1:service/srv-abc123"),
            Some("srv-abc123")
        );
        assert_eq!(
            service_id_of("arn:aws:ecs:eu-west-1:1:service/cluster/foo"),
            None
        );
    }
}
