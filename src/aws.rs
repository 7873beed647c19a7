//! How the AWS SDK is set up: the standard chain for credentials, region and endpoint, and an
//! HTTPS client on rustls with ring, whose code is a fraction of the default crypto library's
//! (the provider's resident memory is mostly its own code).

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The SDK's configuration loader, to be completed by the caller and loaded.
pub fn loader() -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}
