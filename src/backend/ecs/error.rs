//! AWS errors mapped to the backend's, once, for every AWS call: throttling left after the SDK's
//! retries and timeouts are told apart; AWS's own text stays in the error's source (logged,
//! never shown).

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use crate::backend::Error;

// Error codes AWS uses when it throttles; the SDK has already retried these with backoff.
const THROTTLING_CODES: [&str; 4] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Maps an SDK error to the provider's error, once, for every AWS call.
pub(crate) fn aws_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if err.code().is_some_and(|c| THROTTLING_CODES.contains(&c)) {
        return Error::Throttled { operation };
    }
    if matches!(err, SdkError::TimeoutError(_)) {
        tracing::warn!(operation, "AWS did not answer in time");
        return Error::AwsTimeout { operation };
    }
    Error::aws(operation, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::config::http::HttpResponse;
    use aws_sdk_ecs::error::ErrorMetadata;
    use aws_sdk_ecs::operation::list_services::ListServicesError;
    use aws_smithy_types::body::SdkBody;
    use std::time::Duration;

    fn service_error(code: &str) -> SdkError<ListServicesError, HttpResponse> {
        let err = ListServicesError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("raw AWS text")
                .build(),
        );
        let response = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(err, response)
    }

    #[tokio::test]
    async fn an_aws_that_does_not_answer_is_a_503_within_the_configured_bound() {
        use clap::Parser;
        // Accepts connections and never answers, as a hung endpoint does.
        let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = hung.local_addr().unwrap();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = hung.accept().await {
                held.push(socket);
            }
        });
        let config = crate::config::Config::try_parse_from([
            "faas-ecs",
            "--subnets=subnet-1",
            "--cloudmap-namespace-id=ns-1",
            "--execution-role-arn=arn:aws:iam::1:role/x",
            "--aws-timeout=1s",
            "--aws-attempt-timeout=300ms",
        ])
        .unwrap();
        let sdk = crate::aws::loader()
            .region("us-east-1")
            .endpoint_url(format!("http://{addr}"))
            .credentials_provider(aws_sdk_ecs::config::Credentials::for_tests())
            .timeout_config(config.aws.timeouts())
            .load()
            .await;
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            ecs.describe_services()
                .cluster("openfaas")
                .services("echo")
                .send(),
        )
        .await
        .expect("the SDK's own timeout ends the call");
        let err = aws_error("DescribeServices", answer.unwrap_err());
        assert!(matches!(err, Error::AwsTimeout { .. }), "{err:?}");
        assert!(err.to_string().contains("may or may not"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        holder.abort();
    }

    #[test]
    fn throttling_left_after_retries_is_a_503_and_other_errors_a_500_without_aws_text() {
        let throttled = aws_error("ListServices", service_error("ThrottlingException"));
        assert_eq!(
            crate::error::Error::from(throttled).status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        let other = aws_error("ListServices", service_error("AccessDeniedException"));
        assert!(!other.to_string().contains("raw AWS text"), "{other}");
        assert_eq!(
            crate::error::Error::from(other).status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
