//! The operator's profiles and allowed task roles, and what one function's request comes to under
//! them (a [`Run`]): a pure step, unit tested, taken before any AWS call, so that a request ECS
//! could not honour is a 400 and nothing is made.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::placement::{LaunchType, Placement, ServiceSettings, StrategyItem};
use crate::backend::Error;
use crate::model::scheduling::{Arch, Os, is_profile_name};
use crate::model::{FunctionSpec, Namespace};

/// The Windows Server release a `kubernetes.io/os=windows` function runs on, unless a profile
/// names one.
pub const DEFAULT_WINDOWS: &str = "WINDOWS_SERVER_2022_CORE";

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

fn is_windows(family: &str) -> bool {
    family.starts_with("WINDOWS_SERVER_")
}

fn known_family(family: &str) -> bool {
    aws_sdk_ecs::types::OsFamily::values().contains(&family)
}

impl Profile {
    /// This profile's fields over `base`'s: a placement (launch type or capacity providers)
    /// replaces the other kind, the platform's two fields compose one by one.
    fn over(&self, base: Profile) -> Profile {
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
    fn role_of(&self, namespace: &Namespace, name: &str) -> Option<&str> {
        self.service_accounts
            .get(&format!("{namespace}/{name}"))
            .or_else(|| self.service_accounts.get(name))
            .map(String::as_str)
    }
}

/// How one function runs: its profiles composed over the provider's defaults, its service
/// account's role, its constraints and health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The profiles applied, in order (tags name them).
    pub profiles: Vec<String>,
    pub service_account: Option<String>,
    pub placement: Placement,
    /// `None`: ECS's default (x86-64).
    pub cpu_architecture: Option<String>,
    /// `None`: ECS's default (Linux).
    pub os_family: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    pub task_role_arn: Option<String>,
    pub ephemeral_storage_gib: Option<i32>,
    pub placement_constraints: Vec<String>,
    pub placement_strategy: Vec<PlacementStrategy>,
    pub gpu: Option<i32>,
    pub health_path: Option<String>,
    /// Seconds; ECS's `startPeriod`.
    pub health_start_period: i32,
}

/// The health check's start period when the function sets none.
const DEFAULT_START_PERIOD: i32 = 5;

impl Run {
    pub fn fargate(&self) -> bool {
        self.placement.is_fargate()
    }

    pub fn windows(&self) -> bool {
        self.os_family.as_deref().is_some_and(is_windows)
    }

    /// The run of a function that asks for nothing: the provider's defaults.
    pub fn defaults(service: &ServiceSettings, task_role_arn: Option<&str>) -> Self {
        Self {
            profiles: Vec::new(),
            service_account: None,
            placement: service.placement.clone(),
            cpu_architecture: None,
            os_family: None,
            subnets: service.subnets.clone(),
            security_groups: service.security_groups.clone(),
            assign_public_ip: service.assign_public_ip,
            task_role_arn: task_role_arn.map(String::from),
            ephemeral_storage_gib: None,
            placement_constraints: Vec::new(),
            placement_strategy: Vec::new(),
            gpu: None,
            health_path: None,
            health_start_period: DEFAULT_START_PERIOD,
        }
    }
}

