//! FunctionSpec -> task definition: a pure plan, unit tested (`revisions` registers it).

use aws_sdk_ecs::types::{
    ContainerCondition, ContainerDefinition, ContainerDependency, CpuArchitecture,
    EphemeralStorage, HealthCheck, KeyValuePair, LogConfiguration, LogDriver, MountPoint, OsFamily,
    PortMapping, ResourceRequirement, ResourceType, RuntimePlatform, Secret, Tag,
    TransportProtocol, Volume,
};

use super::run::Run;
use super::tags::{DEPLOYMENT_LABEL, owner_tags, run_tags};
use crate::backend::Error;
use crate::model::shared::{self as names, WATCHDOG_PORT};
use crate::model::{FunctionDeployment, FunctionName, FunctionSpec, Namespace, SecretName};

/// Where functions read their secrets, as in every OpenFaaS provider.
pub const SECRETS_PATH: &str = "/var/openfaas/secrets";
/// The container that writes a task's secrets into a volume before the function starts.
pub const SECRETS_CONTAINER: &str = "openfaas-secrets";
const SECRETS_VOLUME: &str = "openfaas-secrets";

/// What every task definition of this provider shares; from the configuration.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    pub execution_role_arn: String,
    /// The task role of functions that ask for none.
    pub task_role_arn: Option<String>,
    pub log_group: String,
    pub region: String,
    pub default_cpu: u32,
    pub default_memory: u32,
    /// Image of the secrets container (the faas-ecs image, which has `faas-ecs-secrets`).
    pub secrets_image: Option<String>,
}

/// A task definition ready to register.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionPlan {
    pub family: String,
    pub cpu: u32,
    pub memory: u32,
    pub fargate: bool,
    pub execution_role_arn: String,
    pub task_role_arn: Option<String>,
    pub runtime_platform: Option<RuntimePlatform>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub containers: Vec<ContainerDefinition>,
    pub volumes: Vec<Volume>,
    pub tags: Vec<Tag>,
}

/// One task definition family per function; `_` cannot occur in either name, so families never collide.
pub fn family(namespace: &Namespace, name: &FunctionName) -> String {
    format!("{namespace}_{name}")
}

/// Fargate's cpu units and the memory (MiB) each accepts.
fn fargate_memory_options(cpu: u32) -> Vec<u32> {
    match cpu {
        256 => vec![512, 1024, 2048],
        512 => (1..=4).map(|g| g * 1024).collect(),
        1024 => (2..=8).map(|g| g * 1024).collect(),
        2048 => (4..=16).map(|g| g * 1024).collect(),
        4096 => (8..=30).map(|g| g * 1024).collect(),
        8192 => (4..=15).map(|g| g * 4096).collect(),
        16384 => (4..=15).map(|g| g * 8192).collect(),
        _ => vec![],
    }
}

/// The smallest Fargate `(cpu, memory)` pair that holds the request; `None` when none does.
pub fn fargate_size(cpu: u32, memory: u32) -> Option<(u32, u32)> {
    [256, 512, 1024, 2048, 4096, 8192, 16384]
        .into_iter()
        .filter(|&c| c >= cpu)
        .find_map(|c| {
            fargate_memory_options(c)
                .into_iter()
                .find(|&m| m >= memory)
                .map(|m| (c, m))
        })
}

fn mib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024 * 1024)).unwrap_or(u32::MAX)
}

fn cpu_units(millis: u64) -> u32 {
    u32::try_from((millis * 1024).div_ceil(1000)).unwrap_or(u32::MAX)
}

fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

// Docker's smallest memory limit, which ECS enforces per container.
const MIN_CONTAINER_MIB: u32 = 6;
// Hard limit of the secrets container; it only decodes and writes a few files.
const SECRETS_CONTAINER_MIB: u32 = 32;
// Fargate's smallest Windows task: 1 vCPU.
const MIN_WINDOWS_FARGATE_CPU: u32 = 1024;

