//! How the AWS SDK is set up: the standard chain for credentials, region and endpoint, an HTTPS
//! client on rustls with ring, whose code is a fraction of the default crypto library's (the
//! provider's resident memory is mostly its own code), and a count of every call.

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The SDK's configuration loader, to be completed by the caller and loaded.
pub fn loader() -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

/// Counts every attempt of every AWS call, by service and operation, for `/metrics`
/// (`faas_ecs_aws_calls_total`): what the provider costs in AWS API budget.
#[derive(Debug, Clone)]
pub struct CountCalls(pub Family<AwsCallLabels, Counter>);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AwsCallLabels {
    pub service: String,
    pub operation: String,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(call) = cfg.load::<Metadata>() {
            self.0
                .get_or_create(&AwsCallLabels {
                    service: call.service().to_string(),
                    operation: call.name().to_string(),
                })
                .inc();
        }
        Ok(())
    }
}
