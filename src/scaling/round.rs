//! One scaling round: sample this replica's load, publish it for the other replicas and as
//! metrics, and, on the replica that leads, decide and apply.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use super::Scaling;
use super::peers::Report;
use super::policy::{self, Decision, History, Load, Policy};
use super::window::{Tracked, total};
use crate::failure::DisplayChain;
use crate::metrics::{DecisionLabels, FunctionLabels};
use crate::model::FunctionId;

impl Scaling {
    pub(super) async fn apply(
        &self,
        id: &FunctionId,
        from: u64,
        decision: Decision,
        load: &Load,
    ) -> Result<(), crate::backend::Error> {
        let to = decision.to.min(self.settings.max_replicas);
        self.backend.scale(id, to as u32).await?;
        tracing::info!(
            function.name = %id.name, function.namespace = %id.namespace,
            from,
            to,
            reason = decision.reason.as_str(),
            rate = load.rate,
            in_flight = load.in_flight,
            idle_seconds = load.idle.as_secs(),
            "scaling decision"
        );
        self.metrics
            .decisions
            .get_or_create(&DecisionLabels {
                function_name: id.name.to_string(),
                namespace: id.namespace.to_string(),
                reason: decision.reason.as_str(),
            })
            .inc();
        Ok(())
    }

    /// One round: sample this replica's counts, publish them, add the other replicas', and, on
    /// the replica that leads, decide.
    pub async fn tick(&self, now: Instant) {
        let local = self.sample(now);
        *self.report.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(Report {
            id: self.peers.id().to_string(),
            functions: local.clone(),
        });
        let (others, leads) = self.peers.gather().await;
        let functions = self.backend.every_function();
        let ids: HashSet<&FunctionId> = functions.iter().map(|(id, _)| id).collect();
        self.meters.retain(|id| ids.contains(id));
        let mut decisions = Vec::new();
        {
            let mut tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
            tracked.retain(|id, _| ids.contains(id));
            for (id, status) in &functions {
                let labels = FunctionLabels {
                    function_name: id.name.to_string(),
                    namespace: id.namespace.to_string(),
                };
                let t = tracked
                    .entry(id.clone())
                    .or_insert_with(|| Tracked::new(now));
                if t.seen != Some(status.replicas) {
                    t.seen = Some(status.replicas);
                    t.since = now;
                }
                let load = total(id, &local, &others, now.duration_since(t.since));
                self.metrics.rate.get_or_create(&labels).set(load.rate);
                self.metrics
                    .in_flight
                    .get_or_create(&labels)
                    .set(load.in_flight);
                self.metrics
                    .desired
                    .get_or_create(&labels)
                    .set(status.replicas as i64);
                // A replica that does not lead keeps no history: when it comes to lead, it
                // starts with a full window, as after a manual change.
                if !self.settings.autoscaling || !leads {
                    t.history = History::default();
                    continue;
                }
                let policy = match Policy::from_labels(
                    &status.labels,
                    self.settings.defaults,
                    self.settings.max_replicas,
                ) {
                    Ok(policy) => policy,
                    Err(e) => {
                        tracing::debug!(function.name = %id.name, function.namespace = %id.namespace, error = %e, "not scaled: a scaling label is invalid");
                        continue;
                    }
                };
                if let Some(decision) = policy::decide(
                    &policy,
                    status.replicas,
                    &load,
                    &mut t.history,
                    now,
                    self.settings.stabilisation,
                ) {
                    decisions.push((id.clone(), status.replicas, decision, load));
                }
            }
        }
        for (id, from, decision, load) in decisions {
            match self.apply(&id, from, decision, &load).await {
                Ok(()) => {
                    if let Some(t) = self
                        .tracked
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_mut(&id)
                    {
                        t.history.set(decision.to);
                    }
                }
                Err(e) => {
                    tracing::warn!(function.name = %id.name, function.namespace = %id.namespace, error = %DisplayChain(&e), "scaling decision not applied; retried next round")
                }
            }
        }
    }
}
