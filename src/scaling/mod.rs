//! Scaling inside the provider: from zero when an invocation arrives, to zero when a function
//! labelled for it is idle, and by load (requests per second or in flight) within its labels'
//! min..max. The proxy counts invocations ([`meter`]); the scaler samples the counts on the
//! control thread, adds the other provider replicas' ([`peers`]), and the replica with the lowest
//! id changes desired counts by the rules of [`policy`]. No AWS call is made per invocation.

pub mod meter;
pub mod peers;
pub mod policy;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

use self::meter::Meters;
use self::peers::{FunctionReport, Peers, Report};
use self::policy::{Decision, Defaults, History, Load, Policy, Reason};
use crate::backend::FunctionBackend;
use crate::error::DisplayChain;
use crate::metrics::{DecisionLabels, FunctionLabels, Metrics, ScalingMetrics};
use crate::model::{FunctionId, FunctionName, FunctionStatus};
use crate::proxy::{ColdStart, Unready};
use crate::resolver::{Endpoints, Resolver};

/// How often a held invocation looks for a ready task.
const READY_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct ScalingSettings {
    /// Whether the scaler changes desired counts by load and idleness.
    pub autoscaling: bool,
    /// Longest time an invocation waits for a task of a function that has none ready; zero
    /// answers 503 at once (no scale from zero).
    pub from_zero_timeout: Duration,
    /// How often the scaler samples and decides.
    pub interval: Duration,
    /// Span the rate and the in-flight count are averaged over.
    pub window: Duration,
    /// How long load must stay lower before a scale-down.
    pub stabilisation: Duration,
    pub defaults: Defaults,
    /// Largest desired count any path sets.
    pub max_replicas: u64,
}

/// `FAAS_ECS_MAX_REPLICAS` unless set.
pub const DEFAULT_MAX_REPLICAS: u64 = 500;

impl ScalingSettings {
    /// No scaler and no waiting for tasks (a function without a ready task answers 503 at once);
    /// the configuration's other defaults.
    pub fn off() -> Self {
        Self {
            autoscaling: false,
            from_zero_timeout: Duration::ZERO,
            interval: Duration::from_secs(2),
            window: Duration::from_secs(10),
            stabilisation: Duration::from_secs(30),
            defaults: Defaults {
                target: 5.0,
                zero_duration: Duration::from_secs(900),
            },
            max_replicas: DEFAULT_MAX_REPLICAS,
        }
    }
}

/// What the scaler remembers of one function.
struct Tracked {
    /// (when, invocations started, in flight) on this replica, over the window.
    samples: VecDeque<(Instant, u64, u64)>,
    history: History,
    /// The desired count last seen, and since when: idle time counts from there when no
    /// invocation was seen (a function woken or scaled by hand is not idle from before).
    seen: Option<u64>,
    since: Instant,
}

impl Tracked {
    fn new(now: Instant) -> Self {
        Self {
            samples: VecDeque::new(),
            history: History::default(),
            seen: None,
            since: now,
        }
    }
}

pub struct Scaling {
    settings: ScalingSettings,
    backend: Arc<dyn FunctionBackend>,
    pub meters: Arc<Meters>,
    metrics: ScalingMetrics,
    peers: Peers,
    wakes: mpsc::UnboundedSender<FunctionId>,
    wake_queue: Mutex<Option<mpsc::UnboundedReceiver<FunctionId>>>,
    tracked: Mutex<HashMap<FunctionId, Tracked>>,
    /// This replica's load as of the last tick, for the other replicas.
    report: Mutex<Arc<Report>>,
}

impl Scaling {
    pub fn new(
        backend: Arc<dyn FunctionBackend>,
        metrics: &Metrics,
        settings: ScalingSettings,
        peers: Peers,
    ) -> Self {
        let (wakes, wake_queue) = mpsc::unbounded_channel();
        let report = Arc::new(Report {
            id: peers.id().to_string(),
            functions: Vec::new(),
        });
        Self {
            meters: Arc::new(Meters::new(metrics.invocations.clone())),
            metrics: metrics.scaling.clone(),
            settings,
            backend,
            peers,
            wakes,
            wake_queue: Mutex::new(Some(wake_queue)),
            tracked: Mutex::default(),
            report: Mutex::new(report),
        }
    }

    pub fn settings(&self) -> &ScalingSettings {
        &self.settings
    }

    /// This replica's load as of the last tick.
    pub fn report(&self) -> Arc<Report> {
        self.report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs the scaler and the wakes on the current runtime until the task is aborted.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let queue = self
            .wake_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let scaling = self.clone();
        tokio::spawn(async move {
            if let Some(mut queue) = queue {
                let waker = scaling.clone();
                tokio::spawn(async move {
                    while let Some(name) = queue.recv().await {
                        waker.wake(&name).await;
                    }
                });
            }
            let mut ticker = tokio::time::interval(scaling.settings.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                scaling.tick(Instant::now()).await;
            }
        })
    }

    /// Sets a function at zero to its wake count; at most one at a time per function.
    async fn wake(&self, id: &FunctionId) {
        let meter = self.meters.get(id);
        let result = self.wake_once(id).await;
        meter.waking.store(false, Ordering::Release);
        if let Err(e) = result {
            tracing::warn!(function.name = %id.name, function.namespace = %id.namespace, error = %DisplayChain(&e), "scale from zero failed; held invocations will time out unless another replica wakes it");
        }
    }

