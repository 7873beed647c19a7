//! Everything faas-ecs made in one stack, found by its `managed-by` tag and removed, so that
//! `terraform destroy` finds the cluster and the Cloud Map namespace empty: the functions' ECS
//! services, their task definition revisions, their Cloud Map services, the namespaces' records
//! and the secrets. Used by the `faas-ecs-cleanup` command; nothing the tag does not mark is
//! touched, nor the namespace records Terraform made (`terraform destroy` removes those), and
//! running it again finds nothing.

use aws_sdk_ecs::types::TaskDefinitionStatus;

use super::secrets::SecretsManager;
use super::tags::{MANAGED_BY_TAG, MANAGED_BY_VALUE, NAMESPACE_TAG, TERRAFORM_TAG};
use super::{AwsClients, cloudmap, revisions, service};
use crate::backend::Error;
use crate::model::Namespace;

/// Which stack: its cluster, Cloud Map namespace, secret prefix and default namespace.
#[derive(Debug, Clone)]
pub struct Stack {
    pub cluster: String,
    pub cloudmap_namespace_id: String,
    pub secret_prefix: String,
    pub default_namespace: Namespace,
}

/// What faas-ecs made in a stack, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// ECS service names.
    pub services: Vec<String>,
    /// Task definition revision ARNs, active or deregistered.
    pub task_definitions: Vec<String>,
    /// Cloud Map services `(id, name)`: functions' and namespaces' records.
    pub cloudmap_services: Vec<(String, String)>,
    /// Secrets Manager ARNs.
    pub secrets: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.task_definitions.is_empty()
            && self.cloudmap_services.is_empty()
            && self.secrets.is_empty()
    }

    /// One line per thing, by kind.
    pub fn lines(&self) -> Vec<String> {
        let services = self.services.iter().map(|s| format!("ECS service {s}"));
        let revisions = self
            .task_definitions
            .iter()
            .map(|t| format!("task definition {t}"));
        let registries = self
            .cloudmap_services
            .iter()
            .map(|(id, name)| format!("Cloud Map service {id} ({name})"));
        let secrets = self.secrets.iter().map(|s| format!("secret {s}"));
        services
            .chain(revisions)
            .chain(registries)
            .chain(secrets)
            .collect()
    }
}

/// Finds what faas-ecs made in the stack. Task definitions are not kept per cluster: those
/// counted are tagged as ours and of a family of this stack's namespaces.
pub async fn find(aws: &AwsClients, stack: &Stack) -> Result<Leftovers, Error> {
    let services = service::list_ours(&aws.ecs, &stack.cluster).await?;
    let mut namespaces: Vec<Namespace> = vec![stack.default_namespace.clone()];
    namespaces.extend(services.iter().filter_map(service::namespace_of));

    let mut cloudmap_services = Vec::new();
    for listed in cloudmap::services(&aws.servicediscovery, &stack.cloudmap_namespace_id).await? {
        let tags = cloudmap::tags(&aws.servicediscovery, &listed.service.arn).await?;
        if !tags.contains(&(MANAGED_BY_TAG.into(), MANAGED_BY_VALUE.into())) {
            continue;
        }
        namespaces.extend(
            tags.iter()
                .filter(|(k, _)| k == NAMESPACE_TAG)
                .filter_map(|(_, v)| Namespace::parse(v).ok()),
        );
        if !tags.iter().any(|(k, _)| k == TERRAFORM_TAG) {
            cloudmap_services.push((listed.service.id, listed.name));
        }
    }

    let mut task_definitions = Vec::new();
    for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
        for arn in revisions::listed(&aws.ecs, status).await? {
            let in_stack = revisions::family_of(&arn)
                .and_then(|f| f.split_once('_'))
                .is_some_and(|(ns, _)| namespaces.iter().any(|n| n.as_str() == ns));
            if in_stack && revisions::is_ours(&aws.ecs, &arn).await? {
                task_definitions.push(arn);
            }
        }
    }

    Ok(Leftovers {
        services: services
            .iter()
            .filter_map(|s| s.service_name().map(String::from))
            .collect(),
        task_definitions,
        cloudmap_services,
        secrets: SecretsManager {
            client: &aws.secretsmanager,
            prefix: &stack.secret_prefix,
        }
        .all()
        .await?,
    })
}

/// Removes what [`find`] found: services first (their tasks stop), then revisions, then the
/// Cloud Map services (their instances deregistered first, as the tasks are going), then secrets
/// (at once, without the recovery window, as faas-ecs deletes them).
pub async fn remove(aws: &AwsClients, stack: &Stack, found: &Leftovers) -> Result<(), Error> {
    for name in &found.services {
        service::delete_named(&aws.ecs, &stack.cluster, name).await?;
    }
    revisions::remove_revisions(&aws.ecs, &found.task_definitions).await?;
    for (id, _) in &found.cloudmap_services {
        cloudmap::deregister_all(&aws.servicediscovery, id).await?;
        if cloudmap::delete(&aws.servicediscovery, id).await? == cloudmap::Deleted::InUse {
            return Err(Error::Conflict(format!(
                "Cloud Map service {id} still has instances; run the command again"
            )));
        }
    }
    let secrets = SecretsManager {
        client: &aws.secretsmanager,
        prefix: &stack.secret_prefix,
    };
    for arn in &found.secrets {
        secrets.delete_arn(arn).await?;
    }
    Ok(())
}
