//! The settings of `faas-ecs-cleanup`: which stack, read from the same variables the provider
//! runs with, so that the stack's environment (Terraform's `faas_ecs_environment`) serves both.

use super::functions::{parse_cloudmap_namespace, parse_secret_prefix};
use super::parse;
use crate::backend::ecs::cleanup::Stack;
use crate::model::{DEFAULT_NAMESPACE, Namespace};

/// Removes everything faas-ecs made in one stack (functions, their task definitions and Cloud
/// Map services, namespaces, secrets), found by its `managed-by=faas-ecs` tag, so that
/// `terraform destroy` can remove the cluster and the Cloud Map namespace.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "faas-ecs-cleanup", version)]
pub struct Cleanup {
    /// List what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// ECS cluster of the functions.
    #[arg(long, env = "FAAS_ECS_CLUSTER", value_name = "FAAS_ECS_CLUSTER", default_value = "openfaas", value_parser = parse::non_empty)]
    pub cluster: String,

    /// Cloud Map private DNS namespace id (ns-...) of the functions.
    #[arg(long, env = "FAAS_ECS_CLOUDMAP_NAMESPACE_ID", value_name = "FAAS_ECS_CLOUDMAP_NAMESPACE_ID", value_parser = parse_cloudmap_namespace)]
    pub cloudmap_namespace_id: String,

    /// Secrets Manager name prefix of the stack's secrets.
    #[arg(long, env = "FAAS_ECS_SECRET_PREFIX", value_name = "FAAS_ECS_SECRET_PREFIX", default_value = "openfaas/", value_parser = parse_secret_prefix)]
    pub secret_prefix: String,

    /// The OpenFaaS namespace of requests that name none.
    #[arg(long, env = "FAAS_ECS_DEFAULT_NAMESPACE", value_name = "FAAS_ECS_DEFAULT_NAMESPACE", default_value = DEFAULT_NAMESPACE, value_parser = parse::namespace)]
    pub default_namespace: Namespace,

    #[command(flatten)]
    pub aws: super::aws::Aws,
}

impl Cleanup {
    pub fn stack(&self) -> Stack {
        Stack {
            cluster: self.cluster.clone(),
            cloudmap_namespace_id: self.cloudmap_namespace_id.clone(),
            secret_prefix: self.secret_prefix.clone(),
            default_namespace: self.default_namespace.clone(),
        }
    }
}
