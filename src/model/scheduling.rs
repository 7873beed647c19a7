//! Where, on what and as whom a function asks to run, in the words OpenFaaS users write in
//! `stack.yml`: the `com.openfaas.profile` and `com.openfaas.serviceaccount` annotations,
//! `constraints`, and faas-netes's health check annotations. Checked here; what the operator's
//! profiles and roles make of them is the backend's.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Invalid;

/// Profiles to run with, comma separated, composed in order (later ones win).
pub const PROFILE: &str = "com.openfaas.profile";
/// The name of a task role the operator allowed (faas-netes: the Kubernetes service account).
pub const SERVICE_ACCOUNT: &str = "com.openfaas.serviceaccount";
/// Path the health check asks over HTTP instead of the watchdog's lock file.
pub const HEALTH_PATH: &str = "com.openfaas.health.http.path";
/// How long after start a failing health check does not count (`30s`).
pub const HEALTH_INITIAL_DELAY: &str = "com.openfaas.health.http.initialDelay";

/// ECS counts a container's health checks only after this, at most (its `startPeriod` limit).
pub const MAX_INITIAL_DELAY: Duration = Duration::from_secs(300);

/// A processor architecture a function asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

/// An operating system a function asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

/// One entry of `constraints`, in a form ECS can honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    Arch(Arch),
    Os(Os),
    /// An ECS cluster query language expression (`attribute:ecs.instance-type =~ g5.*`).
    Attribute(String),
}

/// What a deployment asks for beyond its image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scheduling {
    /// Profile names, in the order given.
    pub profiles: Vec<String>,
    pub service_account: Option<String>,
    pub constraints: Vec<Constraint>,
    pub health_path: Option<String>,
    pub initial_delay: Option<Duration>,
}

impl Scheduling {
    pub fn parse(
        annotations: Option<&BTreeMap<String, String>>,
        constraints: Option<&Vec<String>>,
    ) -> Result<Self, Invalid> {
        let annotation = |key: &str| {
            annotations
                .and_then(|a| super::labels::value(a, key))
                .filter(|v| !v.is_empty())
        };
        let profiles = match annotation(PROFILE) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|p| name(PROFILE, "profile", p.trim()))
                .collect::<Result<_, _>>()?,
        };
        let service_account = annotation(SERVICE_ACCOUNT)
            .map(|n| name(SERVICE_ACCOUNT, "service account", n))
            .transpose()?;
        let health_path = annotation(HEALTH_PATH)
            .map(|path| {
                // The path goes into the container's health check command: nothing a shell reads.
                let safe = path.starts_with('/')
                    && path.len() <= 256
                    && path
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
                if safe {
                    Ok(path.to_string())
                } else {
                    Err(Invalid(format!(
                        "{HEALTH_PATH}: {path:?} must be a path like /healthz (letters, digits and /-._~)"
                    )))
                }
            })
            .transpose()?;
        let initial_delay = annotation(HEALTH_INITIAL_DELAY)
            .map(|d| match humantime::parse_duration(d) {
                Ok(d) if d <= MAX_INITIAL_DELAY => Ok(d),
                _ => Err(Invalid(format!(
                    "{HEALTH_INITIAL_DELAY}: {d:?} must be a duration up to 300s, like 30s"
                ))),
            })
            .transpose()?;
        let constraints = constraints
            .into_iter()
            .flatten()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .map(Constraint::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            profiles,
            service_account,
            constraints,
            health_path,
            initial_delay,
        })
    }

    /// The architecture the constraints ask for, if any.
    pub fn arch(&self) -> Option<Arch> {
        self.constraints.iter().find_map(|c| match c {
            Constraint::Arch(a) => Some(*a),
            _ => None,
        })
    }

    /// The operating system the constraints ask for, if any.
    pub fn os(&self) -> Option<Os> {
        self.constraints.iter().find_map(|c| match c {
            Constraint::Os(o) => Some(*o),
            _ => None,
        })
    }

    /// The ECS attribute expressions among the constraints.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.constraints.iter().filter_map(|c| match c {
            Constraint::Attribute(e) => Some(e.as_str()),
            _ => None,
        })
    }
}

/// `value` of annotation `key` as a profile or service account name, or why not.
fn name(key: &str, what: &str, value: &str) -> Result<String, Invalid> {
    if is_profile_name(value) {
        Ok(value.to_string())
    } else {
        Err(Invalid(format!(
            "{key}: {value:?} is not a {what} name (lowercase letters, digits and -)"
        )))
    }
}