/// What a function's task needs from the configuration, checked before any AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing<'a> {
    /// Fargate-valid cpu units and memory (MiB) of the task.
    pub cpu: u32,
    pub memory: u32,
    /// The secrets container's image, when the function has secrets.
    pub secrets_image: Option<&'a str>,
}

/// Sizes a function's task; a 400 when no task can hold it, or when it needs secrets and the
/// provider has no secrets image.
pub fn size<'a>(
    spec: &FunctionSpec,
    settings: &'a TaskSettings,
    run: &Run,
) -> Result<Sizing<'a>, Error> {
    let secrets_image = match (spec.secrets.is_empty(), settings.secrets_image.as_deref()) {
        (true, _) => None,
        (false, Some(image)) => Some(image),
        (false, None) => {
            return Err(Error::Invalid(
                "this provider has no FAAS_ECS_SECRETS_IMAGE, so functions cannot use secrets"
                    .into(),
            ));
        }
    };
    // ECS wants the memory the containers reserve to fit in the task: a function that sets its
    // memory gets room for the secrets container beside it; one that does not shares the task's.
    let secrets_mib = if secrets_image.is_some() {
        SECRETS_CONTAINER_MIB
    } else {
        0
    };
    let want_memory = match spec.limits.memory_bytes.or(spec.requests.memory_bytes) {
        Some(bytes) => mib(bytes).max(MIN_CONTAINER_MIB) + secrets_mib,
        None => settings.default_memory.max(MIN_CONTAINER_MIB + secrets_mib),
    };
    let want_cpu = spec
        .limits
        .cpu_millis
        .or(spec.requests.cpu_millis)
        .map(cpu_units)
        .unwrap_or(settings.default_cpu)
        .max(if run.fargate() && run.windows() {
            MIN_WINDOWS_FARGATE_CPU
        } else {
            1
        });
    let (cpu, memory) = if run.fargate() {
        fargate_size(want_cpu, want_memory).ok_or_else(|| {
            Error::Invalid(format!(
                "limits of {want_cpu} cpu units and {want_memory} MiB exceed the largest Fargate task (16 vCPU, 120 GiB)"
            ))
        })?
    } else {
        (want_cpu.max(128), want_memory.max(128))
    };
    Ok(Sizing {
        cpu,
        memory,
        secrets_image,
    })
}

/// Plans the task definition of a function; `secrets` are the ARNs of its secrets, in order.
pub fn plan(
    spec: &FunctionSpec,
    settings: &TaskSettings,
    run: &Run,
    secrets: &[(SecretName, String)],
) -> Result<TaskDefinitionPlan, Error> {
    let Sizing {
        cpu,
        memory,
        secrets_image,
    } = size(spec, settings, run)?;

    let deployment = &spec.deployment;
    let mut volumes = Vec::new();
    let mut mount_points = Vec::new();
    if deployment.read_only_root_filesystem {
        // The watchdog writes its lock file and temporary files under /tmp.
        volumes.push(Volume::builder().name("tmp").build());
        mount_points.push(
            MountPoint::builder()
                .source_volume("tmp")
                .container_path("/tmp")
                .read_only(false)
                .build(),
        );
    }

    let mut containers = Vec::new();
    let mut depends_on = Vec::new();
    if let Some(image) = secrets_image {
        volumes.push(Volume::builder().name(SECRETS_VOLUME).build());
        mount_points.push(
            MountPoint::builder()
                .source_volume(SECRETS_VOLUME)
                .container_path(SECRETS_PATH)
                .read_only(true)
                .build(),
        );
        containers.push(secrets_container(
            image,
            secrets,
            log_configuration(settings, &names::ecs_service(&spec.id()))?,
        )?);
        depends_on.push(
            ContainerDependency::builder()
                .container_name(SECRETS_CONTAINER)
                .condition(ContainerCondition::Success)
                .build()
                .map_err(|e| Error::aws("RegisterTaskDefinition", e))?,
        );
    }

    containers.push(function_container(
        spec,
        settings,
        run,
        depends_on,
        mount_points,
    )?);

    Ok(TaskDefinitionPlan {
        family: family(&spec.namespace, &spec.name),
        cpu,
        memory,
        fargate: run.fargate(),
        execution_role_arn: settings.execution_role_arn.clone(),
        task_role_arn: run.task_role_arn.clone(),
        runtime_platform: runtime_platform(run),
        ephemeral_storage: run
            .ephemeral_storage_gib
            .map(|g| EphemeralStorage::builder().size_in_gib(g).build()),
        containers,
        volumes,
        tags: owner_tags(&spec.namespace, &spec.name)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(run_tags(run))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect(),
    })
}

