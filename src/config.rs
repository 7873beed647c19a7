//! Configuration, read once at start from flags or environment variables (README lists each).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::backend::ecs::EcsSettings;
use crate::backend::ecs::service::{Placement, ServiceSettings};
use crate::backend::ecs::task_definition::TaskSettings;
use crate::model::{DEFAULT_NAMESPACE, Namespace, RESERVED_NAMESPACES};

/// A read size as `io::set_read_size` takes it, up to 1 MiB.
fn parse_read_size(text: &str) -> Result<u32, String> {
    const MAX: usize = 1 << 20;
    let size: usize = text.parse().map_err(|e| format!("{e}"))?;
    if size.is_power_of_two() && (crate::io::MIN_READ_SIZE..=MAX).contains(&size) {
        Ok(size as u32)
    } else {
        Err(format!(
            "a power of two from {} to {MAX}",
            crate::io::MIN_READ_SIZE
        ))
    }
}

/// Parses `60`, `60s`, `1m30s` or `500ms`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("{e} (expected seconds or a duration like 60s)"))
}

/// A comma-separated list; blanks are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommaList(pub Vec<String>);

impl CommaList {
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_namespace(s: &str) -> Result<Namespace, String> {
    let namespace = Namespace::parse(s.trim()).map_err(|e| e.to_string())?;
    if RESERVED_NAMESPACES.contains(&namespace.as_str()) {
        return Err(format!(
            "namespace {namespace} is reserved for OpenFaaS itself"
        ));
    }
    Ok(namespace)
}

fn parse_list(s: &str) -> Result<CommaList, String> {
    Ok(CommaList(
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    ))
}

/// How invocations find a function's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResolverKind {
    /// Cloud Map DNS.
    Dns,
    /// The Cloud Map API (DiscoverInstances).
    Cloudmap,
    /// A fixed table (FAAS_ECS_ENDPOINTS).
    Fixed,
}

/// The DNS records of a function's Cloud Map service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DnsRecords {
    #[value(name = "A")]
    A,
    #[value(name = "SRV")]
    Srv,
}

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

impl LaunchType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fargate => "FARGATE",
            Self::Ec2 => "EC2",
            Self::External => "EXTERNAL",
        }
    }
}

/// `(capacity provider, weight)` pairs, from `FARGATE_SPOT:3,FARGATE:1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapacityProviders(pub Vec<(String, i32)>);

fn parse_capacity_providers(s: &str) -> Result<CapacityProviders, String> {
    parse_list(s)?
        .0
        .into_iter()
        .map(|p| match p.split_once(':') {
            None => Ok((p, 1)),
            Some((name, weight)) => weight
                .parse::<i32>()
                .ok()
                .filter(|w| (0..=1000).contains(w))
                .map(|w| (name.to_string(), w))
                .ok_or_else(|| format!("bad weight in {p:?} (0 to 1000)")),
        })
        .collect::<Result<_, _>>()
        .map(CapacityProviders)
}