/// Profile and service account names: what a tag key and a log line can hold as they are.
pub fn is_profile_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Constraint {
    /// `kubernetes.io/arch=arm64` (faas-netes), `node.platform.arch == arm64` (Swarm-style, as
    /// faasd and the first OpenFaaS wrote them), the same for `os`, and ECS's own `attribute:...`.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.starts_with("attribute:") {
            return Ok(Self::Attribute(s.to_string()));
        }
        let unknown = || {
            Invalid(format!(
                "constraint {s:?} cannot be honoured on ECS: use kubernetes.io/arch=arm64|amd64, \
                 kubernetes.io/os=linux|windows or an ECS expression attribute:..."
            ))
        };
        let (key, value) = s
            .split_once("==")
            .or_else(|| s.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().to_ascii_lowercase()))
            .ok_or_else(unknown)?;
        match key {
            "kubernetes.io/arch" | "beta.kubernetes.io/arch" | "node.platform.arch" => {
                match value.as_str() {
                    "arm64" | "aarch64" => Ok(Self::Arch(Arch::Arm64)),
                    "amd64" | "x86_64" => Ok(Self::Arch(Arch::X86_64)),
                    _ => Err(Invalid(format!(
                        "constraint {s:?}: ECS runs x86_64 (amd64) and arm64 only"
                    ))),
                }
            }
            "kubernetes.io/os" | "beta.kubernetes.io/os" | "node.platform.os" => {
                match value.as_str() {
                    "linux" => Ok(Self::Os(Os::Linux)),
                    "windows" => Ok(Self::Os(Os::Windows)),
                    _ => Err(Invalid(format!(
                        "constraint {s:?}: ECS runs linux and windows only"
                    ))),
                }
            }
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn profiles_are_read_in_order() {
        let s =
            Scheduling::parse(Some(&annotations(&[(PROFILE, " spot, graviton ")])), None).unwrap();
        assert_eq!(s.profiles, ["spot", "graviton"]);
    }

    #[test]
    fn bad_names_are_refused() {
        for (key, value) in [
            (PROFILE, "spot,"),
            (PROFILE, "Spot"),
            (SERVICE_ACCOUNT, "arn:aws:iam::1:role/admin"),
        ] {
            assert!(
                Scheduling::parse(Some(&annotations(&[(key, value)])), None).is_err(),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn the_forms_users_write_become_arch_and_os() {
        let constraints: Vec<String> = [
            "kubernetes.io/arch=arm64",
            "node.platform.os == windows",
            "attribute:ecs.instance-type =~ g5.*",
        ]
        .map(String::from)
        .into();
        let s = Scheduling::parse(None, Some(&constraints)).unwrap();
        assert_eq!(s.arch(), Some(Arch::Arm64));
        assert_eq!(s.os(), Some(Os::Windows));
        assert_eq!(
            s.attributes().collect::<Vec<_>>(),
            ["attribute:ecs.instance-type =~ g5.*"]
        );
        assert_eq!(
            Constraint::parse("node.platform.arch==amd64").unwrap(),
            Constraint::Arch(Arch::X86_64)
        );
    }

    #[test]
    fn constraints_ecs_cannot_honour_are_refused_with_a_reason() {
        for c in [
            "node.role == manager",
            "kubernetes.io/arch=riscv64",
            "kubernetes.io/os=plan9",
            "disktype=ssd",
            "arm64",
        ] {
            let e = Constraint::parse(c).unwrap_err();
            assert!(e.0.contains(c), "{e}");
        }
    }

    #[test]
    fn health_annotations_are_checked() {
        let s = Scheduling::parse(
            Some(&annotations(&[
                (HEALTH_PATH, "/healthz"),
                (HEALTH_INITIAL_DELAY, "30s"),
            ])),
            None,
        )
        .unwrap();
        assert_eq!(s.health_path.as_deref(), Some("/healthz"));
        assert_eq!(s.initial_delay, Some(Duration::from_secs(30)));
        for (key, value) in [
            (HEALTH_PATH, "healthz"),
            (HEALTH_PATH, "/x; rm -rf /"),
            (HEALTH_PATH, "/$(id)"),
            (HEALTH_INITIAL_DELAY, "10m"),
            (HEALTH_INITIAL_DELAY, "soon"),
        ] {
            assert!(
                Scheduling::parse(Some(&annotations(&[(key, value)])), None).is_err(),
                "{key}={value}"
            );
        }
    }
}
