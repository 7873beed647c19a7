//! The scaling policy as pure functions: a function's labels become a [`Policy`]; a policy, the
//! load and the recent recommendations become the desired count. No clock, no I/O: the scaler
//! passes the time in.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::model::labels::value as label;
pub use crate::model::labels::{
    SCALE_FACTOR as FACTOR_LABEL, SCALE_MAX as MAX_LABEL, SCALE_MIN as MIN_LABEL,
    SCALE_PROPORTION as PROPORTION_LABEL, SCALE_TARGET as TARGET_LABEL, SCALE_TYPE as TYPE_LABEL,
    SCALE_ZERO as ZERO_LABEL, SCALE_ZERO_DURATION as ZERO_DURATION_LABEL,
};

pub const DEFAULT_MIN: u64 = 1;
pub const DEFAULT_MAX: u64 = 20;
pub const DEFAULT_PROPORTION: f64 = 0.90;

/// What the target counts per replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Requests per second.
    Rps,
    /// Requests in flight.
    Capacity,
}

/// Defaults for what a function's labels leave out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Defaults {
    /// `com.openfaas.scale.target`.
    pub target: f64,
    /// `com.openfaas.scale.zero-duration`.
    pub zero_duration: Duration,
}

/// How one function scales, from its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub min: u64,
    pub max: u64,
    pub target: f64,
    pub kind: Kind,
    pub proportion: f64,
    /// Whether load moves the desired count (`min < max` and a factor other than 0).
    pub by_load: bool,
    /// Idle time after which the function goes to zero, when `com.openfaas.scale.zero=true`.
    pub zero_after: Option<Duration>,
}

/// A scaling label the provider cannot use; the text is the 400 reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("label {label} {reason}, got {value:?}")]
pub struct InvalidLabel {
    pub label: &'static str,
    pub value: String,
    pub reason: &'static str,
}

fn parse<T: std::str::FromStr>(
    labels: &BTreeMap<String, String>,
    key: &'static str,
    reason: &'static str,
    ok: impl Fn(&T) -> bool,
) -> Result<Option<T>, InvalidLabel> {
    let Some(value) = label(labels, key) else {
        return Ok(None);
    };
    match value.parse::<T>() {
        Ok(v) if ok(&v) => Ok(Some(v)),
        _ => Err(InvalidLabel {
            label: key,
            value: value.to_string(),
            reason,
        }),
    }
}

/// A Go duration as stack.yml files write them: `90s`, `15m`, `1h30m`, `500ms`.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    humantime::parse_duration(s.trim()).ok()
}

impl Policy {
    /// The labels a deployment may carry: those [`Policy::from_labels`] takes, and no
    /// contradiction between them (a maximum below the minimum, or a maximum of 0: zero is
    /// `com.openfaas.scale.zero`'s to ask for).
    pub fn check_labels(
        labels: &BTreeMap<String, String>,
        defaults: Defaults,
        max_replicas: u64,
    ) -> Result<(), InvalidLabel> {
        Self::from_labels(labels, defaults, max_replicas)?;
        let given = |key| label(labels, key).and_then(|v| v.parse::<u64>().ok());
        match (given(MIN_LABEL), given(MAX_LABEL)) {
            (_, Some(0)) => Err(InvalidLabel {
                label: MAX_LABEL,
                value: "0".into(),
                reason: "must be at least 1 (for zero when idle, label com.openfaas.scale.zero=true)",
            }),
            (Some(min), Some(max)) if max < min => Err(InvalidLabel {
                label: MAX_LABEL,
                value: max.to_string(),
                reason: "must not be below com.openfaas.scale.min",
            }),
            _ => Ok(()),
        }
    }

