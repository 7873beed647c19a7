//! The logs API: what a request asks for and what each NDJSON line carries.

use serde::Serialize;
use std::time::SystemTime;

use super::{FunctionName, Namespace};

/// A validated GET /system/logs request.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRequest {
    pub name: FunctionName,
    pub namespace: Namespace,
    /// One task only.
    pub instance: Option<String>,
    /// The last `tail` lines; all when `None`.
    pub tail: Option<usize>,
    pub since: Option<SystemTime>,
    /// Keep the stream open and deliver new lines.
    pub follow: bool,
}

/// One line of the NDJSON answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogMessage {
    pub name: String,
    pub namespace: String,
    pub instance: String,
    /// RFC 3339 with nanoseconds.
    pub timestamp: String,
    pub text: String,
}
