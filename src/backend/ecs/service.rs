//! The function's ECS service: describe, create, update, delete, list.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeploymentCircuitBreaker,
    DeploymentConfiguration, NetworkConfiguration, PropagateTags, Service, ServiceField,
    ServiceRegistry, Tag,
};
use futures::{StreamExt, TryStreamExt};

use super::error::aws_error;
use super::tags::{FUNCTION_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAMESPACE_TAG, owner_tags};
use crate::backend::Error;
use crate::model::shared::{self as names, WATCHDOG_PORT};
use crate::model::{FunctionId, FunctionName, Namespace};

/// The ECS launch type of function tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchType {
    Fargate,
    Ec2,
    External,
}

/// How ECS places function tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    LaunchType(LaunchType),
    /// `(capacity provider, weight)` pairs.
    CapacityProviders(Vec<(String, i32)>),
}

impl Placement {
    /// Whether tasks run on Fargate (which asks for task-level sizes it accepts).
    pub fn is_fargate(&self) -> bool {
        match self {
            Self::LaunchType(t) => *t == LaunchType::Fargate,
            Self::CapacityProviders(p) => p.iter().any(|(name, _)| name.starts_with("FARGATE")),
        }
    }
}

/// Where function services run; from the configuration.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub cluster: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    pub placement: Placement,
    /// Register SRV records beside the A records.
    pub srv: bool,
}

/// What a lookup of a function's service found.
#[derive(Debug, Clone)]
pub enum Found {
    /// An active service made by this provider for this namespace.
    Ours(Box<Service>),
    /// Being deleted: the name cannot be reused yet.
    Draining,
    /// A service of that name that this provider does not manage.
    Foreign,
    Missing,
}

fn tag<'a>(service: &'a Service, key: &str) -> Option<&'a str> {
    service
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The namespace of a described service that is an active one of ours.
pub fn namespace_of(service: &Service) -> Option<Namespace> {
    if service.status() != Some("ACTIVE") || tag(service, MANAGED_BY_TAG) != Some(MANAGED_BY_VALUE)
    {
        return None;
    }
    Namespace::parse(tag(service, NAMESPACE_TAG)?).ok()
}

/// Whether a described service is an active one of ours in `namespace`.
/// The function a service of ours runs, as its tag names it.
pub fn function_of(service: &Service) -> Option<String> {
    tag(service, FUNCTION_TAG).map(String::from)
}

pub fn is_ours(service: &Service, namespace: &Namespace) -> bool {
    namespace_of(service).as_ref() == Some(namespace)
}

fn classify(service: Option<Service>, namespace: &Namespace) -> Found {
    match service {
        None => Found::Missing,
        Some(s) if is_ours(&s, namespace) => Found::Ours(Box::new(s)),
        // AWS keeps deleted services visible as INACTIVE for a while (moto lists them too).
        Some(s) if s.status() == Some("INACTIVE") => Found::Missing,
        Some(s) if s.status() == Some("DRAINING") => Found::Draining,
        Some(_) => Found::Foreign,
    }
}

/// Looks up one function's service by its exact name.
pub async fn find(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    id: &FunctionId,
) -> Result<Found, Error> {
    let name = names::ecs_service(id);
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name.as_ref())
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(|e| aws_error("DescribeServices", e))?;
    let service = out
        .services()
        .iter()
        .find(|s| s.service_name() == Some(name.as_ref()))
        .cloned();
    Ok(classify(service, &id.namespace))
}

/// The services of these functions, in batches; a function without an active service of ours
/// is missing from the answer.
pub async fn describe(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    ids: &[FunctionId],
) -> Result<Vec<(FunctionId, Service)>, Error> {
    let names: Vec<String> = ids
        .iter()
        .map(|id| names::ecs_service(id).into_owned())
        .collect();
    let found = describe_batches(ecs, cluster, names).await?;
    Ok(ids
        .iter()
        .filter_map(|id| {
            let name = names::ecs_service(id);
            let service = found
                .iter()
                .find(|s| s.service_name() == Some(name.as_ref()))?;
            is_ours(service, &id.namespace).then(|| (id.clone(), service.clone()))
        })
        .collect())
}

/// Every active service of ours in the cluster, in every namespace: ListServices paged through,
/// DescribeServices in batches.
pub async fn list_ours(ecs: &aws_sdk_ecs::Client, cluster: &str) -> Result<Vec<Service>, Error> {
    let arns: Vec<String> = ecs
        .list_services()
        .cluster(cluster)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_error("ListServices", e))?;
    Ok(describe_batches(ecs, cluster, arns)
        .await?
        .into_iter()
        .filter(|s| namespace_of(s).is_some())
        .collect())
}

