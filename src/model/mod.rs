//! The provider's wire types and validated names.

mod function;
pub mod labels;
mod logs;
mod name;
mod namespace;
mod resources;
pub mod scheduling;
mod secret;
pub mod shared;

pub use function::{
    DeleteFunctionRequest, FunctionDeployment, FunctionStatus, ResourceList, ScaleServiceRequest,
};
pub use logs::{LogMessage, LogRequest, parse_rfc3339};
pub use name::{DEFAULT_NAMESPACE, FunctionId, FunctionName, InvalidName, Namespace};
pub use namespace::{FunctionNamespace, NamespaceSpec, RESERVED_NAMESPACES};
pub use resources::{Resources, parse_cpu_millis, parse_memory_bytes};
pub use scheduling::Scheduling;
pub use secret::{Secret, SecretName, SecretSummary};

/// Input the model refuses; the text is shown to the user (a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<InvalidName> for Invalid {
    fn from(e: InvalidName) -> Self {
        Self(e.to_string())
    }
}

/// A deployment request that passed validation: what the backend acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub name: FunctionName,
    pub namespace: Namespace,
    /// The request as sent (namespace filled in), kept whole so that status round-trips it.
    pub deployment: FunctionDeployment,
    pub limits: Resources,
    pub requests: Resources,
    /// `secrets`, validated, in the order given.
    pub secrets: Vec<SecretName>,
    /// Profiles, role, constraints and health check asked for.
    pub scheduling: Scheduling,
}

impl FunctionSpec {
    /// Validates a deployment request; `namespace` is the one the handler resolved.
    pub fn new(mut deployment: FunctionDeployment, namespace: Namespace) -> Result<Self, Invalid> {
        let name = FunctionName::parse(&deployment.service).map_err(Invalid::from)?;
        if deployment.image.trim().is_empty() {
            return Err(Invalid("image is required".into()));
        }
        let limits = Resources::parse(deployment.limits.as_ref(), "limits")?;
        let requests = Resources::parse(deployment.requests.as_ref(), "requests")?;
        let secrets = deployment
            .secrets
            .iter()
            .flatten()
            .map(|s| SecretName::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let scheduling = Scheduling::parse(
            deployment.annotations.as_ref(),
            deployment.constraints.as_ref(),
        )?;
        deployment.namespace = Some(namespace.to_string());
        Ok(Self {
            name,
            namespace,
            deployment,
            limits,
            requests,
            secrets,
            scheduling,
        })
    }

    pub fn id(&self) -> FunctionId {
        FunctionId::new(self.namespace.clone(), self.name.clone())
    }

    /// The desired count a new function starts with: `com.openfaas.scale.min` (checked by the
    /// scaling policy), else 1.
    pub fn initial_replicas(&self) -> u32 {
        self.deployment
            .labels
            .as_ref()
            .and_then(|l| labels::value(l, labels::SCALE_MIN))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }
}