    /// The policy the labels describe; `max_replicas` is the largest count the provider allows.
    pub fn from_labels(
        labels: &BTreeMap<String, String>,
        defaults: Defaults,
        max_replicas: u64,
    ) -> Result<Self, InvalidLabel> {
        let count = "must be a whole number from 0 to the provider's maximum replicas";
        let in_range = |n: &u64| *n <= max_replicas;
        let min = parse(labels, MIN_LABEL, count, in_range)?.unwrap_or(DEFAULT_MIN);
        let max = parse(labels, MAX_LABEL, count, in_range)?
            .unwrap_or(DEFAULT_MAX.min(max_replicas))
            .max(min);
        let target = parse(
            labels,
            TARGET_LABEL,
            "must be a number above 0",
            |t: &f64| t.is_finite() && *t > 0.0,
        )?
        .unwrap_or(defaults.target);
        let kind = match label(labels, TYPE_LABEL) {
            None | Some("rps") => Kind::Rps,
            Some("capacity") => Kind::Capacity,
            Some(other) => {
                return Err(InvalidLabel {
                    label: TYPE_LABEL,
                    value: other.to_string(),
                    reason: "must be rps or capacity (faas-ecs does not scale by cpu)",
                });
            }
        };
        let proportion = parse(
            labels,
            PROPORTION_LABEL,
            "must be a number above 0 and at most 1",
            |p: &f64| *p > 0.0 && *p <= 1.0,
        )?
        .unwrap_or(DEFAULT_PROPORTION);
        let factor = parse(
            labels,
            FACTOR_LABEL,
            "must be a whole number from 0 to 100",
            |f| *f <= 100u32,
        )?;
        let zero = parse(labels, ZERO_LABEL, "must be true or false", |_: &bool| true)?;
        let zero_duration = match label(labels, ZERO_DURATION_LABEL) {
            None => defaults.zero_duration,
            Some(text) => parse_go_duration(text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| InvalidLabel {
                    label: ZERO_DURATION_LABEL,
                    value: text.to_string(),
                    reason: "must be a duration such as 90s or 15m",
                })?,
        };
        Ok(Self {
            min,
            max,
            target,
            kind,
            proportion,
            by_load: min < max && factor != Some(0),
            zero_after: (zero == Some(true)).then_some(zero_duration),
        })
    }

    /// The count a wake from zero sets: the minimum, at least one.
    pub fn wake_count(&self) -> u64 {
        self.min.max(1)
    }

    /// The count the load calls for, within min..max.
    pub fn recommend(&self, load: &Load) -> u64 {
        let per_replica = self.target * self.proportion;
        // Held invocations are demand in both modes: each as a request of this second, and in
        // flight (where the in-flight average may not yet show them).
        let measure = match self.kind {
            Kind::Rps => load.rate + load.waiting,
            Kind::Capacity => load.in_flight.max(load.waiting),
        };
        let wanted = (measure / per_replica).ceil();
        // `as` saturates: an absurd load asks for the maximum.
        (wanted as u64).clamp(self.min.max(1), self.max.max(1))
    }
}

/// A function's load as the scaler sees it, summed over every provider replica.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Load {
    /// Invocations started per second, averaged over the scaling window.
    pub rate: f64,
    /// Invocations in flight, averaged over the scaling window.
    pub in_flight: f64,
    /// Invocations held until a task is ready, now: demand not yet served.
    pub waiting: f64,
    /// Time since the last invocation started or ended; zero while one is in flight.
    pub idle: Duration,
}

/// Why the scaler changed a desired count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// More load than the replicas' target.
    Load,
    /// Less load, for the whole stabilisation window.
    Calm,
    /// No invocation for the function's zero-duration.
    Idle,
    /// An invocation arrived while the function was at zero.
    Wake,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Load => "load",
            Reason::Calm => "calm",
            Reason::Idle => "idle",
            Reason::Wake => "wake",
        }
    }
}

/// A change the scaler makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub to: u64,
    pub reason: Reason,
}

/// What the scaler remembers of one function between decisions: its recent recommendations, so
/// that a dip in load does not scale down before the stabilisation window has seen it through.
#[derive(Debug, Clone, Default)]
pub struct History {
    recommendations: VecDeque<(Instant, u64)>,
    /// The desired count the scaler last saw or set; another value means someone else changed it.
    last_known: Option<u64>,
}

