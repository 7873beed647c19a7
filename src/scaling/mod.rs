//! Scaling inside the provider: from zero when an invocation arrives, to zero when a function
//! labelled for it is idle, and by load (requests per second or in flight) within its labels'
//! min..max. The proxy counts invocations ([`meter`]); each round ([`round`]) samples the counts
//! over a window ([`window`]), adds the other provider replicas' ([`peers`]), and the replica with
//! the lowest id changes desired counts by the rules of [`policy`]. An invocation of a function
//! with no ready task waits for one and wakes the function ([`wake`]). No AWS call is made per
//! invocation.

pub mod meter;
pub mod peers;
pub mod policy;
mod round;
pub mod wake;
mod window;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::meter::Meters;
use self::peers::{Peers, Report};
use self::policy::Defaults;
use self::wake::Wakes;
use self::window::Tracked;
use crate::backend::FunctionBackend;
use crate::metrics::{Metrics, ScalingMetrics};
use crate::model::FunctionId;

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

pub struct Scaling {
    settings: ScalingSettings,
    backend: Arc<dyn FunctionBackend>,
    pub meters: Arc<Meters>,
    metrics: ScalingMetrics,
    peers: Peers,
    wakes: Wakes,
    tracked: Mutex<HashMap<FunctionId, Tracked>>,
    /// This replica's load as of the last round, for the other replicas.
    report: Mutex<Arc<Report>>,
    /// The leader as last seen, and when the last round ran.
    rounds: Mutex<Rounds>,
}

/// What a round remembers of the one before.
#[derive(Default)]
struct Rounds {
    leader: Option<String>,
    last: Option<Instant>,
}

impl Scaling {
    pub fn new(
        backend: Arc<dyn FunctionBackend>,
        metrics: &Metrics,
        settings: ScalingSettings,
        peers: Peers,
    ) -> Self {
        let report = Arc::new(Report {
            id: peers.id().to_string(),
            scales: settings.autoscaling,
            functions: Vec::new(),
            changed: Vec::new(),
        });
        Self {
            meters: Arc::new(Meters::new(metrics.invocations.clone())),
            metrics: metrics.scaling.clone(),
            settings,
            backend,
            peers,
            wakes: Wakes::default(),
            tracked: Mutex::default(),
            report: Mutex::new(report),
            rounds: Mutex::default(),
        }
    }

    pub fn settings(&self) -> &ScalingSettings {
        &self.settings
    }

    /// This replica's load as of the last round.
    pub fn report(&self) -> Arc<Report> {
        self.report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs the rounds and the wakes on the current runtime until the task is aborted.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let queue = self.wakes.take_queue();
        let scaling = self.clone();
        tokio::spawn(async move {
            if let Some(mut queue) = queue {
                let waker = scaling.clone();
                tokio::spawn(async move {
                    while let Some(id) = queue.recv().await {
                        waker.wake(&id).await;
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
}
