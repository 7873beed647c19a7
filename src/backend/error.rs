//! What a backend reports, in its own terms; `crate::error` alone turns it into a status.

type BoxError = crate::failure::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be carried out as asked (a task no Fargate size holds, an unknown
    /// secret, a namespace not served); the text is shown to the user.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The thing exists already, or is in a state that forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// AWS kept throttling after the SDK's retries.
    #[error("AWS is throttling {operation}; retry shortly")]
    Throttled { operation: &'static str },
    /// AWS did not answer in time (FAAS_ECS_AWS_TIMEOUT). The call may still have taken effect.
    #[error(
        "AWS did not answer {operation} in time; the change may or may not have been made: read the function's status before retrying"
    )]
    AwsTimeout { operation: &'static str },
    /// Any other AWS failure, or a request the provider could not build. The source is logged,
    /// never shown to the client.
    #[error("AWS call {operation} failed")]
    Aws {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
}

impl Error {
    pub fn invalid(e: impl std::fmt::Display) -> Self {
        Self::Invalid(e.to_string())
    }

    /// A change in a namespace that does not exist.
    pub fn no_such_namespace(namespace: &crate::model::Namespace) -> Self {
        Self::Invalid(format!("namespace {namespace} does not exist"))
    }

    /// The refusal to remove a namespace that is not empty.
    pub fn namespace_not_empty(
        name: &crate::model::Namespace,
        functions: usize,
        secrets: usize,
    ) -> Self {
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        Self::Conflict(format!(
            "namespace {name} still holds {} and {}; remove them first",
            count(functions, "function"),
            count(secrets, "secret")
        ))
    }

    pub fn aws(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Aws {
            operation,
            source: source.into(),
        }
    }
}

impl From<crate::model::Invalid> for Error {
    fn from(e: crate::model::Invalid) -> Self {
        Self::Invalid(e.0)
    }
}

impl From<crate::model::InvalidName> for Error {
    fn from(e: crate::model::InvalidName) -> Self {
        Self::Invalid(e.to_string())
    }
}