impl History {
    /// Notes a count the scaler set itself.
    pub fn set(&mut self, count: u64) {
        self.last_known = Some(count);
    }
}

/// The decision for one function now, if any. Scale-up is immediate; scale-down takes the
/// highest recommendation of the last `stabilisation`, so a constant load changes the count at
/// most once after settling. A count changed by someone else (a manual scale) is kept for a full
/// window before the load may lower it. At zero, only a wake changes the count.
pub fn decide(
    policy: &Policy,
    desired: u64,
    load: &Load,
    history: &mut History,
    now: Instant,
    stabilisation: Duration,
) -> Option<Decision> {
    if history.last_known != Some(desired) {
        history.recommendations.clear();
        history.recommendations.push_back((now, desired));
        history.last_known = Some(desired);
    }
    if desired == 0 {
        return None;
    }
    if let Some(after) = policy.zero_after
        && load.idle >= after
    {
        return Some(Decision {
            to: 0,
            reason: Reason::Idle,
        });
    }
    if !policy.by_load {
        return None;
    }
    let recommended = policy.recommend(load);
    history.recommendations.push_back((now, recommended));
    while let Some((at, _)) = history.recommendations.front() {
        if now.duration_since(*at) > stabilisation {
            history.recommendations.pop_front();
        } else {
            break;
        }
    }
    let to = if recommended > desired {
        recommended
    } else {
        history
            .recommendations
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(recommended)
    };
    // Nothing is taken away while invocations wait for a task.
    if to < desired && load.waiting > 0.0 {
        return None;
    }
    let reason = match to.cmp(&desired) {
        std::cmp::Ordering::Greater => Reason::Load,
        std::cmp::Ordering::Less => Reason::Calm,
        std::cmp::Ordering::Equal => return None,
    };
    Some(Decision { to, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Defaults = Defaults {
        target: 5.0,
        zero_duration: Duration::from_secs(900),
    };

    fn policy(labels: &[(&str, &str)]) -> Policy {
        try_policy(labels).unwrap()
    }

    fn try_policy(labels: &[(&str, &str)]) -> Result<Policy, InvalidLabel> {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Policy::from_labels(&labels, DEFAULTS, 1000)
    }

    fn rps(rate: f64) -> Load {
        Load {
            rate,
            ..Load::default()
        }
    }

    /// Runs `decide` once a second for `seconds` under `load`, applying each decision; returns
    /// the counts it moved to.
    fn run(
        p: &Policy,
        desired: &mut u64,
        load: Load,
        history: &mut History,
        start: Instant,
        seconds: std::ops::Range<u64>,
    ) -> Vec<u64> {
        let mut moves = Vec::new();
        for s in seconds {
            let now = start + Duration::from_secs(s);
            if let Some(d) = decide(p, *desired, &load, history, now, Duration::from_secs(30)) {
                *desired = d.to;
                history.set(d.to);
                moves.push(d.to);
            }
        }
        moves
    }

    #[test]
    fn defaults_scale_by_rps_from_one_to_twenty() {
        let p = policy(&[]);
        assert_eq!((p.min, p.max, p.kind), (1, 20, Kind::Rps));
        assert_eq!((p.target, p.proportion), (5.0, 0.9));
        assert!(p.by_load);
        assert_eq!(p.zero_after, None);
    }

    #[test]
    fn ten_requests_a_second_need_two_replicas_by_default() {
        let p = policy(&[(MIN_LABEL, "1"), (MAX_LABEL, "2")]);
        assert_eq!(p.recommend(&rps(10.0)), 2);
        assert_eq!(p.recommend(&rps(0.0)), 1);
        assert_eq!(p.recommend(&rps(4.4)), 1);
        assert_eq!(p.recommend(&rps(1e300)), 2, "clamped to max");
    }

    #[test]
    fn capacity_counts_requests_in_flight() {
        let p = policy(&[(TYPE_LABEL, "capacity"), (TARGET_LABEL, "10")]);
        let load = Load {
            rate: 1000.0,
            in_flight: 19.0,
            ..Load::default()
        };
        assert_eq!(p.recommend(&load), 3);
    }

    #[test]
    fn invocations_held_for_a_task_are_demand_and_keep_the_count_up() {
        let p = policy(&[(MIN_LABEL, "1"), (MAX_LABEL, "20")]);
        let t0 = Instant::now();
        let stabilisation = Duration::from_secs(30);
        let mut history = History::default();
        // A burst held at zero-ish: 200 waiting, no rate in the window yet.
        let held = Load {
            waiting: 200.0,
            ..Load::default()
        };
        assert_eq!(p.recommend(&held), 20);
        let capacity = policy(&[(TYPE_LABEL, "capacity"), (MAX_LABEL, "20")]);
        assert_eq!(capacity.recommend(&held), 20);
        // At 20, with the window long past and still some held: no cut.
        history.set(20);
        let few = Load {
            waiting: 3.0,
            ..Load::default()
        };
        let later = t0 + stabilisation * 3;
        assert_eq!(
            decide(&p, 20, &few, &mut history, later, stabilisation),
            None
        );
        // Once served, the count comes down after the window.
        let quiet = Load::default();
        let decision = decide(
            &p,
            20,
            &quiet,
            &mut history,
            later + stabilisation * 2,
            stabilisation,
        );
        assert!(
            matches!(
                decision,
                Some(Decision {
                    reason: Reason::Calm,
                    ..
                })
            ),
            "{decision:?}"
        );
    }

    #[test]
    fn equal_min_and_max_or_factor_zero_turn_load_scaling_off() {
        assert!(!policy(&[(MIN_LABEL, "2"), (MAX_LABEL, "2")]).by_load);
        assert!(!policy(&[(FACTOR_LABEL, "0")]).by_load);
        assert!(policy(&[(FACTOR_LABEL, "20")]).by_load);
        let p = policy(&[(MIN_LABEL, "2"), (MAX_LABEL, "2")]);
        let mut desired = 2;
        let moves = run(
            &p,
            &mut desired,
            rps(100.0),
            &mut History::default(),
            Instant::now(),
            0..120,
        );
        assert!(moves.is_empty(), "{moves:?}");
    }

    #[test]
    fn a_max_below_min_is_raised_to_min() {
        let p = policy(&[(MIN_LABEL, "3"), (MAX_LABEL, "2")]);
        assert_eq!((p.min, p.max, p.by_load), (3, 3, false));
    }

    #[test]
    fn bad_labels_are_refused_with_the_label_named() {
        for (key, value) in [
            (MIN_LABEL, "-1"),
            (MIN_LABEL, "two"),
            (MAX_LABEL, "1001"),
            (TARGET_LABEL, "0"),
            (TYPE_LABEL, "cpu"),
            (PROPORTION_LABEL, "1.5"),
            (FACTOR_LABEL, "101"),
            (ZERO_LABEL, "yes"),
            (ZERO_DURATION_LABEL, "soon"),
        ] {
            let err = try_policy(&[(key, value)]).unwrap_err();
            assert_eq!(err.label, key);
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn zero_duration_takes_go_durations() {
        let p = policy(&[(ZERO_LABEL, "true"), (ZERO_DURATION_LABEL, "1h30m")]);
        assert_eq!(p.zero_after, Some(Duration::from_secs(5400)));
        let p = policy(&[(ZERO_LABEL, "true")]);
        assert_eq!(p.zero_after, Some(Duration::from_secs(900)));
        assert_eq!(policy(&[(ZERO_LABEL, "false")]).zero_after, None);
    }

    #[test]
    fn scale_up_is_immediate_and_scale_down_waits_for_the_window() {
        let p = policy(&[(MIN_LABEL, "1"), (MAX_LABEL, "2")]);
        let start = Instant::now();
        let mut history = History::default();
        let mut desired = 1;
        let up = run(&p, &mut desired, rps(10.0), &mut history, start, 0..60);
        assert_eq!(up, vec![2], "one move up, at once");
        let calm = run(&p, &mut desired, rps(0.0), &mut history, start, 60..120);
        assert_eq!(calm, vec![1]);
        // The first second of calm plus the 30 s window, not before.
        let mut desired = 2;
        let mut history = History::default();
        history.set(2);
        decide(
            &p,
            2,
            &rps(10.0),
            &mut history,
            start,
            Duration::from_secs(30),
        );
        let early = start + Duration::from_secs(29);
        assert_eq!(
            decide(
                &p,
                desired,
                &rps(0.0),
                &mut history,
                early,
                Duration::from_secs(30)
            ),
            None
        );
        let late = start + Duration::from_secs(31);
        let d = decide(
            &p,
            desired,
            &rps(0.0),
            &mut history,
            late,
            Duration::from_secs(30),
        )
        .unwrap();
        desired = d.to;
        assert_eq!((desired, d.reason), (1, Reason::Calm));
    }

    #[test]
    fn a_load_that_wavers_around_the_threshold_does_not_flap() {
        let p = policy(&[(MIN_LABEL, "1"), (MAX_LABEL, "4")]);
        let start = Instant::now();
        let mut history = History::default();
        let mut desired = 1;
        let mut moves = Vec::new();
        for s in 0..300 {
            // 11 and 9 requests a second: 3 replicas at the peak, 2 in the troughs (of 3 s).
            let rate = if s % 7 >= 4 { 9.0 } else { 11.0 };
            let now = start + Duration::from_secs(s);
            if let Some(d) = decide(
                &p,
                desired,
                &rps(rate),
                &mut history,
                now,
                Duration::from_secs(30),
            ) {
                desired = d.to;
                history.set(d.to);
                moves.push((s, d.to));
            }
        }
        assert_eq!(moves, vec![(0, 3)], "settles once and stays");
    }

    #[test]
    fn a_manual_scale_is_kept_for_a_window_then_the_load_decides() {
        let p = policy(&[(MIN_LABEL, "1"), (MAX_LABEL, "2")]);
        let start = Instant::now();
        let mut history = History::default();
        history.set(1);
        // Someone scaled to 5, beyond max: accepted, then brought back by the scaler's own rule.
        let mut desired = 5;
        let moves = run(&p, &mut desired, rps(0.0), &mut history, start, 0..29);
        assert!(moves.is_empty(), "{moves:?}");
        let moves = run(&p, &mut desired, rps(0.0), &mut history, start, 29..40);
        assert_eq!(moves, vec![1]);
    }

    #[test]
    fn at_zero_only_a_wake_moves_the_count() {
        let p = policy(&[(MIN_LABEL, "1"), (MAX_LABEL, "5")]);
        let mut desired = 0;
        let moves = run(
            &p,
            &mut desired,
            rps(50.0),
            &mut History::default(),
            Instant::now(),
            0..60,
        );
        assert!(moves.is_empty());
        assert_eq!(policy(&[(MIN_LABEL, "0")]).wake_count(), 1);
        assert_eq!(policy(&[(MIN_LABEL, "3")]).wake_count(), 3);
    }

    #[test]
    fn an_idle_function_labelled_for_zero_goes_to_zero() {
        let p = policy(&[(ZERO_LABEL, "true"), (ZERO_DURATION_LABEL, "5s")]);
        let mut history = History::default();
        let now = Instant::now();
        let busy = Load {
            idle: Duration::from_secs(4),
            ..Load::default()
        };
        let idle = Load {
            idle: Duration::from_secs(5),
            ..Load::default()
        };
        let window = Duration::from_secs(30);
        assert_eq!(decide(&p, 1, &busy, &mut history, now, window), None);
        assert_eq!(
            decide(&p, 1, &idle, &mut history, now, window),
            Some(Decision {
                to: 0,
                reason: Reason::Idle
            })
        );
        let unlabelled = policy(&[]);
        assert_eq!(
            decide(&unlabelled, 1, &idle, &mut History::default(), now, window),
            None
        );
    }
}
