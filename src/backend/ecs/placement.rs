//! Where function tasks run: the cluster, its network, and the launch type or capacity provider
//! strategy; plain data that the profiles compose and the service module sends to ECS.

use aws_sdk_ecs::types::CapacityProviderStrategyItem;

use crate::backend::Error;

/// The ECS launch type of function tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LaunchType {
    Fargate,
    Ec2,
    External,
}

impl LaunchType {
    pub(super) fn sdk(self) -> aws_sdk_ecs::types::LaunchType {
        match self {
            Self::Fargate => aws_sdk_ecs::types::LaunchType::Fargate,
            Self::Ec2 => aws_sdk_ecs::types::LaunchType::Ec2,
            Self::External => aws_sdk_ecs::types::LaunchType::External,
        }
    }
}

/// One capacity provider of a strategy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StrategyItem {
    pub capacity_provider: String,
    #[serde(default = "one")]
    pub weight: i32,
    #[serde(default)]
    pub base: i32,
}

fn one() -> i32 {
    1
}

/// How ECS places function tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    LaunchType(LaunchType),
    CapacityProviders(Vec<StrategyItem>),
}

impl Placement {
    /// Whether tasks run on Fargate (which asks for task-level sizes it accepts).
    pub fn is_fargate(&self) -> bool {
        match self {
            Self::LaunchType(t) => *t == LaunchType::Fargate,
            Self::CapacityProviders(p) => {
                p.iter().any(|i| i.capacity_provider.starts_with("FARGATE"))
            }
        }
    }

    pub(super) fn strategy(
        items: &[StrategyItem],
    ) -> Result<Vec<CapacityProviderStrategyItem>, Error> {
        items
            .iter()
            .map(|i| {
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(&i.capacity_provider)
                    .weight(i.weight)
                    .base(i.base)
                    .build()
                    .map_err(|e| Error::aws("CreateService", e))
            })
            .collect()
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
