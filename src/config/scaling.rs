//! How functions are scaled: from and to zero, by load, and with which other provider replicas.
//! The defaults are written once, here, for clap and for [`off`].

use std::time::Duration;

use axum::http::Uri;

use super::parse;
use crate::scaling::ScalingSettings;
use crate::scaling::policy::Defaults;

const FROM_ZERO_TIMEOUT: &str = "50s";
const ZERO_DURATION: &str = "15m";
const TARGET: f64 = 5.0;
const INTERVAL: &str = "2s";
const WINDOW: &str = "10s";
const DOWN_DELAY: &str = "30s";
const MAX_REPLICAS: u64 = 500;
/// The scaler does not sample more often than this.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The other provider replicas' base URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers(pub Vec<Uri>);

fn parse_peers(s: &str) -> Result<Peers, String> {
    parse::list(s)?
        .iter()
        .map(|p| {
            p.parse::<Uri>()
                .ok()
                .filter(|u| u.scheme_str() == Some("http") && u.host().is_some())
                .ok_or_else(|| format!("{p:?} is not an http:// URL"))
        })
        .collect::<Result<_, _>>()
        .map(Peers)
}

#[derive(Debug, Clone, clap::Args)]
pub struct Scaling {
    /// Scale functions by load, and those labelled `com.openfaas.scale.zero=true` to zero when idle.
    #[arg(long, env = "FAAS_ECS_AUTOSCALING", value_name = "FAAS_ECS_AUTOSCALING", default_value_t = true, action = clap::ArgAction::Set)]
    pub autoscaling: bool,

    /// Longest time an invocation of a function with no ready task waits for one (scaling it
    /// from zero if need be) before a 504; 0 answers 503 at once.
    #[arg(long, env = "FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", value_name = "FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT", default_value = FROM_ZERO_TIMEOUT, value_parser = parse::duration)]
    pub scale_from_zero_timeout: Duration,

    /// Idle time after which a function labelled `com.openfaas.scale.zero=true` goes to zero,
    /// unless its `com.openfaas.scale.zero-duration` label says otherwise.
    #[arg(long, env = "FAAS_ECS_SCALE_ZERO_DURATION", value_name = "FAAS_ECS_SCALE_ZERO_DURATION", default_value = ZERO_DURATION, value_parser = parse::positive_duration)]
    pub scale_zero_duration: Duration,

    /// Target per replica when a function has no `com.openfaas.scale.target` label (requests
    /// per second, or in flight with `com.openfaas.scale.type=capacity`).
    #[arg(
        long,
        env = "FAAS_ECS_SCALE_TARGET",
        value_name = "FAAS_ECS_SCALE_TARGET",
        default_value_t = TARGET,
        value_parser = parse::positive_number
    )]
    pub scale_target: f64,

    /// How often the scaler samples the load and decides.
    #[arg(long, env = "FAAS_ECS_SCALE_INTERVAL", value_name = "FAAS_ECS_SCALE_INTERVAL", default_value = INTERVAL, value_parser = parse::duration_at_least(MIN_INTERVAL))]
    pub scale_interval: Duration,

    /// Span over which the scaler averages requests per second and in flight.
    #[arg(long, env = "FAAS_ECS_SCALE_WINDOW", value_name = "FAAS_ECS_SCALE_WINDOW", default_value = WINDOW, value_parser = parse::duration)]
    pub scale_window: Duration,

    /// How long the load must call for fewer replicas before the scaler removes any.
    #[arg(long, env = "FAAS_ECS_SCALE_DOWN_DELAY", value_name = "FAAS_ECS_SCALE_DOWN_DELAY", default_value = DOWN_DELAY, value_parser = parse::duration)]
    pub scale_down_delay: Duration,

    /// Largest desired count the provider sets or accepts, on every path.
    #[arg(long, env = "FAAS_ECS_MAX_REPLICAS", value_name = "FAAS_ECS_MAX_REPLICAS", default_value_t = MAX_REPLICAS, value_parser = clap::value_parser!(u64).range(1..=2_147_483_647))]
    pub max_replicas: u64,

    /// Base URLs of every provider replica behind the same gateway, comma separated (e.g.
    /// `http://10.0.1.5:8081,http://10.0.2.7:8081`), so that they scale by their summed load.
    #[arg(long, env = "FAAS_ECS_PEERS", value_name = "FAAS_ECS_PEERS", value_parser = parse_peers, default_value = "")]
    pub peers: Peers,
}

impl Scaling {
    /// The scaler's settings.
    pub fn settings(&self) -> ScalingSettings {
        ScalingSettings {
            autoscaling: self.autoscaling,
            from_zero_timeout: self.scale_from_zero_timeout,
            interval: self.scale_interval,
            window: self.scale_window,
            stabilisation: self.scale_down_delay,
            defaults: Defaults {
                target: self.scale_target,
                zero_duration: self.scale_zero_duration,
            },
            max_replicas: self.max_replicas,
        }
    }
}

/// No scaler and no waiting for tasks (a function without a ready task answers 503 at once);
/// the other settings at their defaults.
pub fn off() -> ScalingSettings {
    let default = |text: &str| parse::duration(text).expect("the defaults parse");
    ScalingSettings {
        autoscaling: false,
        from_zero_timeout: Duration::ZERO,
        interval: default(INTERVAL),
        window: default(WINDOW),
        stabilisation: default(DOWN_DELAY),
        defaults: Defaults {
            target: TARGET,
            zero_duration: default(ZERO_DURATION),
        },
        max_replicas: MAX_REPLICAS,
    }
}
