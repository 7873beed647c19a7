//! Where and how functions run: the cluster, its network, the Cloud Map namespace, task roles and
//! sizes, secrets and logs; turned into the ECS backend's settings here.

use std::time::Duration;

use super::parse::{self, CommaList};
use crate::backend::ecs::EcsSettings;
use crate::backend::ecs::placement::{
    LaunchType as EcsLaunchType, Placement, ServiceSettings, StrategyItem,
};
use crate::backend::ecs::profiles::{Profile, Profiles};
use crate::backend::ecs::task_definition::TaskSettings;
use crate::model::{DEFAULT_NAMESPACE, Namespace};

/// CloudWatch Logs is not asked more often than this for followed logs.
const MIN_LOG_POLL: Duration = Duration::from_millis(200);

/// The ECS launch type of function tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LaunchType {
    #[value(name = "FARGATE")]
    Fargate,
    #[value(name = "EC2")]
    Ec2,
    #[value(name = "EXTERNAL")]
    External,
}

/// A capacity provider strategy, from `FARGATE_SPOT:3,FARGATE:1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapacityProviders(pub Vec<StrategyItem>);

fn parse_capacity_providers(s: &str) -> Result<CapacityProviders, String> {
    parse::list(s)?
        .0
        .into_iter()
        .map(|p| {
            let (name, weight) = match p.split_once(':') {
                None => (p.as_str(), Some(1)),
                Some((name, weight)) => (
                    name,
                    weight
                        .parse::<i32>()
                        .ok()
                        .filter(|w| (0..=1000).contains(w)),
                ),
            };
            weight
                .map(|weight| StrategyItem {
                    capacity_provider: name.to_string(),
                    weight,
                    base: 0,
                })
                .ok_or_else(|| format!("bad weight in {p:?} (0 to 1000)"))
        })
        .collect::<Result<_, _>>()
        .map(CapacityProviders)
}

/// The operator's profiles: a JSON object of name to profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct ProfileDefinitions(pub std::collections::BTreeMap<String, Profile>);

/// Service account names (or `namespace/name`) to the task role ARNs they stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct ServiceAccounts(pub std::collections::BTreeMap<String, String>);

pub(super) fn parse_cloudmap_namespace(s: &str) -> Result<String, String> {
    if s.starts_with("ns-") {
        Ok(s.to_string())
    } else {
        Err("must be a Cloud Map namespace id (ns-...)".into())
    }
}

fn parse_required_role(s: &str) -> Result<String, String> {
    parse::non_empty(s).and_then(|s| parse::role_arn(&s))
}

