//! The provider's errors and the one table that turns them into HTTP answers, for the `/system`
//! API, the server's own refusals and the invocation path alike.
//!
//! Policy: each layer says what went wrong in its own terms and this file alone picks the status
//! and the headers. The model refuses input with [`crate::model::Invalid`] or
//! [`crate::model::InvalidName`] (400); the backends answer [`crate::backend::Error`], named for
//! what happened (invalid, not found, conflict, AWS throttling or timing out, AWS failing), never a
//! status; a request AWS would refuse is caught before any AWS call. A failure that is ours or
//! AWS's is a 5xx whose text names the operation only: AWS's own text (account ids, ARNs) goes to
//! the log, never to the client. Secret values appear in neither. The proxy's own answers carry
//! `X-OpenFaaS-Internal: proxy`, so that the gateway tells them from a function's.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::failure::DisplayChain;
use crate::model::FunctionId;
use crate::model::shared::{INTERNAL_HEADER, MAX_BODY_BYTES};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; the text is shown to the user.
    #[error("{0}")]
    BadRequest(String),
    /// Parameters that parse as the wrong thing (the logs API answers 422).
    #[error("{0}")]
    Unprocessable(String),
    /// Refused by configuration (namespace changes when FAAS_ECS_NAMESPACE_MANAGEMENT is false).
    #[error("{0}")]
    Forbidden(String),
    /// What is asked for does not exist; the text says what.
    #[error("{0}")]
    NotFound(String),
    /// A function that does not exist, where the clients expect an empty 404 (a status read).
    #[error("")]
    NoSuchFunction,
    /// A method the route does not take; the value lists those it does.
    #[error("")]
    MethodNotAllowed(&'static str),
    /// A `/system` body over [`MAX_BODY_BYTES`]; the connection closes.
    #[error("request bodies are limited to {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// A `/system` body that did not arrive in time; the rest may still come, so the connection
    /// closes.
    #[error("the request body did not arrive within {}s", .0.as_secs_f64())]
    BodyTimeout(Duration),
    /// The proxy's own answer to an invocation.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// What a backend reported; its status is picked in [`Error::status`].
    #[error(transparent)]
    Backend(crate::backend::Error),
}

/// Why the proxy answers an invocation itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A request whose body cannot be passed on as sent.
    #[error("{0}")]
    Malformed(String),
    #[error("The request body did not arrive within {}s.", .0.as_secs_f64())]
    BodyTimeout(Duration),
    /// No ready task, and nothing to wait for.
    #[error("No endpoints available for: {0}.")]
    NoEndpoints(FunctionId),
    /// No task became ready within the scale-from-zero timeout.
    #[error("No replica of {0} became ready within {secs}s.", secs = .1.as_secs_f64())]
    NotReady(FunctionId, Duration),
    /// The function did not answer within `write_timeout`.
    #[error("Timed out waiting for: {0}.")]
    Timeout(FunctionId),
    /// No task could be reached.
    #[error("Can't reach service for: {0}.")]
    Unreachable(FunctionId),
}

/// What the backend reports, and what the model refuses (which the backend reports as
/// [`crate::backend::Error::Invalid`]): one conversion for both.
impl<E: Into<crate::backend::Error>> From<E> for Error {
    fn from(e: E) -> Self {
        Self::Backend(e.into())
    }
}

impl Error {
    pub fn bad_request(e: impl std::fmt::Display) -> Self {
        Self::BadRequest(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::NoSuchFunction => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Proxy(e) => match e {
                ProxyError::Malformed(_) => StatusCode::BAD_REQUEST,
                ProxyError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
                ProxyError::NoEndpoints(_) => StatusCode::SERVICE_UNAVAILABLE,
                ProxyError::NotReady(..) | ProxyError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                ProxyError::Unreachable(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Backend(e) => {
                use crate::backend::Error as B;
                match e {
                    B::Invalid(_) => StatusCode::BAD_REQUEST,
                    B::NotFound(_) => StatusCode::NOT_FOUND,
                    B::Conflict(_) => StatusCode::CONFLICT,
                    B::Throttled { .. } | B::AwsTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
                    B::Aws { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Backend(crate::backend::Error::Aws { operation, source }) => {
                tracing::error!(aws.operation = operation, error = %DisplayChain(source.as_ref()), "AWS call failed");
            }
            // The proxy logs what it knows of its own failures; a 503 at zero is no news.
            Self::Proxy(_) => {}
            _ if status.is_server_error() => tracing::warn!(error = %self, "request failed"),
            _ => {}
        }
        match self {
            Self::NoSuchFunction => status.into_response(),
            Self::MethodNotAllowed(allow) => {
                (status, [(header::ALLOW, HeaderValue::from_static(allow))]).into_response()
            }
            Self::TooLarge | Self::BodyTimeout(_) => {
                (status, [(header::CONNECTION, "close")], self.to_string()).into_response()
            }
            Self::Proxy(e) => (status, [(INTERNAL_HEADER, "proxy")], e.to_string()).into_response(),
            e => (status, e.to_string()).into_response(),
        }
    }
}
