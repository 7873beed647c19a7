//! Secrets as the OpenFaaS secrets API carries them.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::Invalid;

/// Body of POST and PUT /system/secrets: `value` as text or `rawValue` as base64 of bytes.
/// Never logged: Debug leaves the values out.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub raw_value: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Largest secret value: Secrets Manager holds 65,536 bytes of text, and values are kept as
/// base64 (4 characters for every 3 bytes).
pub const MAX_SECRET_BYTES: usize = 65_536 / 4 * 3;

impl Secret {
    /// The secret's bytes: `rawValue` decoded when given, else `value`; at most
    /// [`MAX_SECRET_BYTES`].
    pub fn bytes(&self) -> Result<Vec<u8>, Invalid> {
        let bytes = self.given_bytes()?;
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(Invalid(format!(
                "a secret value holds at most {MAX_SECRET_BYTES} bytes; this one has {}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    fn given_bytes(&self) -> Result<Vec<u8>, Invalid> {
        match (&self.raw_value, &self.value) {
            (Some(raw), _) => base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map_err(|_| Invalid("rawValue is not valid base64".into())),
            (None, Some(value)) => Ok(value.clone().into_bytes()),
            (None, None) => Err(Invalid("a secret needs a value or a rawValue".into())),
        }
    }
}

/// One entry of GET /system/secrets: names only, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSummary {
    pub name: String,
    pub namespace: String,
}

/// A secret name: it becomes a file name and part of a Secrets Manager name, so Kubernetes'
/// rule for secret names applies (a DNS subdomain: dot-separated labels of lowercase letters,
/// digits and '-', each starting and ending with a letter or digit; at most 253 in all).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(name: &str) -> Result<Self, Invalid> {
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        let ok = name.len() <= 253 && name.split('.').all(label_ok);
        if ok {
            Ok(Self(name.to_string()))
        } else {
            Err(Invalid(format!(
                "secret name {name:?} is invalid: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SecretName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_value_is_bytes_and_value_is_text() {
        let s = Secret {
            raw_value: Some("AGE=".into()),
            value: Some("ignored".into()),
            ..Default::default()
        };
        assert_eq!(s.bytes().unwrap(), vec![0, b'a']);
        let s = Secret {
            value: Some("text\n".into()),
            ..Default::default()
        };
        assert_eq!(s.bytes().unwrap(), b"text\n");
        assert!(Secret::default().bytes().is_err());
        assert!(
            Secret {
                raw_value: Some("%%".into()),
                ..Default::default()
            }
            .bytes()
            .is_err()
        );
    }

    #[test]
    fn values_beyond_what_secrets_manager_holds_are_refused_with_the_limit() {
        let at_limit = Secret {
            value: Some("x".repeat(MAX_SECRET_BYTES)),
            ..Default::default()
        };
        assert_eq!(at_limit.bytes().unwrap().len(), 49_152);
        let over = Secret {
            value: Some("x".repeat(70_000)),
            ..Default::default()
        };
        let err = over.bytes().unwrap_err().to_string();
        assert!(err.contains("49152"), "{err}");
        let raw = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_SECRET_BYTES + 1]);
        let over = Secret {
            raw_value: Some(raw),
            ..Default::default()
        };
        assert!(over.bytes().is_err());
    }

    #[test]
    fn debug_never_shows_values() {
        let s = Secret {
            name: "db".into(),
            value: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn names_follow_the_kubernetes_rule() {
        assert!(SecretName::parse("api-key.v2").is_ok());
        for bad in [
            "",
            "API",
            "a/b",
            "-a",
            "a-",
            "a_b",
            "a..b",
            "a.-b",
            ".a",
            &"a".repeat(254),
        ] {
            assert!(SecretName::parse(bad).is_err(), "{bad}");
        }
    }
}
