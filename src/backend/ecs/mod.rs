//! The ECS + Cloud Map backend: each function is an ECS service with a task definition family
//! and a Cloud Map service. SDK types stay inside this module.

mod cache;
pub mod cloudmap;
mod locks;
pub mod logs;
pub mod mapping;
pub mod namespaces;
pub mod secrets;
pub mod service;
pub mod task_definition;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::types::Service;

use self::cache::{Cache, Table};
use self::cloudmap::CloudMapService;
use self::locks::{ChangeGuard, FunctionLocks};
use self::secrets::SecretsManager;
use self::service::{Found, ServiceSettings};
use self::task_definition::TaskSettings;
use super::{FunctionBackend, LogSource, NamespaceStore, SecretStore};
use crate::backend::Error;
use crate::failure::DisplayChain;
use crate::model::shared;
use crate::model::{
    FunctionDeployment, FunctionId, FunctionName, FunctionSpec, FunctionStatus, LogMessage,
    LogRequest, Namespace, NamespaceSpec, SecretName,
};
use crate::resolver::Resolver;

/// Docker label holding the deployment as requested, so that status round-trips it exactly.
pub const DEPLOYMENT_LABEL: &str = "com.openfaas-ecs.deployment";
/// Tags on everything this provider creates.
pub const MANAGED_BY_TAG: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "faas-ecs";
pub const FUNCTION_TAG: &str = "openfaas:function";
pub const NAMESPACE_TAG: &str = "openfaas:namespace";

/// How long a namespace AWS did not have is answered as missing without asking again.
const NAMESPACE_MISS_FOR: Duration = Duration::from_secs(1);
/// How often the refresh also looks for Cloud Map services left behind.
const GARBAGE_COLLECTION_INTERVAL: Duration = Duration::from_secs(300);
/// A Cloud Map service younger than this may belong to a deploy under way.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);

/// The tags that mark a resource as this provider's, for one function.
pub fn owner_tags<'a>(
    namespace: &'a Namespace,
    name: &'a FunctionName,
) -> impl Iterator<Item = (&'static str, &'a str)> {
    [
        (MANAGED_BY_TAG, MANAGED_BY_VALUE),
        (FUNCTION_TAG, name.as_str()),
        (NAMESPACE_TAG, namespace.as_str()),
    ]
    .into_iter()
}

/// A token unique to one create request (36 characters: ECS's limit for a client token), the
/// same for each of the SDK's attempts, so that a retry after a lost answer is not a conflict.
pub(crate) fn unique_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("faas-ecs-{random:016x}{nanos:x}")
        .chars()
        .take(36)
        .collect()
}

// Error codes AWS uses when it throttles; the SDK has already retried these with backoff.
const THROTTLING_CODES: [&str; 4] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Maps an SDK error to the provider's error, once, for every AWS call.
pub(crate) fn aws_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if err.code().is_some_and(|c| THROTTLING_CODES.contains(&c)) {
        return Error::Throttled { operation };
    }
    if matches!(err, SdkError::TimeoutError(_)) {
        tracing::warn!(operation, "AWS did not answer in time");
        return Error::AwsTimeout { operation };
    }
    Error::aws(operation, err)
}

/// The SDK clients the backend uses.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub ecs: aws_sdk_ecs::Client,
    pub servicediscovery: aws_sdk_servicediscovery::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl AwsClients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(sdk),
            servicediscovery: aws_sdk_servicediscovery::Client::new(sdk),
            secretsmanager: aws_sdk_secretsmanager::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
        }
    }
}

/// The backend's settings (the configuration makes them: `Config::ecs_settings`).
#[derive(Debug, Clone)]
pub struct EcsSettings {
    /// Requests that name no namespace are in this one; it exists without a record in AWS.
    pub default_namespace: Namespace,
    pub cloudmap_namespace_id: String,
    pub dns_ttl: i64,
    pub service: ServiceSettings,
    pub task: TaskSettings,
    pub secret_prefix: String,
    pub log_poll_interval: Duration,
}

