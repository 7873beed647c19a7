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

/// An RFC 3339 timestamp (`2026-11-29T06:00:00Z`, offsets and fractions allowed).
pub fn parse_rfc3339(s: &str) -> Option<std::time::SystemTime> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let t = DateTime::from_str(s, Format::DateTime).ok()?;
    std::time::SystemTime::try_from(t).ok()
}
