//! Configuration, read once at start from flags or environment variables (README lists each),
//! one file per part: each part is parsed by clap (a value's parser refuses it naming the
//! variable) and turned into that part's settings in one place. What no single value can tell
//! (a required list, settings that must agree) is checked by [`Config::validate`].

pub mod aws;
pub mod cleanup;
pub mod functions;
pub mod parse;
pub mod resolver;
pub mod scaling;
pub mod server;

use clap::Parser;

pub use self::resolver::{DnsRecords, ResolverKind};

/// Every setting of the provider. Flags mirror the environment variables, whose names are given
/// as value names so that a parse error names the variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "faas-ecs",
    version,
    about = "OpenFaaS provider for AWS ECS and Cloud Map"
)]
pub struct Config {
    #[command(flatten)]
    pub server: server::Server,
    #[command(flatten)]
    pub functions: functions::Functions,
    #[command(flatten)]
    pub resolver: resolver::Resolver,
    #[command(flatten)]
    pub aws: aws::Aws,
    #[command(flatten)]
    pub scaling: scaling::Scaling,
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
    /// Checks what no single value's parser can: required lists and settings that must agree.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.functions.subnets.is_empty() {
            return Err(invalid(
                "FAAS_ECS_SUBNETS",
                "at least one subnet id is required",
            ));
        }
        self.functions
            .profile_set()
            .check(self.functions.task_role())
            .map_err(|e| invalid("FAAS_ECS_PROFILES", e))?;
        if self.resolver.resolver == ResolverKind::Fixed {
            crate::resolver::fixed::FixedResolver::parse(&self.resolver.endpoints)
                .map_err(|e| invalid("FAAS_ECS_ENDPOINTS", e.to_string()))?;
        }
        if self.scaling.scale_window < self.scaling.scale_interval {
            return Err(invalid(
                "FAAS_ECS_SCALE_WINDOW",
                "must be at least FAAS_ECS_SCALE_INTERVAL",
            ));
        }
        Ok(())
    }

    /// The ECS backend's settings; `region` is the AWS region the SDK resolved.
    pub fn ecs_settings(&self, region: &str) -> crate::backend::ecs::EcsSettings {
        self.functions
            .settings(region, self.resolver.dns_records == DnsRecords::Srv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ecs::placement::{LaunchType, Placement, StrategyItem};
    use std::time::Duration;

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
        assert_eq!(c.server.port, 8081);
        assert_eq!(c.server.write_timeout, Duration::from_secs(60));
        assert_eq!(c.server.busy_poll, Duration::from_micros(200));
        assert_eq!(
            c.functions.placement(),
            Placement::LaunchType(LaunchType::Fargate)
        );
    }

    #[test]
    fn the_scalers_defaults_are_the_configurations() {
        let parsed = config(&["--autoscaling=false", "--scale-from-zero-timeout=0"])
            .unwrap()
            .scaling
            .settings();
        assert_eq!(format!("{parsed:?}"), format!("{:?}", scaling::off()));
    }

    #[test]
    fn parse_errors_name_the_variable() {
        let err = config(&["--read-timeout=soon"]).unwrap_err().to_string();
        assert!(err.contains("read_timeout"), "{err}");
    }

    #[test]
    fn validation_errors_name_the_variable() {
        let err = config(&["--subnets="]).unwrap().validate().unwrap_err();
        assert_eq!(err.variable, "FAAS_ECS_SUBNETS");
        let err = config(&["--scale-interval=5s", "--scale-window=2s"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(err.variable, "FAAS_ECS_SCALE_WINDOW");
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
            ("--read-budget=-1", "FAAS_ECS_READ_BUDGET"),
            ("--read-budget=2147483648", "FAAS_ECS_READ_BUDGET"),
            ("--subnets=vpc-1", "FAAS_ECS_SUBNETS"),
            ("--security-groups=subnet-1", "FAAS_ECS_SECURITY_GROUPS"),
            (
                "--cloudmap-namespace-id=openfaas",
                "FAAS_ECS_CLOUDMAP_NAMESPACE_ID",
            ),
            ("--execution-role-arn=role", "FAAS_ECS_EXECUTION_ROLE_ARN"),
            ("--task-role-arn=role", "FAAS_ECS_TASK_ROLE_ARN"),
            ("--cluster= ", "FAAS_ECS_CLUSTER"),
            ("--secret-prefix=a b", "FAAS_ECS_SECRET_PREFIX"),
            ("--aws-max-attempts=0", "FAAS_ECS_AWS_MAX_ATTEMPTS"),
            ("--aws-timeout=0", "FAAS_ECS_AWS_TIMEOUT"),
            ("--aws-attempt-timeout=0", "FAAS_ECS_AWS_ATTEMPT_TIMEOUT"),
            ("--refresh-interval=0", "FAAS_ECS_REFRESH_INTERVAL"),
            ("--discovery-interval=0", "FAAS_ECS_DISCOVERY_INTERVAL"),
            ("--log-poll-interval=100ms", "FAAS_ECS_LOG_POLL_INTERVAL"),
            ("--scale-interval=50ms", "FAAS_ECS_SCALE_INTERVAL"),
            ("--scale-zero-duration=0", "FAAS_ECS_SCALE_ZERO_DURATION"),
            ("--scale-target=0", "FAAS_ECS_SCALE_TARGET"),
            ("--peers=https://a:1", "FAAS_ECS_PEERS"),
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
            (c.resolver.resolver, c.resolver.dns_records),
            (ResolverKind::Fixed, DnsRecords::Srv)
        );
    }

    /// The README's configuration table: every variable clap reads is there, with clap's default.
    #[test]
    fn the_readme_lists_every_variable_with_its_default() {
        use clap::CommandFactory;
        let readme = include_str!("../../README.md");
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
            c.functions.placement(),
            Placement::CapacityProviders(vec![
                StrategyItem {
                    capacity_provider: "FARGATE_SPOT".into(),
                    weight: 3,
                    base: 0
                },
                StrategyItem {
                    capacity_provider: "FARGATE".into(),
                    weight: 1,
                    base: 0
                }
            ])
        );
    }
}
