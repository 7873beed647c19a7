//! Kubernetes quantity strings (`128Mi`, `100m`, `0.5`) as the numbers ECS needs.

use super::Invalid;
use super::ResourceList;

/// Parsed `limits` or `requests`: memory in bytes, cpu in millicores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub memory_bytes: Option<u64>,
    pub cpu_millis: Option<u64>,
}

impl Resources {
    pub fn parse(list: Option<&ResourceList>, field: &str) -> Result<Self, Invalid> {
        let Some(list) = list else {
            return Ok(Self::default());
        };
        let memory_bytes = match non_empty(&list.memory) {
            Some(q) => Some(parse_memory_bytes(q).ok_or_else(|| {
                Invalid(format!(
                    "{field}.memory {q:?} is not a memory quantity such as 128Mi"
                ))
            })?),
            None => None,
        };
        let cpu_millis = match non_empty(&list.cpu) {
            Some(q) => Some(parse_cpu_millis(q).ok_or_else(|| {
                Invalid(format!(
                    "{field}.cpu {q:?} is not a cpu quantity such as 100m or 0.5"
                ))
            })?),
            None => None,
        };
        Ok(Self {
            memory_bytes,
            cpu_millis,
        })
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Splits a quantity into its number and its multiplier.
fn parse_quantity(q: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let q = q.trim();
    let (number, multiplier) = SUFFIXES
        .iter()
        .find_map(|(s, m)| q.strip_suffix(s).map(|n| (n, *m)))
        .unwrap_or((q, 1.0));
    // Plain numbers and decimal exponents ("1e3") parse as floats; reject what Kubernetes rejects.
    if number.is_empty()
        || !number.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+')
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let total = value * multiplier;
    (total.is_finite() && total >= 0.0).then_some(total)
}

/// Memory quantity in bytes, rounded up.
pub fn parse_memory_bytes(q: &str) -> Option<u64> {
    parse_quantity(q).map(|v| v.ceil() as u64)
}

/// CPU quantity in millicores, rounded up.
pub fn parse_cpu_millis(q: &str) -> Option<u64> {
    parse_quantity(q).map(|v| (v * 1000.0 - 1e-9).ceil().max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(parse_memory_bytes("128Mi"), Some(128 * 1024 * 1024));
        assert_eq!(parse_memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(parse_memory_bytes("5Mi"), Some(5 * 1024 * 1024));
        assert_eq!(parse_memory_bytes("128M"), Some(128_000_000));
        assert_eq!(parse_memory_bytes("1e3"), Some(1000));
        assert_eq!(parse_memory_bytes("1000"), Some(1000));
        assert_eq!(parse_memory_bytes("lots"), None);
        assert_eq!(parse_memory_bytes("-1Mi"), None);
        assert_eq!(parse_memory_bytes("Mi"), None);
    }

    #[test]
    fn cpu_quantities() {
        assert_eq!(parse_cpu_millis("100m"), Some(100));
        assert_eq!(parse_cpu_millis("0.5"), Some(500));
        assert_eq!(parse_cpu_millis("2"), Some(2000));
        assert_eq!(parse_cpu_millis("0.1"), Some(100));
        assert_eq!(parse_cpu_millis("fast"), None);
    }

    #[test]
    fn bad_quantity_names_the_field() {
        let list = ResourceList {
            memory: Some("big".into()),
            cpu: None,
        };
        let err = Resources::parse(Some(&list), "limits").unwrap_err();
        assert!(err.to_string().contains("limits.memory"), "{err}");
    }
}