/// Every setting of the provider. Flags mirror the environment variables, whose names are given as
/// value names so that a parse error names the variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "faas-ecs",
    version,
    about = "OpenFaaS provider for AWS ECS and Cloud Map"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "bind_address",
        value_name = "bind_address",
        default_value = "0.0.0.0"
    )]
    pub bind_address: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "port", value_name = "port", default_value_t = 8081)]
    pub port: u16,

    /// Longest time to read a request, seconds or a duration such as 60s.
    #[arg(long, env = "read_timeout", value_name = "read_timeout", default_value = "60s", value_parser = parse_duration)]
    pub read_timeout: Duration,

    /// Longest time a function may take to answer.
    #[arg(long, env = "write_timeout", value_name = "write_timeout", default_value = "60s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Require HTTP basic auth on /system/* (credentials from secret_mount_path).
    #[arg(long, env = "basic_auth", value_name = "basic_auth", default_value_t = false, action = clap::ArgAction::Set)]
    pub basic_auth: bool,

    /// Folder holding basic-auth-user and basic-auth-password.
    #[arg(
        long,
        env = "secret_mount_path",
        value_name = "secret_mount_path",
        default_value = "/run/secrets/"
    )]
    pub secret_mount_path: PathBuf,

    /// ECS cluster that runs the functions.
    #[arg(
        long,
        env = "FAAS_ECS_CLUSTER",
        value_name = "FAAS_ECS_CLUSTER",
        default_value = "openfaas"
    )]
    pub cluster: String,

    /// Subnets for function tasks, comma separated (awsvpc).
    #[arg(long, env = "FAAS_ECS_SUBNETS", value_name = "FAAS_ECS_SUBNETS", value_parser = parse_list, default_value = "")]
    pub subnets: CommaList,

    /// Security groups for function tasks, comma separated.
    #[arg(long, env = "FAAS_ECS_SECURITY_GROUPS", value_name = "FAAS_ECS_SECURITY_GROUPS", value_parser = parse_list, default_value = "")]
    pub security_groups: CommaList,

    /// Give function tasks a public IP (only for public subnets without a NAT gateway).
    #[arg(long, env = "FAAS_ECS_ASSIGN_PUBLIC_IP", value_name = "FAAS_ECS_ASSIGN_PUBLIC_IP", default_value_t = false, action = clap::ArgAction::Set)]
    pub assign_public_ip: bool,

    /// Cloud Map private DNS namespace id (ns-...) that function services are registered in.
    #[arg(
        long,
        env = "FAAS_ECS_CLOUDMAP_NAMESPACE_ID",
        value_name = "FAAS_ECS_CLOUDMAP_NAMESPACE_ID"
    )]
    pub cloudmap_namespace_id: String,

    /// The OpenFaaS namespace of requests that name none; it always exists.
    #[arg(long, env = "FAAS_ECS_DEFAULT_NAMESPACE", value_name = "FAAS_ECS_DEFAULT_NAMESPACE", default_value = DEFAULT_NAMESPACE, value_parser = parse_namespace)]
    pub default_namespace: Namespace,

    /// Whether the API may create, update and delete namespaces (`false`: those that exist, made
    /// by Terraform, are used, and changes are refused with 403).
    #[arg(long, env = "FAAS_ECS_NAMESPACE_MANAGEMENT", value_name = "FAAS_ECS_NAMESPACE_MANAGEMENT", default_value_t = true, action = clap::ArgAction::Set)]
    pub namespace_management: bool,

    /// TTL in seconds of the function's Cloud Map DNS records.
    #[arg(long, env = "FAAS_ECS_DNS_TTL", value_name = "FAAS_ECS_DNS_TTL", default_value_t = 5, value_parser = clap::value_parser!(i64).range(0..=2_147_483_647))]
    pub dns_ttl: i64,

    /// How invocations find a function's tasks: `dns` (Cloud Map DNS), `cloudmap` (the Cloud Map
    /// API, for HTTP namespaces or a provider outside the VPC) or `fixed` (FAAS_ECS_ENDPOINTS).
    #[arg(long, env = "FAAS_ECS_RESOLVER", value_name = "FAAS_ECS_RESOLVER", value_enum, default_value_t = ResolverKind::Dns)]
    pub resolver: ResolverKind,

    /// DNS server for the `dns` resolver, e.g. 127.0.0.1:5353 (default: the system's; in a VPC, Route 53).
    #[arg(long, env = "FAAS_ECS_DNS_SERVER", value_name = "FAAS_ECS_DNS_SERVER")]
    pub dns_server: Option<std::net::SocketAddr>,

    /// DNS records of function services: `A` (tasks on port 8080, awsvpc) or `SRV` (A and SRV
    /// records, for tasks that share a host or use another port).
    #[arg(long, env = "FAAS_ECS_DNS_RECORDS", value_name = "FAAS_ECS_DNS_RECORDS", value_enum, default_value_t = DnsRecords::A)]
    pub dns_records: DnsRecords,

    /// How often the `cloudmap` resolver refreshes the instances of the functions it was asked for.
    #[arg(long, env = "FAAS_ECS_DISCOVERY_INTERVAL", value_name = "FAAS_ECS_DISCOVERY_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub discovery_interval: Duration,

    /// For the `fixed` resolver: `name=host:port|host:port,other=host:port`.
    #[arg(
        long,
        env = "FAAS_ECS_ENDPOINTS",
        value_name = "FAAS_ECS_ENDPOINTS",
        default_value = ""
    )]
    pub endpoints: String,

    /// Role ECS uses to pull images, write logs and read secrets for function tasks.
    #[arg(
        long,
        env = "FAAS_ECS_EXECUTION_ROLE_ARN",
        value_name = "FAAS_ECS_EXECUTION_ROLE_ARN"
    )]
    pub execution_role_arn: String,

    /// Role function code runs as (optional).
    #[arg(
        long,
        env = "FAAS_ECS_TASK_ROLE_ARN",
        value_name = "FAAS_ECS_TASK_ROLE_ARN"
    )]
    pub task_role_arn: Option<String>,

    /// CloudWatch Logs group for function output.
    #[arg(
        long,
        env = "FAAS_ECS_LOG_GROUP",
        value_name = "FAAS_ECS_LOG_GROUP",
        default_value = "/openfaas/functions"
    )]
    pub log_group: String,

    /// Launch type of function tasks: FARGATE, EC2 or EXTERNAL. Ignored when capacity providers are set.
    #[arg(long, env = "FAAS_ECS_LAUNCH_TYPE", value_name = "FAAS_ECS_LAUNCH_TYPE", value_enum, default_value_t = LaunchType::Fargate)]
    pub launch_type: LaunchType,

    /// Capacity provider strategy, e.g. `FARGATE_SPOT:3,FARGATE:1` (name:weight, comma separated).
    #[arg(long, env = "FAAS_ECS_CAPACITY_PROVIDERS", value_name = "FAAS_ECS_CAPACITY_PROVIDERS", value_parser = parse_capacity_providers, default_value = "")]
    pub capacity_providers: CapacityProviders,

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
        default_value = "openfaas/"
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
    #[arg(long, env = "FAAS_ECS_LOG_POLL_INTERVAL", value_name = "FAAS_ECS_LOG_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub log_poll_interval: Duration,

    /// Threads serving requests, each with its own listener and connection pool: 0 for one per CPU.
    #[arg(
        long,
        env = "FAAS_ECS_WORKER_THREADS",
        value_name = "FAAS_ECS_WORKER_THREADS",
        default_value_t = 0
    )]
    pub worker_threads: usize,

    /// How long a serving thread keeps polling for I/O after a request arrives before it sleeps
    /// (yielding its CPU to anything else runnable meanwhile); 0 to sleep at once.
    #[arg(long, env = "FAAS_ECS_BUSY_POLL", value_name = "FAAS_ECS_BUSY_POLL", default_value = "200us", value_parser = parse_duration)]
    pub busy_poll: Duration,

    /// Connections served at once, across every serving thread; past it, a quarter as many more
    /// are served one hurried request each, and beyond those new connections wait in the kernel's
    /// queue. Each invocation holds two file descriptors (the client's and the function's).
    #[arg(long, env = "FAAS_ECS_MAX_CONNECTIONS", value_name = "FAAS_ECS_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Largest request line plus headers, in bytes (431 beyond).
    #[arg(long, env = "FAAS_ECS_MAX_REQUEST_HEAD", value_name = "FAAS_ECS_MAX_REQUEST_HEAD", default_value_t = 16384, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_request_head: u32,

    /// Largest single read of a connection, client's or function's, in bytes: a power of two
    /// from 8 KiB to 1 MiB. What each connection holds of a body in flight is about that much per
    /// side; past 64 open connections reads take half (at least 8 KiB). Larger moves large bodies
    /// with less CPU, for more memory.
    #[arg(long, env = "FAAS_ECS_READ_SIZE", value_name = "FAAS_ECS_READ_SIZE", default_value_t = 16384, value_parser = parse_read_size)]
    pub read_size: u32,

    /// How often the function cache is refreshed from ECS.
    #[arg(long, env = "FAAS_ECS_REFRESH_INTERVAL", value_name = "FAAS_ECS_REFRESH_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub refresh_interval: Duration,

    /// Attempts per AWS call, throttling and transient errors included (exponential backoff).
    #[arg(
        long,
        env = "FAAS_ECS_AWS_MAX_ATTEMPTS",
        value_name = "FAAS_ECS_AWS_MAX_ATTEMPTS",
        default_value_t = 5
    )]
    pub aws_max_attempts: u32,

    /// Longest time one AWS call may take, retries included; then the request is answered 503.
    #[arg(long, env = "FAAS_ECS_AWS_TIMEOUT", value_name = "FAAS_ECS_AWS_TIMEOUT", default_value = "8s", value_parser = parse_duration)]
    pub aws_timeout: Duration,

    /// Longest time one attempt of an AWS call may take before it is retried.
    #[arg(long, env = "FAAS_ECS_AWS_ATTEMPT_TIMEOUT", value_name = "FAAS_ECS_AWS_ATTEMPT_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub aws_attempt_timeout: Duration,

    /// Scale functions by load, and those labelled `com.openfaas.scale.zero=true` to zero when idle.
    #[arg(long, env = "FAAS_ECS_AUTOSCALING", value_name = "FAAS_ECS_AUTOSCALING", default_value_t = true, action = clap::ArgAction::Set)]
    pub autoscaling: bool,

    /// Longest time an invocation of a function with no ready task waits for one (scaling it
    /// from zero if need be) before a 504; 0 answers 503 at once.
    #[arg(long, env = "FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", value_name = "FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", default_value = "50s", value_parser = parse_duration)]
    pub scale_from_zero_timeout: Duration,

    /// Idle time after which a function labelled `com.openfaas.scale.zero=true` goes to zero,
    /// unless its `com.openfaas.scale.zero-duration` label says otherwise.
    #[arg(long, env = "FAAS_ECS_SCALE_ZERO_DURATION", value_name = "FAAS_ECS_SCALE_ZERO_DURATION", default_value = "15m", value_parser = parse_duration)]
    pub scale_zero_duration: Duration,

    /// Target per replica when a function has no `com.openfaas.scale.target` label (requests
    /// per second, or in flight with `com.openfaas.scale.type=capacity`).
    #[arg(
        long,
        env = "FAAS_ECS_SCALE_TARGET",
        value_name = "FAAS_ECS_SCALE_TARGET",
        default_value_t = 5.0
    )]
    pub scale_target: f64,

    /// How often the scaler samples the load and decides.
    #[arg(long, env = "FAAS_ECS_SCALE_INTERVAL", value_name = "FAAS_ECS_SCALE_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub scale_interval: Duration,

    /// Span over which the scaler averages requests per second and in flight.
    #[arg(long, env = "FAAS_ECS_SCALE_WINDOW", value_name = "FAAS_ECS_SCALE_WINDOW", default_value = "10s", value_parser = parse_duration)]
    pub scale_window: Duration,

    /// How long the load must call for fewer replicas before the scaler removes any.
    #[arg(long, env = "FAAS_ECS_SCALE_DOWN_DELAY", value_name = "FAAS_ECS_SCALE_DOWN_DELAY", default_value = "30s", value_parser = parse_duration)]
    pub scale_down_delay: Duration,

    /// Largest desired count the provider sets or accepts, on every path.
    #[arg(long, env = "FAAS_ECS_MAX_REPLICAS", value_name = "FAAS_ECS_MAX_REPLICAS", default_value_t = crate::scaling::DEFAULT_MAX_REPLICAS, value_parser = clap::value_parser!(u64).range(1..=2_147_483_647))]
    pub max_replicas: u64,

    /// Base URLs of every provider replica behind the same gateway, comma separated (e.g.
    /// `http://10.0.1.5:8081,http://10.0.2.7:8081`), so that they scale by their summed load.
    #[arg(long, env = "FAAS_ECS_PEERS", value_name = "FAAS_ECS_PEERS", value_parser = parse_list, default_value = "")]
    pub peers: CommaList,
}

