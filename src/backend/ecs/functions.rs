//! Functions on ECS: reads from the cache, and the changes, each made in AWS first (checked
//! there, not in memory) and then written through to the cache. A deploy registers a task
//! definition revision, then a Cloud Map service, then the ECS service; a failure half-way undoes
//! the earlier steps.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ecs::types::Service;
use futures::StreamExt;

use super::cloudmap::{self, CloudMapService};
use super::run::{self, Run};
use super::service::{self, Found};
use super::{EcsBackend, mapping, revisions, task_definition};
use crate::backend::{Error, FunctionBackend};
use crate::failure::DisplayChain;
use crate::model::shared;
use crate::model::{FunctionId, FunctionSpec, FunctionStatus, Namespace};

impl EcsBackend {
    /// How a deployment runs under the operator's profiles, checked (sizes included) before any
    /// AWS call.
    fn run_of(&self, spec: &FunctionSpec) -> Result<Run, Error> {
        let defaults = Run::defaults(
            &self.settings.service,
            self.settings.task.task_role_arn.as_deref(),
        );
        let run = run::resolve(spec, &self.settings.profiles, &defaults)?;
        task_definition::size(spec, &self.settings.task, &run)?;
        Ok(run)
    }

    /// The task definition revision a deployment runs as, with its secrets' ARNs.
    async fn register_revision(&self, spec: &FunctionSpec, run: &Run) -> Result<String, Error> {
        let secrets = self
            .secrets_manager()
            .arns(&spec.namespace, &spec.secrets)
            .await?;
        let plan = task_definition::plan(spec, &self.settings.task, run, &secrets)?;
        revisions::register(&self.aws.ecs, plan).await
    }

    /// Writes a change made in AWS through to the cache.
    fn remember(&self, spec: &FunctionSpec, arn: &str, svc: &Service) {
        self.cache
            .put_deployment(arn, Arc::new(spec.deployment.clone()));
        self.cache.put(
            spec.id(),
            mapping::function_status(svc, &spec.deployment, &spec.namespace),
        );
    }

    /// Sets `availableReplicas` to the tasks an invocation could reach now.
    async fn with_available(&self, id: &FunctionId, mut status: FunctionStatus) -> FunctionStatus {
        let reachable = self.resolver.resolve(id).await.len() as u64;
        status.available_replicas = reachable.min(status.replicas);
        status
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
        if let Err(e) = revisions::remove_revisions(&self.aws.ecs, &[arn.to_string()]).await {
            tracing::error!(task_definition = arn, error = %DisplayChain(&e), "could not remove task definition after a failed change");
        }
    }

    /// Removes every revision and the Cloud Map service of a deleted function.
    async fn clean_up(&self, id: &FunctionId, registry_arns: Vec<String>) -> Result<(), Error> {
        let family = task_definition::family(&id.namespace, &id.name);
        let revisions = revisions::active_revisions(&self.aws.ecs, &family).await?;
        revisions::remove_revisions(&self.aws.ecs, &revisions).await?;
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
    fn desired_replicas(&self, id: &FunctionId) -> Option<u64> {
        self.cache.replicas(id)
    }

    fn every_function(&self) -> Vec<(FunctionId, FunctionStatus)> {
        self.cache.all()
    }

    async fn reload(&self) -> Result<(), Error> {
        self.refresh().await
    }

    fn recently_changed(&self) -> Vec<FunctionId> {
        self.hot.mine()
    }

    fn changed_elsewhere(&self, ids: Vec<FunctionId>) {
        for id in ids {
            self.hot.mark(id, false);
        }
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<FunctionStatus>, Error> {
        // Sixteen at once: all 5,000 resolver lookups at once held ~50 MiB of futures for a list.
        let statuses = self.cache.list(namespace);
        Ok(futures::stream::iter(statuses)
            .map(|(id, s)| async move { self.with_available(&id, s).await })
            .buffered(16)
            .collect()
            .await)
    }

    async fn get(&self, id: &FunctionId) -> Result<Option<FunctionStatus>, Error> {
        if let Some(status) = self.cache.get(id) {
            return Ok(Some(self.with_available(id, status).await));
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
                Ok(Some(self.with_available(id, status).await))
            }
            _ => {
                self.cache.mark_missing(id);
                Ok(None)
            }
        }
    }

    async fn deploy(&self, spec: &FunctionSpec) -> Result<(), Error> {
        // Bad sizes, profiles and missing settings are refused before any AWS call.
        let run = self.run_of(spec)?;
        let id = spec.id();
        let name = &spec.name;
        let _namespace_kept = self.namespace_gate.read().await;
        self.check_namespace(&spec.namespace)?;
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
        let arn = self.register_revision(spec, &run).await?;
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
            &run,
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
        self.remember(spec, &arn, &svc);
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, task_definition = %arn, replicas = spec.initial_replicas(), "function deployed");
        self.hot.mark(id.clone(), true);
        Ok(())
    }

    async fn update(&self, spec: &FunctionSpec) -> Result<(), Error> {
        let run = self.run_of(spec)?;
        let id = spec.id();
        self.check_namespace(&spec.namespace)?;
        let _change = self.change(&id).await;
        let previous = self.existing(&id).await?;
        let placement = service::placement_change(&id, &previous, &run.placement)?;
        let arn = self.register_revision(spec, &run).await?;
        let svc = match service::redeploy(
            &self.aws.ecs,
            &self.settings.service.cluster,
            &id,
            &previous,
            &arn,
            &run,
            placement,
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
        self.remember(spec, &arn, &svc);
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, task_definition = %arn, "function updated");
        self.hot.mark(id.clone(), true);
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
        self.hot.mark(id.clone(), true);
        Ok(())
    }

    async fn scale(&self, id: &FunctionId, replicas: u32) -> Result<(), Error> {
        let _change = self.change(id).await;
        self.existing(id).await?;
        let svc =
            service::scale(&self.aws.ecs, &self.settings.service.cluster, id, replicas).await?;
        if let Some((found, status)) = self.status_of(&svc).await? {
            self.cache.put(found, status);
        }
        tracing::info!(function.name = %id.name, function.namespace = %id.namespace, replicas, "function scaled");
        self.hot.mark(id.clone(), true);
        Ok(())
    }
}