/// Namespaces by name, each with the Cloud Map service that records it (none for the default
/// namespace until labels are set on it).
type NamespaceTable = Table<Namespace, (NamespaceSpec, Option<CloudMapService>)>;

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
    namespaces: std::sync::RwLock<NamespaceTable>,
    /// Held shared by what creates things in a namespace, exclusively by a namespace's removal,
    /// so that nothing is made in a namespace while it is being removed.
    namespace_gate: tokio::sync::RwLock<()>,
    /// Namespaces AWS was just asked about and did not have, and when: requests naming an
    /// unknown namespace do not each become an AWS call.
    namespace_misses: std::sync::Mutex<std::collections::HashMap<Namespace, Instant>>,
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
            namespace_gate: Default::default(),
            namespace_misses: Default::default(),
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

    fn namespace_table(&self) -> std::sync::RwLockReadGuard<'_, NamespaceTable> {
        self.namespaces.read().unwrap_or_else(|p| p.into_inner())
    }

    fn namespace_table_mut(&self) -> std::sync::RwLockWriteGuard<'_, NamespaceTable> {
        self.namespaces.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the namespaces recorded in AWS into the table, with the default one whether
    /// recorded or not.
    async fn reload_namespaces(&self) -> Result<(), Error> {
        let started = Instant::now();
        let default = &self.settings.default_namespace;
        let mut found: Vec<_> = namespaces::list(
            &self.aws.servicediscovery,
            &self.settings.cloudmap_namespace_id,
        )
        .await?
        .into_iter()
        .map(|(spec, service)| (spec.name.clone(), (spec, Some(service))))
        .collect();
        if !found.iter().any(|(name, _)| name == default) {
            found.push((
                default.clone(),
                (NamespaceSpec::bare(default.clone()), None),
            ));
        }
        self.namespace_table_mut().replace(found, started);
        Ok(())
    }

    /// A namespace's record as last read: `None` when the namespace does not exist, `Some(None)`
    /// for the default namespace without a record.
    fn namespace_record(&self, name: &Namespace) -> Option<Option<CloudMapService>> {
        self.namespace_table()
            .get(name)
            .map(|(_, service)| service.clone())
    }

    /// Sets `availableReplicas` to the tasks an invocation could reach now.
    async fn with_available(&self, mut status: FunctionStatus) -> FunctionStatus {
        let id = FunctionName::parse(&status.name)
            .ok()
            .zip(Namespace::parse(&status.namespace).ok())
            .map(|(name, namespace)| FunctionId::new(namespace, name));
        let reachable = match id {
            Some(id) => self.resolver.resolve(&id).await.len() as u64,
            None => 0,
        };
        status.available_replicas = reachable.min(status.replicas);
        status
    }

    /// Refreshes the cache every `interval` until the returned task is aborted.
    pub fn spawn_refresh(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let backend = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            let mut last_collection = Instant::now();
            loop {
                ticker.tick().await;
                let Some(backend) = backend.upgrade() else {
                    return;
                };
                if let Err(e) = backend.refresh().await {
                    tracing::warn!(error = %DisplayChain(&e), "refreshing functions from ECS failed; serving the last known state");
                }
                if last_collection.elapsed() >= GARBAGE_COLLECTION_INTERVAL {
                    last_collection = Instant::now();
                    if let Err(e) = backend.collect_garbage(ORPHAN_MIN_AGE).await {
                        tracing::warn!(error = %DisplayChain(&e), "looking for Cloud Map services left behind failed");
                    }
                }
            }
        })
    }

    /// Reads every namespace and every function of ours from AWS into the cache.
    pub async fn refresh(&self) -> Result<(), Error> {
        let started = Instant::now();
        self.reload_namespaces().await?;
        let services = service::list_ours(&self.aws.ecs, &self.settings.service.cluster).await?;
        let mut statuses = Vec::with_capacity(services.len());
        for svc in &services {
            if let Some(entry) = self.status_of(svc).await? {
                statuses.push(entry);
            }
        }
        let in_use: Vec<&str> = services
            .iter()
            .filter_map(|s| s.task_definition())
            .collect();
        self.cache.retain_deployments(&in_use);
        self.cache.replace(statuses, started);
        Ok(())
    }

    /// Deletes Cloud Map services and task definition families of ours that no function uses and
    /// that are older than `min_age` (a deploy makes both moments before its ECS service): left
    /// by a provider stopped half-way through a deploy or a delete, or by a rollback that failed.
    pub async fn collect_garbage(&self, min_age: Duration) -> Result<(), Error> {
        let services = service::list_ours(&self.aws.ecs, &self.settings.service.cluster).await?;
        let families_in_use: Vec<&str> = services
            .iter()
            .filter_map(|s| s.task_definition())
            .filter_map(task_definition::family_of)
            .collect();
        let ecs = &self.aws.ecs;
        let families = task_definition::families(ecs).await?;
        // A family counts as unused from when this provider first saw it so (no registration
        // time needed, which moto does not report): a deploy under way gets `min_age` to create
        // its service, and a restart only delays the collection.
        let unused: Vec<(String, Vec<String>)> = families
            .into_iter()
            .filter(|(family, _)| !families_in_use.contains(&family.as_str()))
            .collect();
        let now = Instant::now();
        let due: Vec<(String, Vec<String>)> = {
            let mut seen = self
                .unused_families
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            seen.retain(|family, _| unused.iter().any(|(f, _)| f == family));
            unused
                .into_iter()
                .filter(|(family, _)| {
                    let since = *seen.entry(family.clone()).or_insert(now);
                    now.duration_since(since) >= min_age
                })
                .collect()
        };
        for (family, revisions) in due {
            let Some(newest) = revisions.last() else {
                continue;
            };
            if task_definition::is_ours(ecs, newest).await? {
                task_definition::remove_revisions(ecs, &revisions).await?;
                self.unused_families
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&family);
                tracing::info!(task_definition.family = %family, revisions = revisions.len(), "removed task definitions no function uses");
            }
        }
        let in_use: Vec<&str> = services
            .iter()
            .flat_map(|s| s.service_registries())
            .filter_map(|r| r.registry_arn())
            .collect();
        let sd = &self.aws.servicediscovery;
        for listed in cloudmap::services(sd, &self.settings.cloudmap_namespace_id).await? {
            // A namespace's record is used by no ECS service, and is not garbage.
            if shared::namespace_of_marker(&listed.name).is_some() {
                continue;
            }
            let registry = listed.service;
            let old_enough = listed
                .created
                .and_then(|c| c.elapsed().ok())
                .is_some_and(|age| age >= min_age);
            if in_use.contains(&registry.arn.as_str())
                || !old_enough
                || !cloudmap::is_ours(sd, &registry.arn).await?
            {
                continue;
            }
            if cloudmap::delete(sd, &registry.id).await? == cloudmap::Deleted::Yes {
                tracing::info!(cloudmap.service = %registry.id, "removed a Cloud Map service no function uses");
            }
        }
        Ok(())
    }

    /// The deployment recorded in a revision: from memory, else one DescribeTaskDefinition.
    async fn deployment(
        &self,
        task_definition_arn: &str,
    ) -> Result<Option<Arc<FunctionDeployment>>, Error> {
        if let Some(deployment) = self.cache.deployment(task_definition_arn) {
            return Ok(Some(deployment));
        }
        let Some(deployment) =
            task_definition::read_deployment(&self.aws.ecs, task_definition_arn).await?
        else {
            return Ok(None);
        };
        let deployment = Arc::new(deployment);
        self.cache
            .put_deployment(task_definition_arn, deployment.clone());
        Ok(Some(deployment))
    }

    /// A service's function and its status; `None` for a service that is not a function of ours.
    async fn status_of(
        &self,
        svc: &Service,
    ) -> Result<Option<(FunctionId, FunctionStatus)>, Error> {
        let (Some(arn), Some(namespace)) = (svc.task_definition(), service::namespace_of(svc))
        else {
            return Ok(None);
        };
        let Some(deployment) = self.deployment(arn).await? else {
            tracing::warn!(
                ecs.service = svc.service_name(),
                "service is tagged as ours but its task definition has no deployment deployment; skipped"
            );
            return Ok(None);
        };
        let Ok(name) = FunctionName::parse(&deployment.service) else {
            return Ok(None);
        };
        let status = mapping::function_status(svc, &deployment, &namespace);
        Ok(Some((FunctionId::new(namespace, name), status)))
    }

    async fn find(&self, id: &FunctionId) -> Result<Found, Error> {
        service::find(&self.aws.ecs, &self.settings.service.cluster, id).await
    }

    /// The function's live service, or NotFound.
    async fn existing(&self, id: &FunctionId) -> Result<Box<Service>, Error> {
        match self.find(id).await? {
            Found::Ours(svc) => Ok(svc),
            _ => {
                self.cache.remove(id);
                Err(Error::NotFound(format!("function {}", id.name)))
            }
        }
    }

    fn secrets_manager(&self) -> SecretsManager<'_> {
        SecretsManager {
            client: &self.aws.secretsmanager,
            prefix: &self.settings.secret_prefix,
        }
    }

    /// After an update, the tasks registered so far run the previous revision (its secrets, its
    /// settings): invocations stop going to them at once, and ECS replaces them.
    async fn retire_tasks(&self, id: &FunctionId, service: &Service) {
        let registries = service
            .service_registries()
            .iter()
            .filter_map(|r| r.registry_arn());
        for service_id in registries.filter_map(cloudmap::service_id_of) {
            match cloudmap::instance_addresses(&self.aws.servicediscovery, service_id).await {
                Ok(addrs) => {
                    tracing::debug!(function.name = %id.name, function.namespace = %id.namespace, tasks = ?addrs, "invocations no longer go to the previous revision's tasks");
                    self.resolver.retire(id, addrs);
                }
                Err(e) => {
                    tracing::warn!(function.name = %id.name, function.namespace = %id.namespace, error = %DisplayChain(&e), "could not list the tasks of the previous revision; they may serve until ECS stops them");
                }
            }
        }
    }

    /// Best effort undo of the Cloud Map service of a failed deploy: left alone when a service of
    /// this function uses it (another provider replica's deploy of the same name won the race
    /// and adopted it).
    async fn discard_registry(&self, id: &FunctionId, registry: &CloudMapService) {
        match self.find(id).await {
            Ok(Found::Ours(svc))
                if svc
                    .service_registries()
                    .iter()
                    .any(|r| r.registry_arn() == Some(registry.arn.as_str())) =>
            {
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(function.name = %id.name, function.namespace = %id.namespace, cloudmap.service = %registry.id, error = %DisplayChain(&e), "could not tell whether the Cloud Map service of a failed deploy is used; left for the collector");
                return;
            }
        }
        // A Cloud Map service no ECS service used has no instances: one try suffices.
        let undone = cloudmap::delete(&self.aws.servicediscovery, &registry.id).await;
        if !matches!(undone, Ok(cloudmap::Deleted::Yes)) {
            tracing::error!(function.name = %id.name, function.namespace = %id.namespace, cloudmap.service = %registry.id, "could not remove the Cloud Map service after a failed deploy; left for the collector");
        }
    }

    /// Best effort undo of a half-made deploy or update; failures are logged, not returned.
    async fn discard_revision(&self, arn: &str) {
        if let Err(e) = task_definition::remove_revisions(&self.aws.ecs, &[arn.to_string()]).await {
            tracing::error!(task_definition = arn, error = %DisplayChain(&e), "could not remove task definition after a failed change");
        }
    }

    /// Removes every revision and the Cloud Map service of a deleted function.
    async fn clean_up(&self, id: &FunctionId, registry_arns: Vec<String>) -> Result<(), Error> {
        let family = task_definition::family(&id.namespace, &id.name);
        let revisions = task_definition::active_revisions(&self.aws.ecs, &family).await?;
        task_definition::remove_revisions(&self.aws.ecs, &revisions).await?;
        for arn in registry_arns {
            let Some(service_id) = cloudmap::service_id_of(&arn) else {
                continue;
            };
            if cloudmap::delete(&self.aws.servicediscovery, service_id).await?
                == cloudmap::Deleted::InUse
            {
                let sd = self.aws.servicediscovery.clone();
                let service_id = service_id.to_string();
                let (function, namespace) = (id.name.clone(), id.namespace.clone());
                tokio::spawn(async move {
                    if let Err(e) = cloudmap::delete_when_empty(&sd, &service_id).await {
                        tracing::error!(function.name = %function, function.namespace = %namespace, cloudmap.service = %service_id, error = %DisplayChain(&e), "Cloud Map service of a deleted function was left behind");
                    }
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl FunctionBackend for EcsBackend {
    fn default_namespace(&self) -> &Namespace {
        &self.settings.default_namespace
    }

    fn namespaces(&self) -> Vec<Namespace> {
        self.namespace_table().entries().keys().cloned().collect()
    }

    // Called on every invocation: no allocation.
    fn has_namespace(&self, namespace: &Namespace) -> bool {
        self.namespace_table().contains(namespace)
    }

    fn desired_replicas(&self, id: &FunctionId) -> Option<u64> {
        self.cache.replicas(id)
    }

    async fn find_namespace(&self, namespace: &Namespace) -> Result<bool, Error> {
        if self.has_namespace(namespace) {
            return Ok(true);
        }
        {
            let mut misses = self
                .namespace_misses
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            misses.retain(|_, at| at.elapsed() < NAMESPACE_MISS_FOR);
            if misses.contains_key(namespace) {
                return Ok(false);
            }
        }
        self.reload_namespaces().await?;
        let found = self.has_namespace(namespace);
        if !found {
            self.namespace_misses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(namespace.clone(), Instant::now());
        }
        Ok(found)
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<FunctionStatus>, Error> {
        let statuses = self
            .cache
            .list(namespace)
            .into_iter()
            .map(|s| self.with_available(s));
        Ok(futures::future::join_all(statuses).await)
    }

    async fn get(&self, id: &FunctionId) -> Result<Option<FunctionStatus>, Error> {
        if let Some(status) = self.cache.get(id) {
            return Ok(Some(self.with_available(status).await));
        }
        if self.cache.recently_missing(id) {
            return Ok(None);
        }
        // Another provider replica may have deployed it since the last refresh.
        match self.find(id).await? {
            Found::Ours(svc) => {
                let Some((found, status)) = self.status_of(&svc).await? else {
                    return Ok(None);
                };
                self.cache.put(found, status.clone());
                Ok(Some(self.with_available(status).await))
            }
            _ => {
                self.cache.mark_missing(id);
                Ok(None)
            }
        }
    }

    async fn deploy(&self, spec: &FunctionSpec) -> Result<(), Error> {
        // Bad sizes and missing settings are refused before any AWS call.
        task_definition::size(spec, &self.settings.task)?;
        let id = spec.id();
        let name = &spec.name;
        let _namespace_kept = self.namespace_gate.read().await;
        self.require_namespace(&spec.namespace)?;
        let _change = self.change(&id).await;
        match self.find(&id).await? {
            Found::Missing => {}
            Found::Ours(_) => {
                return Err(Error::Conflict(format!("function {name} already exists")));
            }
            Found::Draining => {
                return Err(Error::Conflict(format!(
                    "function {name} is still being deleted; retry shortly"
                )));
            }
            Found::Foreign => {
                return Err(Error::Conflict(format!(
                    "the cluster has a service named {} that faas-ecs does not manage",
                    shared::ecs_service(&id)
                )));
            }
        }
        let secrets = self
            .secrets_manager()
            .arns(&spec.namespace, &spec.secrets)
            .await?;
        let plan = task_definition::plan(spec, &self.settings.task, &secrets)?;
        let arn = task_definition::register(&self.aws.ecs, plan).await?;
        let registry = match cloudmap::create(
            &self.aws.servicediscovery,
            &self.settings.cloudmap_namespace_id,
            self.settings.dns_ttl,
            self.settings.service.srv,
            &id,
        )
        .await
        {
            Ok(registry) => registry,
            Err(e) => {
                self.discard_revision(&arn).await;
                return Err(e);
            }
        };
        let created = service::create(
            &self.aws.ecs,
            &self.settings.service,
            &id,
            &arn,
            &registry.arn,
            spec.initial_replicas(),
        )
        .await;
        let svc = match created {
            Ok(svc) => svc,
            Err(e) => {
                self.discard_registry(&id, &registry).await;
                self.discard_revision(&arn).await;
                return Err(e);
            }
        };
        self.cache
            .put_deployment(&arn, Arc::new(spec.deployment.clone()));
        self.cache.put(
            id.clone(),
            mapping::function_status(&svc, &spec.deployment, &spec.namespace),
        );
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, task_definition = %arn, replicas = spec.initial_replicas(), "function deployed");
        Ok(())
    }

    async fn update(&self, spec: &FunctionSpec) -> Result<(), Error> {
        task_definition::size(spec, &self.settings.task)?;
        let id = spec.id();
        self.require_namespace(&spec.namespace)?;
        let _change = self.change(&id).await;
        let previous = self.existing(&id).await?;
        let secrets = self
            .secrets_manager()
            .arns(&spec.namespace, &spec.secrets)
            .await?;
        let plan = task_definition::plan(spec, &self.settings.task, &secrets)?;
        let arn = task_definition::register(&self.aws.ecs, plan).await?;
        let svc = match service::update(
            &self.aws.ecs,
            &self.settings.service.cluster,
            &id,
            Some(&arn),
            None,
        )
        .await
        {
            Ok(svc) => svc,
            Err(e) => {
                self.discard_revision(&arn).await;
                return Err(e);
            }
        };
        self.retire_tasks(&id, &previous).await;
        self.cache
            .put_deployment(&arn, Arc::new(spec.deployment.clone()));
        self.cache.put(
            id.clone(),
            mapping::function_status(&svc, &spec.deployment, &spec.namespace),
        );
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, task_definition = %arn, "function updated");
        Ok(())
    }

    async fn delete(&self, id: &FunctionId) -> Result<(), Error> {
        let _change = self.change(id).await;
        let svc = self.existing(id).await?;
        service::delete(&self.aws.ecs, &self.settings.service.cluster, id).await?;
        self.cache.remove(id);
        let registries = svc
            .service_registries()
            .iter()
            .filter_map(|r| r.registry_arn())
            .map(String::from)
            .collect();
        self.clean_up(id, registries).await?;
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, "function deleted");
        Ok(())
    }

    async fn scale(&self, id: &FunctionId, replicas: u32) -> Result<(), Error> {
        let _change = self.change(id).await;
        self.existing(id).await?;
        let svc = service::update(
            &self.aws.ecs,
            &self.settings.service.cluster,
            id,
            None,
            Some(replicas),
        )
        .await?;
        if let Some((found, status)) = self.status_of(&svc).await? {
            self.cache.put(found, status);
        }
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, replicas, "function scaled");
        Ok(())
    }
}

#[async_trait]
impl NamespaceStore for EcsBackend {
    fn namespace(&self, name: &Namespace) -> Option<NamespaceSpec> {
        self.namespace_table()
            .get(name)
            .map(|(spec, _)| spec.clone())
    }

    async fn create_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error> {
        let _change = self.namespace_change(&spec.name).await;
        // Another provider replica may have made it since the last refresh.
        self.reload_namespaces().await?;
        if self.has_namespace(&spec.name) {
            return Err(Error::Conflict(format!(
                "namespace {} already exists",
                spec.name
            )));
        }
        let service = namespaces::create(
            &self.aws.servicediscovery,
            &self.settings.cloudmap_namespace_id,
            spec,
        )
        .await?;
        self.namespace_table_mut()
            .put(spec.name.clone(), (spec.clone(), Some(service)));
        tracing::info!(namespace = %spec.name, "namespace created");
        Ok(())
    }

    async fn update_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error> {
        let _change = self.namespace_change(&spec.name).await;
        self.reload_namespaces().await?;
        let service = match self.namespace_record(&spec.name) {
            None => return Err(Error::NotFound(format!("namespace {}", spec.name))),
            Some(Some(service)) => {
                namespaces::update(&self.aws.servicediscovery, &service, spec).await?;
                service
            }
            // The default namespace gets a record when labels are first set on it.
            Some(None) => {
                namespaces::create(
                    &self.aws.servicediscovery,
                    &self.settings.cloudmap_namespace_id,
                    spec,
                )
                .await?
            }
        };
        self.namespace_table_mut()
            .put(spec.name.clone(), (spec.clone(), Some(service)));
        tracing::info!(namespace = %spec.name, "namespace updated");
        Ok(())
    }

    async fn delete_namespace(&self, name: &Namespace) -> Result<(), Error> {
        if *name == self.settings.default_namespace {
            return Err(Error::Invalid(format!(
                "namespace {name} is the default namespace (FAAS_ECS_DEFAULT_NAMESPACE) and cannot be removed"
            )));
        }
        let _change = self.namespace_change(name).await;
        // No deploy or secret is made in this namespace until it is gone.
        let _gate = self.namespace_gate.write().await;
        self.reload_namespaces().await?;
        let Some(service) = self.namespace_record(name).flatten() else {
            return Err(Error::NotFound(format!("namespace {name}")));
        };
        // What ECS lists, and what this provider knows of (a deploy it just made).
        let mut functions: Vec<String> =
            service::list_ours(&self.aws.ecs, &self.settings.service.cluster)
                .await?
                .iter()
                .filter(|s| service::is_ours(s, name))
                .filter_map(|s| s.tags().iter().find(|t| t.key() == Some(FUNCTION_TAG)))
                .filter_map(|t| t.value().map(String::from))
                .collect();
        functions.extend(self.cache.list(name).into_iter().map(|s| s.name));
        functions.sort();
        functions.dedup();
        let secrets = self.secrets_manager().list(name).await?;
        if !functions.is_empty() || !secrets.is_empty() {
            tracing::debug!(namespace = %name, ?functions, secrets = secrets.len(), "namespace not removed: not empty");
            return Err(super::namespace_not_empty(
                name,
                functions.len(),
                secrets.len(),
            ));
        }
        namespaces::delete(&self.aws.servicediscovery, &service).await?;
        self.namespace_table_mut().remove(name);
        tracing::info!(namespace = %name, "namespace deleted");
        Ok(())
    }
}

#[async_trait]
impl SecretStore for EcsBackend {
    async fn list_secrets(&self, namespace: &Namespace) -> Result<Vec<SecretName>, Error> {
        Ok(self
            .secrets_manager()
            .list(namespace)
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    async fn create_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        let _namespace_kept = self.namespace_gate.read().await;
        self.require_namespace(namespace)?;
        self.secrets_manager()
            .create(namespace, name, value)
            .await?;
        tracing::info!(secret.name = %name, "secret created");
        Ok(())
    }

    async fn update_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        self.secrets_manager()
            .update(namespace, name, value)
            .await?;
        tracing::info!(secret.name = %name, "secret updated; functions read it when they are next deployed or updated");
        Ok(())
    }

    async fn delete_secret(&self, namespace: &Namespace, name: &SecretName) -> Result<(), Error> {
        self.secrets_manager().delete(namespace, name).await?;
        tracing::info!(secret.name = %name, "secret deleted");
        Ok(())
    }
}

#[async_trait]
impl LogSource for EcsBackend {
    async fn logs(
        &self,
        request: LogRequest,
    ) -> Result<futures::stream::BoxStream<'static, Result<LogMessage, Error>>, Error> {
        logs::stream(
            self.aws.logs.clone(),
            self.settings.task.log_group.clone(),
            request,
            self.settings.log_poll_interval,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::config::http::HttpResponse;
    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::list_services::ListServicesError;
    use aws_smithy_types::body::SdkBody;

    fn service_error(code: &str) -> SdkError<ListServicesError, HttpResponse> {
        let err = ListServicesError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("raw AWS text")
                .build(),
        );
        let response = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(err, response)
    }

    #[tokio::test]
    async fn an_aws_that_does_not_answer_is_a_503_within_the_configured_bound() {
        use clap::Parser;
        // Accepts connections and never answers, as a hung endpoint does.
        let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = hung.local_addr().unwrap();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = hung.accept().await {
                held.push(socket);
            }
        });
        let config = crate::config::Config::try_parse_from([
            "faas-ecs",
            "--subnets=subnet-1",
            "--cloudmap-namespace-id=ns-1",
            "--execution-role-arn=arn:aws:iam::1:role/x",
            "--aws-timeout=1s",
            "--aws-attempt-timeout=300ms",
        ])
        .unwrap();
        let sdk = crate::aws::loader()
            .region("us-east-1")
            .endpoint_url(format!("http://{addr}"))
            .credentials_provider(aws_sdk_ecs::config::Credentials::for_tests())
            .timeout_config(config.aws_timeouts())
            .load()
            .await;
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            ecs.describe_services()
                .cluster("openfaas")
                .services("echo")
                .send(),
        )
        .await
        .expect("the SDK's own timeout ends the call");
        let err = aws_error("DescribeServices", answer.unwrap_err());
        assert!(matches!(err, Error::AwsTimeout { .. }), "{err:?}");
        assert!(err.to_string().contains("may or may not"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        holder.abort();
    }

    #[test]
    fn throttling_left_after_retries_is_a_503_and_other_errors_a_500_without_aws_text() {
        let throttled = aws_error("ListServices", service_error("ThrottlingException"));
        assert_eq!(
            crate::error::Error::from(throttled).status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        let other = aws_error("ListServices", service_error("AccessDeniedException"));
        assert!(!other.to_string().contains("raw AWS text"), "{other}");
        assert_eq!(
            crate::error::Error::from(other).status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
