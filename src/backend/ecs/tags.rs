//! Ownership: the tags on everything this provider creates, and the tokens that make a create
//! request safe to retry.

use crate::model::{FunctionName, Namespace};

/// Docker label holding the deployment as requested, so that status round-trips it exactly.
pub const DEPLOYMENT_LABEL: &str = "com.openfaas-ecs.deployment";
/// Tags on everything this provider creates.
pub const MANAGED_BY_TAG: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "faas-ecs";
pub const FUNCTION_TAG: &str = "openfaas:function";
pub const NAMESPACE_TAG: &str = "openfaas:namespace";
/// On what Terraform made in faas-ecs's own form (namespace records): `faas-ecs-cleanup` leaves
/// it for `terraform destroy`.
pub const TERRAFORM_TAG: &str = "openfaas:terraform";

/// Tags naming the profiles a function runs with (`openfaas:profile:spot` = its place in the
/// order, from 1) and its service account, on its service and task definitions.
pub const PROFILE_TAG_PREFIX: &str = "openfaas:profile:";
pub const SERVICE_ACCOUNT_TAG: &str = "openfaas:serviceaccount";

/// The profile and service account tags of a run.
pub fn run_tags(run: &super::run::Run) -> Vec<(String, String)> {
    run.profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{PROFILE_TAG_PREFIX}{p}"), (i + 1).to_string()))
        .chain(
            run.service_account
                .iter()
                .map(|a| (SERVICE_ACCOUNT_TAG.to_string(), a.clone())),
        )
        .collect()
}

/// Whether a tag key is one of [`run_tags`]'s.
pub fn is_run_tag(key: &str) -> bool {
    key.starts_with(PROFILE_TAG_PREFIX) || key == SERVICE_ACCOUNT_TAG
}

/// The tags that mark a resource as this provider's, for one function.
pub fn owner_tags<'a>(
    namespace: &'a Namespace,
    name: &'a FunctionName,
) -> impl Iterator<Item = (&'static str, &'a str)> {
    [
        (MANAGED_BY_TAG, MANAGED_BY_VALUE),
        (FUNCTION_TAG, name.as_str()),
        (NAMESPACE_TAG, namespace.as_str()),
    ]
    .into_iter()
}

/// A token unique to one create request (36 characters: ECS's limit for a client token), the
/// same for each of the SDK's attempts, so that a retry after a lost answer is not a conflict.
pub(crate) fn unique_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("faas-ecs-{random:016x}{nanos:x}")
        .chars()
        .take(36)
        .collect()
}
