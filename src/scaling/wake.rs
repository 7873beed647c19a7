//! Invocations of a function with no ready task: they wait for one, polling the resolver, and
//! the first asks for the function to be woken (scaled from zero) by the scaler's thread, once
//! per function until that is done.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::Scaling;
use super::policy::{Decision, Load, Policy, Reason};
use crate::failure::DisplayChain;
use crate::model::FunctionId;
use crate::resolver::{Endpoints, Resolver};

/// How often a held invocation looks for a ready task.
const READY_POLL: Duration = Duration::from_millis(100);

/// Why a function with no ready task cannot be invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unready {
    /// Nothing to wait for: an unknown function, or waiting is off.
    NoEndpoints,
    /// No task became ready within this time.
    TimedOut(Duration),
}

/// What the proxy does for a function that has no ready task: wait for one (and scale the
/// function from zero), or give up.
#[async_trait]
pub trait ColdStart: Send + Sync {
    /// Whether the function's desired count is zero: its tasks, if any still answer, are being
    /// stopped, and an invocation must wake it rather than reach them. From memory.
    fn at_zero(&self, id: &FunctionId) -> bool;

    async fn endpoints(
        &self,
        id: &FunctionId,
        resolver: &dyn Resolver,
    ) -> Result<Endpoints, Unready>;
}

/// The functions asked to wake, queued for the scaler's thread.
pub(super) struct Wakes {
    queue: mpsc::UnboundedSender<FunctionId>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<FunctionId>>>,
    /// Functions whose wake is queued or under way: one at a time per function.
    waking: Mutex<HashSet<FunctionId>>,
}

impl Default for Wakes {
    fn default() -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        Self {
            queue,
            receiver: Mutex::new(Some(receiver)),
            waking: Mutex::default(),
        }
    }
}

impl Wakes {
    /// The queue's receiving end, for the one task that serves it.
    pub(super) fn take_queue(&self) -> Option<mpsc::UnboundedReceiver<FunctionId>> {
        self.receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Queues a wake unless one is queued or under way.
    fn ask(&self, id: &FunctionId) {
        let mut waking = self.waking.lock().unwrap_or_else(|p| p.into_inner());
        if waking.insert(id.clone()) {
            let _ = self.queue.send(id.clone());
        }
    }

    fn done(&self, id: &FunctionId) {
        self.waking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

impl Scaling {
    /// Sets a function at zero to its wake count; at most one at a time per function.
    pub(super) async fn wake(&self, id: &FunctionId) {
        let result = self.wake_once(id).await;
        self.wakes.done(id);
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
}

#[async_trait]
impl ColdStart for Scaling {
    fn at_zero(&self, id: &FunctionId) -> bool {
        self.backend.desired_replicas(id) == Some(0)
    }

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
        // Held, it is demand the scaler counts until a task answers it.
        let _held = self.meters.get(id).hold();
        loop {
            match self.backend.desired_replicas(id) {
                None => return Err(Unready::NoEndpoints),
                Some(0) => self.wakes.ask(id),
                Some(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Unready::TimedOut(timeout));
            }
            tokio::time::sleep(READY_POLL.min(deadline - now)).await;
            let endpoints = resolver.resolve(id).await;
            if !endpoints.is_empty() && !self.at_zero(id) {
                return Ok(endpoints);
            }
        }
    }
}