/// What `spec` comes to under `profiles`, over the provider's defaults; a 400 naming the reason
/// when a profile or role is unknown or ECS could not run the result.
pub fn resolve(spec: &FunctionSpec, profiles: &Profiles, defaults: &Run) -> Result<Run, Error> {
    let asked = &spec.scheduling;
    let mut merged = Profile::default();
    for name in &asked.profiles {
        let profile = profiles.defined.get(name).ok_or_else(|| {
            Error::Invalid(format!(
                "profile {name} is not defined by this provider (FAAS_ECS_PROFILES)"
            ))
        })?;
        merged = profile.over(merged);
    }
    let mut run = defaults.clone();
    run.profiles = asked.profiles.clone();
    if let Some(t) = merged.launch_type {
        run.placement = Placement::LaunchType(t);
    }
    if let Some(strategy) = merged.capacity_provider_strategy {
        run.placement = Placement::CapacityProviders(strategy);
    }
    let platform = merged.runtime_platform.unwrap_or_default();
    run.cpu_architecture = platform.cpu_architecture;
    run.os_family = platform.operating_system_family;
    run.subnets = merged.subnets.unwrap_or(run.subnets);
    run.security_groups = merged.security_groups.unwrap_or(run.security_groups);
    run.assign_public_ip = merged.assign_public_ip.unwrap_or(run.assign_public_ip);
    run.task_role_arn = merged.task_role_arn.or(run.task_role_arn);
    run.ephemeral_storage_gib = merged.ephemeral_storage_gib;
    run.placement_constraints = merged.placement_constraints.unwrap_or_default();
    run.placement_strategy = merged.placement_strategy.unwrap_or_default();
    run.gpu = merged.gpu;

    if let Some(account) = &asked.service_account {
        let role = profiles.role_of(&spec.namespace, account).ok_or_else(|| {
            Error::Invalid(format!(
                "service account {account} is not one this provider allows in namespace {} (FAAS_ECS_SERVICE_ACCOUNTS)",
                spec.namespace
            ))
        })?;
        run.service_account = Some(account.clone());
        run.task_role_arn = Some(role.to_string());
    }

    if let Some(arch) = asked.arch() {
        let wanted = match arch {
            Arch::X86_64 => "X86_64",
            Arch::Arm64 => "ARM64",
        };
        match run.cpu_architecture.as_deref() {
            Some(set) if set != wanted => {
                return Err(Error::Invalid(format!(
                    "constraints ask for {wanted} but the profiles set {set}"
                )));
            }
            _ => run.cpu_architecture = Some(wanted.into()),
        }
    }
    match (asked.os(), run.os_family.as_deref()) {
        (Some(Os::Windows), None | Some("LINUX")) => {
            if run.os_family.is_some() {
                return Err(Error::Invalid(
                    "constraints ask for windows but the profiles set LINUX".into(),
                ));
            }
            run.os_family = Some(DEFAULT_WINDOWS.into());
        }
        (Some(Os::Linux), Some(family)) if is_windows(family) => {
            return Err(Error::Invalid(format!(
                "constraints ask for linux but the profiles set {family}"
            )));
        }
        _ => {}
    }
    run.placement_constraints
        .extend(asked.attributes().map(String::from));

    run.health_path = asked.health_path.clone();
    if let Some(delay) = asked.initial_delay {
        run.health_start_period = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
    }
    check_run(spec, &run)?;
    Ok(run)
}