/// The platform a run asks for; none (ECS's Linux on x86-64) when it asks for nothing.
fn runtime_platform(run: &Run) -> Option<RuntimePlatform> {
    if run.cpu_architecture.is_none() && run.os_family.is_none() {
        return None;
    }
    Some(
        RuntimePlatform::builder()
            .cpu_architecture(CpuArchitecture::from(
                run.cpu_architecture.as_deref().unwrap_or("X86_64"),
            ))
            .operating_system_family(OsFamily::from(run.os_family.as_deref().unwrap_or("LINUX")))
            .build(),
    )
}

/// The function's own container: its image on the watchdog's port, its environment, the
/// deployment as a label, its memory and cpu, and a health check.
fn function_container(
    spec: &FunctionSpec,
    settings: &TaskSettings,
    run: &Run,
    depends_on: Vec<ContainerDependency>,
    mount_points: Vec<MountPoint>,
) -> Result<ContainerDefinition, Error> {
    let deployment = &spec.deployment;
    let label =
        serde_json::to_string(deployment).map_err(|e| Error::aws("RegisterTaskDefinition", e))?;
    let (container_memory, reservation) = container_memory(spec);
    Ok(ContainerDefinition::builder()
        .name(spec.name.as_str())
        .set_depends_on(Some(depends_on).filter(|d| !d.is_empty()))
        .image(&deployment.image)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(i32::from(WATCHDOG_PORT))
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .set_environment(Some(environment(deployment)))
        .docker_labels(DEPLOYMENT_LABEL, label)
        .readonly_root_filesystem(deployment.read_only_root_filesystem)
        .set_memory(container_memory.map(to_i32))
        .set_memory_reservation(reservation.map(to_i32))
        .set_cpu(
            spec.requests
                .cpu_millis
                .or(spec.limits.cpu_millis)
                .map(|m| to_i32(cpu_units(m))),
        )
        .set_mount_points(Some(mount_points))
        .health_check(health_check(run)?)
        .set_resource_requirements(
            run.gpu
                .map(|n| {
                    ResourceRequirement::builder()
                        .r#type(ResourceType::Gpu)
                        .value(n.to_string())
                        .build()
                        .map(|r| vec![r])
                })
                .transpose()
                .map_err(|e| Error::aws("RegisterTaskDefinition", e))?,
        )
        .log_configuration(log_configuration(
            settings,
            &names::ecs_service(&spec.id()),
        )?)
        .build())
}

/// The function's environment variables, then `fprocess` from `envProcess`, which wins.
fn environment(deployment: &FunctionDeployment) -> Vec<KeyValuePair> {
    let mut environment: Vec<KeyValuePair> = deployment
        .env_vars
        .iter()
        .flatten()
        .filter(|(k, _)| deployment.env_process.is_none() || k.as_str() != "fprocess")
        .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
        .collect();
    if let Some(fprocess) = &deployment.env_process {
        environment.push(
            KeyValuePair::builder()
                .name("fprocess")
                .value(fprocess)
                .build(),
        );
    }
    environment
}

/// The container's memory limit and reservation (MiB), from the limits and requests.
fn container_memory(spec: &FunctionSpec) -> (Option<u32>, Option<u32>) {
    let limit = spec
        .limits
        .memory_bytes
        .map(|b| mib(b).max(MIN_CONTAINER_MIB));
    let reservation = spec.requests.memory_bytes.map(|b| {
        let mib = mib(b).max(MIN_CONTAINER_MIB);
        limit.map_or(mib, |limit| mib.min(limit))
    });
    (limit, reservation)
}

