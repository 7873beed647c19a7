//! Per-function counters on the invocation path: invocations started, in flight, last activity,
//! answers by status and their duration. A few atomic operations per invocation; the scaler
//! samples them on the control thread.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body::{Body, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::metrics::{FunctionLabels, InvocationLabels, InvocationMetrics};
use crate::model::FunctionId;

/// The counters of one function on this provider replica.
pub struct Meter {
    labels: FunctionLabels,
    /// Invocations started, ever.
    started: AtomicU64,
    in_flight: Gauge,
    /// When an invocation last started or ended, in milliseconds since `Meters::epoch`.
    last_active_ms: AtomicU64,
    duration: Histogram,
    /// Answer counters by status, created on first use.
    answered: RwLock<Vec<(u16, Counter)>>,
    /// Invocations held until a task is ready.
    waiting: AtomicU64,
}

impl Meter {
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.get().max(0) as u64
    }

    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Counts an invocation as held for a task until the guard is dropped.
    pub fn hold(self: &Arc<Self>) -> Held {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Held(self.clone())
    }
}

/// An invocation held until a task is ready.
pub struct Held(Arc<Meter>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Every function's meter.
pub struct Meters {
    epoch: Instant,
    functions: RwLock<HashMap<FunctionId, Arc<Meter>>>,
    metrics: InvocationMetrics,
}

impl Meters {
    pub fn new(metrics: InvocationMetrics) -> Self {
        Self {
            epoch: Instant::now(),
            functions: RwLock::default(),
            metrics,
        }
    }

    fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// `at` in milliseconds since the epoch, at least 1 (0 means "never").
    fn ms_at(&self, at: Instant) -> u64 {
        (at.duration_since(self.epoch).as_millis() as u64).max(1)
    }

    /// Time since the function's last activity as this replica saw it; zero while an invocation
    /// is in flight; `None` when it saw none.
    pub fn idle(&self, meter: &Meter) -> Option<Duration> {
        if meter.in_flight() > 0 {
            return Some(Duration::ZERO);
        }
        match meter.last_active_ms.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_millis(self.now_ms().saturating_sub(at))),
        }
    }

    /// The function's meter, made on first use.
    pub fn get(&self, id: &FunctionId) -> Arc<Meter> {
        let read = self.functions.read().unwrap_or_else(|p| p.into_inner());
        if let Some(meter) = read.get(id) {
            return meter.clone();
        }
        drop(read);
        let mut write = self.functions.write().unwrap_or_else(|p| p.into_inner());
        write
            .entry(id.clone())
            .or_insert_with(|| {
                let labels = FunctionLabels {
                    function_name: id.name.to_string(),
                    namespace: id.namespace.to_string(),
                };
                Arc::new(Meter {
                    started: AtomicU64::new(0),
                    in_flight: self.metrics.in_flight.get_or_create_owned(&labels),
                    last_active_ms: AtomicU64::new(0),
                    duration: self.metrics.duration.get_or_create_owned(&labels),
                    answered: RwLock::default(),
                    waiting: AtomicU64::new(0),
                    labels,
                })
            })
            .clone()
    }

    /// Every meter, by function.
    pub fn all(&self) -> Vec<(FunctionId, Arc<Meter>)> {
        let read = self.functions.read().unwrap_or_else(|p| p.into_inner());
        read.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Forgets functions that no longer exist, and their metrics, unless an invocation of one is
    /// in flight.
    pub fn retain(&self, exists: impl Fn(&FunctionId) -> bool) {
        let mut write = self.functions.write().unwrap_or_else(|p| p.into_inner());
        write.retain(|id, meter| {
            let keep = exists(id) || meter.in_flight() > 0;
            if !keep {
                self.metrics.in_flight.remove(&meter.labels);
                self.metrics.duration.remove(&meter.labels);
                for (code, _) in meter
                    .answered
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                {
                    self.metrics.answered.remove(&InvocationLabels {
                        function_name: meter.labels.function_name.clone(),
                        namespace: meter.labels.namespace.clone(),
                        code: *code,
                    });
                }
            }
            keep
        });
    }

    /// Counts an invocation in: started, in flight until the returned guard (or the answer's body
    /// holding it) is dropped.
    pub fn begin(self: &Arc<Self>, id: &FunctionId) -> (Invocation, InFlight) {
        let meter = self.get(id);
        let now = Instant::now();
        meter.started.fetch_add(1, Ordering::Relaxed);
        meter.in_flight.inc();
        meter
            .last_active_ms
            .store(self.ms_at(now), Ordering::Relaxed);
        (
            Invocation {
                meter: meter.clone(),
                metrics: self.clone(),
                start: now,
            },
            InFlight {
                meter,
                meters: self.clone(),
            },
        )
    }

    fn answered(&self, meter: &Meter, code: u16) -> Counter {
        let read = meter.answered.read().unwrap_or_else(|p| p.into_inner());
        if let Some((_, counter)) = read.iter().find(|(c, _)| *c == code) {
            return counter.clone();
        }
        drop(read);
        let counter = self
            .metrics
            .answered
            .get_or_create_owned(&InvocationLabels {
                function_name: meter.labels.function_name.clone(),
                namespace: meter.labels.namespace.clone(),
                code,
            });
        let mut write = meter.answered.write().unwrap_or_else(|p| p.into_inner());
        if !write.iter().any(|(c, _)| *c == code) {
            write.push((code, counter.clone()));
        }
        counter
    }
}

