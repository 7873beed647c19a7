//! Function and namespace names: DNS labels, because they become ECS service and Cloud Map names.

use std::fmt;

/// The namespace functions live in when a request names none.
pub const DEFAULT_NAMESPACE: &str = "openfaas-fn";

/// Why a name was refused; the text is the user-facing 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} name {name:?} is invalid: {reason}")]
pub struct InvalidName {
    kind: &'static str,
    name: String,
    reason: &'static str,
}

fn check_dns_label(kind: &'static str, name: &str) -> Result<(), InvalidName> {
    let fail = |reason| {
        Err(InvalidName {
            kind,
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > 63 {
        return fail("it is longer than 63 characters");
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if !name.bytes().all(allowed) {
        return fail("only lowercase letters, digits and '-' are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return fail("it must start and end with a letter or digit");
    }
    Ok(())
}

/// A function name that is a valid DNS label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionName(String);

impl FunctionName {
    pub fn parse(name: &str) -> Result<Self, InvalidName> {
        check_dns_label("function", name)?;
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A namespace name that is a valid DNS label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(String);

impl Namespace {
    pub fn parse(name: &str) -> Result<Self, InvalidName> {
        check_dns_label("namespace", name)?;
        Ok(Self(name.to_string()))
    }

    pub fn default_namespace() -> Self {
        Self(DEFAULT_NAMESPACE.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A function in its namespace: what every per-function table is keyed by. Sorted by namespace,
/// then name; shown as OpenFaaS writes it in invocation paths, `name.namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionId {
    pub namespace: Namespace,
    pub name: FunctionName,
}

impl FunctionId {
    pub fn new(namespace: Namespace, name: FunctionName) -> Self {
        Self { namespace, name }
    }

    /// A function named `name` in `namespace`, both checked.
    pub fn parse(namespace: &str, name: &str) -> Result<Self, InvalidName> {
        Ok(Self::new(
            Namespace::parse(namespace)?,
            FunctionName::parse(name)?,
        ))
    }
}

impl fmt::Display for FunctionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.name, self.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_are_accepted() {
        for ok in ["a", "echo", "figlet-2", "0abc", &"a".repeat(63)] {
            assert!(FunctionName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for bad in [
            "",
            "Bad_Name",
            "-a",
            "a-",
            "a.b",
            "a b",
            "ÄÖ",
            &"a".repeat(64),
        ] {
            let err = FunctionName::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("function name"), "{err}");
        }
    }
}