/// Both watchdogs create `.lock` in the temporary directory once they accept requests; with
/// `com.openfaas.health.http.path` the check asks that path instead (with wget or curl, which the
/// image must have; PowerShell on Windows). The path was checked to hold nothing a shell reads.
fn health_check(run: &Run) -> Result<HealthCheck, Error> {
    let url = run
        .health_path
        .as_ref()
        .map(|path| format!("http://127.0.0.1:{WATCHDOG_PORT}{path}"));
    let command: Vec<String> = match (run.windows(), url) {
        (false, None) => vec!["CMD-SHELL".into(), "[ -e /tmp/.lock ] || exit 1".into()],
        (false, Some(url)) => vec![
            "CMD-SHELL".into(),
            format!("wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url} || exit 1"),
        ],
        (true, None) => vec![
            "CMD".into(),
            "powershell".into(),
            "-Command".into(),
            "if (Test-Path (Join-Path ([IO.Path]::GetTempPath()) '.lock')) { exit 0 } else { exit 1 }".into(),
        ],
        (true, Some(url)) => vec![
            "CMD".into(),
            "powershell".into(),
            "-Command".into(),
            format!("try {{ Invoke-WebRequest -UseBasicParsing '{url}' | Out-Null; exit 0 }} catch {{ exit 1 }}"),
        ],
    };
    HealthCheck::builder()
        .set_command(Some(command))
        .interval(5)
        .timeout(2)
        .retries(3)
        .start_period(run.health_start_period)
        .build()
        .map_err(|e| Error::aws("RegisterTaskDefinition", e))
}

/// Container output to CloudWatch Logs, in streams `<prefix>/<container>/<task id>`; the prefix
/// is the function's ECS service name, so that namespaces do not share streams.
fn log_configuration(settings: &TaskSettings, prefix: &str) -> Result<LogConfiguration, Error> {
    LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", &settings.log_group)
        .options("awslogs-region", &settings.region)
        .options("awslogs-stream-prefix", prefix)
        .build()
        .map_err(|e| Error::aws("RegisterTaskDefinition", e))
}