pub(super) fn parse_secret_prefix(s: &str) -> Result<String, String> {
    let allowed = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
    if s.is_empty() || !allowed {
        Err("must be non-empty, of letters, digits and /_+=.@-".into())
    } else {
        Ok(s.to_string())
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct Functions {
    /// ECS cluster that runs the functions.
    #[arg(
        long,
        env = "FAAS_ECS_CLUSTER",
        value_name = "FAAS_ECS_CLUSTER",
        default_value = "openfaas",
        value_parser = parse::non_empty
    )]
    pub cluster: String,

    /// Subnets for function tasks, comma separated (awsvpc).
    #[arg(long, env = "FAAS_ECS_SUBNETS", value_name = "FAAS_ECS_SUBNETS", value_parser = parse::ids("subnet-", "subnet"), default_value = "")]
    pub subnets: CommaList,

    /// Security groups for function tasks, comma separated.
    #[arg(long, env = "FAAS_ECS_SECURITY_GROUPS", value_name = "FAAS_ECS_SECURITY_GROUPS", value_parser = parse::ids("sg-", "security group"), default_value = "")]
    pub security_groups: CommaList,

    /// Give function tasks a public IP (only for public subnets without a NAT gateway).
    #[arg(long, env = "FAAS_ECS_ASSIGN_PUBLIC_IP", value_name = "FAAS_ECS_ASSIGN_PUBLIC_IP", default_value_t = false, action = clap::ArgAction::Set)]
    pub assign_public_ip: bool,

    /// Cloud Map private DNS namespace id (ns-...) that function services are registered in.
    #[arg(
        long,
        env = "FAAS_ECS_CLOUDMAP_NAMESPACE_ID",
        value_name = "FAAS_ECS_CLOUDMAP_NAMESPACE_ID",
        value_parser = parse_cloudmap_namespace
    )]
    pub cloudmap_namespace_id: String,

    /// The OpenFaaS namespace of requests that name none; it always exists.
    #[arg(long, env = "FAAS_ECS_DEFAULT_NAMESPACE", value_name = "FAAS_ECS_DEFAULT_NAMESPACE", default_value = DEFAULT_NAMESPACE, value_parser = parse::namespace)]
    pub default_namespace: Namespace,

    /// Whether the API may create, update and delete namespaces (`false`: those that exist, made
    /// by Terraform, are used, and changes are refused with 403).
    #[arg(long, env = "FAAS_ECS_NAMESPACE_MANAGEMENT", value_name = "FAAS_ECS_NAMESPACE_MANAGEMENT", default_value_t = true, action = clap::ArgAction::Set)]
    pub namespace_management: bool,

    /// TTL in seconds of the function's Cloud Map DNS records.
    #[arg(long, env = "FAAS_ECS_DNS_TTL", value_name = "FAAS_ECS_DNS_TTL", default_value_t = 5, value_parser = clap::value_parser!(i64).range(0..=2_147_483_647))]
    pub dns_ttl: i64,

    /// Role ECS uses to pull images, write logs and read secrets for function tasks.
    #[arg(
        long,
        env = "FAAS_ECS_EXECUTION_ROLE_ARN",
        value_name = "FAAS_ECS_EXECUTION_ROLE_ARN",
        value_parser = parse_required_role
    )]
    pub execution_role_arn: String,

    /// Role function code runs as (optional).
    #[arg(
        long,
        env = "FAAS_ECS_TASK_ROLE_ARN",
        value_name = "FAAS_ECS_TASK_ROLE_ARN",
        value_parser = parse::role_arn
    )]
    pub task_role_arn: Option<String>,

    /// CloudWatch Logs group for function output.
    #[arg(
        long,
        env = "FAAS_ECS_LOG_GROUP",
        value_name = "FAAS_ECS_LOG_GROUP",
        default_value = "/openfaas/functions",
        value_parser = parse::non_empty
    )]
    pub log_group: String,

    /// Launch type of function tasks: FARGATE, EC2 or EXTERNAL. Ignored when capacity providers are set.
    #[arg(long, env = "FAAS_ECS_LAUNCH_TYPE", value_name = "FAAS_ECS_LAUNCH_TYPE", value_enum, default_value_t = LaunchType::Fargate)]
    pub launch_type: LaunchType,

    /// Capacity provider strategy, e.g. `FARGATE_SPOT:3,FARGATE:1` (name:weight, comma separated).
    #[arg(long, env = "FAAS_ECS_CAPACITY_PROVIDERS", value_name = "FAAS_ECS_CAPACITY_PROVIDERS", value_parser = parse_capacity_providers, default_value = "")]
    pub capacity_providers: CapacityProviders,

    /// Profiles functions may pick with the `com.openfaas.profile` annotation: a JSON object of
    /// name to profile (README, Profiles).
    #[arg(long, env = "FAAS_ECS_PROFILES", value_name = "FAAS_ECS_PROFILES", value_parser = parse::json::<ProfileDefinitions>("profiles"), default_value = "")]
    pub profiles: ProfileDefinitions,

    /// Task roles functions may ask for with `com.openfaas.serviceaccount`: a JSON object of
    /// name (or `namespace/name`) to role ARN.
    #[arg(long, env = "FAAS_ECS_SERVICE_ACCOUNTS", value_name = "FAAS_ECS_SERVICE_ACCOUNTS", value_parser = parse::json::<ServiceAccounts>("names to role ARNs"), default_value = "")]
    pub service_accounts: ServiceAccounts,

    /// CPU units of a function task when the function sets no cpu limit or request (1024 = 1 vCPU).
    #[arg(
        long,
        env = "FAAS_ECS_DEFAULT_CPU",
        value_name = "FAAS_ECS_DEFAULT_CPU",
        default_value_t = 256
    )]
    pub default_cpu: u32,

    /// Memory (MiB) of a function task when the function sets no memory limit or request.
    #[arg(
        long,
        env = "FAAS_ECS_DEFAULT_MEMORY",
        value_name = "FAAS_ECS_DEFAULT_MEMORY",
        default_value_t = 512
    )]
    pub default_memory: u32,

    /// Secrets Manager names of OpenFaaS secrets start with this (`<prefix><namespace>/<name>`).
    #[arg(
        long,
        env = "FAAS_ECS_SECRET_PREFIX",
        value_name = "FAAS_ECS_SECRET_PREFIX",
        default_value = "openfaas/",
        value_parser = parse_secret_prefix
    )]
    pub secret_prefix: String,

    /// Image of the container that writes a task's secrets as files: the faas-ecs image.
    /// Without it, functions cannot use secrets.
    #[arg(
        long,
        env = "FAAS_ECS_SECRETS_IMAGE",
        value_name = "FAAS_ECS_SECRETS_IMAGE"
    )]
    pub secrets_image: Option<String>,

    /// How often `/system/logs?follow=true` asks CloudWatch Logs for new lines.
    #[arg(long, env = "FAAS_ECS_LOG_POLL_INTERVAL", value_name = "FAAS_ECS_LOG_POLL_INTERVAL", default_value = "1s", value_parser = parse::duration_at_least(MIN_LOG_POLL))]
    pub log_poll_interval: Duration,

    /// How often functions changed lately (by this replica, or by another as the replicas
    /// report) are read again from ECS.
    #[arg(long, env = "FAAS_ECS_REFRESH_INTERVAL", value_name = "FAAS_ECS_REFRESH_INTERVAL", default_value = "5s", value_parser = parse::positive_duration)]
    pub refresh_interval: Duration,

    /// Shortest time between full reads of every function, which see changes made by hand in
    /// AWS; with many functions sweeps are spaced so that they cost at most one AWS call every
    /// two seconds (5,000 functions: about 19 minutes).
    #[arg(long, env = "FAAS_ECS_SWEEP_INTERVAL", value_name = "FAAS_ECS_SWEEP_INTERVAL", default_value = "60s", value_parser = parse::positive_duration)]
    pub sweep_interval: Duration,
}

