//! What one function's request comes to under the operator's profiles (a [`Run`]): a pure step,
//! unit tested, taken before any AWS call, so that a request ECS could not honour is a 400 and
//! nothing is made.

use super::placement::{Placement, ServiceSettings};
use super::profiles::{PlacementStrategy, Profile, Profiles, is_windows};
use crate::backend::Error;
use crate::model::FunctionSpec;
use crate::model::scheduling::{Arch, Os};

/// The Windows Server release a `kubernetes.io/os=windows` function runs on, unless a profile
/// names one.
pub const DEFAULT_WINDOWS: &str = "WINDOWS_SERVER_2022_CORE";

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
    use crate::backend::ecs::placement::{LaunchType, StrategyItem};
    use crate::model::FunctionDeployment;
    use crate::model::Namespace;

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
        super::super::profiles::for_tests(json)
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
}