/// The container that runs before the function: ECS injects each secret as an environment
/// variable, `faas-ecs-secrets` writes them as files into the task volume the function mounts
/// read-only. Only ARNs appear here, never values.
fn secrets_container(
    image: &str,
    secrets: &[(SecretName, String)],
    logs: LogConfiguration,
) -> Result<ContainerDefinition, Error> {
    let names: Vec<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    let injected = secrets
        .iter()
        .enumerate()
        .map(|(i, (_, arn))| {
            Secret::builder()
                .name(format!("OPENFAAS_SECRET_{i}"))
                .value_from(arn)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::aws("RegisterTaskDefinition", e))?;
    Ok(ContainerDefinition::builder()
        .name(SECRETS_CONTAINER)
        .image(image)
        .essential(false)
        .entry_point("/usr/local/bin/faas-ecs-secrets")
        .command(SECRETS_PATH)
        .environment(
            KeyValuePair::builder()
                .name("OPENFAAS_SECRETS")
                .value(names.join(","))
                .build(),
        )
        .set_secrets(Some(injected))
        .mount_points(
            MountPoint::builder()
                .source_volume(SECRETS_VOLUME)
                .container_path(SECRETS_PATH)
                .read_only(false)
                .build(),
        )
        .memory(to_i32(SECRETS_CONTAINER_MIB))
        .log_configuration(logs)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FunctionDeployment, ResourceList};

    fn settings() -> TaskSettings {
        TaskSettings {
            execution_role_arn: "arn:aws:iam::1:role/exec".into(),
            task_role_arn: None,
            log_group: "/openfaas/functions".into(),
            region: "eu-west-1".into(),
            default_cpu: 256,
            default_memory: 512,
            secrets_image: Some("faas-ecs:test".into()),
        }
    }

    fn fargate() -> Run {
        Run::defaults(
            &super::super::placement::ServiceSettings {
                cluster: "openfaas".into(),
                subnets: vec!["subnet-1".into()],
                security_groups: vec![],
                assign_public_ip: false,
                placement: super::super::placement::Placement::LaunchType(
                    super::super::placement::LaunchType::Fargate,
                ),
                srv: false,
            },
            None,
        )
    }

    fn spec(d: FunctionDeployment) -> FunctionSpec {
        FunctionSpec::new(d, Namespace::default_namespace()).unwrap()
    }

    fn echo() -> FunctionDeployment {
        FunctionDeployment {
            service: "echo".into(),
            image: "ghcr.io/openfaas/alpine:latest".into(),
            env_process: Some("cat".into()),
            ..Default::default()
        }
    }

    #[test]
    fn fargate_sizes_round_up_to_the_smallest_accepted_pair() {
        assert_eq!(fargate_size(1, 6), Some((256, 512)));
        assert_eq!(fargate_size(256, 513), Some((256, 1024)));
        assert_eq!(fargate_size(256, 3000), Some((512, 3072)));
        assert_eq!(fargate_size(1025, 1024), Some((2048, 4096)));
        assert_eq!(fargate_size(8192, 20000), Some((8192, 20480)));
        assert_eq!(fargate_size(16384, 122_881), None);
        assert_eq!(fargate_size(20000, 512), None);
    }

    #[test]
    fn a_tiny_limit_gets_the_smallest_task_and_a_tight_container() {
        let mut d = echo();
        d.limits = Some(ResourceList {
            memory: Some("5Mi".into()),
            cpu: Some("100m".into()),
        });
        let p = plan(&spec(d), &settings(), &fargate(), &[]).unwrap();
        assert_eq!((p.cpu, p.memory), (256, 512));
        assert_eq!(p.containers[0].memory(), Some(6));
        assert_eq!(p.containers[0].cpu(), 103);
    }

    #[test]
    fn defaults_apply_without_limits() {
        let p = plan(&spec(echo()), &settings(), &fargate(), &[]).unwrap();
        assert_eq!((p.cpu, p.memory), (256, 512));
        assert_eq!(
            p.containers[0].memory(),
            None,
            "the container shares the task's memory"
        );
        assert_eq!(p.family, "openfaas-fn_echo");
    }

    #[test]
    fn huge_limits_are_refused() {
        let mut d = echo();
        d.limits = Some(ResourceList {
            memory: Some("500Gi".into()),
            cpu: None,
        });
        assert!(matches!(
            plan(&spec(d), &settings(), &fargate(), &[]),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn env_process_becomes_fprocess_after_the_env_vars() {
        let mut d = echo();
        d.env_vars = Some(
            [
                ("fprocess".to_string(), "ignored".to_string()),
                ("A".into(), "1".into()),
            ]
            .into(),
        );
        let p = plan(&spec(d), &settings(), &fargate(), &[]).unwrap();
        let env: Vec<_> = p.containers[0]
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
            .collect();
        assert_eq!(env, vec![("A", "1"), ("fprocess", "cat")]);
    }

    #[test]
    fn the_deployment_is_recorded_whole_in_a_docker_label() {
        let mut d = echo();
        d.annotations = Some([("topic".to_string(), "{\n  \"a\": [1, 2]\n}".repeat(20))].into());
        let s = spec(d);
        let p = plan(&s, &settings(), &fargate(), &[]).unwrap();
        let json = &p.containers[0].docker_labels().unwrap()[DEPLOYMENT_LABEL];
        let back: FunctionDeployment = serde_json::from_str(json).unwrap();
        assert_eq!(back, s.deployment);
    }

    #[test]
    fn read_only_root_gets_a_writable_tmp_and_the_rest_is_wired() {
        let mut d = echo();
        d.read_only_root_filesystem = true;
        let p = plan(&spec(d), &settings(), &fargate(), &[]).unwrap();
        let c = &p.containers[0];
        assert_eq!(c.readonly_root_filesystem(), Some(true));
        assert_eq!(c.mount_points()[0].container_path(), Some("/tmp"));
        assert_eq!(p.volumes[0].name(), Some("tmp"));
        assert_eq!(
            c.port_mappings()[0].container_port(),
            Some(i32::from(WATCHDOG_PORT))
        );
        let log = c.log_configuration().unwrap().options().unwrap();
        assert_eq!(log["awslogs-stream-prefix"], "echo");
        assert_eq!(log["awslogs-group"], "/openfaas/functions");
        assert!(
            c.health_check()
                .unwrap()
                .command()
                .join(" ")
                .contains("/tmp/.lock")
        );
    }

    #[test]
    fn secrets_come_from_a_container_that_runs_first_and_are_mounted_read_only() {
        let mut d = echo();
        d.secrets = Some(vec!["api-key".into(), "db".into()]);
        let s = spec(d);
        let arns = vec![
            (
                SecretName::parse("api-key").unwrap(),
                "arn:aws:secretsmanager:r:1:secret:openfaas/openfaas-fn/api-key-AbCdEf".to_string(),
            ),
            (
                SecretName::parse("db").unwrap(),
                "arn:aws:secretsmanager:r:1:secret:openfaas/openfaas-fn/db-AbCdEf".to_string(),
            ),
        ];
        let p = plan(&s, &settings(), &fargate(), &arns).unwrap();
        let (init, function) = (&p.containers[0], &p.containers[1]);
        assert_eq!(init.name(), Some(SECRETS_CONTAINER));
        assert_eq!(init.essential(), Some(false));
        assert_eq!(init.image(), Some("faas-ecs:test"));
        let injected: Vec<_> = init
            .secrets()
            .iter()
            .map(|s| (s.name(), s.value_from()))
            .collect();
        assert_eq!(
            injected,
            [
                ("OPENFAAS_SECRET_0", arns[0].1.as_str()),
                ("OPENFAAS_SECRET_1", arns[1].1.as_str())
            ]
        );
        assert_eq!(init.environment()[0].value(), Some("api-key,db"));
        let dependency = &function.depends_on()[0];
        assert_eq!(dependency.container_name(), SECRETS_CONTAINER);
        assert_eq!(dependency.condition(), &ContainerCondition::Success);
        let mount = function
            .mount_points()
            .iter()
            .find(|m| m.container_path() == Some(SECRETS_PATH))
            .unwrap();
        assert_eq!(mount.read_only(), Some(true));
        assert!(
            function.secrets().is_empty(),
            "the function itself gets no secret as an environment variable"
        );
    }

    #[test]
    fn the_containers_memory_fits_in_the_task() {
        let arns = [(SecretName::parse("db").unwrap(), "arn".to_string())];
        for limit in [None, Some("5Mi"), Some("512Mi"), Some("1Gi")] {
            let mut d = echo();
            d.secrets = Some(vec!["db".into()]);
            d.limits = limit.map(|m| ResourceList {
                memory: Some(m.into()),
                cpu: None,
            });
            let p = plan(&spec(d), &settings(), &fargate(), &arns).unwrap();
            let reserved: i32 = p
                .containers
                .iter()
                .map(|c| c.memory_reservation().or(c.memory()).unwrap_or(0))
                .sum();
            assert!(
                reserved as u32 <= p.memory,
                "{limit:?}: {reserved} MiB reserved in a {} MiB task",
                p.memory
            );
            assert!(
                p.containers
                    .iter()
                    .all(|c| c.memory().unwrap_or(0) as u32 <= p.memory),
                "{limit:?}"
            );
        }
    }

    #[test]
    fn secrets_need_the_secrets_image() {
        let mut d = echo();
        d.secrets = Some(vec!["db".into()]);
        let mut no_image = settings();
        no_image.secrets_image = None;
        let arns = [(SecretName::parse("db").unwrap(), "arn".to_string())];
        assert!(matches!(
            plan(&spec(d), &no_image, &fargate(), &arns),
            Err(Error::Invalid(_))
        ));
    }

    fn run_with(f: impl FnOnce(&mut Run)) -> Run {
        let mut run = fargate();
        f(&mut run);
        run
    }

    #[test]
    fn the_run_sets_platform_storage_role_and_tags() {
        let run = run_with(|r| {
            r.cpu_architecture = Some("ARM64".into());
            r.ephemeral_storage_gib = Some(50);
            r.task_role_arn = Some("arn:aws:iam::1:role/reader".into());
            r.profiles = vec!["spot".into(), "graviton".into()];
            r.service_account = Some("reader".into());
        });
        let p = plan(&spec(echo()), &settings(), &run, &[]).unwrap();
        let platform = p.runtime_platform.unwrap();
        assert_eq!(platform.cpu_architecture(), Some(&CpuArchitecture::Arm64));
        assert_eq!(platform.operating_system_family(), Some(&OsFamily::Linux));
        assert_eq!(p.ephemeral_storage.unwrap().size_in_gib(), 50);
        assert_eq!(
            p.task_role_arn.as_deref(),
            Some("arn:aws:iam::1:role/reader")
        );
        let tags: Vec<_> = p
            .tags
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        assert!(tags.contains(&("openfaas:profile:spot", "1")), "{tags:?}");
        assert!(
            tags.contains(&("openfaas:profile:graviton", "2")),
            "{tags:?}"
        );
        assert!(
            tags.contains(&("openfaas:serviceaccount", "reader")),
            "{tags:?}"
        );
        let plain = plan(&spec(echo()), &settings(), &fargate(), &[]).unwrap();
        assert!(plain.runtime_platform.is_none() && plain.ephemeral_storage.is_none());
    }

    #[test]
    fn a_gpu_is_asked_for_on_the_function_container() {
        let run = run_with(|r| {
            r.placement = super::super::placement::Placement::LaunchType(
                super::super::placement::LaunchType::Ec2,
            );
            r.gpu = Some(2);
        });
        let p = plan(&spec(echo()), &settings(), &run, &[]).unwrap();
        assert!(!p.fargate);
        let gpu = &p.containers[0].resource_requirements()[0];
        assert_eq!((gpu.r#type(), gpu.value()), (&ResourceType::Gpu, "2"));
    }

    #[test]
    fn the_health_check_follows_the_annotations_and_the_os() {
        let command = |run: &Run| {
            let p = plan(&spec(echo()), &settings(), run, &[]).unwrap();
            let check = p.containers[0].health_check().unwrap().clone();
            (check.command().join(" "), check.start_period())
        };
        let (linux, period) = command(&fargate());
        assert!(linux.contains("/tmp/.lock"), "{linux}");
        assert_eq!(period, Some(5));
        let (path, period) = command(&run_with(|r| {
            r.health_path = Some("/ready".into());
            r.health_start_period = 30;
        }));
        assert!(
            path.contains("wget -q -O /dev/null http://127.0.0.1:8080/ready"),
            "{path}"
        );
        assert_eq!(period, Some(30));
        let (windows, _) = command(&run_with(|r| {
            r.os_family = Some("WINDOWS_SERVER_2022_CORE".into())
        }));
        assert!(windows.starts_with("CMD powershell"), "{windows}");
        assert!(
            windows.contains("GetTempPath") && windows.contains(".lock"),
            "{windows}"
        );
    }

    #[test]
    fn a_windows_task_on_fargate_gets_at_least_one_vcpu() {
        let run = run_with(|r| r.os_family = Some("WINDOWS_SERVER_2022_CORE".into()));
        let p = plan(&spec(echo()), &settings(), &run, &[]).unwrap();
        assert_eq!((p.cpu, p.memory), (1024, 2048));
    }
}
