//! The ECS + Cloud Map backend: each function is an ECS service with a task definition family
//! and a Cloud Map service. SDK types stay inside this module.

mod cache;
pub mod cleanup;
pub mod cloudmap;
mod collector;
mod error;
mod functions;
mod locks;
pub mod logs;
pub mod mapping;
pub mod namespaces;
pub mod placement;
pub mod profiles;
mod refresh;
pub mod revisions;
pub mod run;
pub mod secrets;
pub mod service;
pub mod tags;
pub mod task_definition;

use std::sync::Arc;
use std::time::{Duration, Instant};

use self::cache::{Cache, Namespaces};
use self::locks::{ChangeGuard, FunctionLocks};
use self::placement::ServiceSettings;
use self::secrets::SecretsManager;
use self::task_definition::TaskSettings;
use crate::aws::CountCalls;
use crate::backend::Error;
use crate::model::{FunctionId, Namespace};
use crate::resolver::Resolver;

/// The SDK clients the backend uses.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub ecs: aws_sdk_ecs::Client,
    pub servicediscovery: aws_sdk_servicediscovery::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl AwsClients {
    /// The clients, each call counted by `calls`.
    pub fn new(sdk: &aws_config::SdkConfig, calls: &CountCalls) -> Self {
        Self::with_interceptor(sdk, calls)
    }

    /// The clients, with `interceptor` on every call (tests give each an emulator account).
    pub fn with_interceptor<I>(sdk: &aws_config::SdkConfig, interceptor: &I) -> Self
    where
        I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
    {
        // Each SDK crate has a client type of its own, made the same way.
        macro_rules! client {
            ($sdk_crate:ident) => {
                $sdk_crate::Client::from_conf(
                    $sdk_crate::config::Builder::from(sdk)
                        .interceptor(interceptor.clone())
                        .build(),
                )
            };
        }
        Self {
            ecs: client!(aws_sdk_ecs),
            servicediscovery: client!(aws_sdk_servicediscovery),
            secretsmanager: client!(aws_sdk_secretsmanager),
            logs: client!(aws_sdk_cloudwatchlogs),
        }
    }
}

/// The backend's settings (the configuration makes them).
#[derive(Debug, Clone)]
pub struct EcsSettings {
    /// Requests that name no namespace are in this one; it exists without a record in AWS.
    pub default_namespace: Namespace,
    pub cloudmap_namespace_id: String,
    pub dns_ttl: i64,
    pub service: ServiceSettings,
    pub task: TaskSettings,
    /// The operator's profiles and the task roles functions may ask for.
    pub profiles: profiles::Profiles,
    pub secret_prefix: String,
    pub log_poll_interval: Duration,
    /// Shortest time between full reads of every function (longer with many functions, so that
    /// they stay within the AWS call budget).
    pub sweep_interval: Duration,
}

/// Functions on ECS. Reads come from the cache; every change goes to AWS first, then the cache.
pub struct EcsBackend {
    aws: AwsClients,
    settings: EcsSettings,
    cache: Cache,
    /// What invocations use to find tasks; `availableReplicas` counts what it finds.
    resolver: Arc<dyn Resolver>,
    /// Task definition families with no service, and since when the collector has seen them so.
    unused_families: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
    /// One change per function (and per namespace) at a time in this process.
    changes: FunctionLocks,
    namespaces: Namespaces,
    /// Functions read again every refresh round (between full sweeps): changed by this replica
    /// or, as the others report, by another, recently.
    hot: refresh::Hot,
    /// Held shared by what creates things in a namespace, exclusively by a namespace's removal,
    /// so that nothing is made in a namespace while it is being removed.
    namespace_gate: tokio::sync::RwLock<()>,
}

impl EcsBackend {
    /// The Cloud Map namespace's DNS name (e.g. `openfaas.local`), which the resolver needs; an
    /// error when the namespace does not exist, so call it once at start.
    pub async fn dns_domain_of(aws: &AwsClients, settings: &EcsSettings) -> Result<String, Error> {
        cloudmap::namespace_name(&aws.servicediscovery, &settings.cloudmap_namespace_id).await
    }

    /// Fills the cache from ECS.
    pub async fn start(
        aws: AwsClients,
        settings: EcsSettings,
        resolver: Arc<dyn Resolver>,
    ) -> Result<Arc<Self>, Error> {
        let backend = Arc::new(Self {
            aws,
            settings,
            cache: Cache::default(),
            resolver,
            unused_families: Default::default(),
            changes: FunctionLocks::default(),
            namespaces: Default::default(),
            hot: Default::default(),
            namespace_gate: Default::default(),
        });
        backend.refresh().await?;
        Ok(backend)
    }

    /// Waits for the change of this function under way, if any, and holds off the next ones.
    async fn change(&self, id: &FunctionId) -> ChangeGuard {
        self.changes
            .lock(format!("{}/{}", id.namespace, id.name))
            .await
    }

    /// Waits for the change of this namespace under way, if any, and holds off the next ones.
    async fn namespace_change(&self, namespace: &Namespace) -> ChangeGuard {
        self.changes.lock(namespace.to_string()).await
    }

    /// Refuses a change in a namespace that does not exist (removed since the request was
    /// checked, say).
    fn check_namespace(&self, namespace: &Namespace) -> Result<(), Error> {
        if self.namespaces.contains(namespace) {
            Ok(())
        } else {
            Err(Error::no_such_namespace(namespace))
        }
    }

    fn secrets_manager(&self) -> SecretsManager<'_> {
        SecretsManager {
            client: &self.aws.secretsmanager,
            prefix: &self.settings.secret_prefix,
        }
    }
}