    async fn wake_once(&self, id: &FunctionId) -> Result<(), crate::backend::Error> {
        let Some(status) = self.backend.get(id).await? else {
            return Ok(());
        };
        if status.replicas != 0 {
            return Ok(());
        }
        let to = match Policy::from_labels(
            &status.labels,
            self.settings.defaults,
            self.settings.max_replicas,
        ) {
            Ok(policy) => policy.wake_count(),
            Err(_) => 1,
        };
        self.apply(
            id,
            0,
            Decision {
                to,
                reason: Reason::Wake,
            },
            &Load::default(),
        )
        .await
    }

    async fn apply(
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
        let Some(functions) = self.functions().await else {
            return;
        };
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

    /// Every function of every namespace, or `None` (logged) when they cannot be listed.
    async fn functions(&self) -> Option<Vec<(FunctionId, FunctionStatus)>> {
        let mut all = Vec::new();
        for namespace in self.backend.namespaces() {
            match self.backend.list(&namespace).await {
                Ok(functions) => all.extend(functions.into_iter().filter_map(|status| {
                    let name = FunctionName::parse(&status.name).ok()?;
                    Some((FunctionId::new(namespace.clone(), name), status))
                })),
                Err(e) => {
                    tracing::warn!(%namespace, error = %DisplayChain(&e), "scaler could not list functions");
                    return None;
                }
            }
        }
        Some(all)
    }

    /// This replica's load per function over the window, from a new sample of the meters.
    fn sample(&self, now: Instant) -> Vec<FunctionReport> {
        let mut tracked = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (id, meter) in self.meters.all() {
            let t = tracked
                .entry(id.clone())
                .or_insert_with(|| Tracked::new(now));
            t.samples
                .push_back((now, meter.started(), meter.in_flight()));
            while t
                .samples
                .front()
                .is_some_and(|(at, _, _)| now.duration_since(*at) > self.settings.window)
            {
                t.samples.pop_front();
            }
            let (first, last) = (t.samples[0], t.samples[t.samples.len() - 1]);
            let span = last.0.duration_since(first.0).as_secs_f64();
            let rate = if span > 0.0 {
                (last.1 - first.1) as f64 / span
            } else {
                0.0
            };
            let in_flight =
                t.samples.iter().map(|s| s.2 as f64).sum::<f64>() / t.samples.len() as f64;
            out.push(FunctionReport {
                name: id.name.to_string(),
                namespace: id.namespace.to_string(),
                rate,
                in_flight,
                idle_seconds: self.meters.idle(&meter).map(|d| d.as_secs_f64()),
            });
        }
        out
    }
}

/// A function's load over this replica and the others; `unseen` is the idle time when no
/// replica saw an invocation.
fn total(id: &FunctionId, local: &[FunctionReport], others: &[Report], unseen: Duration) -> Load {
    let reports = local
        .iter()
        .chain(others.iter().flat_map(|r| r.functions.iter()))
        .filter(|f| f.name == id.name.as_str() && f.namespace == id.namespace.as_str());
    let mut load = Load {
        idle: unseen,
        ..Load::default()
    };
    for f in reports {
        load.rate += f.rate;
        load.in_flight += f.in_flight;
        if let Some(idle) = f.idle_seconds {
            load.idle = load.idle.min(Duration::from_secs_f64(idle.max(0.0)));
        }
    }
    load
}

#[async_trait]
impl ColdStart for Scaling {
    async fn endpoints(
        &self,
        id: &FunctionId,
        resolver: &dyn Resolver,
    ) -> Result<Endpoints, Unready> {
        let timeout = self.settings.from_zero_timeout;
        if timeout.is_zero() {
            return Err(Unready::NoEndpoints);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.backend.desired_replicas(id) {
                None => return Err(Unready::NoEndpoints),
                Some(0) => {
                    let meter = self.meters.get(id);
                    if meter
                        .waking
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        let _ = self.wakes.send(id.clone());
                    }
                }
                Some(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Unready::TimedOut(timeout));
            }
            tokio::time::sleep(READY_POLL.min(deadline - now)).await;
            let endpoints = resolver.resolve(id).await;
            if !endpoints.is_empty() {
                return Ok(endpoints);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Namespace;

    fn report(name: &str, rate: f64, in_flight: f64, idle: Option<f64>) -> FunctionReport {
        FunctionReport {
            name: name.into(),
            namespace: "openfaas-fn".into(),
            rate,
            in_flight,
            idle_seconds: idle,
        }
    }

    #[test]
    fn replicas_loads_add_up_and_the_least_idle_counts() {
        let local = vec![
            report("a", 3.0, 1.0, Some(40.0)),
            report("b", 9.0, 0.0, None),
        ];
        let others = vec![Report {
            id: "2".into(),
            functions: vec![report("a", 4.0, 2.0, Some(10.0))],
        }];
        let id = |name: &str| {
            FunctionId::new(
                Namespace::default_namespace(),
                FunctionName::parse(name).unwrap(),
            )
        };
        let a = total(&id("a"), &local, &others, Duration::from_secs(100));
        assert_eq!((a.rate, a.in_flight), (7.0, 3.0));
        assert_eq!(a.idle, Duration::from_secs(10));
        let c = total(&id("c"), &local, &others, Duration::from_secs(100));
        let elsewhere = FunctionId::new(
            Namespace::parse("team-a").unwrap(),
            FunctionName::parse("a").unwrap(),
        );
        assert_eq!(
            total(&elsewhere, &local, &others, Duration::from_secs(1)).rate,
            0.0,
            "another namespace's function of the same name is another function"
        );
        assert_eq!(
            c,
            Load {
                rate: 0.0,
                in_flight: 0.0,
                idle: Duration::from_secs(100)
            }
        );
    }
}
