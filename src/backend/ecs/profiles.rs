//! The operator's profiles and the task roles functions may ask for: what each may set, how
//! profiles compose, and the checks made of them at start. `run.rs` applies them to a function.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::placement::{LaunchType, StrategyItem};
use crate::model::Namespace;
use crate::model::scheduling::is_profile_name;

/// What a profile may set; every field is optional, and a later profile's field wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Option<Vec<StrategyItem>>,
    pub runtime_platform: Option<RuntimePlatform>,
    pub subnets: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
    pub assign_public_ip: Option<bool>,
    pub task_role_arn: Option<String>,
    /// Fargate ephemeral storage, GiB (21 to 200).
    #[serde(rename = "ephemeralStorageGiB")]
    pub ephemeral_storage_gib: Option<i32>,
    /// ECS cluster query language expressions (`attribute:ecs.instance-type =~ g5.*`); EC2 only.
    pub placement_constraints: Option<Vec<String>>,
    /// EC2 only.
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// GPUs for the function's container; EC2 only.
    pub gpu: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimePlatform {
    /// `X86_64` or `ARM64`.
    pub cpu_architecture: Option<String>,
    /// `LINUX` or a `WINDOWS_SERVER_*` family.
    pub operating_system_family: Option<String>,
}

/// One ECS placement strategy: `spread`, `binpack` or `random`, with its field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementStrategy {
    #[serde(rename = "type")]
    pub kind: String,
    pub field: Option<String>,
}

pub(super) fn is_windows(family: &str) -> bool {
    family.starts_with("WINDOWS_SERVER_")
}

fn known_family(family: &str) -> bool {
    aws_sdk_ecs::types::OsFamily::values().contains(&family)
}

impl Profile {
    /// This profile's fields over `base`'s: a placement (launch type or capacity providers)
    /// replaces the other kind, the platform's two fields compose one by one.
    pub(super) fn over(&self, base: Profile) -> Profile {
        let placement_set = self.launch_type.is_some() || self.capacity_provider_strategy.is_some();
        let platform = match (&self.runtime_platform, base.runtime_platform) {
            (Some(p), Some(b)) => Some(RuntimePlatform {
                cpu_architecture: p.cpu_architecture.clone().or(b.cpu_architecture),
                operating_system_family: p
                    .operating_system_family
                    .clone()
                    .or(b.operating_system_family),
            }),
            (p, b) => p.clone().or(b),
        };
        Profile {
            launch_type: if placement_set {
                self.launch_type
            } else {
                base.launch_type
            },
            capacity_provider_strategy: if placement_set {
                self.capacity_provider_strategy.clone()
            } else {
                base.capacity_provider_strategy
            },
            runtime_platform: platform,
            subnets: self.subnets.clone().or(base.subnets),
            security_groups: self.security_groups.clone().or(base.security_groups),
            assign_public_ip: self.assign_public_ip.or(base.assign_public_ip),
            task_role_arn: self.task_role_arn.clone().or(base.task_role_arn),
            ephemeral_storage_gib: self.ephemeral_storage_gib.or(base.ephemeral_storage_gib),
            placement_constraints: self
                .placement_constraints
                .clone()
                .or(base.placement_constraints),
            placement_strategy: self.placement_strategy.clone().or(base.placement_strategy),
            gpu: self.gpu.or(base.gpu),
        }
    }

    /// What is wrong with this profile on its own, if anything.
    fn check(&self) -> Result<(), String> {
        if self.launch_type.is_some() && self.capacity_provider_strategy.is_some() {
            return Err("sets both launchType and capacityProviderStrategy".into());
        }
        if let Some(strategy) = &self.capacity_provider_strategy {
            if strategy.is_empty() {
                return Err("capacityProviderStrategy is empty".into());
            }
            for item in strategy {
                if item.capacity_provider.is_empty()
                    || !(0..=1000).contains(&item.weight)
                    || !(0..=100_000).contains(&item.base)
                {
                    return Err(format!(
                        "capacity provider {:?}: a name, weight 0 to 1000, base 0 to 100000",
                        item.capacity_provider
                    ));
                }
            }
        }
        if let Some(p) = &self.runtime_platform {
            if let Some(a) = &p.cpu_architecture
                && !aws_sdk_ecs::types::CpuArchitecture::values().contains(&a.as_str())
            {
                return Err(format!("cpuArchitecture {a:?} is not X86_64 or ARM64"));
            }
            if let Some(f) = &p.operating_system_family
                && !known_family(f)
            {
                return Err(format!("operatingSystemFamily {f:?} is not one ECS knows"));
            }
        }
        let ids = |list: &Option<Vec<String>>, prefix: &str| {
            list.iter()
                .flatten()
                .find(|id| !id.starts_with(prefix))
                .cloned()
        };
        if let Some(bad) = ids(&self.subnets, "subnet-") {
            return Err(format!("{bad:?} is not a subnet id"));
        }
        if let Some(bad) = ids(&self.security_groups, "sg-") {
            return Err(format!("{bad:?} is not a security group id"));
        }
        if self.subnets.as_ref().is_some_and(Vec::is_empty) {
            return Err("subnets is empty".into());
        }
        if let Some(g) = self.ephemeral_storage_gib
            && !(21..=200).contains(&g)
        {
            return Err("ephemeralStorageGiB must be 21 to 200 (Fargate's range)".into());
        }
        if self.gpu.is_some_and(|g| g < 1) {
            return Err("gpu must be at least 1".into());
        }
        if let Some(s) = &self.placement_strategy
            && let Some(bad) = s
                .iter()
                .find(|s| !["spread", "binpack", "random"].contains(&s.kind.as_str()))
        {
            return Err(format!(
                "placement strategy {:?} is not spread, binpack or random",
                bad.kind
            ));
        }
        if let Some(bad) = self
            .placement_constraints
            .iter()
            .flatten()
            .find(|c| c.trim().is_empty())
        {
            return Err(format!("placement constraint {bad:?} is empty"));
        }
        Ok(())
    }
}

