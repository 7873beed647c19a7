//! The function's ECS service: describe, create, update, delete, list.

use aws_sdk_ecs::operation::update_service::UpdateServiceError;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    NetworkConfiguration, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
    PlacementStrategyType, PropagateTags, Service, ServiceField, ServiceRegistry, Tag,
};
use futures::{StreamExt, TryStreamExt};

use super::error::aws_error;
use super::placement::{LaunchType, Placement, ServiceSettings, StrategyItem};
use super::run::Run;
use super::tags::{
    FUNCTION_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, NAMESPACE_TAG, is_run_tag, owner_tags, run_tags,
};
use crate::backend::Error;
use crate::model::shared::{self as names, WATCHDOG_PORT};
use crate::model::{FunctionId, FunctionName, Namespace};

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

fn network(run: &Run) -> Result<NetworkConfiguration, Error> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(run.subnets.clone()))
        .set_security_groups(Some(run.security_groups.clone()).filter(|g| !g.is_empty()))
        .assign_public_ip(if run.assign_public_ip {
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

fn placement_constraints(run: &Run) -> Result<Vec<PlacementConstraint>, Error> {
    run.placement_constraints
        .iter()
        .map(|expression| {
            Ok(PlacementConstraint::builder()
                .r#type(PlacementConstraintType::MemberOf)
                .expression(expression)
                .build())
        })
        .collect()
}

fn placement_strategy(run: &Run) -> Vec<PlacementStrategy> {
    run.placement_strategy
        .iter()
        .map(|s| {
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::from(s.kind.as_str()))
                .set_field(s.field.clone())
                .build()
        })
        .collect()
}

/// The tags of a function's service: ownership, then the profiles and service account it runs
/// with, so that an operator can list who runs on a profile.
fn service_tags(id: &FunctionId, run: &Run) -> Vec<Tag> {
    owner_tags(&id.namespace, &id.name)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(run_tags(run))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
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
    run: &Run,
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
        .network_configuration(network(run)?)
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
        .set_tags(Some(service_tags(id, run)))
        .propagate_tags(PropagateTags::Service)
        .enable_ecs_managed_tags(true)
        .set_placement_constraints(Some(placement_constraints(run)?).filter(|c| !c.is_empty()))
        .set_placement_strategy(Some(placement_strategy(run)).filter(|s| !s.is_empty()));
    request = match &run.placement {
        Placement::LaunchType(t) => request.launch_type(t.sdk()),
        Placement::CapacityProviders(strategy) => {
            request.set_capacity_provider_strategy(Some(Placement::strategy(strategy)?))
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

/// Sets the service's desired count; returns the service.
pub async fn scale(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    id: &FunctionId,
    desired_count: u32,
) -> Result<Service, Error> {
    let out = ecs
        .update_service()
        .cluster(cluster)
        .service(names::ecs_service(id))
        .desired_count(i32::try_from(desired_count).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| update_error(id, e))?;
    out.service()
        .cloned()
        .ok_or_else(|| Error::aws("UpdateService", "answer carries no service"))
}

/// How a running service's placement changes for a new run. ECS moves a service from a launch
/// type to a capacity provider strategy, and between strategies, with a new deployment; it does
/// not change a launch type, or go back from a strategy to a launch type (Fargate's launch type
/// is the `FARGATE` capacity provider, so that one way back exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementChange {
    Keep,
    Strategy(Vec<StrategyItem>),
}

pub fn placement_change(
    id: &FunctionId,
    previous: &Service,
    wanted: &Placement,
) -> Result<PlacementChange, Error> {
    let current: Vec<StrategyItem> = previous
        .capacity_provider_strategy()
        .iter()
        .map(|i| StrategyItem {
            capacity_provider: i.capacity_provider().to_string(),
            weight: i.weight(),
            base: i.base(),
        })
        .collect();
    let refuse = |from: &str, to: &str| {
        Err(Error::Invalid(format!(
            "function {} runs on {from}; ECS cannot move a service to {to} in place: delete the function and deploy it again",
            id.name
        )))
    };
    let launch_type = previous.launch_type().filter(|_| current.is_empty());
    match (launch_type, wanted) {
        (Some(now), Placement::LaunchType(t)) if *now == t.sdk() => Ok(PlacementChange::Keep),
        (Some(now), Placement::LaunchType(t)) => refuse(
            &format!("launch type {now}"),
            &format!("launch type {}", t.sdk()),
        ),
        (_, Placement::CapacityProviders(s)) if *s == current => Ok(PlacementChange::Keep),
        (_, Placement::CapacityProviders(s)) => Ok(PlacementChange::Strategy(s.clone())),
        (None, Placement::LaunchType(LaunchType::Fargate)) => {
            let fargate = vec![StrategyItem {
                capacity_provider: "FARGATE".into(),
                weight: 1,
                base: 0,
            }];
            if current == fargate {
                Ok(PlacementChange::Keep)
            } else {
                Ok(PlacementChange::Strategy(fargate))
            }
        }
        (None, Placement::LaunchType(t)) => refuse(
            "a capacity provider strategy",
            &format!("launch type {}", t.sdk()),
        ),
    }
}

/// Moves the service to a new task definition and run: its network, placement and tags.
pub async fn redeploy(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    id: &FunctionId,
    previous: &Service,
    task_definition: &str,
    run: &Run,
    placement: PlacementChange,
) -> Result<Service, Error> {
    let mut request = ecs
        .update_service()
        .cluster(cluster)
        .service(names::ecs_service(id))
        .task_definition(task_definition)
        .network_configuration(network(run)?);
    if !run.fargate() {
        // Empty lists clear what an earlier run set.
        request = request
            .set_placement_constraints(Some(placement_constraints(run)?))
            .set_placement_strategy(Some(placement_strategy(run)));
    }
    if let PlacementChange::Strategy(strategy) = &placement {
        request = request
            .set_capacity_provider_strategy(Some(Placement::strategy(strategy)?))
            .force_new_deployment(true);
    }
    let out = request.send().await.map_err(|e| update_error(id, e))?;
    let service = out
        .service()
        .cloned()
        .ok_or_else(|| Error::aws("UpdateService", "answer carries no service"))?;
    // The update is made; tags out of date mislead a listing but break nothing.
    if let Err(e) = retag(ecs, previous, run).await {
        tracing::warn!(function.name = %id.name, function.namespace = %id.namespace, error = %crate::failure::DisplayChain(&e), "the service's profile tags could not be brought up to date");
    }
    Ok(service)
}

/// Brings the service's profile and service account tags in line with the run.
async fn retag(ecs: &aws_sdk_ecs::Client, previous: &Service, run: &Run) -> Result<(), Error> {
    let Some(arn) = previous.service_arn() else {
        return Ok(());
    };
    let wanted = run_tags(run);
    let stale: Vec<String> = previous
        .tags()
        .iter()
        .filter_map(|t| t.key())
        .filter(|k| is_run_tag(k) && !wanted.iter().any(|(w, _)| w == k))
        .map(String::from)
        .collect();
    let current: Vec<(&str, &str)> = previous
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    let missing: Vec<Tag> = wanted
        .iter()
        .filter(|(k, v)| !current.contains(&(k.as_str(), v.as_str())))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    if !missing.is_empty() {
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(missing))
            .send()
            .await
            .map_err(|e| aws_error("TagResource", e))?;
    }
    if !stale.is_empty() {
        ecs.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(|e| aws_error("UntagResource", e))?;
    }
    Ok(())
}

/// An UpdateService failure; NotFound when the service is gone or no longer active.
fn update_error(
    id: &FunctionId,
    e: aws_sdk_ecs::error::SdkError<UpdateServiceError, aws_sdk_ecs::config::http::HttpResponse>,
) -> Error {
    match e.as_service_error() {
        Some(
            UpdateServiceError::ServiceNotFoundException(_)
            | UpdateServiceError::ServiceNotActiveException(_),
        ) => Error::NotFound(format!("function {}", id.name)),
        _ => aws_error("UpdateService", e),
    }
}

/// Deletes the service and stops its tasks.
pub async fn delete(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    id: &FunctionId,
) -> Result<(), Error> {
    delete_named(ecs, cluster, &names::ecs_service(id))
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound(format!("function {}", id.name)),
            e => e,
        })
}

