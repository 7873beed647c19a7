//! Task definition revisions in ECS: registered, read back, listed by family, and removed
//! (deregistered, then deleted).

use aws_sdk_ecs::types::{Compatibility, NetworkMode, TaskDefinitionStatus};

use super::error::aws_error;
use super::tags::{DEPLOYMENT_LABEL, MANAGED_BY_TAG, MANAGED_BY_VALUE};
use super::task_definition::TaskDefinitionPlan;
use crate::backend::Error;
use crate::model::{FunctionName, Namespace};

/// Registers a planned task definition; returns its ARN.
pub async fn register(
    ecs: &aws_sdk_ecs::Client,
    plan: TaskDefinitionPlan,
) -> Result<String, Error> {
    let out = ecs
        .register_task_definition()
        .family(plan.family)
        .network_mode(NetworkMode::Awsvpc)
        .set_requires_compatibilities(plan.fargate.then(|| vec![Compatibility::Fargate]))
        .cpu(plan.cpu.to_string())
        .memory(plan.memory.to_string())
        .execution_role_arn(plan.execution_role_arn)
        .set_task_role_arn(plan.task_role_arn)
        .set_runtime_platform(plan.runtime_platform)
        .set_ephemeral_storage(plan.ephemeral_storage)
        .set_container_definitions(Some(plan.containers))
        .set_volumes(Some(plan.volumes))
        .set_tags(Some(plan.tags))
        .send()
        .await
        .map_err(|e| aws_error("RegisterTaskDefinition", e))?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(String::from)
        .ok_or_else(|| {
            Error::aws(
                "RegisterTaskDefinition",
                "answer carries no task definition ARN",
            )
        })
}

/// The deployment recorded in a task definition; `None` when it was not made by this provider.
pub async fn read_deployment(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
) -> Result<Option<crate::model::FunctionDeployment>, Error> {
    let out = ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map_err(|e| aws_error("DescribeTaskDefinition", e))?;
    let deployment = out
        .task_definition()
        .and_then(|t| {
            t.container_definitions()
                .iter()
                .find_map(|c| c.docker_labels()?.get(DEPLOYMENT_LABEL))
        })
        .and_then(|json| serde_json::from_str(json).ok());
    Ok(deployment)
}

/// The family of a task definition ARN (`.../task-definition/<family>:<revision>`).
pub fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit_once("task-definition/")?
        .1
        .rsplit_once(':')
        .map(|(f, _)| f)
}

/// Deregisters and deletes the given revisions. ECS keeps running tasks of a deleted revision.
pub async fn remove_revisions(ecs: &aws_sdk_ecs::Client, arns: &[String]) -> Result<(), Error> {
    for arn in arns {
        let deregistered = ecs
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await;
        // Another change (of another provider replica) may have deregistered it first.
        if let Err(e) = deregistered
            && is_active(ecs, arn).await?
        {
            return Err(aws_error("DeregisterTaskDefinition", e));
        }
    }
    // DeleteTaskDefinitions takes at most 10 revisions.
    for chunk in arns.chunks(10) {
        ecs.delete_task_definitions()
            .set_task_definitions(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("DeleteTaskDefinitions", e))?;
    }
    Ok(())
}

/// Whether a revision exists and is active.
async fn is_active(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<bool, Error> {
    match ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .task_definition()
            .and_then(|t| t.status())
            .is_some_and(|s| *s == TaskDefinitionStatus::Active)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_client_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_error("DescribeTaskDefinition", e)),
    }
}

/// Every active revision, of `family` when given; every page.
async fn list_active(
    ecs: &aws_sdk_ecs::Client,
    family: Option<&str>,
) -> Result<Vec<String>, Error> {
    list(ecs, family, TaskDefinitionStatus::Active).await
}

/// Every revision in `status`, of every family.
pub async fn listed(
    ecs: &aws_sdk_ecs::Client,
    status: TaskDefinitionStatus,
) -> Result<Vec<String>, Error> {
    list(ecs, None, status).await
}

async fn list(
    ecs: &aws_sdk_ecs::Client,
    family: Option<&str>,
    status: TaskDefinitionStatus,
) -> Result<Vec<String>, Error> {
    ecs.list_task_definitions()
        .set_family_prefix(family.map(String::from))
        .status(status)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_error("ListTaskDefinitions", e))
}

/// Every active revision of exactly this family (ListTaskDefinitions matches by prefix).
pub async fn active_revisions(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
) -> Result<Vec<String>, Error> {
    let arns = list_active(ecs, Some(family)).await?;
    Ok(arns
        .into_iter()
        .filter(|a| family_of(a) == Some(family))
        .collect())
}

/// Every active revision of the families named as this provider names them
/// (`<namespace>_<name>`), by family, oldest first. Listed without a family filter, which AWS
/// takes as one exact family.
pub async fn families(
    ecs: &aws_sdk_ecs::Client,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Error> {
    let named_by_us = |family: &&str| {
        family.split_once('_').is_some_and(|(ns, name)| {
            Namespace::parse(ns).is_ok() && FunctionName::parse(name).is_ok()
        })
    };
    let arns = list_active(ecs, None).await?;
    let mut families = std::collections::BTreeMap::<String, Vec<String>>::new();
    for arn in arns {
        if let Some(family) = family_of(&arn).filter(named_by_us) {
            families.entry(family.to_string()).or_default().push(arn);
        }
    }
    Ok(families)
}

/// Whether a revision carries this provider's owner tag.
pub async fn is_ours(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<bool, Error> {
    let out = ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(|e| aws_error("DescribeTaskDefinition", e))?;
    Ok(out
        .tags()
        .iter()
        .any(|t| t.key() == Some(MANAGED_BY_TAG) && t.value() == Some(MANAGED_BY_VALUE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_is_parsed_from_arns() {
        assert_eq!(
            family_of("arn:aws:ecs:eu-west-1:1:task-definition/openfaas-fn_echo:12"),
            Some("openfaas-fn_echo")
        );
        assert_eq!(family_of("nonsense"), None);
    }
}