/// The operator's profiles and the task roles functions may ask for by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profiles {
    pub defined: BTreeMap<String, Profile>,
    /// `name` (any namespace) or `namespace/name` (that namespace only) to a task role ARN.
    pub service_accounts: BTreeMap<String, String>,
}

impl Profiles {
    /// Checks the definitions as a whole: every profile valid on its own, every name well formed,
    /// and every role a profile sets one the operator allowed (a service account's, or the
    /// default task role), since the provider's role may pass only those.
    pub fn check(&self, default_task_role: Option<&str>) -> Result<(), String> {
        for (name, profile) in &self.defined {
            if !is_profile_name(name) {
                return Err(format!(
                    "profile name {name:?}: lowercase letters, digits and - only"
                ));
            }
            profile
                .check()
                .map_err(|e| format!("profile {name}: {e}"))?;
            if let Some(role) = &profile.task_role_arn {
                let allowed = default_task_role == Some(role.as_str())
                    || self.service_accounts.values().any(|r| r == role);
                if !allowed {
                    return Err(format!(
                        "profile {name}: task role {role} is neither FAAS_ECS_TASK_ROLE_ARN nor in FAAS_ECS_SERVICE_ACCOUNTS"
                    ));
                }
            }
        }
        for (key, role) in &self.service_accounts {
            let name = key.split_once('/').map_or(key.as_str(), |(ns, name)| {
                if Namespace::parse(ns).is_ok() {
                    name
                } else {
                    ""
                }
            });
            if !is_profile_name(name) {
                return Err(format!(
                    "service account {key:?}: a name (lowercase letters, digits and -), or namespace/name"
                ));
            }
            if !role.starts_with("arn:") || !role.contains(":role/") {
                return Err(format!("service account {key}: {role:?} is not a role ARN"));
            }
        }
        Ok(())
    }

    /// The role a service account name stands for in a namespace: `namespace/name` first.
    pub(super) fn role_of(&self, namespace: &Namespace, name: &str) -> Option<&str> {
        self.service_accounts
            .get(&format!("{namespace}/{name}"))
            .or_else(|| self.service_accounts.get(name))
            .map(String::as_str)
    }
}

#[cfg(test)]
pub(super) fn for_tests(json: &str) -> Profiles {
    Profiles {
        defined: serde_json::from_str(json).unwrap(),
        service_accounts: [
            (
                "reader".to_string(),
                "arn:aws:iam::1:role/reader".to_string(),
            ),
            (
                "team-a/reader".to_string(),
                "arn:aws:iam::1:role/team-a-reader".to_string(),
            ),
        ]
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(json: &str) -> Profiles {
        for_tests(json)
    }

    #[test]
    fn definitions_are_checked_at_start() {
        let ok = profiles(
            r#"{"spot": {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]},
                "graviton": {"runtimePlatform": {"cpuArchitecture": "ARM64"}}}"#,
        );
        assert_eq!(ok.check(None), Ok(()));
        for bad in [
            r#"{"Spot": {}}"#,
            r#"{"a": {"launchType": "FARGATE", "capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}}"#,
            r#"{"a": {"runtimePlatform": {"cpuArchitecture": "RISCV"}}}"#,
            r#"{"a": {"runtimePlatform": {"operatingSystemFamily": "BEOS"}}}"#,
            r#"{"a": {"subnets": ["sg-1"]}}"#,
            r#"{"a": {"ephemeralStorageGiB": 500}}"#,
            r#"{"a": {"gpu": 0}}"#,
            r#"{"a": {"placementStrategy": [{"type": "pack"}]}}"#,
            r#"{"a": {"taskRoleArn": "arn:aws:iam::1:role/admin"}}"#,
        ] {
            assert!(profiles(bad).check(None).is_err(), "{bad}");
        }
        let allowed = profiles(r#"{"a": {"taskRoleArn": "arn:aws:iam::1:role/reader"}}"#);
        assert_eq!(allowed.check(None), Ok(()));
        let default_role = profiles(r#"{"a": {"taskRoleArn": "arn:aws:iam::1:role/default"}}"#);
        assert_eq!(
            default_role.check(Some("arn:aws:iam::1:role/default")),
            Ok(())
        );
        assert!(
            serde_json::from_str::<BTreeMap<String, Profile>>(r#"{"a": {"cpuArch": "ARM64"}}"#)
                .is_err(),
            "unknown fields are refused"
        );
    }
}