/// DescribeServices of services named or by ARN, ten at a time (its limit), four at once.
async fn describe_batches(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    services: Vec<String>,
) -> Result<Vec<Service>, Error> {
    let batches: Vec<Vec<String>> = services.chunks(10).map(<[String]>::to_vec).collect();
    let described: Vec<Vec<Service>> = futures::stream::iter(batches)
        .map(|batch| async move {
            ecs.describe_services()
                .cluster(cluster)
                .set_services(Some(batch))
                .include(ServiceField::Tags)
                .send()
                .await
                .map(|out| out.services().to_vec())
                .map_err(|e| aws_error("DescribeServices", e))
        })
        .buffer_unordered(4)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().collect())
}

fn network(settings: &ServiceSettings) -> Result<NetworkConfiguration, Error> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(settings.subnets.clone()))
        .set_security_groups(Some(settings.security_groups.clone()).filter(|g| !g.is_empty()))
        .assign_public_ip(if settings.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| Error::aws("CreateService", e))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

/// SRV records need the container and port they point at.
fn registry(arn: &str, srv: bool, name: &FunctionName) -> ServiceRegistry {
    let registry = ServiceRegistry::builder().registry_arn(arn);
    if srv {
        registry
            .container_name(name.as_str())
            .container_port(i32::from(WATCHDOG_PORT))
            .build()
    } else {
        registry.build()
    }
}

/// Creates the function's service, registered in Cloud Map and tagged as ours.
pub async fn create(
    ecs: &aws_sdk_ecs::Client,
    settings: &ServiceSettings,
    id: &FunctionId,
    task_definition: &str,
    registry_arn: &str,
    desired_count: u32,
) -> Result<Service, Error> {
    let mut request = ecs
        .create_service()
        // The same for each of the SDK's attempts: a retry after a lost answer gets the service
        // it made instead of an error.
        .client_token(super::tags::unique_token())
        .cluster(&settings.cluster)
        .service_name(names::ecs_service(id))
        .task_definition(task_definition)
        .desired_count(i32::try_from(desired_count).unwrap_or(i32::MAX))
        .network_configuration(network(settings)?)
        .service_registries(registry(registry_arn, settings.srv, &id.name))
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .minimum_healthy_percent(100)
                .maximum_percent(200)
                .build(),
        )
        .set_tags(Some(
            owner_tags(&id.namespace, &id.name)
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .propagate_tags(PropagateTags::Service)
        .enable_ecs_managed_tags(true);
    request = match &settings.placement {
        Placement::LaunchType(t) => request.launch_type(match t {
            LaunchType::Fargate => aws_sdk_ecs::types::LaunchType::Fargate,
            LaunchType::Ec2 => aws_sdk_ecs::types::LaunchType::Ec2,
            LaunchType::External => aws_sdk_ecs::types::LaunchType::External,
        }),
        Placement::CapacityProviders(strategy) => {
            let items = strategy
                .iter()
                .map(|(provider, weight)| {
                    CapacityProviderStrategyItem::builder()
                        .capacity_provider(provider)
                        .weight(*weight)
                        .build()
                        .map_err(|e| Error::aws("CreateService", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            request.set_capacity_provider_strategy(Some(items))
        }
    };
    let out = request.send().await.map_err(|e| {
        use aws_sdk_ecs::operation::create_service::CreateServiceError as E;
        // AWS refuses a second service of one name (another provider replica's deploy of the
        // same function got there first).
        match e.as_service_error() {
            Some(E::InvalidParameterException(p))
                if p.message().is_some_and(|m| {
                    m.contains("already exists") || m.contains("not idempotent")
                }) =>
            {
                Error::Conflict(format!("function {} already exists", id.name))
            }
            _ => aws_error("CreateService", e),
        }
    })?;
    out.service()
        .cloned()
        .ok_or_else(|| Error::aws("CreateService", "answer carries no service"))
}

/// Moves the service to another task definition, or sets its desired count; returns the service.
pub async fn update(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    id: &FunctionId,
    task_definition: Option<&str>,
    desired_count: Option<u32>,
) -> Result<Service, Error> {
    let out = ecs
        .update_service()
        .cluster(cluster)
        .service(names::ecs_service(id))
        .set_task_definition(task_definition.map(String::from))
        .set_desired_count(desired_count.map(|c| i32::try_from(c).unwrap_or(i32::MAX)))
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_ecs::operation::update_service::UpdateServiceError as E;
            match e.as_service_error() {
                Some(E::ServiceNotFoundException(_) | E::ServiceNotActiveException(_)) => {
                    Error::NotFound(format!("function {}", id.name))
                }
                _ => aws_error("UpdateService", e),
            }
        })?;
    out.service()
        .cloned()
        .ok_or_else(|| Error::aws("UpdateService", "answer carries no service"))
}

/// Deletes the service and stops its tasks.
pub async fn delete(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    id: &FunctionId,
) -> Result<(), Error> {
    ecs.delete_service()
        .cluster(cluster)
        .service(names::ecs_service(id))
        .force(true)
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_ecs::operation::delete_service::DeleteServiceError as E;
            // Another provider replica deleted it first.
            match e.as_service_error() {
                Some(E::ServiceNotFoundException(_)) => {
                    Error::NotFound(format!("function {}", id.name))
                }
                _ => aws_error("DeleteService", e),
            }
        })?;
    Ok(())
}
