//! Prometheus metrics, served at /metrics: the provider's own HTTP API, invocations by function,
//! and what the scaler sees and decides.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    path: String,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    path: String,
}

/// One function.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabels {
    pub function_name: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InvocationLabels {
    pub function_name: String,
    pub namespace: String,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub function_name: String,
    pub namespace: String,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaderLabels {
    pub replica: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Invocations, as the proxy counts them on this provider replica.
#[derive(Clone)]
pub struct InvocationMetrics {
    pub answered: Family<InvocationLabels, Counter>,
    pub duration: Family<FunctionLabels, Histogram, fn() -> Histogram>,
    pub in_flight: Family<FunctionLabels, Gauge>,
}

/// What the scaler sees (summed over every provider replica) and does.
#[derive(Clone, Default)]
pub struct ScalingMetrics {
    pub rate: Family<FunctionLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub in_flight: Family<FunctionLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub desired: Family<FunctionLabels, Gauge>,
    pub decisions: Family<DecisionLabels, Counter>,
    /// 1 on the id of the replica that leads, as this one sees the election.
    pub leader: Family<LeaderLabels, Gauge>,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub invocations: InvocationMetrics,
    pub scaling: ScalingMetrics,
    /// Every AWS call's attempts, counted by the SDK clients.
    pub aws_calls: crate::aws::CountCalls,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("faas_ecs");
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        let invocations = InvocationMetrics {
            answered: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            in_flight: Family::default(),
        };
        let aws_calls = crate::aws::CountCalls(Family::default());
        let scaling = ScalingMetrics::default();
        // Each under the registry's `faas_ecs_` prefix: name, help, metric.
        macro_rules! register {
            ($($name:literal, $help:literal, $metric:expr;)*) => {
                $(registry.register($name, $help, $metric.clone());)*
            };
        }
        register! {
            "http_requests",
            "HTTP requests answered, by route and status",
            requests;
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route",
            duration;
            "function_invocations",
            "Invocations answered, by function and status (the provider's own 5xx included)",
            invocations.answered;
            "function_invocation_duration_seconds",
            "Time from an invocation's arrival to its answer's headers",
            invocations.duration;
            "function_requests_in_flight",
            "Invocations being answered now, bodies and streams included",
            invocations.in_flight;
            "aws_calls",
            "AWS API calls made (each attempt), by service and operation",
            aws_calls.0;
            "scaling_leader",
            "The provider replica that changes desired counts (1 on its id; none when no replica scales), as this replica sees the election",
            scaling.leader;
            "scaler_requests_per_second",
            "Invocations per second the scaler sees, over every provider replica",
            scaling.rate;
            "scaler_requests_in_flight",
            "Invocations in flight the scaler sees, over every provider replica",
            scaling.in_flight;
            "function_desired_replicas",
            "Desired count of each function, as the scaler last saw or set it",
            scaling.desired;
            "scaling_decisions",
            "Desired counts changed by the scaler, by reason (load, calm, idle, wake)",
            scaling.decisions;
        }
        Self {
            registry,
            requests,
            duration,
            invocations,
            scaling,
            aws_calls,
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware: counts and times every request by its route pattern (never the raw path).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    let code = response.status().as_u16();
    metrics
        .duration
        .get_or_create(&RouteLabels {
            method: method.clone(),
            path: path.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels { method, path, code })
        .inc();
    response
}