/// One invocation until its answer's headers.
pub struct Invocation {
    meter: Arc<Meter>,
    metrics: Arc<Meters>,
    start: Instant,
}

impl Invocation {
    /// Counts the answer by status and times it.
    pub fn answered(self, status: u16) {
        self.meter
            .duration
            .observe(self.start.elapsed().as_secs_f64());
        self.metrics.answered(&self.meter, status).inc();
    }
}

/// An invocation in flight; it ends when this is dropped.
pub struct InFlight {
    meter: Arc<Meter>,
    meters: Arc<Meters>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.meter.in_flight.dec();
        self.meter
            .last_active_ms
            .store(self.meters.now_ms(), Ordering::Relaxed);
    }
}

/// A function's answer body that keeps its invocation in flight until it has been sent whole
/// (or the client went away).
pub struct Metered<B> {
    body: B,
    _in_flight: Option<InFlight>,
}

impl<B> Metered<B> {
    pub fn new(body: B, in_flight: Option<InFlight>) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body + Unpin> Body for Metered<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::model::DEFAULT_NAMESPACE;

    fn id(name: &str) -> FunctionId {
        FunctionId::parse(DEFAULT_NAMESPACE, name).unwrap()
    }

    fn meters() -> (Arc<Meters>, Metrics) {
        let metrics = Metrics::new();
        let meters = Arc::new(Meters::new(metrics.invocations.clone()));
        (meters, metrics)
    }

    #[test]
    fn an_invocation_is_in_flight_until_its_body_is_dropped() {
        let (meters, metrics) = meters();
        let name = id("echo");
        let (invocation, in_flight) = meters.begin(&name);
        let meter = meters.get(&name);
        assert_eq!((meter.started(), meter.in_flight()), (1, 1));
        assert_eq!(meters.idle(&meter), Some(Duration::ZERO));
        invocation.answered(200);
        let body = Metered::new(
            http_body_util::Empty::<axum::body::Bytes>::new(),
            Some(in_flight),
        );
        assert_eq!(meter.in_flight(), 1, "the answer is still being sent");
        drop(body);
        assert_eq!(meter.in_flight(), 0);
        assert!(meters.idle(&meter).is_some());
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"faas_ecs_function_invocations_total{function_name="echo",namespace="openfaas-fn",code="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"faas_ecs_function_requests_in_flight{function_name="echo",namespace="openfaas-fn"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn functions_that_are_gone_are_forgotten_with_their_metrics() {
        let (meters, metrics) = meters();
        let name = id("gone");
        let (invocation, in_flight) = meters.begin(&name);
        invocation.answered(503);
        meters.retain(|_| false);
        assert_eq!(meters.all().len(), 1, "kept while in flight");
        drop(in_flight);
        meters.retain(|_| false);
        assert!(meters.all().is_empty());
        assert!(!metrics.encode().contains("gone"));
        assert_eq!(
            meters.idle(&meters.get(&name)),
            None,
            "a new meter saw nothing"
        );
    }
}
