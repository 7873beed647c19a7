//! How AWS is called: attempts and timeouts. Region, credentials and endpoint come from the
//! standard AWS chain (`AWS_ENDPOINT_URL` points every call at an emulator).

use std::time::Duration;

use aws_config::retry::RetryConfig;

use super::parse;

#[derive(Debug, Clone, clap::Args)]
pub struct Aws {
    /// Attempts per AWS call, throttling and transient errors included (exponential backoff).
    #[arg(
        long,
        env = "FAAS_ECS_AWS_MAX_ATTEMPTS",
        value_name = "FAAS_ECS_AWS_MAX_ATTEMPTS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub aws_max_attempts: u32,

    /// Longest time one AWS call may take, retries included; then the request is answered 503.
    #[arg(long, env = "FAAS_ECS_AWS_TIMEOUT", value_name = "FAAS_ECS_AWS_TIMEOUT", default_value = "8s", value_parser = parse::positive_duration)]
    pub aws_timeout: Duration,

    /// Longest time one attempt of an AWS call may take before it is retried.
    #[arg(long, env = "FAAS_ECS_AWS_ATTEMPT_TIMEOUT", value_name = "FAAS_ECS_AWS_ATTEMPT_TIMEOUT", default_value = "3s", value_parser = parse::positive_duration)]
    pub aws_attempt_timeout: Duration,
}

impl Aws {
    /// The AWS SDK's loader with these retries and timeouts.
    pub fn loader(&self) -> aws_config::ConfigLoader {
        crate::aws::loader()
            // Adaptive: after throttling, every client of a service waits for a token before its
            // next call, so a burst of changes or a refresh backs off together.
            .retry_config(RetryConfig::adaptive().with_max_attempts(self.aws_max_attempts))
            .timeout_config(self.timeouts())
    }

    /// Timeouts of every AWS call.
    pub fn timeouts(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(self.aws_timeout)
            .operation_attempt_timeout(self.aws_attempt_timeout)
            .build()
    }
}
