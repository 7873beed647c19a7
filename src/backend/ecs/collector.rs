//! The collector: Cloud Map services and task definition families of this provider's that no
//! function uses, left by a provider stopped half-way through a deploy or a delete, or by a
//! rollback that failed.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::Service;

use super::{EcsBackend, cloudmap, revisions, service};
use crate::backend::Error;
use crate::model::shared;

impl EcsBackend {
    /// Deletes Cloud Map services and task definition families of ours that no function uses and
    /// that are older than `min_age` (a deploy makes both moments before its ECS service): left
    /// by a provider stopped half-way through a deploy or a delete, or by a rollback that failed.
    pub async fn collect_garbage(&self, min_age: Duration) -> Result<(), Error> {
        let services = service::list_ours(&self.aws.ecs, &self.settings.service.cluster).await?;
        self.collect_garbage_among(&services, min_age).await
    }

    /// The same, with the services a sweep just listed.
    pub(super) async fn collect_garbage_among(
        &self,
        services: &[Service],
        min_age: Duration,
    ) -> Result<(), Error> {
        let families_in_use: Vec<&str> = services
            .iter()
            .filter_map(|s| s.task_definition())
            .filter_map(revisions::family_of)
            .collect();
        let ecs = &self.aws.ecs;
        let families = revisions::families(ecs).await?;
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
            if revisions::is_ours(ecs, newest).await? {
                revisions::remove_revisions(ecs, &revisions).await?;
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
}
