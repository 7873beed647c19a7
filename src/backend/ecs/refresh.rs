//! The cache kept true at a cost that follows change, not the number of functions: every
//! `FAAS_ECS_REFRESH_INTERVAL` a round reads the namespaces and, again, only the functions changed
//! lately (by this replica, or by another as the replicas' reports say: [`Hot`]), one
//! DescribeServices per ten;
//! a full sweep reads every function, at most every `FAAS_ECS_SWEEP_INTERVAL` and less often
//! with many functions, so that sweeps cost at most [`SWEEP_CALLS_PER_SECOND`]; the collector
//! ([`super::collector`]) runs on a sweep's list every few minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::Service;
use futures::{StreamExt, TryStreamExt};

use super::{EcsBackend, mapping, revisions, service};
use crate::backend::Error;
use crate::failure::DisplayChain;
use crate::model::{FunctionDeployment, FunctionId, FunctionName, FunctionStatus};

/// How often a sweep also looks for resources left behind.
const GARBAGE_COLLECTION_INTERVAL: Duration = Duration::from_secs(300);
/// A Cloud Map service younger than this may belong to a deploy under way.
pub(super) const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);
/// What full sweeps may cost, on average, in AWS calls per second.
pub const SWEEP_CALLS_PER_SECOND: f64 = 0.5;
/// How long a changed function is read again every round.
const HOT_FOR: Duration = Duration::from_secs(120);

/// Functions changed lately, and whether by this replica.
#[derive(Default)]
pub(super) struct Hot(Mutex<HashMap<FunctionId, (Instant, bool)>>);

impl Hot {
    pub(super) fn mark(&self, id: FunctionId, mine: bool) {
        let mut hot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        hot.retain(|_, (at, _)| at.elapsed() < HOT_FOR);
        let entry = hot.entry(id).or_insert((Instant::now(), mine));
        *entry = (Instant::now(), entry.1 || mine);
    }

    fn ids(&self) -> Vec<FunctionId> {
        self.recent(false)
    }

    /// Those this replica changed.
    pub(super) fn mine(&self) -> Vec<FunctionId> {
        self.recent(true)
    }

    fn recent(&self, only_mine: bool) -> Vec<FunctionId> {
        let hot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        hot.iter()
            .filter(|(_, (at, mine))| (*mine || !only_mine) && at.elapsed() < HOT_FOR)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The time a sweep of `services` functions may take to pay for itself within the budget.
fn sweep_period(services: usize, at_least: Duration) -> Duration {
    // ListServices pages of 100, DescribeServices of 10, the namespaces' list.
    let calls = services.div_ceil(100).max(1) + services.div_ceil(10) + 1;
    at_least.max(Duration::from_secs_f64(
        calls as f64 / SWEEP_CALLS_PER_SECOND,
    ))
}

impl EcsBackend {
    /// Refreshes the cache every `interval` until the returned task is aborted: a round of the
    /// functions changed lately, or a full sweep when one is due.
    pub fn spawn_refresh(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let backend = Arc::downgrade(self);
        let at_least = self.settings.sweep_interval;
        // The read at start was the first sweep.
        let mut period = sweep_period(self.cache.len(), at_least);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            let (mut last_sweep, mut last_collection) = (Instant::now(), Instant::now());
            loop {
                ticker.tick().await;
                let Some(backend) = backend.upgrade() else {
                    return;
                };
                if last_sweep.elapsed() < period {
                    if let Err(e) = backend.refresh_changed().await {
                        tracing::warn!(error = %DisplayChain(&e), "reading changed functions from ECS failed; serving the last known state");
                    }
                    continue;
                }
                last_sweep = Instant::now();
                let services = match backend.sweep().await {
                    Ok(services) => services,
                    Err(e) => {
                        tracing::warn!(error = %DisplayChain(&e), "refreshing functions from ECS failed; serving the last known state");
                        continue;
                    }
                };
                period = sweep_period(services.len(), at_least);
                if last_collection.elapsed() >= GARBAGE_COLLECTION_INTERVAL {
                    last_collection = Instant::now();
                    if let Err(e) = backend
                        .collect_garbage_among(&services, ORPHAN_MIN_AGE)
                        .await
                    {
                        tracing::warn!(error = %DisplayChain(&e), "looking for resources left behind failed");
                    }
                }
            }
        })
    }

    /// Reads every namespace and every function of ours from AWS into the cache.
    pub async fn refresh(&self) -> Result<(), Error> {
        self.sweep().await.map(|_| ())
    }

    /// A full read; returns the services listed.
    async fn sweep(&self) -> Result<Vec<Service>, Error> {
        let started = Instant::now();
        self.reload_namespaces().await?;
        let services = service::list_ours(&self.aws.ecs, &self.settings.service.cluster).await?;
        let statuses = self.statuses_of(&services).await?;
        let in_use: Vec<&str> = services
            .iter()
            .filter_map(|s| s.task_definition())
            .collect();
        self.cache.retain_deployments(&in_use);
        self.cache.replace(statuses, started);
        Ok(services)
    }

    /// Reads the namespaces again (one call per hundred), and the functions changed lately.
    pub async fn refresh_changed(&self) -> Result<(), Error> {
        self.reload_namespaces().await?;
        let ids = self.hot.ids();
        if ids.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let found = service::describe(&self.aws.ecs, &self.settings.service.cluster, &ids).await?;
        let found: Vec<Service> = found.into_iter().map(|(_, svc)| svc).collect();
        let statuses = self.statuses_of(&found).await?;
        self.cache.merge(&ids, statuses, started);
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

    /// The functions and statuses of services (skipping those not ours); task definitions not in
    /// memory (every one at start-up) are read four at once, as DescribeServices are.
    async fn statuses_of(
        &self,
        services: &[Service],
    ) -> Result<Vec<(FunctionId, FunctionStatus)>, Error> {
        // By index: a closure taking `&Service` makes the refresh task's future one the compiler
        // cannot prove `Send` (rust-lang/rust#102211).
        let found: Vec<_> = futures::stream::iter(0..services.len())
            .map(|i| self.status_of(&services[i]))
            .buffered(4)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
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