/// A configuration error; names the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

impl Config {
    /// Checks what clap cannot: required lists, formats, combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cluster.trim().is_empty() {
            return Err(invalid("FAAS_ECS_CLUSTER", "must not be empty"));
        }
        if self.subnets.is_empty() {
            return Err(invalid(
                "FAAS_ECS_SUBNETS",
                "at least one subnet id is required",
            ));
        }
        if let Some(bad) = self.subnets.iter().find(|s| !s.starts_with("subnet-")) {
            return Err(invalid(
                "FAAS_ECS_SUBNETS",
                format!("{bad:?} is not a subnet id (subnet-...)"),
            ));
        }
        if let Some(bad) = self.security_groups.iter().find(|s| !s.starts_with("sg-")) {
            return Err(invalid(
                "FAAS_ECS_SECURITY_GROUPS",
                format!("{bad:?} is not a security group id (sg-...)"),
            ));
        }
        if !self.cloudmap_namespace_id.starts_with("ns-") {
            return Err(invalid(
                "FAAS_ECS_CLOUDMAP_NAMESPACE_ID",
                "must be a Cloud Map namespace id (ns-...)",
            ));
        }
        if !self.execution_role_arn.starts_with("arn:") {
            return Err(invalid(
                "FAAS_ECS_EXECUTION_ROLE_ARN",
                "must be an IAM role ARN",
            ));
        }
        if let Some(arn) = &self.task_role_arn
            && !arn.is_empty()
            && !arn.starts_with("arn:")
        {
            return Err(invalid("FAAS_ECS_TASK_ROLE_ARN", "must be an IAM role ARN"));
        }
        if self.log_group.trim().is_empty() {
            return Err(invalid("FAAS_ECS_LOG_GROUP", "must not be empty"));
        }
        if self.resolver == ResolverKind::Fixed {
            crate::resolver::fixed::FixedResolver::parse(&self.endpoints)
                .map_err(|e| invalid("FAAS_ECS_ENDPOINTS", e.to_string()))?;
        }
        if self.discovery_interval.is_zero() {
            return Err(invalid(
                "FAAS_ECS_DISCOVERY_INTERVAL",
                "must be more than zero",
            ));
        }
        let prefix_ok = self
            .secret_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
        if self.secret_prefix.is_empty() || !prefix_ok {
            return Err(invalid(
                "FAAS_ECS_SECRET_PREFIX",
                "must be non-empty, of letters, digits and /_+=.@-",
            ));
        }
        if self.log_poll_interval < Duration::from_millis(200) {
            return Err(invalid(
                "FAAS_ECS_LOG_POLL_INTERVAL",
                "must be at least 200ms",
            ));
        }
        if self.refresh_interval.is_zero() {
            return Err(invalid(
                "FAAS_ECS_REFRESH_INTERVAL",
                "must be more than zero",
            ));
        }
        if self.aws_max_attempts == 0 {
            return Err(invalid("FAAS_ECS_AWS_MAX_ATTEMPTS", "must be at least 1"));
        }
        if self.aws_timeout.is_zero() || self.aws_attempt_timeout.is_zero() {
            return Err(invalid(
                "FAAS_ECS_AWS_TIMEOUT",
                "AWS timeouts must be more than zero",
            ));
        }
        if !(self.scale_target.is_finite() && self.scale_target > 0.0) {
            return Err(invalid("FAAS_ECS_SCALE_TARGET", "must be a number above 0"));
        }
        if self.scale_interval < Duration::from_millis(100) {
            return Err(invalid("FAAS_ECS_SCALE_INTERVAL", "must be at least 100ms"));
        }
        if self.scale_window < self.scale_interval {
            return Err(invalid(
                "FAAS_ECS_SCALE_WINDOW",
                "must be at least FAAS_ECS_SCALE_INTERVAL",
            ));
        }
        if self.scale_zero_duration.is_zero() {
            return Err(invalid(
                "FAAS_ECS_SCALE_ZERO_DURATION",
                "must be more than zero",
            ));
        }
        self.peer_urls()?;
        Ok(())
    }

    /// `FAAS_ECS_PEERS` as URLs.
    pub fn peer_urls(&self) -> Result<Vec<axum::http::Uri>, ConfigError> {
        self.peers
            .iter()
            .map(|p| {
                p.parse::<axum::http::Uri>()
                    .ok()
                    .filter(|u| u.scheme_str() == Some("http") && u.host().is_some())
                    .ok_or_else(|| {
                        invalid("FAAS_ECS_PEERS", format!("{p:?} is not an http:// URL"))
                    })
            })
            .collect()
    }

    /// Timeouts of every AWS call.
    pub fn aws_timeouts(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(self.aws_timeout)
            .operation_attempt_timeout(self.aws_attempt_timeout)
            .build()
    }

    /// The scaler's settings.
    pub fn scaling(&self) -> crate::scaling::ScalingSettings {
        crate::scaling::ScalingSettings {
            autoscaling: self.autoscaling,
            from_zero_timeout: self.scale_from_zero_timeout,
            interval: self.scale_interval,
            window: self.scale_window,
            stabilisation: self.scale_down_delay,
            defaults: crate::scaling::policy::Defaults {
                target: self.scale_target,
                zero_duration: self.scale_zero_duration,
            },
            max_replicas: self.max_replicas,
        }
    }

    /// The launch type or capacity provider strategy for function services.
    pub fn placement(&self) -> Placement {
        if self.capacity_providers.0.is_empty() {
            Placement::LaunchType(self.launch_type.as_str())
        } else {
            Placement::CapacityProviders(self.capacity_providers.0.clone())
        }
    }

    /// The ECS backend's settings; `region` is the AWS region the SDK resolved.
    pub fn ecs_settings(&self, region: &str) -> EcsSettings {
        let placement = self.placement();
        let fargate = match &placement {
            Placement::LaunchType(t) => *t == "FARGATE",
            Placement::CapacityProviders(p) => {
                p.iter().any(|(name, _)| name.starts_with("FARGATE"))
            }
        };
        EcsSettings {
            default_namespace: self.default_namespace.clone(),
            cloudmap_namespace_id: self.cloudmap_namespace_id.clone(),
            dns_ttl: self.dns_ttl,
            service: ServiceSettings {
                cluster: self.cluster.clone(),
                subnets: self.subnets.0.clone(),
                security_groups: self.security_groups.0.clone(),
                assign_public_ip: self.assign_public_ip,
                placement,
                srv: self.dns_records == DnsRecords::Srv,
            },
            task: TaskSettings {
                execution_role_arn: self.execution_role_arn.clone(),
                task_role_arn: self.task_role().map(String::from),
                log_group: self.log_group.clone(),
                region: region.to_string(),
                default_cpu: self.default_cpu,
                default_memory: self.default_memory,
                fargate,
                secrets_image: self.secrets_image.clone().filter(|i| !i.is_empty()),
            },
            secret_prefix: self.secret_prefix.clone(),
            log_poll_interval: self.log_poll_interval,
        }
    }

    /// The task role, when one is set.
    pub fn task_role(&self) -> Option<&str> {
        self.task_role_arn.as_deref().filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid configuration with `extra` flags; a flag given in `extra` replaces the base one.
    fn config(extra: &[&str]) -> Result<Config, clap::Error> {
        let base = [
            "--subnets=subnet-1",
            "--cloudmap-namespace-id=ns-1",
            "--execution-role-arn=arn:aws:iam::1:role/x",
        ];
        let flag = |a: &str| a.split('=').next().unwrap_or_default().to_string();
        let mut args = vec!["faas-ecs"];
        args.extend(
            base.iter()
                .filter(|b| !extra.iter().any(|e| flag(e) == flag(b))),
        );
        args.extend_from_slice(extra);
        Config::try_parse_from(args)
    }

    #[test]
    fn defaults_are_valid() {
        let c = config(&[]).unwrap();
        c.validate().unwrap();
        assert_eq!(c.port, 8081);
        assert_eq!(c.write_timeout, Duration::from_secs(60));
        assert_eq!(c.busy_poll, Duration::from_micros(200));
        assert_eq!(c.placement(), Placement::LaunchType("FARGATE"));
    }

    #[test]
    fn durations_take_seconds_or_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("200us").unwrap(), Duration::from_micros(200));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn parse_errors_name_the_variable() {
        let err = config(&["--read-timeout=soon"]).unwrap_err().to_string();
        assert!(err.contains("read_timeout"), "{err}");
    }

    #[test]
    fn validation_errors_name_the_variable() {
        let err = config(&["--subnets=vpc-1"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(err.variable, "FAAS_ECS_SUBNETS");
    }

    #[test]
    fn choices_and_ranges_are_checked_as_they_are_parsed() {
        for (arg, variable) in [
            (
                "--capacity-providers=FARGATE_SPOT:x",
                "FAAS_ECS_CAPACITY_PROVIDERS",
            ),
            ("--launch-type=LAMBDA", "FAAS_ECS_LAUNCH_TYPE"),
            ("--resolver=consul", "FAAS_ECS_RESOLVER"),
            ("--dns-records=CNAME", "FAAS_ECS_DNS_RECORDS"),
            ("--dns-ttl=-1", "FAAS_ECS_DNS_TTL"),
            ("--max-connections=0", "FAAS_ECS_MAX_CONNECTIONS"),
            ("--read-size=12000", "FAAS_ECS_READ_SIZE"),
            ("--read-size=4096", "FAAS_ECS_READ_SIZE"),
            ("--read-size=2097152", "FAAS_ECS_READ_SIZE"),
        ] {
            let err = config(&[arg]).unwrap_err().to_string();
            assert!(err.contains(variable), "{arg}: {err}");
        }
        let c = config(&[
            "--resolver=fixed",
            "--endpoints=a=127.0.0.1:1",
            "--dns-records=SRV",
        ])
        .unwrap();
        assert_eq!(
            (c.resolver, c.dns_records),
            (ResolverKind::Fixed, DnsRecords::Srv)
        );
    }

    /// The README's configuration table: every variable clap reads is there, with clap's default.
    #[test]
    fn the_readme_lists_every_variable_with_its_default() {
        use clap::CommandFactory;
        let readme = include_str!("../README.md");
        let table = &readme[readme
            .find("## Configuration")
            .expect("a Configuration section")..];
        let rows: std::collections::HashMap<&str, &str> = table
            .lines()
            .take_while(|l| !l.starts_with("## Tests"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split(" | ").collect();
                let name = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
                Some((name, *cells.get(1)?))
            })
            .collect();
        let command = Config::command();
        let mut wrong = Vec::new();
        for arg in command.get_arguments() {
            let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
                continue;
            };
            let default: Vec<_> = arg
                .get_default_values()
                .iter()
                .filter_map(|v| v.to_str())
                .collect();
            let readme_default = match rows.get(env) {
                None => {
                    wrong.push(format!("{env}: not in the README"));
                    continue;
                }
                Some(cell) => cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')),
            };
            match (default.as_slice(), readme_default) {
                ([] | [""], None) => {}
                ([d], Some(r)) if *d == r => {}
                (d, r) => wrong.push(format!("{env}: clap {d:?}, README {r:?}")),
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn capacity_providers_take_weights() {
        let c = config(&["--capacity-providers=FARGATE_SPOT:3, FARGATE"]).unwrap();
        assert_eq!(
            c.placement(),
            Placement::CapacityProviders(vec![("FARGATE_SPOT".into(), 3), ("FARGATE".into(), 1)])
        );
    }
}
