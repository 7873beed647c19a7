//! The provider's errors and the one table that turns them into HTTP answers.
//!
//! Policy: each layer says what went wrong in its own terms and this file alone picks the status.
//! The model refuses input with [`crate::model::Invalid`] or [`crate::model::InvalidName`] (400);
//! the backends answer [`crate::backend::Error`], named for what happened (invalid, not found,
//! conflict, AWS throttling or timing out, AWS failing), never a status; a request AWS would refuse
//! is caught before any AWS call. A failure that is ours or AWS's is a 5xx whose text names the operation
//! only: AWS's own text (account ids, ARNs) goes to the log, never to the client. Secret values
//! appear in neither.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::failure::DisplayChain;

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
    /// What a backend reported; its status is picked in [`Error::status`].
    #[error(transparent)]
    Backend(crate::backend::Error),
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
        if let Self::Backend(crate::backend::Error::Aws { operation, source }) = &self {
            tracing::error!(aws.operation = operation, error = %DisplayChain(source.as_ref()), "AWS call failed");
        } else if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        (status, self.to_string()).into_response()
    }
}
