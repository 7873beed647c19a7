//! One scaling round: sample this replica's load, publish it for the other replicas and as
//! metrics, and, on the replica that leads, decide and apply.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use super::Scaling;
use super::peers::{Changed, Report, leader};
use super::policy::{self, Decision, History, Load, Policy};
use super::window::{Tracked, total};
use crate::failure::DisplayChain;
use crate::metrics::{DecisionLabels, FunctionLabels, LeaderLabels};
use crate::model::FunctionId;

/// This replica's part in a round.
enum Leading {
    No,
    Yes,
    /// It leads after another did, or after a gap of more than two rounds (stopped, or starved).
    Afresh,
}

impl Scaling {
    /// Who leads this round, said in the log when it changes and shown in `/metrics`.
    fn elect(&self, others: &[Report], now: Instant) -> Leading {
        let me = self.peers.id();
        let leader = leader(me, self.settings.autoscaling, others).map(String::from);
        let mut rounds = self.rounds.lock().unwrap_or_else(|p| p.into_inner());
        let last = rounds.last.replace(now);
        // The first round follows the read at start.
        let gap = last.is_some_and(|last| now.duration_since(last) > self.settings.interval * 2);
        let took_over = last.is_some() && rounds.leader != leader;
        let changed = rounds.leader != leader;
        if changed {
            self.metrics.leader.clear();
            match &leader {
                Some(id) if id == me => tracing::info!(replica = me, "this replica leads scaling"),
                Some(id) => {
                    tracing::info!(replica = me, leader = %id, "another replica leads scaling")
                }
                None => tracing::info!(
                    replica = me,
                    "no provider replica scales (FAAS_ECS_AUTOSCALING=false on all)"
                ),
            }
            if let Some(id) = &leader {
                self.metrics
                    .leader
                    .get_or_create(&LeaderLabels {
                        replica: id.clone(),
                    })
                    .set(1);
            }
            rounds.leader = leader.clone();
        }
        match leader {
            Some(id) if id == me && (took_over || gap) => Leading::Afresh,
            Some(id) if id == me => Leading::Yes,
            _ => Leading::No,
        }
    }

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
            scales: self.settings.autoscaling,
            functions: local.clone(),
            changed: self
                .backend
                .recently_changed()
                .into_iter()
                .map(|id| Changed {
                    name: id.name.to_string(),
                    namespace: id.namespace.to_string(),
                })
                .collect(),
        });
        let others = self.peers.gather().await;
        let changed_elsewhere = others
            .iter()
            .flat_map(|r| &r.changed)
            .filter_map(|c| FunctionId::parse(&c.namespace, &c.name).ok())
            .collect();
        self.backend.changed_elsewhere(changed_elsewhere);
        let leads = match self.elect(&others, now) {
            Leading::No => false,
            Leading::Yes => true,
            // What this replica knows of desired counts may be stale (another replica, or a
            // hand in AWS, changed them meanwhile): read again, and start every window afresh,
            // so nothing is lowered before a full down delay.
            Leading::Afresh => match self.backend.reload().await {
                Ok(()) => {
                    for t in self
                        .tracked
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .values_mut()
                    {
                        t.history = History::default();
                    }
                    true
                }
                Err(e) => {
                    tracing::warn!(error = %DisplayChain(&e), "could not read desired counts again; no scaling decision this round");
                    self.rounds.lock().unwrap_or_else(|p| p.into_inner()).leader = None;
                    false
                }
            },
        };
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
                if !leads {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::memory::MemoryBackend;
    use crate::metrics::Metrics;
    use crate::scaling::peers::Peers;

    fn scaling(autoscaling: bool) -> Scaling {
        let mut settings = crate::config::scaling::off();
        settings.autoscaling = autoscaling;
        Scaling::new(
            Arc::new(MemoryBackend::new()),
            &Metrics::new(),
            settings,
            Peers::none(),
        )
    }

    fn peer(id: &str, scales: bool) -> Report {
        Report {
            id: id.into(),
            scales,
            functions: Vec::new(),
            changed: Vec::new(),
        }
    }

    #[test]
    fn a_replica_that_takes_over_or_resumes_after_a_gap_starts_afresh() {
        let s = scaling(true);
        let round = s.settings.interval;
        let t0 = Instant::now();
        assert!(
            matches!(s.elect(&[], t0), Leading::Yes),
            "the first round follows the start"
        );
        assert!(matches!(s.elect(&[], t0 + round), Leading::Yes));
        assert!(
            matches!(s.elect(&[], t0 + round * 10), Leading::Afresh),
            "resumed"
        );
        let lower = [peer("0", true)];
        assert!(matches!(s.elect(&lower, t0 + round * 11), Leading::No));
        assert!(
            matches!(s.elect(&[], t0 + round * 12), Leading::Afresh),
            "took over"
        );
        assert!(matches!(s.elect(&[], t0 + round * 13), Leading::Yes));
    }

    #[test]
    fn a_replica_that_does_not_scale_never_leads_even_with_the_lowest_id() {
        let s = scaling(false);
        let higher = [peer("ffffffffffffffff", true)];
        assert!(matches!(s.elect(&higher, Instant::now()), Leading::No));
        let rounds = s.rounds.lock().unwrap();
        assert_eq!(rounds.leader.as_deref(), Some("ffffffffffffffff"));
    }
}
