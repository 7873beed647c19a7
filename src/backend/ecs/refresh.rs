//! The cache kept true: read whole at start and every `FAAS_ECS_REFRESH_INTERVAL`, and, every
//! few minutes, the collector run ([`super::collector`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::Service;

use super::{EcsBackend, mapping, revisions, service};
use crate::backend::Error;
use crate::failure::DisplayChain;
use crate::model::{FunctionDeployment, FunctionId, FunctionName, FunctionStatus};

/// How often the refresh also looks for Cloud Map services left behind.
const GARBAGE_COLLECTION_INTERVAL: Duration = Duration::from_secs(300);
/// A Cloud Map service younger than this may belong to a deploy under way.
pub(super) const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);

impl EcsBackend {
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

    /// The deployment recorded in a revision: from memory, else one DescribeTaskDefinition.
    pub(super) async fn deployment(
        &self,
        task_definition_arn: &str,
    ) -> Result<Option<Arc<FunctionDeployment>>, Error> {
        if let Some(deployment) = self.cache.deployment(task_definition_arn) {
            return Ok(Some(deployment));
        }
        let Some(deployment) =
            revisions::read_deployment(&self.aws.ecs, task_definition_arn).await?
        else {
            return Ok(None);
        };
        let deployment = Arc::new(deployment);
        self.cache
            .put_deployment(task_definition_arn, deployment.clone());
        Ok(Some(deployment))
    }

    /// A service's function and its status; `None` for a service that is not a function of ours.
    pub(super) async fn status_of(
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
}