impl Functions {
    /// The launch type or capacity provider strategy for function services.
    pub fn placement(&self) -> Placement {
        if self.capacity_providers.0.is_empty() {
            Placement::LaunchType(match self.launch_type {
                LaunchType::Fargate => EcsLaunchType::Fargate,
                LaunchType::Ec2 => EcsLaunchType::Ec2,
                LaunchType::External => EcsLaunchType::External,
            })
        } else {
            Placement::CapacityProviders(self.capacity_providers.0.clone())
        }
    }

    /// The profiles and service accounts together.
    pub fn profile_set(&self) -> Profiles {
        Profiles {
            defined: self.profiles.0.clone(),
            service_accounts: self.service_accounts.0.clone(),
        }
    }

    /// The task role, when one is set.
    pub fn task_role(&self) -> Option<&str> {
        self.task_role_arn.as_deref().filter(|s| !s.is_empty())
    }

    /// The ECS backend's settings; `region` is the AWS region the SDK resolved, `srv` whether
    /// functions get SRV records.
    pub fn settings(&self, region: &str, srv: bool) -> EcsSettings {
        let placement = self.placement();
        EcsSettings {
            default_namespace: self.default_namespace.clone(),
            cloudmap_namespace_id: self.cloudmap_namespace_id.clone(),
            dns_ttl: self.dns_ttl,
            task: TaskSettings {
                execution_role_arn: self.execution_role_arn.clone(),
                task_role_arn: self.task_role().map(String::from),
                log_group: self.log_group.clone(),
                region: region.to_string(),
                default_cpu: self.default_cpu,
                default_memory: self.default_memory,
                secrets_image: self.secrets_image.clone().filter(|i| !i.is_empty()),
            },
            service: ServiceSettings {
                cluster: self.cluster.clone(),
                subnets: self.subnets.0.clone(),
                security_groups: self.security_groups.0.clone(),
                assign_public_ip: self.assign_public_ip,
                placement,
                srv,
            },
            profiles: self.profile_set(),
            secret_prefix: self.secret_prefix.clone(),
            log_poll_interval: self.log_poll_interval,
            sweep_interval: self.sweep_interval,
        }
    }
}