/// Deletes a service by its ECS name and stops its tasks; NotFound when it is gone (another
/// provider replica deleted it first).
pub async fn delete_named(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
) -> Result<(), Error> {
    ecs.delete_service()
        .cluster(cluster)
        .service(name)
        .force(true)
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_ecs::operation::delete_service::DeleteServiceError as E;
            match e.as_service_error() {
                Some(E::ServiceNotFoundException(_)) => Error::NotFound(format!("service {name}")),
                _ => aws_error("DeleteService", e),
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::CapacityProviderStrategyItem;

    fn id() -> FunctionId {
        FunctionId::new(
            Namespace::default_namespace(),
            FunctionName::parse("f").unwrap(),
        )
    }

    fn on_launch_type(t: aws_sdk_ecs::types::LaunchType) -> Service {
        Service::builder().launch_type(t).build()
    }

    fn on_strategy(providers: &[&str]) -> Service {
        Service::builder()
            .set_capacity_provider_strategy(Some(
                providers
                    .iter()
                    .map(|p| {
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider(*p)
                            .weight(1)
                            .base(0)
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .build()
    }

    fn strategy(providers: &[&str]) -> Vec<StrategyItem> {
        providers
            .iter()
            .map(|p| StrategyItem {
                capacity_provider: p.to_string(),
                weight: 1,
                base: 0,
            })
            .collect()
    }

    #[test]
    fn fargate_moves_to_spot_and_back_with_a_new_deployment() {
        use aws_sdk_ecs::types::LaunchType as Sdk;
        let spot = Placement::CapacityProviders(strategy(&["FARGATE_SPOT"]));
        let fargate = Placement::LaunchType(LaunchType::Fargate);
        assert_eq!(
            placement_change(&id(), &on_launch_type(Sdk::Fargate), &spot).unwrap(),
            PlacementChange::Strategy(strategy(&["FARGATE_SPOT"]))
        );
        assert_eq!(
            placement_change(&id(), &on_strategy(&["FARGATE_SPOT"]), &fargate).unwrap(),
            PlacementChange::Strategy(strategy(&["FARGATE"]))
        );
        assert_eq!(
            placement_change(&id(), &on_strategy(&["FARGATE"]), &fargate).unwrap(),
            PlacementChange::Keep
        );
        assert_eq!(
            placement_change(&id(), &on_launch_type(Sdk::Fargate), &fargate).unwrap(),
            PlacementChange::Keep
        );
        assert_eq!(
            placement_change(&id(), &on_strategy(&["FARGATE_SPOT"]), &spot).unwrap(),
            PlacementChange::Keep
        );
    }

    #[test]
    fn moves_ecs_cannot_make_in_place_are_refused_with_the_way_out() {
        use aws_sdk_ecs::types::LaunchType as Sdk;
        let ec2 = Placement::LaunchType(LaunchType::Ec2);
        let e = placement_change(&id(), &on_launch_type(Sdk::Fargate), &ec2).unwrap_err();
        assert!(e.to_string().contains("delete the function"), "{e}");
        assert!(placement_change(&id(), &on_strategy(&["FARGATE_SPOT"]), &ec2).is_err());
        assert!(
            placement_change(
                &id(),
                &on_launch_type(Sdk::Ec2),
                &Placement::LaunchType(LaunchType::Fargate)
            )
            .is_err()
        );
    }
}