/// Refuses what ECS would refuse (or silently ignore) for this run.
fn check_run(spec: &FunctionSpec, run: &Run) -> Result<(), Error> {
    let refuse = |why: &str| Err(Error::Invalid(why.to_string()));
    if run.fargate() {
        if run.gpu.is_some() {
            return refuse(
                "GPUs need EC2 capacity: Fargate has none (use a profile with launchType EC2 or an EC2 capacity provider)",
            );
        }
        if !run.placement_constraints.is_empty() || !run.placement_strategy.is_empty() {
            return refuse(
                "placement constraints and attribute:... constraints need EC2 capacity: Fargate places tasks itself",
            );
        }
    } else if run.ephemeral_storage_gib.is_some() {
        return refuse(
            "ephemeralStorageGiB is a Fargate setting: on EC2 the instance's disk is used",
        );
    }
    if run.windows() {
        if run.cpu_architecture.as_deref() == Some("ARM64") {
            return refuse("Windows runs on X86_64 only");
        }
        if let Placement::CapacityProviders(s) = &run.placement
            && s.iter().any(|i| i.capacity_provider == "FARGATE_SPOT")
        {
            return refuse("Fargate Spot does not run Windows tasks");
        }
        if run.fargate() && run.ephemeral_storage_gib.is_some() {
            return refuse("Fargate Windows tasks take no ephemeral storage setting");
        }
        if spec.deployment.read_only_root_filesystem {
            return refuse("readOnlyRootFilesystem is not supported for Windows containers");
        }
        if !spec.secrets.is_empty() {
            return refuse(
                "secrets are written into the task by a Linux container, which a Windows task cannot run",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FunctionDeployment;

    fn defaults() -> Run {
        Run::defaults(
            &ServiceSettings {
                cluster: "openfaas".into(),
                subnets: vec!["subnet-1".into()],
                security_groups: vec!["sg-1".into()],
                assign_public_ip: false,
                placement: Placement::LaunchType(LaunchType::Fargate),
                srv: false,
            },
            Some("arn:aws:iam::1:role/default"),
        )
    }

    fn profiles(json: &str) -> Profiles {
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

    fn spec(annotations: &[(&str, &str)], constraints: &[&str]) -> FunctionSpec {
        spec_in("openfaas-fn", annotations, constraints)
    }

    fn spec_in(
        namespace: &str,
        annotations: &[(&str, &str)],
        constraints: &[&str],
    ) -> FunctionSpec {
        let d = FunctionDeployment {
            service: "f".into(),
            image: "img".into(),
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            constraints: Some(constraints.iter().map(|c| c.to_string()).collect()),
            ..Default::default()
        };
        FunctionSpec::new(d, Namespace::parse(namespace).unwrap()).unwrap()
    }

    const SPOT_GRAVITON: &str = r#"{
        "spot": {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
        "graviton": {"runtimePlatform": {"cpuArchitecture": "ARM64"}},
        "x86": {"runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}},
        "db": {"securityGroups": ["sg-db"], "subnets": ["subnet-db"]},
        "gpu": {"launchType": "EC2", "gpu": 1,
                "placementConstraints": ["attribute:ecs.instance-type =~ g5.*"],
                "placementStrategy": [{"type": "binpack", "field": "memory"}]},
        "big-disk": {"ephemeralStorageGiB": 100},
        "windows": {"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2019_CORE"}}
    }"#;

    fn resolved(annotations: &[(&str, &str)], constraints: &[&str]) -> Result<Run, Error> {
        resolve(
            &spec(annotations, constraints),
            &profiles(SPOT_GRAVITON),
            &defaults(),
        )
    }

    #[test]
    fn no_profile_is_the_providers_defaults() {
        assert_eq!(resolved(&[], &[]).unwrap(), defaults());
    }

    #[test]
    fn profiles_compose_in_order_later_fields_winning() {
        let run = resolved(&[("com.openfaas.profile", "spot,graviton,db")], &[]).unwrap();
        assert_eq!(run.profiles, ["spot", "graviton", "db"]);
        assert_eq!(
            run.placement,
            Placement::CapacityProviders(vec![StrategyItem {
                capacity_provider: "FARGATE_SPOT".into(),
                weight: 1,
                base: 0
            }])
        );
        assert_eq!(run.cpu_architecture.as_deref(), Some("ARM64"));
        assert_eq!(run.security_groups, ["sg-db"]);
        assert_eq!(run.subnets, ["subnet-db"]);
        let run = resolved(&[("com.openfaas.profile", "graviton,x86")], &[]).unwrap();
        assert_eq!(run.cpu_architecture.as_deref(), Some("X86_64"));
        let run = resolved(&[("com.openfaas.profile", "spot,gpu")], &[]).unwrap();
        assert_eq!(
            run.placement,
            Placement::LaunchType(LaunchType::Ec2),
            "a later launch type replaces an earlier strategy"
        );
    }

    #[test]
    fn an_unknown_profile_is_refused_by_name() {
        let e = resolved(&[("com.openfaas.profile", "spot,gold")], &[]).unwrap_err();
        assert!(e.to_string().contains("profile gold"), "{e}");
    }

    #[test]
    fn a_service_account_is_a_role_the_operator_allowed_namespaced_first() {
        let run = resolved(&[("com.openfaas.serviceaccount", "reader")], &[]).unwrap();
        assert_eq!(
            run.task_role_arn.as_deref(),
            Some("arn:aws:iam::1:role/reader")
        );
        let run = resolve(
            &spec_in("team-a", &[("com.openfaas.serviceaccount", "reader")], &[]),
            &profiles(SPOT_GRAVITON),
            &defaults(),
        )
        .unwrap();
        assert_eq!(
            run.task_role_arn.as_deref(),
            Some("arn:aws:iam::1:role/team-a-reader")
        );
        let e = resolved(&[("com.openfaas.serviceaccount", "admin")], &[]).unwrap_err();
        assert!(e.to_string().contains("service account admin"), "{e}");
    }

    #[test]
    fn constraints_set_the_platform_and_may_not_contradict_a_profile() {
        let run = resolved(&[], &["kubernetes.io/arch=arm64"]).unwrap();
        assert_eq!(run.cpu_architecture.as_deref(), Some("ARM64"));
        let run = resolved(&[], &["node.platform.os == windows"]).unwrap();
        assert_eq!(run.os_family.as_deref(), Some(DEFAULT_WINDOWS));
        let run = resolved(
            &[("com.openfaas.profile", "windows")],
            &["kubernetes.io/os=windows"],
        )
        .unwrap();
        assert_eq!(run.os_family.as_deref(), Some("WINDOWS_SERVER_2019_CORE"));
        assert!(
            resolved(
                &[("com.openfaas.profile", "x86")],
                &["kubernetes.io/arch=arm64"]
            )
            .is_err()
        );
        assert!(
            resolved(
                &[("com.openfaas.profile", "windows")],
                &["kubernetes.io/os=linux"]
            )
            .is_err()
        );
    }

    #[test]
    fn what_fargate_cannot_do_is_refused() {
        for (profile, constraint) in [
            ("gpu,spot", ""),
            ("", "attribute:ecs.instance-type =~ g5.*"),
        ] {
            let annotations = [("com.openfaas.profile", profile)];
            let constraints: Vec<&str> =
                [constraint].into_iter().filter(|c| !c.is_empty()).collect();
            assert!(
                resolved(
                    &annotations[..usize::from(!profile.is_empty())],
                    &constraints
                )
                .is_err(),
                "{profile} {constraint}"
            );
        }
        assert!(resolved(&[("com.openfaas.profile", "gpu,big-disk")], &[]).is_err());
        let run = resolved(
            &[("com.openfaas.profile", "gpu")],
            &["attribute:ecs.os-type == linux"],
        )
        .unwrap();
        assert_eq!(
            run.placement_constraints,
            [
                "attribute:ecs.instance-type =~ g5.*",
                "attribute:ecs.os-type == linux"
            ]
        );
    }

    #[test]
    fn windows_refuses_what_it_cannot_run() {
        assert!(resolved(&[("com.openfaas.profile", "windows,spot")], &[]).is_err());
        assert!(resolved(&[("com.openfaas.profile", "windows,graviton")], &[]).is_err());
        assert!(resolved(&[("com.openfaas.profile", "windows,big-disk")], &[]).is_err());
        let mut s = spec(&[("com.openfaas.profile", "windows")], &[]);
        s.deployment.read_only_root_filesystem = true;
        assert!(resolve(&s, &profiles(SPOT_GRAVITON), &defaults()).is_err());
        let mut s = spec(&[("com.openfaas.profile", "windows")], &[]);
        s.secrets = vec![crate::model::SecretName::parse("db").unwrap()];
        let e = resolve(&s, &profiles(SPOT_GRAVITON), &defaults()).unwrap_err();
        assert!(e.to_string().contains("secrets"), "{e}");
    }

    #[test]
    fn health_annotations_set_the_start_period() {
        let run = resolved(
            &[
                ("com.openfaas.health.http.path", "/ready"),
                ("com.openfaas.health.http.initialDelay", "40s"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(run.health_path.as_deref(), Some("/ready"));
        assert_eq!(run.health_start_period, 40);
    }

    #[test]
    fn definitions_are_checked_at_start() {
        let ok = profiles(SPOT_GRAVITON);
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
