//! The sampling window: this replica's load per function, averaged over the last
//! `FAAS_ECS_SCALE_WINDOW`, and the load summed over every replica.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Scaling;
use super::peers::{FunctionReport, Report};
use super::policy::{History, Load};
use crate::model::FunctionId;

/// What the scaler remembers of one function.
pub(super) struct Tracked {
    /// (when, invocations started, in flight) on this replica, over the window.
    pub(super) samples: VecDeque<(Instant, u64, u64)>,
    pub(super) history: History,
    /// The desired count last seen, and since when: idle time counts from there when no
    /// invocation was seen (a function woken or scaled by hand is not idle from before).
    pub(super) seen: Option<u64>,
    pub(super) since: Instant,
}

impl Tracked {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            samples: VecDeque::new(),
            history: History::default(),
            seen: None,
            since: now,
        }
    }
}

impl Scaling {
    /// This replica's load per function over the window, from a new sample of the meters.
    pub(super) fn sample(&self, now: Instant) -> Vec<FunctionReport> {
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
                waiting: meter.waiting() as f64,
                idle_seconds: self.meters.idle(&meter).map(|d| d.as_secs_f64()),
            });
        }
        out
    }
}

/// A function's load over this replica and the others; `unseen` is the idle time when no
/// replica saw an invocation.
pub(super) fn total(
    id: &FunctionId,
    local: &[FunctionReport],
    others: &[Report],
    unseen: Duration,
) -> Load {
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
        load.waiting += f.waiting;
        if let Some(idle) = f.idle_seconds {
            load.idle = load.idle.min(Duration::from_secs_f64(idle.max(0.0)));
        }
    }
    load
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DEFAULT_NAMESPACE;

    fn report(name: &str, rate: f64, in_flight: f64, idle: Option<f64>) -> FunctionReport {
        FunctionReport {
            name: name.into(),
            namespace: "openfaas-fn".into(),
            rate,
            in_flight,
            waiting: 0.0,
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
            scales: true,
            changed: Vec::new(),
            functions: vec![report("a", 4.0, 2.0, Some(10.0))],
        }];
        let id = |name: &str| FunctionId::parse(DEFAULT_NAMESPACE, name).unwrap();
        let a = total(&id("a"), &local, &others, Duration::from_secs(100));
        assert_eq!((a.rate, a.in_flight), (7.0, 3.0));
        assert_eq!(a.idle, Duration::from_secs(10));
        let c = total(&id("c"), &local, &others, Duration::from_secs(100));
        let elsewhere = FunctionId::parse("team-a", "a").unwrap();
        assert_eq!(
            total(&elsewhere, &local, &others, Duration::from_secs(1)).rate,
            0.0,
            "another namespace's function of the same name is another function"
        );
        assert_eq!(
            c,
            Load {
                idle: Duration::from_secs(100),
                ..Load::default()
            }
        );
    }
}
