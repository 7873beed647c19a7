//! Parsers of setting values, for clap: each refuses a bad value with a reason, and clap names
//! the variable (every setting's value name is its environment variable).

use std::time::Duration;

use crate::model::{Namespace, RESERVED_NAMESPACES};

/// Parses `60`, `60s`, `1m30s` or `500ms`.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("{e} (expected seconds or a duration like 60s)"))
}

/// A duration of at least `min`.
pub fn duration_at_least(
    min: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |s| match duration(s)? {
        d if d < min => Err(format!(
            "must be at least {}",
            humantime::format_duration(min)
        )),
        d => Ok(d),
    }
}

/// A duration of more than zero.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err("must be more than zero".into()),
        d => Ok(d),
    }
}

/// A comma-separated list; blanks are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommaList(pub Vec<String>);

impl CommaList {
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub fn list(s: &str) -> Result<CommaList, String> {
    Ok(CommaList(
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    ))
}

/// A list of AWS ids that start with `prefix` (`subnet-`, `sg-`).
pub fn ids(
    prefix: &'static str,
    what: &'static str,
) -> impl Fn(&str) -> Result<CommaList, String> + Clone + Send + Sync + 'static {
    move |s| {
        let ids = list(s)?;
        match ids.iter().find(|id| !id.starts_with(prefix)) {
            Some(bad) => Err(format!("{bad:?} is not a {what} id ({prefix}...)")),
            None => Ok(ids),
        }
    }
}

/// Text that is not blank.
pub fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// An IAM role ARN; empty where the role is optional.
pub fn role_arn(s: &str) -> Result<String, String> {
    if s.is_empty() || s.starts_with("arn:") {
        Ok(s.to_string())
    } else {
        Err("must be an IAM role ARN".into())
    }
}

/// A number above zero.
pub fn positive_number(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err("must be a number above 0".into()),
    }
}

/// A namespace functions may be in (not one OpenFaaS reserves).
pub fn namespace(s: &str) -> Result<Namespace, String> {
    let namespace = Namespace::parse(s.trim()).map_err(|e| e.to_string())?;
    if RESERVED_NAMESPACES.contains(&namespace.as_str()) {
        return Err(format!(
            "namespace {namespace} is reserved for OpenFaaS itself"
        ));
    }
    Ok(namespace)
}

/// A JSON value of `T` (an object of names, say); empty text is `T`'s default.
pub fn json<T: serde::de::DeserializeOwned + Default>(
    what: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        if s.trim().is_empty() {
            return Ok(T::default());
        }
        serde_json::from_str(s).map_err(|e| format!("not a JSON object of {what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_units() {
        assert_eq!(duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("200us").unwrap(), Duration::from_micros(200));
        assert_eq!(duration("0").unwrap(), Duration::ZERO);
        assert!(duration("soon").is_err());
    }
}
